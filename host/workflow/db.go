package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mastra-server/mastra-server/host/store"
)

// db runs the same SQL ($n placeholders, ->> on JSON) on Postgres through
// the process's pgx pool (River's driver needs one, and the step commit
// must share its transaction with River's insert) and on SQLite through
// database/sql, both from host/store.
type db struct {
	st   *store.DB
	pool pgPool  // Postgres
	sql  *sql.DB // SQLite
	// owned: Open opened st, so Close closes it.
	owned bool
	// written counts the bytes of text parameters of every write (exec):
	// tests and benchmarks read what one step or element costs.
	written atomic.Int64
}

// countWrite adds a write's text parameters to d.written.
func (d *db) countWrite(args []any) {
	var n int64
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		}
	}
	d.written.Add(n)
}

func (d *db) postgres() bool { return d.pool != nil }

// pgPool is what the engine uses of the pgx pool.
type pgPool interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// newDB is the engine's view of the process's database.
func newDB(st *store.DB) *db {
	d := &db{st: st}
	if p := st.Pool(); p != nil {
		d.pool = p
	} else {
		d.sql = st.SQL()
	}
	return d
}

// rows is what both drivers' result sets offer.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, func(), error)
	queryRow(ctx context.Context, q string, args ...any) interface{ Scan(...any) error }
}

// txn is one transaction, with hooks that run after it commits.
type txn struct {
	d           *db
	pg          pgx.Tx
	sq          *sql.Tx
	afterCommit []func()
	// extra statements to run with the transaction's last batch (see
	// riverDispatch.enqueue).
	extra []stmt
}

func (t *txn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	t.d.countWrite(args)
	if t.pg != nil {
		tag, err := t.pg.Exec(ctx, q, args...)
		return tag.RowsAffected(), err
	}
	res, err := t.sq.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *txn) query(ctx context.Context, q string, args ...any) (rows, func(), error) {
	if t.pg != nil {
		r, err := t.pg.Query(ctx, q, args...)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Close, nil
	}
	r, err := t.sq.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	return r, func() { r.Close() }, nil
}

func (t *txn) queryRow(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
	if t.pg != nil {
		return t.pg.QueryRow(ctx, q, args...)
	}
	return t.sq.QueryRowContext(ctx, q, args...)
}

// stmt is one statement of a batch.
type stmt struct {
	q    string
	args []any
}

// execAll runs statements in order and returns the rows each affected. On
// Postgres they go as one pipelined batch: one round trip, not one each.
func (t *txn) execAll(ctx context.Context, stmts []stmt) ([]int64, error) {
	n := make([]int64, len(stmts))
	for _, s := range stmts {
		t.d.countWrite(s.args)
	}
	if t.pg != nil {
		b := &pgx.Batch{}
		for _, s := range stmts {
			b.Queue(s.q, s.args...)
		}
		br := t.pg.SendBatch(ctx, b)
		for i := range stmts {
			tag, err := br.Exec()
			if err != nil {
				_ = br.Close()
				return nil, err
			}
			n[i] = tag.RowsAffected()
		}
		return n, br.Close()
	}
	for i, s := range stmts {
		res, err := t.sq.ExecContext(ctx, s.q, s.args...)
		if err != nil {
			return nil, err
		}
		if n[i], err = res.RowsAffected(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// dbq runs statements outside a transaction.
type dbq struct{ d *db }

func (q dbq) exec(ctx context.Context, s string, args ...any) (int64, error) {
	q.d.countWrite(args)
	if q.d.pool != nil {
		tag, err := q.d.pool.Exec(ctx, s, args...)
		return tag.RowsAffected(), classify(err)
	}
	res, err := q.d.sql.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, classify(err)
	}
	return res.RowsAffected()
}

func (q dbq) query(ctx context.Context, s string, args ...any) (rows, func(), error) {
	if q.d.pool != nil {
		r, err := q.d.pool.Query(ctx, s, args...)
		if err != nil {
			return nil, nil, classify(err)
		}
		return classifiedRows{r}, r.Close, nil
	}
	r, err := q.d.sql.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, nil, classify(err)
	}
	return classifiedRows{r}, func() { r.Close() }, nil
}

func (q dbq) queryRow(ctx context.Context, s string, args ...any) interface{ Scan(...any) error } {
	if q.d.pool != nil {
		return classifiedRow{q.d.pool.QueryRow(ctx, s, args...)}
	}
	return classifiedRow{q.d.sql.QueryRowContext(ctx, s, args...)}
}

// classify marks an error that means the database cannot be reached with
// ErrUnavailable (the HTTP layer answers 503, not 500). Statements in a
// transaction are classified once, by inTx.
func classify(err error) error {
	if errors.Is(err, ErrUnavailable) || !store.Unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// classifiedRows and classifiedRow classify the errors of reads outside a
// transaction, which reach the caller without passing inTx.
type classifiedRows struct{ rows }

func (r classifiedRows) Scan(dest ...any) error { return classify(r.rows.Scan(dest...)) }
func (r classifiedRows) Err() error             { return classify(r.rows.Err()) }

type classifiedRow struct {
	row interface{ Scan(...any) error }
}

func (r classifiedRow) Scan(dest ...any) error { return classify(r.row.Scan(dest...)) }

// inTx runs fn in a transaction and its after-commit hooks once committed.
// On SQLite the transaction takes the write lock at BEGIN (_txlock=immediate),
// which serialises writers as Postgres's row lock does.
func (d *db) inTx(ctx context.Context, fn func(*txn) error) error {
	t := &txn{d: d}
	var err error
	if d.pool != nil {
		t.pg, err = d.pool.Begin(ctx)
	} else {
		t.sq, err = d.sql.BeginTx(ctx, nil)
	}
	if err != nil {
		return classify(fmt.Errorf("workflow: begin: %w", err))
	}
	if err := fn(t); err != nil {
		if t.pg != nil {
			_ = t.pg.Rollback(context.WithoutCancel(ctx))
		} else {
			_ = t.sq.Rollback()
		}
		return classify(err)
	}
	// The commit must not be cut by the caller's context: a run's last step
	// cancels the run's queued jobs, its own included, and River cancels
	// that job's context as the commit lands. pgx would then report a
	// commit that did happen as failed and the after-commit hooks (the
	// run's end for the observer, wake-ups) would be skipped.
	if t.pg != nil {
		err = t.pg.Commit(context.WithoutCancel(ctx))
	} else {
		err = t.sq.Commit()
	}
	if err != nil {
		return classify(fmt.Errorf("workflow: commit: %w", err))
	}
	for _, f := range t.afterCommit {
		f()
	}
	return nil
}

// forUpdate locks the selected row on Postgres; SQLite's transaction
// already holds the database's write lock.
func (d *db) forUpdate() string {
	if d.pool != nil {
		return " FOR UPDATE"
	}
	return ""
}

// ts is a timestamp as Mastra's columns hold it: timestamp on Postgres, an
// ISO string with milliseconds on SQLite (as Mastra's libsql store writes).
func (d *db) ts(t time.Time) any {
	t = t.UTC()
	if d.pool != nil {
		return t
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

func parseTS(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case string:
		for _, f := range []string{"2006-01-02T15:04:05.000Z", time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
			if t, err := time.Parse(f, x); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}

var errNoRows = errors.New("no rows")

func isNoRows(err error) bool {
	return store.NoRows(err) || errors.Is(err, errNoRows)
}
