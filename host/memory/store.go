package memory

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/mastra-server/mastra-server/host/store"
)

// Options say which database Open opens. There are no defaults: the
// configuration's (memory.* in mastra.toml) are the only ones.
type Options struct {
	// DatabaseURL is a postgres:// URL; empty selects SQLite at SQLitePath.
	DatabaseURL string
	SQLitePath  string
	// MaxOpenConns caps the connections to the database, all of which
	// are kept when idle. Required (at least 1).
	MaxOpenConns int
	// BulkWriteConns is how many connections one resource's bulk writes
	// (SaveMessages) may hold at once, at most MaxOpenConns; one more is a
	// *BusyError. 0 lets them take the whole pool.
	BulkWriteConns int
	// NoPgvector keeps semantic recall on mastra_server_vectors even when
	// the Postgres has pgvector (see RecallMode).
	NoPgvector bool
}

// Store is the thread and message store. It is safe for concurrent use.
type Store struct {
	db   *bun.DB
	sdb  *store.DB
	kind string
	// owned: Open opened sdb, so Close closes it.
	owned bool
	// bulk is each resource's share of the pool for bulk writes.
	bulk *resourceShare
	// noPgvector and pgv: semantic recall's mode (pgvector.go).
	noPgvector bool
	pgv        pgvectorState
	// vcache keeps tenants' vectors (vectorcache.go); seq numbers vector
	// writes on SQLite.
	vcache vectorCache
	// memo keeps the messages last read per thread, parsed (history.go).
	memo      historyMemo
	seqMu     sync.Mutex
	seq       int64
	seqLoaded bool
	// vectorWritten, when set (tests), runs inside a vector write's
	// transaction after its rows are written.
	vectorWritten func()
}

// New is the store on the process's database, which the caller opened
// (host/store) and closes. maxConns and bulkWriteConns are as in Options.
func New(db *store.DB, maxConns, bulkWriteConns int, noPgvector bool) (*Store, error) {
	bulk := bulkWriteConns
	if bulk == 0 {
		bulk = maxConns
	}
	if bulk < 1 || bulk > maxConns {
		return nil, fmt.Errorf("memory: BulkWriteConns = %d: expected 1 to MaxOpenConns (%d)", bulkWriteConns, maxConns)
	}
	return &Store{db: db.Bun(), sdb: db, kind: db.Kind(), bulk: newResourceShare(bulk), noPgvector: noPgvector}, nil
}

// Open opens a database of the store's own through host/store, closed by
// Close (tests and tools that need nothing else; the server shares one
// database between its parts: New). It does not create tables: call
// Migrate. Open does not fail when Postgres is unreachable; Ping reports
// that.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.MaxOpenConns < 1 {
		return nil, fmt.Errorf("memory: MaxOpenConns = %d: at least 1 is required", opts.MaxOpenConns)
	}
	db, err := store.Open(ctx, store.Options{DatabaseURL: opts.DatabaseURL, SQLitePath: opts.SQLitePath, MaxConns: opts.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	s, err := New(db, opts.MaxOpenConns, opts.BulkWriteConns, opts.NoPgvector)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Kind is "postgres" or "sqlite".
func (s *Store) Kind() string { return s.kind }

// DB is the database the store is on.
func (s *Store) DB() *store.DB { return s.sdb }

// Stats reports the database connection pool (for metrics).
func (s *Store) Stats() sql.DBStats { return s.sdb.Stats() }

// AddQueryHook runs h around every statement of the store (tracing adds
// one span per statement). Call it before the store is used.
func (s *Store) AddQueryHook(h bun.QueryHook) { s.db.AddQueryHook(h) }

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.sdb.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sdb.Ping(ctx); err != nil {
		return classify(fmt.Errorf("memory: %w", err))
	}
	return nil
}

// Migrate applies every pending migration of the database (host/store's:
// memory's tables and everyone else's) and returns their names.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	names, err := s.sdb.Migrate(ctx)
	return names, classify(err)
}

// PendingMigrations lists migrations not yet applied.
func (s *Store) PendingMigrations(ctx context.Context) ([]string, error) {
	names, err := s.sdb.Pending(ctx)
	return names, classify(err)
}

