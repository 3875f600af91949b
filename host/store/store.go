// Package store is the ground floor of the host: it opens the database
// once per process — one pgx pool on Postgres, serving Bun (memory), River
// and the workflow engine alike, or one SQLite handle — runs every
// migration (Mastra's tables, the server's own, River's), owns the one
// LISTEN connection of the instance and fans its notifications out by
// channel, and classifies database errors once (not found, conflict,
// unavailable). It imports nothing else of host/: every wing that keeps
// tables takes a *DB from here and owns only its queries.
//
// It is the only package that imports SQL drivers, Bun dialects or a
// migrator (a test in this package asserts it from `go list`).
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// Options say which database to open. There are no defaults: the
// configuration's (memory.* in mastra.toml) are the only ones.
type Options struct {
	// DatabaseURL is a postgres:// URL; empty selects SQLite at SQLitePath.
	DatabaseURL string
	SQLitePath  string
	// MaxConns caps the connections of the process to the database, every
	// user included (memory, the stream log, workflows, River), all of
	// which are kept when idle. Required (at least 1). The LISTEN
	// connection is one more, outside the pool.
	MaxConns int
	// ApplicationName names the connections on Postgres (pg_stat_activity)
	// unless the URL sets application_name; "" leaves it to the URL.
	ApplicationName string
	// Tracer sees the statements sent on the pool by pgx directly (the
	// workflow engine, River); Bun's statements are left to its query
	// hooks (AddQueryHook), so that none is traced twice. It may also be a
	// pgx.BatchTracer. nil: none.
	Tracer pgx.QueryTracer
}

// DB is the process's database. It is safe for concurrent use.
type DB struct {
	kind string
	bun  *bun.DB
	pool *pgxpool.Pool // Postgres; nil on SQLite

	lmu    sync.Mutex
	lis    *listener // the LISTEN connection, started by the first Listen
	closed bool      // (lmu)

	closeOnce sync.Once
}

// Open opens the database. It does not create tables: call Migrate. Open
// does not fail when Postgres is unreachable; Ping reports that.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.MaxConns < 1 {
		return nil, fmt.Errorf("store: MaxConns = %d: at least 1 is required", o.MaxConns)
	}
	if o.DatabaseURL != "" {
		return openPostgres(o)
	}
	return openSQLite(o)
}

func openPostgres(o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", redactURLError(err))
	}
	cfg.MaxConns = int32(o.MaxConns)
	// Connections are kept when idle, as database/sql kept them: a burst
	// after a quiet minute must not pay a connect per statement. They are
	// closed after idling five minutes, down to none.
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	if o.Tracer != nil {
		cfg.ConnConfig.Tracer = notBun{o.Tracer}
	}
	if _, set := cfg.ConnConfig.RuntimeParams["application_name"]; !set && o.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = o.ApplicationName
	}
	// The pool keeps pgx's default (statements prepared and cached per
	// connection): River and the workflow engine send the same few
	// statements with $n arguments all day, and River's jsonb arguments
	// need the extended protocol. Bun's statements go by the simple
	// protocol instead (simpleConn).
	// pgxpool.NewWithConfig connects lazily: an unreachable database is
	// reported by the first statement (and Ping), not here.
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", redactURLError(err))
	}
	sqldb := sql.OpenDB(simpleConnector{Connector: stdlib.GetPoolConnector(pool), mark: o.Tracer != nil})
	// stdlib.OpenDBFromPool keeps no idle connection in database/sql, so
	// that none is parked out of the pool's reach; but then every Bun
	// statement takes a fresh database/sql connection (13 allocations, a
	// tenth of a history read's). A quarter of the pool may wait idle in
	// database/sql for Bun's next statement; the rest is always the
	// pool's, for River and the workflow engine, and an idle one goes back
	// after a minute. Under four connections none waits: a pgx user that
	// holds one and needs another (Migrate: its lock, then River's
	// migrator) must find it.
	sqldb.SetMaxIdleConns(o.MaxConns / 4)
	sqldb.SetConnMaxIdleTime(time.Minute)
	return &DB{kind: "postgres", bun: bun.NewDB(sqldb, pgdialect.New()), pool: pool}, nil
}

func openSQLite(o Options) (*DB, error) {
	if o.SQLitePath == "" {
		return nil, errors.New("store: no database url and no sqlite path")
	}
	if dir := filepath.Dir(o.SQLitePath); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: create sqlite directory: %w", err)
		}
	}
	// WAL lets readers run beside the writer; immediate transactions take
	// the write lock up front so concurrent writers wait (busy_timeout)
	// instead of failing with SQLITE_BUSY half-way.
	dsn := "file:" + url.PathEscape(o.SQLitePath) +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", o.SQLitePath, err)
	}
	sqldb.SetMaxOpenConns(o.MaxConns)
	sqldb.SetMaxIdleConns(o.MaxConns)
	return &DB{kind: "sqlite", bun: bun.NewDB(sqldb, sqlitedialect.New())}, nil
}

