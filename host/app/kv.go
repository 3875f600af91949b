package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/plugin"
)

// storeKV keeps plugin key-value data (mastra.kv_*) in the database, so
// every instance of the server sees the same values. Beside the plugins'
// other data calls (datacaller.go), it is the only code that queries
// mastra_server_plugin_kv; its quota is plugin.KVQuota, the one the plugin
// host counts with.
type storeKV struct {
	db *bun.DB
	pg bool
}

func newStoreKV(store *memory.Store) storeKV {
	return storeKV{db: store.DB(), pg: store.Kind() == "postgres"}
}

var _ plugin.KV = storeKV{}

// kvRow is a plugin's key-value entry.
type kvRow struct {
	bun.BaseModel `bun:"table:mastra_server_plugin_kv"`

	Namespace string       `bun:"namespace,pk"`
	Key       string       `bun:"key,pk"`
	Value     []byte       `bun:"value,notnull"`
	ExpiresAt bun.NullTime `bun:"expires_at"`
	// ResourceID is the resource whose quota the entry counts against: the
	// last one to write it.
	ResourceID string `bun:"resource_id,notnull"`
	Size       int64  `bun:"size,notnull"` // len(Key) + len(Value)
}

// Get returns the value of key in namespace ns; ok is false when it is
// missing or expired.
func (k storeKV) Get(ctx context.Context, ns, key string) ([]byte, bool, error) {
	row := new(kvRow)
	err := k.db.NewSelect().Model(row).Column("value").Where("namespace = ? AND key = ?", ns, key).
		Where("(expires_at IS NULL OR expires_at > ?)", time.Now().UTC()).Limit(int64(1)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, memory.Classify(fmt.Errorf("app: kv get %s/%s: %w", ns, key, err))
	}
	return row.Value, true, nil
}

// Set stores val under key for q.ResourceID; ttl > 0 makes it expire. If
// the resource's entries in ns would then pass q (the entry it replaces not
// counted), it stores nothing and returns an error wrapping
// plugin.ErrKVQuota.
//
// The check and the write are one transaction that holds a lock on
// (ns, resource) first: on Postgres an advisory lock, which every server
// instance takes alike; on SQLite the write lock taken at BEGIN
// (_txlock=immediate). So concurrent writers of one resource count in turn
// and the quota is never passed, not even by one value. A write that would
// pass it first deletes the resource's expired entries and counts again:
// expired entries never count, and take no more disk than the quota.
func (k storeKV) Set(ctx context.Context, ns, key string, val []byte, ttl time.Duration, q plugin.KVQuota) error {
	now := time.Now().UTC()
	row := &kvRow{Namespace: ns, Key: key, Value: val, ResourceID: q.ResourceID, Size: int64(len(key) + len(val))}
	if val == nil {
		row.Value = []byte{}
	}
	if ttl > 0 {
		row.ExpiresAt = bun.NullTime{Time: now.Add(ttl)}
	}
	err := k.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if k.pg {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 15))`, ns+"\x1f"+q.ResourceID); err != nil {
				return err
			}
		}
		used := func() (keys int, bytes int64, err error) {
			var u struct {
				Keys  int   `bun:"n_keys"`
				Bytes int64 `bun:"n_bytes"`
			}
			err = tx.NewSelect().Model((*kvRow)(nil)).ColumnExpr("count(*) AS n_keys, coalesce(sum(size), 0) AS n_bytes").
				Where("namespace = ? AND resource_id = ? AND key <> ?", ns, q.ResourceID, key).Scan(ctx, &u)
			return u.Keys, u.Bytes, err
		}
		over := func(keys int, bytes int64) bool { return keys+1 > q.MaxKeys || bytes+row.Size > q.MaxBytes }
		keys, bytes, err := used()
		if err != nil {
			return err
		}
		if over(keys, bytes) {
			// Only then drop the resource's expired entries, and count
			// again: the usual write reads the index alone, and expired
			// entries still never take a resource's room (nor stay on
			// disk past the quota).
			if _, err := tx.NewDelete().Model((*kvRow)(nil)).
				Where("namespace = ? AND resource_id = ? AND expires_at <= ?", ns, q.ResourceID, now).Exec(ctx); err != nil {
				return err
			}
			if keys, bytes, err = used(); err != nil {
				return err
			}
			if over(keys, bytes) {
				return fmt.Errorf("%w: %d keys and %d bytes in use, the quota is %d keys and %d bytes",
					plugin.ErrKVQuota, keys, bytes, q.MaxKeys, q.MaxBytes)
			}
		}
		_, err = tx.NewInsert().Model(row).
			On("CONFLICT (namespace, key) DO UPDATE").Set("value = EXCLUDED.value").Set("expires_at = EXCLUDED.expires_at").
			Set("resource_id = EXCLUDED.resource_id").Set("size = EXCLUDED.size").
			Exec(ctx)
		return err
	})
	if err != nil {
		return memory.Classify(fmt.Errorf("app: kv set %s/%s: %w", ns, key, err))
	}
	return nil
}

// Delete removes key.
func (k storeKV) Delete(ctx context.Context, ns, key string) error {
	_, err := k.db.NewDelete().Model((*kvRow)(nil)).Where("namespace = ? AND key = ?", ns, key).Exec(ctx)
	if err != nil {
		return memory.Classify(fmt.Errorf("app: kv delete %s/%s: %w", ns, key, err))
	}
	return nil
}