// CreateThread stores a new thread. It fails with ErrConflict when the id is
// taken. Zero timestamps are set to now.
func (s *Store) CreateThread(ctx context.Context, t Thread) (Thread, error) {
	now := time.Now().UTC()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	res, err := s.db.NewInsert().Model(newThreadRow(t)).On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return Thread{}, classify(fmt.Errorf("memory: create thread %s: %w", t.ID, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Thread{}, ErrConflict
	}
	return s.Thread(ctx, t.ResourceID, t.ID)
}

// Thread returns a thread of resourceID. A thread of another resource is
// ErrNotFound. An empty resourceID reads any resource's thread: only callers
// that are not scoped to a tenant may pass it.
func (s *Store) Thread(ctx context.Context, resourceID, threadID string) (Thread, error) {
	row := new(threadRow)
	q := s.db.NewSelect().Model(row).Where("id = ?", threadID)
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	if err := q.Limit(int64(1)).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Thread{}, ErrNotFound
		}
		return Thread{}, classify(fmt.Errorf("memory: load thread %s: %w", threadID, err))
	}
	return row.thread(), nil
}

// ThreadQuery selects a page of threads.
type ThreadQuery struct {
	ResourceID string // "" lists every resource's threads
	Page       int    // from 0
	PerPage    int    // 0 means 100; negative means all
	OrderBy    string // createdAt (default) or updatedAt
	Ascending  bool   // default newest first
	// Metadata keeps threads whose metadata has these top-level values.
	Metadata map[string]any
}

// ThreadPage is one page of threads.
type ThreadPage struct {
	Threads []Thread
	Total   int
	Page    int
	PerPage int
	HasMore bool
}

// ListThreads returns threads, newest first by default, with id as tiebreaker.
func (s *Store) ListThreads(ctx context.Context, q ThreadQuery) (ThreadPage, error) {
	if q.PerPage == 0 {
		q.PerPage = 100
	}
	field := "createdAt"
	if q.OrderBy == "updatedAt" {
		field = "updatedAt"
	}
	dir := "DESC"
	if q.Ascending {
		dir = "ASC"
	}
	filter := func(sq *bun.SelectQuery) *bun.SelectQuery {
		if q.ResourceID != "" {
			sq = sq.Where(`"resourceId" = ?`, q.ResourceID)
		}
		for k, v := range q.Metadata {
			sq = s.whereMetadata(sq, k, v)
		}
		return sq
	}
	total, err := filter(s.db.NewSelect().Model((*threadRow)(nil))).Count(ctx)
	if err != nil {
		return ThreadPage{}, classify(fmt.Errorf("memory: count threads: %w", err))
	}
	var rows []threadRow
	sq := filter(s.db.NewSelect().Model(&rows)).
		OrderExpr(fmt.Sprintf(`COALESCE("%sZ", "%s") %s, id %s`, field, field, dir, dir))
	offset, inRange := pageOffset(q.Page, q.PerPage)
	if q.PerPage > 0 {
		sq = sq.Limit(int64(q.PerPage)).Offset(offset)
	}
	if !inRange {
		return ThreadPage{Threads: []Thread{}, Total: int(total), Page: q.Page, PerPage: q.PerPage}, nil
	}
	if err := sq.Scan(ctx); err != nil {
		return ThreadPage{}, classify(fmt.Errorf("memory: list threads: %w", err))
	}
	page := ThreadPage{Threads: make([]Thread, len(rows)), Total: int(total), Page: q.Page, PerPage: q.PerPage}
	for i := range rows {
		page.Threads[i] = rows[i].thread()
	}
	page.HasMore = q.PerPage > 0 && int64(total)-offset > int64(q.PerPage)
	return page, nil
}

// pageOffset is the offset of a page, page × perPage. inRange is false when
// that overflows: such a page lies past any table and is empty. A negative
// page counts as page 0.
func pageOffset(page, perPage int) (offset int64, inRange bool) {
	if page <= 0 || perPage <= 0 {
		return 0, true
	}
	if int64(page) > math.MaxInt64/int64(perPage) {
		return 0, false
	}
	return int64(page) * int64(perPage), true
}

func (s *Store) whereMetadata(sq *bun.SelectQuery, key string, val any) *bun.SelectQuery {
	if s.kind == "postgres" {
		return sq.Where("metadata::jsonb @> ?::jsonb", jsonText(map[string]any{key: val}))
	}
	return sq.Where("json_extract(metadata, ?) = json_extract(?, '$.v')", "$."+jsonPathKey(key), jsonText(map[string]any{"v": val}))
}

