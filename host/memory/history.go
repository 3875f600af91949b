package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file is the read a turn makes before it calls the model: its thread
// and the thread's last messages, with their content already parsed.
//
// A turn re-reads its history every time (another instance, or a Mastra
// server on the same database, may have written to the thread since), but
// the rows it reads are mostly the ones the previous turn read. So the
// store keeps, per resource and thread, the messages it last read there
// with their parsed content, and reuses one only when the row it reads now
// is byte for byte the row it read then: nothing is ever served that the
// database does not hold at this moment, and no invalidation protocol is
// needed across instances. What it saves is decoding, allocating and
// parsing, not the read.

// History is what a turn reads of its thread.
type History struct {
	// ResourceID and Title are the thread's. The thread may be another
	// resource's: then Messages is empty, and the caller says not found.
	ResourceID string
	Title      string
	// Messages are the thread's last messages, oldest first, when the
	// thread is the resource's. Their ParsedContent is memoised: treat
	// what it returns as read-only.
	Messages []Message
}

// TurnHistory reads thread threadID and, when it belongs to resourceID, its
// last n messages (oldest first): on Postgres in one round trip, decoded
// without reflection. A missing thread is ErrNotFound.
func (s *Store) TurnHistory(ctx context.Context, resourceID, threadID string, n int) (History, error) {
	if s.kind != "postgres" {
		return s.turnHistorySQL(ctx, resourceID, threadID, n)
	}
	h, err := s.turnHistoryPostgres(ctx, resourceID, threadID, n)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return History{}, classify(fmt.Errorf("memory: history of %s: %w", threadID, err))
	}
	return h, err
}

// turnHistorySQL is TurnHistory through Bun (SQLite): two statements, and
// the memo only for the parsed content.
func (s *Store) turnHistorySQL(ctx context.Context, resourceID, threadID string, n int) (History, error) {
	t, err := s.Thread(ctx, "", threadID)
	if err != nil {
		return History{}, err
	}
	h := History{ResourceID: t.ResourceID, Title: t.Title}
	if t.ResourceID != resourceID {
		s.memo.forget(resourceID, threadID)
		return History{ResourceID: t.ResourceID}, nil
	}
	if n <= 0 {
		return h, nil
	}
	if h.Messages, err = s.LastMessages(ctx, threadID, n); err != nil {
		return History{}, err
	}
	key := memoKey{resourceID, threadID}
	old := s.memo.get(key)
	window := make([]*memoMessage, len(h.Messages))
	for i := range h.Messages {
		m := &h.Messages[i]
		e, _ := old.find(m.ID, 0)
		if e == nil || !bytes.Equal(e.msg.Content, m.Content) {
			e = newMemoMessage(*m, nil)
		}
		m.Content, m.parsed = e.msg.Content, e.msg.parsed
		window[i] = e
	}
	s.memo.put(key, window)
	return h, nil
}

// historyQuery reads the thread and, only when it is $2's, its last $3
// messages, newest first. A thread without messages (or another
// resource's) is one row of NULL message columns.
const historyQuery = `SELECT t."resourceId", t.title, m.id, m.content, m.role, m.type, m."createdAt", m."createdAtZ", m."resourceId"
FROM mastra_threads t
LEFT JOIN LATERAL (
	SELECT id, content, role, type, "createdAt", "createdAtZ", "resourceId" FROM mastra_messages
	WHERE thread_id = t.id AND t."resourceId" = $2
	ORDER BY "createdAt" DESC, id DESC LIMIT $3
) m ON true
WHERE t.id = $1`

