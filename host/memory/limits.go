package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The counters and leases of [server.limits] (host/limits) live here when
// several instances share one Postgres, so each of them sees the same
// counts. Times are Unix milliseconds from the callers' clocks, as the
// workflow leases are.

// AddCount adds n to the counter of key in the window starting at window
// (any number the caller picks per window) and returns the new total. One
// statement, so concurrent adds from any number of instances never lose one.
func (s *Store) AddCount(ctx context.Context, key string, window, n int64) (int64, error) {
	var total int64
	err := s.db.NewRaw(`INSERT INTO mastra_server_limit_counters (key, window_start, n) VALUES (?, ?, ?)
		ON CONFLICT (key, window_start) DO UPDATE SET n = mastra_server_limit_counters.n + EXCLUDED.n
		RETURNING n`, key, window, n).Scan(ctx, &total)
	if err != nil {
		return 0, classify(fmt.Errorf("memory: add count %s: %w", key, err))
	}
	return total, nil
}

// Count is the counter of key in window (0 when never added to).
func (s *Store) Count(ctx context.Context, key string, window int64) (int64, error) {
	var total int64
	err := s.db.NewRaw(`SELECT COALESCE(SUM(n), 0) FROM mastra_server_limit_counters WHERE key = ? AND window_start = ?`, key, window).Scan(ctx, &total)
	if err != nil {
		return 0, classify(fmt.Errorf("memory: count %s: %w", key, err))
	}
	return total, nil
}

// PruneCounts deletes the counters of windows before before.
func (s *Store) PruneCounts(ctx context.Context, before int64) error {
	if _, err := s.db.NewRaw(`DELETE FROM mastra_server_limit_counters WHERE window_start < ?`, before).Exec(ctx); err != nil {
		return classify(fmt.Errorf("memory: prune counts: %w", err))
	}
	return nil
}

// AcquireLease takes lease id under key if fewer than max unexpired leases
// of key exist, until expires; it reports whether it did. Leases of an
// instance that died expire by themselves. On Postgres an advisory lock per
// key makes the count and the insert one step across instances.
func (s *Store) AcquireLease(ctx context.Context, key, id string, max int, now, expires time.Time) (bool, error) {
	ok := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if s.kind == "postgres" {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 14))`, key); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mastra_server_limit_leases WHERE key = ? AND expires_at <= ?`, key, now.UnixMilli()); err != nil {
			return err
		}
		var n int
		if err := tx.NewRaw(`SELECT count(*) FROM mastra_server_limit_leases WHERE key = ?`, key).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= max {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mastra_server_limit_leases (key, id, expires_at) VALUES (?, ?, ?)`,
			key, id, expires.UnixMilli()); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, classify(fmt.Errorf("memory: acquire lease %s: %w", key, err))
	}
	return ok, nil
}

// RenewLease moves the expiry of lease id under key to expires.
func (s *Store) RenewLease(ctx context.Context, key, id string, expires time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE mastra_server_limit_leases SET expires_at = ? WHERE key = ? AND id = ?`,
		expires.UnixMilli(), key, id); err != nil {
		return classify(fmt.Errorf("memory: renew lease %s: %w", key, err))
	}
	return nil
}

// ReleaseLease drops lease id under key.
func (s *Store) ReleaseLease(ctx context.Context, key, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM mastra_server_limit_leases WHERE key = ? AND id = ?`, key, id); err != nil {
		return classify(fmt.Errorf("memory: release lease %s: %w", key, err))
	}
	return nil
}