// ThreadUpdate changes a thread. Nil fields are left alone; Metadata, when
// set, replaces the old metadata (as Mastra does).
type ThreadUpdate struct {
	Title         *string
	Metadata      map[string]any
	ResourceID    *string
	ClearMetadata bool
}

// UpdateThread changes a thread of resourceID and bumps its updatedAt. A
// scoped caller (resourceID not empty) cannot move the thread to another
// resource: that is ErrNotFound and nothing changes.
func (s *Store) UpdateThread(ctx context.Context, resourceID, threadID string, u ThreadUpdate) (Thread, error) {
	var out Thread
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := threadIn(ctx, tx, resourceID, threadID)
		if err != nil {
			return err
		}
		if u.Title != nil {
			t.Title = *u.Title
		}
		if u.Metadata != nil || u.ClearMetadata {
			t.Metadata = u.Metadata
		}
		if u.ResourceID != nil && *u.ResourceID != "" {
			if resourceID != "" && *u.ResourceID != resourceID {
				// A scoped caller cannot hand its thread (and what it
				// writes next) to another resource.
				return ErrNotFound
			}
			t.ResourceID = *u.ResourceID
		}
		t.UpdatedAt = time.Now().UTC()
		row := newThreadRow(t)
		_, err = tx.NewUpdate().Model(row).
			Column("title", "metadata", "resourceId", "updatedAt", "updatedAtZ").
			WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("memory: update thread %s: %w", threadID, err)
		}
		out = t
		return nil
	})
	return out, classify(err)
}

// DeleteThread deletes a thread of resourceID and its messages.
func (s *Store) DeleteThread(ctx context.Context, resourceID, threadID string) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := threadIn(ctx, tx, resourceID, threadID)
		if err != nil {
			return err
		}
		s.memo.forget(t.ResourceID, threadID)
		if _, err := tx.NewDelete().Model((*messageRow)(nil)).Where("thread_id = ?", threadID).Exec(ctx); err != nil {
			return fmt.Errorf("memory: delete messages of %s: %w", threadID, err)
		}
		if _, err := tx.NewDelete().Model((*threadRow)(nil)).Where("id = ?", threadID).Exec(ctx); err != nil {
			return fmt.Errorf("memory: delete thread %s: %w", threadID, err)
		}
		return nil
	})
	return classify(err)
}

func threadIn(ctx context.Context, db bun.IDB, resourceID, threadID string) (Thread, error) {
	row := new(threadRow)
	q := db.NewSelect().Model(row).Where("id = ?", threadID)
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	if err := q.Limit(int64(1)).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Thread{}, ErrNotFound
		}
		return Thread{}, fmt.Errorf("memory: load thread %s: %w", threadID, err)
	}
	return row.thread(), nil
}

// Turn is what one completed agent turn saves.
type Turn struct {
	// Thread is created when it does not exist yet. When it exists it must
	// belong to Thread.ResourceID, or AppendTurn fails with ErrNotFound.
	Thread   Thread
	Messages []Message
}