func (s *Store) turnHistoryPostgres(ctx context.Context, resourceID, threadID string, n int) (History, error) {
	if n < 0 {
		n = 0
	}
	rows, err := s.sdb.Pool().Query(ctx, historyQuery, threadID, resourceID, int64(n))
	if err != nil {
		return History{}, err
	}
	defer rows.Close()
	key := memoKey{resourceID, threadID}
	old := s.memo.get(key)
	var (
		h      History
		found  bool
		window = make([]*memoMessage, 0, min(n, 256)) // newest first, as read
		at     int                                    // where in old the next row is looked for
	)
	for rows.Next() {
		vals := rows.RawValues()
		if !found {
			found = true
			if string(vals[0]) != resourceID {
				// Another resource's: nothing of it is read or kept (and
				// if it was resourceID's, what the memo kept goes).
				s.memo.forget(resourceID, threadID)
				return History{ResourceID: string(vals[0])}, rows.Err()
			}
			h.ResourceID, h.Title = resourceID, string(vals[1])
		}
		if vals[2] == nil {
			continue // no messages
		}
		e, i := old.findRaw(vals[2], at)
		if e != nil && e.same(vals) {
			at = i + 1
		} else {
			e, err = scanMemoMessage(rows, resourceID, threadID)
			if err != nil {
				return History{}, err
			}
		}
		window = append(window, e)
	}
	if err := rows.Err(); err != nil {
		return History{}, err
	}
	if !found {
		return History{}, ErrNotFound
	}
	if len(window) > 0 {
		h.Messages = make([]Message, len(window))
	}
	for i, e := range window {
		h.Messages[len(window)-1-i] = e.msg
	}
	s.memo.put(key, window)
	return h, nil
}

// scanMemoMessage decodes the message of the current row of
// historyQuery, whose memo missed, and parses its content. It decodes the
// raw values itself (pgx only for the times): the row's content becomes
// the message's, and its usual role, type and resource are not copied.
func scanMemoMessage(rows pgx.Rows, resourceID, threadID string) (*memoMessage, error) {
	var (
		created  pgtype.Timestamp
		createdZ pgtype.Timestamptz
	)
	if err := rows.Scan(nil, nil, nil, nil, nil, nil, &created, &createdZ, nil); err != nil {
		return nil, fmt.Errorf("scan message: %w", err)
	}
	vals := rows.RawValues()
	m := Message{
		ID:        string(vals[2]),
		ThreadID:  threadID,
		Role:      known(vals[4]),
		Type:      known(vals[5]),
		Content:   bytes.Clone(vals[3]),
		CreatedAt: created.Time.UTC(),
	}
	if createdZ.Valid && !createdZ.Time.IsZero() {
		m.CreatedAt = createdZ.Time.UTC() // as pick does
	}
	switch r := vals[8]; {
	case r == nil:
	case string(r) == resourceID:
		m.ResourceID = resourceID
	default:
		m.ResourceID = string(r)
	}
	if !json.Valid(m.Content) {
		m.Content = TextContent(string(m.Content), m.CreatedAt) // as messageRow.message does
	}
	return newMemoMessage(m, vals), nil
}

