package limits

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/mastra-server/mastra-server/host/memory"
)

// The counters and leases live in mastra_server_limit_counters and
// mastra_server_limit_leases when several instances share one Postgres,
// so that each of them sees the same counts; they are queried here and
// nowhere else (the migrations that create them are with the others).
// Lease expiries are the database's clock plus a TTL, never an instance's
// clock: one instance whose clock runs ahead would otherwise expire (and
// take) the others' slots, one running behind would keep its own too long.

// dbCounter is the counter of NewStore.
type dbCounter struct {
	db *bun.DB
	pg bool
	// now is the database's clock in Unix milliseconds, as SQL.
	now string
}

func newDBCounter(store *memory.Store) *dbCounter {
	c := &dbCounter{db: store.DB(), pg: store.Kind() == "postgres", now: `(extract(epoch from clock_timestamp()) * 1000)::bigint`}
	if !c.pg {
		c.now = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
	}
	return c
}

// AddCount adds n to the counter of key in the window starting at window
// (any number the caller picks per window) and returns the new total. One
// statement, so concurrent adds from any number of instances never lose one.
func (c *dbCounter) AddCount(ctx context.Context, key string, window, n int64) (int64, error) {
	var total int64
	err := c.db.NewRaw(`INSERT INTO mastra_server_limit_counters (key, window_start, n) VALUES (?, ?, ?)
		ON CONFLICT (key, window_start) DO UPDATE SET n = mastra_server_limit_counters.n + EXCLUDED.n
		RETURNING n`, key, window, n).Scan(ctx, &total)
	if err != nil {
		return 0, classify(fmt.Errorf("limits: add count %s: %w", key, err))
	}
	return total, nil
}

// Count is the counter of key in window (0 when never added to).
func (c *dbCounter) Count(ctx context.Context, key string, window int64) (int64, error) {
	var total int64
	err := c.db.NewRaw(`SELECT COALESCE(SUM(n), 0) FROM mastra_server_limit_counters WHERE key = ? AND window_start = ?`, key, window).Scan(ctx, &total)
	if err != nil {
		return 0, classify(fmt.Errorf("limits: count %s: %w", key, err))
	}
	return total, nil
}

// PruneCounts deletes the counters of windows before before.
func (c *dbCounter) PruneCounts(ctx context.Context, before int64) error {
	if _, err := c.db.NewRaw(`DELETE FROM mastra_server_limit_counters WHERE window_start < ?`, before).Exec(ctx); err != nil {
		return classify(fmt.Errorf("limits: prune counts: %w", err))
	}
	return nil
}

// AcquireLease takes lease id under key for ttl if fewer than max
// unexpired leases of key exist; it reports whether it did. Leases of an
// instance that died expire by themselves. On Postgres an advisory lock
// per key makes the count and the insert one step across instances.
func (c *dbCounter) AcquireLease(ctx context.Context, key, id string, max int, ttl time.Duration) (bool, error) {
	ok := false
	err := c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if c.pg {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 14))`, key); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mastra_server_limit_leases WHERE key = ? AND expires_at <= `+c.now, key); err != nil {
			return err
		}
		var n int
		if err := tx.NewRaw(`SELECT count(*) FROM mastra_server_limit_leases WHERE key = ?`, key).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= max {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mastra_server_limit_leases (key, id, expires_at) VALUES (?, ?, `+c.now+` + ?)`,
			key, id, ttl.Milliseconds()); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, classify(fmt.Errorf("limits: acquire lease %s: %w", key, err))
	}
	return ok, nil
}

// RenewLease moves the expiry of lease id under key to ttl from now.
func (c *dbCounter) RenewLease(ctx context.Context, key, id string, ttl time.Duration) error {
	if _, err := c.db.ExecContext(ctx, `UPDATE mastra_server_limit_leases SET expires_at = `+c.now+` + ? WHERE key = ? AND id = ?`,
		ttl.Milliseconds(), key, id); err != nil {
		return classify(fmt.Errorf("limits: renew lease %s: %w", key, err))
	}
	return nil
}

// ReleaseLease drops lease id under key.
func (c *dbCounter) ReleaseLease(ctx context.Context, key, id string) error {
	if _, err := c.db.ExecContext(ctx, `DELETE FROM mastra_server_limit_leases WHERE key = ? AND id = ?`, key, id); err != nil {
		return classify(fmt.Errorf("limits: release lease %s: %w", key, err))
	}
	return nil
}

// classify marks errors that mean "the database cannot be reached" as
// the store's are (memory.ErrUnavailable), so that a refused request is a
// 503 rather than a 500.
func classify(err error) error { return memory.Classify(err) }