// AppendTurn saves a turn's messages in one transaction, creating the
// thread when needed and bumping its updatedAt. Either all of it is saved
// or nothing is. Messages without an id, thread or resource get the turn's.
// A message id that is already taken (anywhere) is ErrMessageConflict.
//
// The history order is causal: under the thread's lock, so concurrent turns
// on one thread serialise, the messages are stamped strictly after the
// thread's latest message and 1 ms apart in their order, keeping their own
// times when those are later already. Equal or skewed clocks (two server
// instances, turns in the same millisecond) cannot interleave or flip two
// turns. AppendTurn writes the stored times back into turn.Messages.
func (s *Store) AppendTurn(ctx context.Context, turn Turn) error {
	now := time.Now().UTC()
	for i := range turn.Messages {
		m := &turn.Messages[i]
		if m.ID == "" {
			return errors.New("memory: message without id")
		}
		if m.ThreadID == "" {
			m.ThreadID = turn.Thread.ID
		}
		if m.ResourceID == "" {
			m.ResourceID = turn.Thread.ResourceID
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Microsecond) // the databases keep µs
		if i > 0 && m.CreatedAt.Before(turn.Messages[i-1].CreatedAt.Add(time.Millisecond)) {
			m.CreatedAt = turn.Messages[i-1].CreatedAt.Add(time.Millisecond)
		}
	}
	if s.kind == "postgres" && len(turn.Messages) > 0 {
		return s.appendTurnPostgres(ctx, turn, now)
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t := turn.Thread
		if t.CreatedAt.IsZero() {
			t.CreatedAt = now
		}
		t.UpdatedAt = now
		res, err := tx.NewInsert().Model(newThreadRow(t)).On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("memory: create thread %s: %w", t.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			existing, err := threadIn(ctx, tx, t.ResourceID, t.ID)
			if err != nil {
				return err // another resource's thread: not found
			}
			_, err = tx.NewUpdate().Model((*threadRow)(nil)).
				Set(`"updatedAt" = ?`, now).Set(`"updatedAtZ" = ?`, now).
				Where("id = ?", existing.ID).Exec(ctx)
			if err != nil {
				return fmt.Errorf("memory: touch thread %s: %w", t.ID, err)
			}
		}
		if len(turn.Messages) == 0 {
			return nil
		}
		// SQLite transactions here take the write lock up front
		// (_txlock=immediate), so the latest message read now stays the
		// latest until commit.
		var last []messageRow
		err = tx.NewSelect().Model(&last).Where("thread_id = ?", t.ID).
			OrderExpr(`"createdAt" DESC`).Limit(int64(1)).Scan(ctx)
		if err != nil {
			return fmt.Errorf("memory: latest message of %s: %w", t.ID, err)
		}
		if len(last) == 1 {
			shiftAfter(turn.Messages, last[0].CreatedAt.UTC())
		}
		rows := make([]*messageRow, len(turn.Messages))
		for i, m := range turn.Messages {
			rows[i] = newMessageRow(m)
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return ErrMessageConflict
			}
			return fmt.Errorf("memory: save messages of %s: %w", t.ID, err)
		}
		return nil
	})
	return classify(err)
}

// shiftAfter moves msgs (in increasing order) later by one offset, so the
// first comes at least 1 ms after latest.
func shiftAfter(msgs []Message, latest time.Time) {
	if d := latest.Add(time.Millisecond).Sub(msgs[0].CreatedAt); d > 0 {
		for i := range msgs {
			msgs[i].CreatedAt = msgs[i].CreatedAt.Add(d)
		}
	}
}

// appendTurnPostgres saves a turn in one round trip: two statements sent
// as one simple query, which Postgres runs as one implicit transaction (an
// error in either leaves nothing behind). The first creates or touches the
// thread, only if it belongs to the turn's resource, and so takes its row
// lock: a concurrent turn on the thread waits here until this one commits.
// The second, with a fresh snapshot that sees every turn committed before
// the lock was granted, inserts the messages shifted after the thread's
// latest one, only if the thread is the resource's, and returns the stored
// times.
func (s *Store) appendTurnPostgres(ctx context.Context, turn Turn, now time.Time) error {
	t := turn.Thread
	created := t.CreatedAt
	if created.IsZero() {
		created = now
	}
	text := appendTurnSQL(s.db.Dialect(), turn, created, now)

	// Straight from the pool, not through database/sql (a third of the
	// save's allocations): database/sql cannot read the second
	// statement's rows anyway, pgconn can.
	conn, err := s.sdb.Pool().Acquire(ctx)
	if err != nil {
		return classify(fmt.Errorf("memory: save turn of %s: %w", t.ID, err))
	}
	vers := make([]rowVersion, len(turn.Messages))
	stored, results, err := readStoredTimes(conn.Conn().PgConn().Exec(ctx, text), turn.Messages, vers)
	conn.Release()
	if isUniqueViolation(err) {
		return ErrMessageConflict // a message id is taken: nothing was saved
	}
	if err != nil {
		return classify(fmt.Errorf("memory: save turn of %s: %w", t.ID, err))
	}
	if results != 2 || stored != len(turn.Messages) {
		return ErrNotFound // the thread belongs to another resource
	}
	s.memo.saved(memoKey{t.ResourceID, t.ID}, turn.Messages, vers)
	return nil
}

