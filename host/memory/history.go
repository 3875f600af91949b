package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

// This file is the read a turn makes before it calls the model: its thread
// and the thread's last messages, with their content already parsed.
//
// A turn re-reads its history every time (another instance, or a Mastra
// server on the same database, may have written to the thread since), but
// the rows it reads are mostly the ones the previous turn read. So the
// store keeps, per resource and thread, the messages it last read (or
// wrote) there with their parsed content, and reuses one only when the row
// it reads now is the row it read then: on Postgres the same row version
// (rowVersion), on SQLite the same content byte for byte. Nothing is ever
// served that the database does not hold at this moment, and no
// invalidation protocol is needed across instances. What it saves is
// decoding, allocating and parsing, and on Postgres sending the content of
// the rows it holds; not the round trip.

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
			e = newMemoMessage(*m, rowVersion{})
		}
		m.Content, m.parsed = e.msg.Content, e.msg.parsed
		window[i] = e
	}
	s.memo.put(key, window)
	return h, nil
}

// historyQuery reads the thread and, only when it is $2's, its last $3
// messages, newest first, each with its row version (xmin, ctid). A
// message whose xmin is one of $4 (the versions the memo holds) comes
// without its other columns, known set: the memo has them, if the whole
// version matches (see rowVersion). A thread without messages (or
// another resource's) is one row of NULL message columns.
const historyQuery = `SELECT t."resourceId", t.title, m.id, m.xmin, m.ctid, m.known,
	CASE WHEN m.known THEN NULL ELSE m.content END,
	CASE WHEN m.known THEN NULL ELSE m.role END,
	CASE WHEN m.known THEN NULL ELSE m.type END,
	CASE WHEN m.known THEN NULL ELSE m."createdAt" END,
	CASE WHEN m.known THEN NULL ELSE m."createdAtZ" END,
	CASE WHEN m.known THEN NULL ELSE m."resourceId" END
FROM mastra_threads t
LEFT JOIN LATERAL (
	SELECT id, xmin, ctid, xmin = ANY($4::xid[]) AS known, content, role, type, "createdAt", "createdAtZ", "resourceId"
	FROM mastra_messages
	WHERE thread_id = t.id AND t."resourceId" = $2
	ORDER BY "createdAt" DESC, id DESC LIMIT $3
) m ON true
WHERE t.id = $1`

// Columns of historyQuery.
const (
	hcResource = iota
	hcTitle
	hcID
	hcXmin
	hcCtid
	hcKnown
	hcContent
	hcRole
	hcType
	hcCreated
	hcCreatedZ
	hcMsgResource
)

// errMemoStale is a row historyQuery withheld as known that the memo
// does not hold after all (an xmin shared with a remembered row): the
// read is made again without withholding anything.
var errMemoStale = errors.New("memory: withheld row not in the memo")

func (s *Store) turnHistoryPostgres(ctx context.Context, resourceID, threadID string, n int) (History, error) {
	if n < 0 {
		n = 0
	}
	key := memoKey{resourceID, threadID}
	old := s.memo.get(key)
	h, err := s.readHistory(ctx, key, old, old.xmins(), n)
	if errors.Is(err, errMemoStale) {
		h, err = s.readHistory(ctx, key, old, nil, n)
	}
	return h, err
}