// Kind is "postgres" or "sqlite".
func (d *DB) Kind() string { return d.kind }

// Postgres reports whether the database is Postgres.
func (d *DB) Postgres() bool { return d.pool != nil }

// Bun is the Bun handle (memory's models and queries). On Postgres its
// connections come from the one pool.
func (d *DB) Bun() *bun.DB { return d.bun }

// SQL is the database/sql handle under Bun: on SQLite the one handle, on
// Postgres a view of the one pool.
func (d *DB) SQL() *sql.DB { return d.bun.DB }

// Pool is the pgx pool (River's driver and the workflow engine's
// transactions need one); nil on SQLite.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// AddQueryHook runs h around every Bun statement (tracing adds one span
// per statement). Call it before the database is used.
func (d *DB) AddQueryHook(h bun.QueryHook) { d.bun.AddQueryHook(h) }

// Stats reports the connection pool in database/sql's terms (metrics).
// On Postgres they are the pgx pool's, which every user shares.
func (d *DB) Stats() sql.DBStats {
	if d.pool == nil {
		return d.bun.Stats()
	}
	s := d.pool.Stat()
	return sql.DBStats{
		MaxOpenConnections: int(s.MaxConns()),
		OpenConnections:    int(s.TotalConns()),
		InUse:              int(s.AcquiredConns()),
		Idle:               int(s.IdleConns()),
		WaitCount:          s.EmptyAcquireCount(),
		WaitDuration:       s.EmptyAcquireWaitTime(),
		MaxIdleTimeClosed:  s.MaxIdleDestroyCount(),
		MaxLifetimeClosed:  s.MaxLifetimeDestroyCount(),
	}
}

// Ping checks that the database answers a statement.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.bun.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return Classify(fmt.Errorf("store: ping: %w", err))
	}
	return nil
}

// Close stops the LISTEN connection and closes the database.
func (d *DB) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.lmu.Lock()
		l := d.lis
		d.closed = true
		d.lmu.Unlock()
		if l != nil {
			l.close()
		}
		err = d.bun.Close()
		if d.pool != nil {
			d.pool.Close()
		}
	})
	return err
}

func redactURLError(err error) error {
	// pgx parse errors may echo the connection string; keep only the gist.
	if strings.Contains(err.Error(), "postgres") {
		return errors.New("invalid connection string")
	}
	return err
}

// simpleConnector hands out connections of the pool whose Bun statements
// use the simple protocol. Bun inlines arguments into the SQL text, so
// almost every statement is new to the server: preparing and caching each
// (the pool's default) would cost an extra round trip and churn the
// statement cache that River's and the workflow engine's statements use.
type simpleConnector struct {
	driver.Connector
	mark bool // mark Bun's statements for notBun
}

func (c simpleConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return simpleConn{conn.(*stdConn), c.mark}, nil
}

// stdConn is stdlib.Conn under another name, so that simpleConn's field
// does not hide its Conn method (memory reads pgconn results through it).
type stdConn = stdlib.Conn

type simpleConn struct {
	*stdConn
	mark bool
}

func (c simpleConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if c.mark {
		ctx = context.WithValue(ctx, bunStatement{}, true)
	}
	return c.stdConn.QueryContext(ctx, q, append([]driver.NamedValue{{Value: pgx.QueryExecModeSimpleProtocol}}, args...))
}

func (c simpleConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if c.mark {
		ctx = context.WithValue(ctx, bunStatement{}, true)
	}
	return c.stdConn.ExecContext(ctx, q, append([]driver.NamedValue{{Value: pgx.QueryExecModeSimpleProtocol}}, args...))
}

// bunStatement marks the context of a statement that came through Bun.
type bunStatement struct{}

// notBun passes the pool's statements to a tracer, but Bun's (its hooks
// trace those).
type notBun struct{ t pgx.QueryTracer }

func (n notBun) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if ctx.Value(bunStatement{}) != nil {
		return ctx
	}
	return n.t.TraceQueryStart(ctx, c, d)
}

func (n notBun) TraceQueryEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryEndData) {
	if ctx.Value(bunStatement{}) != nil {
		return
	}
	n.t.TraceQueryEnd(ctx, c, d)
}

func (n notBun) TraceBatchStart(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if bt, ok := n.t.(pgx.BatchTracer); ok {
		return bt.TraceBatchStart(ctx, c, d)
	}
	return ctx
}

func (n notBun) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	if bt, ok := n.t.(pgx.BatchTracer); ok {
		bt.TraceBatchQuery(ctx, c, d)
	}
}

func (n notBun) TraceBatchEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchEndData) {
	if bt, ok := n.t.(pgx.BatchTracer); ok {
		bt.TraceBatchEnd(ctx, c, d)
	}
}