// appendTurnSQL is appendTurnPostgres's two statements, the values
// inlined as Bun would inline them (its dialect quotes them), written
// straight into one buffer: formatting them through Bun's placeholders
// boxed every value and cost a tenth of the save.
func appendTurnSQL(d schema.Dialect, turn Turn, created, now time.Time) string {
	t := turn.Thread
	size := 1024 + len(t.ID)*3 + len(t.ResourceID)*2 + len(t.Title)
	for _, m := range turn.Messages {
		size += 160 + len(m.ID) + len(m.ThreadID) + len(m.ResourceID) + len(m.Content) + len(m.Content)/8
	}
	q := make([]byte, 0, size)
	str := func(v string) { q = d.AppendString(q, v) }
	tm := func(v time.Time) { q = d.AppendTime(q, v) }
	lit := func(v string) { q = append(q, v...) }
	lit(`INSERT INTO mastra_threads (id, "resourceId", title, metadata, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
VALUES (`)
	str(t.ID)
	lit(", ")
	str(t.ResourceID)
	lit(", ")
	str(t.Title)
	lit(", ")
	if t.Metadata != nil {
		str(jsonText(t.Metadata))
	} else {
		lit("NULL")
	}
	lit("::jsonb, ")
	tm(created)
	lit(", ")
	tm(now)
	lit(", ")
	tm(created)
	lit(", ")
	tm(now)
	lit(`)
ON CONFLICT (id) DO UPDATE SET "updatedAt" = EXCLUDED."updatedAt", "updatedAtZ" = EXCLUDED."updatedAtZ"
WHERE mastra_threads."resourceId" = EXCLUDED."resourceId";
INSERT INTO mastra_messages (id, thread_id, content, role, type, "createdAt", "resourceId", "createdAtZ")
SELECT v.id, v.thread_id, v.content, v.role, v.type, v.created::timestamp + s.shift, v.resource,
	(v.created::timestamp + s.shift) AT TIME ZONE 'UTC'
FROM (VALUES `)
	for i, m := range turn.Messages {
		if i > 0 {
			lit(", ")
		}
		typ := m.Type
		if typ == "" {
			typ = "v2" // as newMessageRow
		}
		lit("(")
		str(m.ID)
		lit(", ")
		str(m.ThreadID)
		lit(", ")
		if bytes.IndexByte(m.Content, 0) < 0 {
			q = appendQuoted(q, m.Content) // no copy of the content as a string
		} else {
			q = d.AppendString(q, string(m.Content)) // Bun's refusal of a NUL
		}
		lit(", ")
		str(m.Role)
		lit(", ")
		str(typ)
		lit(", ")
		tm(m.CreatedAt)
		lit(", ")
		if m.ResourceID != "" {
			str(m.ResourceID)
		} else {
			lit("NULL")
		}
		lit(")")
	}
	lit(`) AS v(id, thread_id, content, role, type, created, resource),
	(SELECT GREATEST(interval '0', COALESCE(max(m."createdAt") + interval '1 millisecond' - `)
	tm(turn.Messages[0].CreatedAt)
	lit(`::timestamp, interval '0')) AS shift
	 FROM mastra_messages m WHERE m.thread_id = `)
	str(t.ID)
	lit(`) AS s
WHERE EXISTS (SELECT 1 FROM mastra_threads WHERE id = `)
	str(t.ID)
	lit(` AND "resourceId" = `)
	str(t.ResourceID)
	lit(`)
RETURNING id, to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.US'), xmin, ctid`)
	return string(q)
}

// appendQuoted is Bun's BaseDialect.AppendString for bytes without a NUL:
// quotes doubled, invalid UTF-8 replaced by U+FFFD, as ranging over a
// string does.
func appendQuoted(b, s []byte) []byte {
	b = append(b, '\'')
	for len(s) > 0 {
		if c := s[0]; c < utf8.RuneSelf {
			if c == '\'' {
				b = append(b, '\'')
			}
			b = append(b, c)
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRune(s)
		b = utf8.AppendRune(b, r)
		s = s[n:]
	}
	return append(b, '\'')
}

// readStoredTimes reads the results of appendTurnPostgres's statements,
// writing the second one's times into msgs and row versions into vers by
// id as it goes (no copy of the rows is made). stored counts the rows
// that named one of msgs.
func readStoredTimes(mrr *pgconn.MultiResultReader, msgs []Message, vers []rowVersion) (stored, results int, err error) {
	var onStack [4]time.Time // a turn saves two messages, or a few more
	times := onStack[:0]
	if len(msgs) > len(onStack) {
		times = make([]time.Time, 0, len(msgs))
	}
	times = times[:len(msgs)]
	for mrr.NextResult() {
		results++
		rr := mrr.ResultReader()
		for rr.NextRow() {
			row := rr.Values()
			if results != 2 || len(row) != 4 {
				continue
			}
			at, perr := time.Parse("2006-01-02T15:04:05.999999", string(row[1]))
			if perr != nil && err == nil {
				err = fmt.Errorf("read back time %q: %w", row[1], perr)
			}
			for i := range msgs {
				if string(row[0]) == msgs[i].ID && times[i].IsZero() {
					times[i] = at.UTC()
					if verr := vers[i].setText(row[2], row[3]); verr != nil && err == nil {
						err = verr
					}
					stored++
					break
				}
			}
		}
		if _, cerr := rr.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if cerr := mrr.Close(); cerr != nil {
		err = cerr // the statement's error wins: a refused turn saved nothing
	}
	if err != nil {
		return 0, results, err
	}
	for i := range msgs {
		msgs[i].CreatedAt = times[i]
	}
	return stored, results, nil
}

// LastMessages returns the last n messages of a thread, oldest first. It
// reads them through the (thread_id, createdAt) index with a LIMIT, so its
// cost does not depend on the thread's length.
func (s *Store) LastMessages(ctx context.Context, threadID string, n int) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	var rows []messageRow
	err := s.db.NewSelect().Model(&rows).
		Where("thread_id = ?", threadID).
		OrderExpr(`"createdAt" DESC, id DESC`).
		Limit(int64(n)).Scan(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("memory: last messages of %s: %w", threadID, err))
	}
	out := make([]Message, len(rows))
	for i := range rows {
		out[len(rows)-1-i] = rows[i].message()
	}
	return out, nil
}

