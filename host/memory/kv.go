package memory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// kvRow is a plugin's key-value entry (mastra_server_plugin_kv). Keeping it
// in the database lets every server instance see the same values.
type kvRow struct {
	bun.BaseModel `bun:"table:mastra_server_plugin_kv"`

	Namespace string       `bun:"namespace,pk"`
	Key       string       `bun:"key,pk"`
	Value     []byte       `bun:"value,notnull"`
	ExpiresAt bun.NullTime `bun:"expires_at"`
}

// KVGet returns the value of key in namespace ns; ok is false when it is
// missing or expired.
func (s *Store) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	row := new(kvRow)
	err := s.db.NewSelect().Model(row).Where("namespace = ? AND key = ?", ns, key).
		Where("(expires_at IS NULL OR expires_at > ?)", time.Now().UTC()).Limit(int64(1)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, classify(fmt.Errorf("memory: kv get %s/%s: %w", ns, key, err))
	}
	return row.Value, true, nil
}

// KVSet stores val under key; ttl > 0 makes it expire.
func (s *Store) KVSet(ctx context.Context, ns, key string, val []byte, ttl time.Duration) error {
	row := &kvRow{Namespace: ns, Key: key, Value: val}
	if val == nil {
		row.Value = []byte{}
	}
	if ttl > 0 {
		row.ExpiresAt = bun.NullTime{Time: time.Now().UTC().Add(ttl)}
	}
	_, err := s.db.NewInsert().Model(row).
		On("CONFLICT (namespace, key) DO UPDATE").Set("value = EXCLUDED.value").Set("expires_at = EXCLUDED.expires_at").
		Exec(ctx)
	if err != nil {
		return classify(fmt.Errorf("memory: kv set %s/%s: %w", ns, key, err))
	}
	return nil
}

// KVDelete removes key.
func (s *Store) KVDelete(ctx context.Context, ns, key string) error {
	_, err := s.db.NewDelete().Model((*kvRow)(nil)).Where("namespace = ? AND key = ?", ns, key).Exec(ctx)
	if err != nil {
		return classify(fmt.Errorf("memory: kv delete %s/%s: %w", ns, key, err))
	}
	return nil
}