// readHistory runs historyQuery once, withholding the rows whose xmin is
// in known, and puts the window it read in the memo.
func (s *Store) readHistory(ctx context.Context, key memoKey, old memoWindow, known []uint32, n int) (History, error) {
	rows, err := s.sdb.Pool().Query(ctx, historyQuery, key.thread, key.resource, int64(n), known)
	if err != nil {
		return History{}, err
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
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
			if string(vals[hcResource]) != key.resource {
				// Another resource's: nothing of it is read or kept (and
				// if it was resource's, what the memo kept goes).
				s.memo.forget(key.resource, key.thread)
				return History{ResourceID: string(vals[hcResource])}, rows.Err()
			}
			h.ResourceID, h.Title = key.resource, string(vals[hcTitle])
		}
		if vals[hcID] == nil {
			continue // no messages
		}
		ver, err := readVersion(vals[hcXmin], fds[hcXmin].Format, vals[hcCtid], fds[hcCtid].Format)
		if err != nil {
			return History{}, err
		}
		e, i := old.findRaw(vals[hcID], at)
		switch {
		case e != nil && e.ver == ver:
			at = i + 1
		case isTrue(vals[hcKnown], fds[hcKnown].Format):
			return History{}, errMemoStale
		default:
			if e, err = scanMemoMessage(rows, key.resource, key.thread, ver); err != nil {
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

// isTrue reads a bool column in either format.
func isTrue(v []byte, format int16) bool {
	if format == pgx.BinaryFormatCode {
		return len(v) == 1 && v[0] == 1
	}
	return string(v) == "t"
}

// scanMemoMessage decodes the message of the current row of
// historyQuery, whose memo missed, and parses its content. It decodes the
// raw values itself (pgx only for the times): the row's content becomes
// the message's, and its usual role, type and resource are not copied.
func scanMemoMessage(rows pgx.Rows, resourceID, threadID string, ver rowVersion) (*memoMessage, error) {
	var (
		created  pgtype.Timestamp
		createdZ pgtype.Timestamptz
	)
	dst := make([]any, hcMsgResource+1)
	dst[hcCreated], dst[hcCreatedZ] = &created, &createdZ
	if err := rows.Scan(dst...); err != nil {
		return nil, fmt.Errorf("scan message: %w", err)
	}
	vals := rows.RawValues()
	m := Message{
		ID:        string(vals[hcID]),
		ThreadID:  threadID,
		Role:      known(vals[hcRole]),
		Type:      known(vals[hcType]),
		Content:   bytes.Clone(vals[hcContent]),
		CreatedAt: created.Time.UTC(),
	}
	if createdZ.Valid && !createdZ.Time.IsZero() {
		m.CreatedAt = createdZ.Time.UTC() // as pick does
	}
	switch r := vals[hcMsgResource]; {
	case r == nil:
	case string(r) == resourceID:
		m.ResourceID = resourceID
	default:
		m.ResourceID = string(r)
	}
	if !json.Valid(m.Content) {
		m.Content = TextContent(string(m.Content), m.CreatedAt) // as messageRow.message does
	}
	return newMemoMessage(m, ver), nil
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
	// ver is the version of the row msg was read from (or written as),
	// zero on SQLite, where the content itself is compared.
	ver  rowVersion
	size int // bytes it holds, roughly
}

// newMemoMessage memoises m, whose content must be valid JSON: its
// readers check it (scanMemoMessage, messageRow.message), its writer
// (a turn's save) wrote it, and ContentValid tells the writers of
// replies so. A message that carries its parsed form (WithParsed) is
// not parsed again.
func newMemoMessage(m Message, ver rowVersion) *memoMessage {
	e := memoMessageOf(m, ver)
	return &e
}

// memoMessageOf is newMemoMessage's entry as a value.
func memoMessageOf(m Message, ver rowVersion) memoMessage {
	if !m.ContentValid() {
		c, err := ParseContent(m.Content)
		m.parsed = &parsedContent{raw: m.Content, c: c, err: err}
	}
	// The raw content, and about as much again for its parsed form.
	return memoMessage{msg: m, ver: ver, size: 2*len(m.Content) + 256}
}

// rowVersion identifies one version of a Postgres row: the xmin of the
// transaction that wrote it and its ctid (where it lies), big-endian
// (the binary forms of xid and tid).
//
// Any write of a row (UPDATE, even to the same values, or DELETE and
// INSERT) makes a new version with the writing transaction's xmin; a
// committed version is never changed in place (VACUUM only removes dead
// ones, and freezing keeps the raw xmin). So a message row read now with
// the id and version of a row read (or written) before holds what it
// held then, whichever route or instance or plain SQL wrote to the table
// meanwhile. xmin alone can come round again (it is 32 bits), and only
// after 2³² transactions; the ctid makes a collision need the same slot
// on the same page too.
type rowVersion [10]byte

// readVersion decodes historyQuery's xmin and ctid in the format they
// came in.
func readVersion(xmin []byte, xf int16, ctid []byte, cf int16) (rowVersion, error) {
	var v rowVersion
	if xf == pgx.BinaryFormatCode && len(xmin) == 4 {
		copy(v[:4], xmin)
		if cf == pgx.BinaryFormatCode && len(ctid) == 6 {
			copy(v[4:], ctid)
			return v, nil
		}
	}
	if xf != pgx.TextFormatCode || cf != pgx.TextFormatCode {
		return v, fmt.Errorf("read version %x %x: unexpected format", xmin, ctid)
	}
	return v, v.setText(xmin, ctid)
}

// setText sets v from the text forms of xmin and ctid (a simple-protocol
// result, as appendTurnPostgres's RETURNING).
func (v *rowVersion) setText(xmin, ctid []byte) error {
	x, err := strconv.ParseUint(string(xmin), 10, 32)
	if err != nil {
		return fmt.Errorf("read back xmin %q: %w", xmin, err)
	}
	binary.BigEndian.PutUint32(v[:4], uint32(x))
	return v.setCtidText(ctid)
}

// setCtidText sets v's ctid from its text form, "(block,offset)".
func (v *rowVersion) setCtidText(t []byte) error {
	s := string(t)
	comma := strings.IndexByte(s, ',')
	if len(s) < 5 || s[0] != '(' || s[len(s)-1] != ')' || comma < 0 {
		return fmt.Errorf("read ctid %q", t)
	}
	block, err1 := strconv.ParseUint(s[1:comma], 10, 32)
	off, err2 := strconv.ParseUint(s[comma+1:len(s)-1], 10, 16)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("read ctid %q", t)
	}
	binary.BigEndian.PutUint32(v[4:8], uint32(block))
	binary.BigEndian.PutUint16(v[8:], uint16(off))
	return nil
}

// xmin is v's transaction id.
func (v rowVersion) xmin() uint32 { return binary.BigEndian.Uint32(v[:4]) }

// memoWindow is the messages last read in a thread, newest first.
type memoWindow []*memoMessage

// xmins are the distinct xmins of w's versions: what historyQuery need
// not send again.
func (w memoWindow) xmins() []uint32 {
	var out []uint32
	for _, e := range w {
		x := e.ver.xmin()
		if x != 0 && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

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
	// built: c is what raw was encoded from (WithParsed), not a parse.
	built bool
	// verbatim caches jsonenc.Verbatim(raw), found when first asked
	// (ContentVerbatim), as only generate replies ask: 0 not yet, then
	// verbatimNo or verbatimYes.
	verbatim atomic.Uint32
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
// was checked there, or as WithParsed built it. A reply that carries the
// message need not check it again (jsonenc.RawValid).
func (m *Message) ContentValid() bool {
	p := m.parsed
	return p != nil && len(p.raw) == len(m.Content) && len(p.raw) > 0 && &p.raw[0] == &m.Content[0]
}

// ContentVerbatim reports whether m.Content is known to be valid JSON that
// json.Marshal writes as it is (as a json.RawMessage): compact, with no <,
// >, &, U+2028 or U+2029. Checked once per row version the store memoised
// (the first time it is asked), it spares every later reply a scan of the
// content.
func (m *Message) ContentVerbatim() bool {
	if !m.ContentValid() {
		return false
	}
	p := m.parsed
	switch p.verbatim.Load() {
	case verbatimNo:
		return false
	case verbatimYes:
		return true
	}
	// Turns racing here find the same answer.
	if !jsonenc.Verbatim(p.raw) {
		p.verbatim.Store(verbatimNo)
		return false
	}
	p.verbatim.Store(verbatimYes)
	return true
}

// Values of parsedContent.verbatim once known.
const (
	verbatimNo = 1 + iota
	verbatimYes
)

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
	h.mu.Lock()
	defer h.mu.Unlock()
	h.putLocked(k, w)
}

func (h *historyMemo) putLocked(k memoKey, w []*memoMessage) {
	size := 0
	for _, e := range w {
		size += e.size
	}
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

// saved adds to k's window the messages a turn just wrote there, with
// the versions their rows were written as, so that the next turn's read
// need not send them: their content as written is, byte for byte, what
// the rows hold (unless the quoting changed it: then they are left to be
// read). Racing a read of the thread, the read's window may win and the
// messages are read the next time, nothing worse.
//
// A message built with its parsed form (WithParsed) is kept as it is:
// its content is valid UTF-8 JSON without NUL bytes by construction, and
// the builder gave up changing it. Any other is checked, copied and
// parsed.
func (h *historyMemo) saved(k memoKey, msgs []Message, vers []rowVersion) {
	// One allocation for the turn's entries.
	add := make([]memoMessage, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- { // newest first, as windows are
		m := msgs[i]
		if m.ThreadID != k.thread {
			continue
		}
		if !m.builtContent() {
			if !utf8.Valid(m.Content) || bytes.IndexByte(m.Content, 0) >= 0 || !json.Valid(m.Content) {
				continue
			}
			m.Content, m.parsed = bytes.Clone(m.Content), nil // the caller's slice is the caller's
		}
		if m.Type == "" {
			m.Type = "v2" // as appendTurnSQL writes it
		}
		add = append(add, memoMessageOf(m, vers[i]))
	}
	if len(add) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// The new messages first; the read that follows replaces the window
	// with what it reads.
	old := h.threads[k].window
	w := make([]*memoMessage, len(add), len(add)+len(old))
	for i := range add {
		w[i] = &add[i]
	}
	h.putLocked(k, append(w, old...))
}

// forget drops a thread's window (the thread is deleted).
func (h *historyMemo) forget(resourceID, threadID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := memoKey{resourceID, threadID}
	h.bytes -= h.threads[k].size
	delete(h.threads, k)
}