// known returns a role or type as a string, without allocating for the
// values every row holds.
func known(b []byte) string {
	for _, k := range [...]string{"user", "assistant", "system", "tool", "v2"} {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// memoKey is a memo entry's key: a resource's thread. A thread read by
// another resource is another entry (it never is: see TurnHistory), so
// one tenant's reads can never hand out what another's stored.
type memoKey struct{ resource, thread string }

// memoMessage is a message as read and its content parsed.
type memoMessage struct {
	msg Message
	// cols are the row's raw message columns but content (id, role,
	// type, createdAt, createdAtZ, resourceId), each length-prefixed:
	// a later row with the same bytes and content decodes to msg.
	cols []byte
	size int // bytes it holds, roughly
}

// newMemoMessage memoises m, whose content must be valid JSON: both
// readers check it (scanMemoMessage, messageRow.message), and
// ContentValid tells the writers of replies so.
func newMemoMessage(m Message, vals [][]byte) *memoMessage {
	c, err := ParseContent(m.Content)
	m.parsed = &parsedContent{raw: m.Content, c: c, err: err}
	e := &memoMessage{msg: m}
	if vals != nil {
		size := 0
		for _, i := range memoCols {
			size += binary.MaxVarintLen64 + len(vals[i])
		}
		e.cols = make([]byte, 0, size)
		for _, i := range memoCols {
			e.cols = appendCol(e.cols, vals[i])
		}
	}
	// The raw content, and about as much again for its parsed form.
	e.size = 2*len(m.Content) + len(e.cols) + 256
	return e
}

// memoCols are the columns of historyQuery that memoMessage.cols holds.
var memoCols = [...]int{2, 4, 5, 6, 7, 8}

func appendCol(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	b = binary.AppendVarint(b, int64(len(v)))
	return append(b, v...)
}

// same reports whether a row of historyQuery holds exactly e's message.
func (e *memoMessage) same(vals [][]byte) bool {
	if vals[3] == nil || !bytes.Equal(vals[3], e.msg.Content) {
		return false
	}
	b := e.cols
	for _, i := range memoCols {
		n, k := binary.Varint(b)
		if k <= 0 {
			return false
		}
		b = b[k:]
		v := vals[i]
		switch {
		case n < 0:
			if v != nil {
				return false
			}
		case v == nil || int64(len(v)) != n || int64(len(b)) < n || !bytes.Equal(b[:n], v):
			return false
		default:
			b = b[n:]
		}
	}
	return len(b) == 0
}

// memoWindow is the messages last read in a thread, newest first.
type memoWindow []*memoMessage

// find returns the entry of message id and its index, looking from index
// from on (the rows come in the window's order, shifted by the messages
// added since) and then before it.
func (w memoWindow) find(id string, from int) (*memoMessage, int) {
	for i := from; i < len(w); i++ {
		if w[i].msg.ID == id {
			return w[i], i
		}
	}
	for i := 0; i < from && i < len(w); i++ {
		if w[i].msg.ID == id {
			return w[i], i
		}
	}
	return nil, -1
}

// findRaw is find of an id as the row holds it (no string made of it).
func (w memoWindow) findRaw(id []byte, from int) (*memoMessage, int) {
	for i := from; i < len(w); i++ {
		if string(id) == w[i].msg.ID {
			return w[i], i
		}
	}
	for i := 0; i < from && i < len(w); i++ {
		if string(id) == w[i].msg.ID {
			return w[i], i
		}
	}
	return nil, -1
}

// parsedContent is a message content's parse, kept beside the content it
// was parsed from.
type parsedContent struct {
	raw json.RawMessage
	c   Content
	err error
}

// ParsedContent is ParseContent(m.Content). A message read by TurnHistory
// carries it parsed already, as long as m.Content is the content read:
// the Content returned then is shared with later turns and must not be
// modified.
func (m *Message) ParsedContent() (Content, error) {
	if p := m.parsed; p != nil && len(p.raw) == len(m.Content) && (len(p.raw) == 0 || &p.raw[0] == &m.Content[0]) {
		return p.c, p.err
	}
	return ParseContent(m.Content)
}

// ContentValid reports whether m.Content is known to be one valid JSON
// value: it is the content as the store read it (see ParsedContent), which
// was checked there. A reply that carries the message need not check it
// again (jsonenc.RawValid).
func (m *Message) ContentValid() bool {
	p := m.parsed
	return p != nil && len(p.raw) == len(m.Content) && len(p.raw) > 0 && &p.raw[0] == &m.Content[0]
}

// Bounds of the history memo: what it may hold in all, and in one thread
// (a thread whose window is larger is not kept).
const (
	memoMaxBytes       = 32 << 20
	memoMaxThreads     = 8192
	memoMaxThreadBytes = 2 << 20
)

// historyMemo is the store's memo of the messages last read per thread.
// Eviction is arbitrary (Go's map order): what it evicts is re-read and
// re-parsed by the next turn on that thread, nothing worse.
type historyMemo struct {
	mu      sync.Mutex
	threads map[memoKey]memoEntry
	bytes   int
}

type memoEntry struct {
	window memoWindow
	size   int
}

func (h *historyMemo) get(k memoKey) memoWindow {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.threads[k].window
}

// put replaces k's window. A window's entries are never modified once
// put: concurrent turns on one thread read them while another replaces
// the window.
func (h *historyMemo) put(k memoKey, w []*memoMessage) {
	size := 0
	for _, e := range w {
		size += e.size
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.threads == nil {
		h.threads = make(map[memoKey]memoEntry)
	}
	h.bytes -= h.threads[k].size
	delete(h.threads, k)
	if size > memoMaxThreadBytes || len(w) == 0 {
		return
	}
	for k2, e := range h.threads {
		if h.bytes+size <= memoMaxBytes && len(h.threads) < memoMaxThreads {
			break
		}
		h.bytes -= e.size
		delete(h.threads, k2)
	}
	h.threads[k] = memoEntry{window: w, size: size}
	h.bytes += size
}

// forget drops a thread's window (the thread is deleted).
func (h *historyMemo) forget(resourceID, threadID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := memoKey{resourceID, threadID}
	h.bytes -= h.threads[k].size
	delete(h.threads, k)
}
