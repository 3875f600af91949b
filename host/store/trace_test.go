package store

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// countTracer records the statements it saw start and end.
type countTracer struct {
	mu            sync.Mutex
	start, end    []string
	batches, bEnd int
}

type stmtKey struct{}

func (c *countTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start = append(c.start, d.SQL)
	return context.WithValue(ctx, stmtKey{}, d.SQL)
}

func (c *countTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, _ := ctx.Value(stmtKey{}).(string)
	c.end = append(c.end, s)
}

func (c *countTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	return ctx
}

func (c *countTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *countTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bEnd++
}

// The tracer sees the statements sent on the pool directly, batches
// included, and none of Bun's (Bun's hooks trace those): no statement is
// traced twice.
func TestTracerSeesPoolStatementsButNotBuns(t *testing.T) {
	tr := &countTracer{}
	d := open(t, Options{DatabaseURL: pgtest.NewDatabase(t), MaxConns: 2, Tracer: tr})
	ctx := context.Background()
	var one int
	if err := d.Bun().NewRaw("SELECT 1 AS bun_statement").Scan(ctx, &one); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Bun().ExecContext(ctx, "SELECT 2 AS bun_exec"); err != nil {
		t.Fatal(err)
	}
	if err := d.Pool().QueryRow(ctx, "SELECT $1::int AS pool_statement", 3).Scan(&one); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("SELECT 4")
	b.Queue("SELECT 5")
	if err := d.Pool().SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, s := range tr.start {
		if s == "SELECT 1 AS bun_statement" || s == "SELECT 2 AS bun_exec" {
			t.Errorf("the pool's tracer saw Bun's statement %q", s)
		}
	}
	var pool int
	for _, s := range tr.end {
		if s == "SELECT $1::int AS pool_statement" {
			pool++
		}
	}
	if pool != 1 {
		t.Errorf("the pool's statement traced to its end %d times (started: %q); want once", pool, tr.start)
	}
	if tr.batches != 1 || tr.bEnd != 1 {
		t.Errorf("batch traced %d/%d times; want 1/1", tr.batches, tr.bEnd)
	}
}