// MessageQuery selects a page of one thread's messages.
type MessageQuery struct {
	ThreadID   string
	ResourceID string // the thread must belong to it; "" for unscoped callers
	Page       int
	PerPage    int // 0 means 40; negative means all
	Descending bool
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages []Message
	Total    int
	Page     int
	PerPage  int
	HasMore  bool
}

// ListMessages returns a thread's messages, oldest first by default. It
// fails with ErrNotFound when the thread does not belong to the resource.
func (s *Store) ListMessages(ctx context.Context, q MessageQuery) (MessagePage, error) {
	if q.PerPage == 0 {
		q.PerPage = 40
	}
	if _, err := s.Thread(ctx, q.ResourceID, q.ThreadID); err != nil {
		return MessagePage{}, err
	}
	total, err := s.db.NewSelect().Model((*messageRow)(nil)).Where("thread_id = ?", q.ThreadID).Count(ctx)
	if err != nil {
		return MessagePage{}, classify(fmt.Errorf("memory: count messages of %s: %w", q.ThreadID, err))
	}
	dir := "ASC"
	if q.Descending {
		dir = "DESC"
	}
	var rows []messageRow
	sq := s.db.NewSelect().Model(&rows).Where("thread_id = ?", q.ThreadID).
		OrderExpr(fmt.Sprintf(`"createdAt" %s, id %s`, dir, dir))
	offset, inRange := pageOffset(q.Page, q.PerPage)
	if q.PerPage > 0 {
		sq = sq.Limit(int64(q.PerPage)).Offset(offset)
	}
	if !inRange {
		return MessagePage{Messages: []Message{}, Total: int(total), Page: q.Page, PerPage: q.PerPage}, nil
	}
	if err := sq.Scan(ctx); err != nil {
		return MessagePage{}, classify(fmt.Errorf("memory: list messages of %s: %w", q.ThreadID, err))
	}
	page := MessagePage{Messages: make([]Message, len(rows)), Total: int(total), Page: q.Page, PerPage: q.PerPage}
	for i := range rows {
		page.Messages[i] = rows[i].message()
	}
	page.HasMore = q.PerPage > 0 && int64(total)-offset > int64(q.PerPage)
	return page, nil
}

// isUniqueViolation reports a duplicate key: message ids are the only key a
// message insert can clash on.
func isUniqueViolation(err error) bool { return store.Duplicate(err) }

// classify marks errors that mean "the database cannot be reached" with
// ErrUnavailable, so the HTTP layer answers 503 rather than 500.
func classify(err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) || !store.Unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Bun is the store's Bun handle on the process's database, for the
// packages that own tables of their own in it (host/runlog, host/limits,
// the plugin KV store): each queries its tables itself, and the store
// keeps threads, messages and working memory.
func (s *Store) Bun() *bun.DB { return s.db }

// Classify marks an error of a statement on the store's database that
// means "the database cannot be reached" with ErrUnavailable, as the
// store's own errors are, so that every route answers it with a 503.
func Classify(err error) error { return classify(err) }

// wrapf wraps a non-nil err with a message; nil stays nil.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
