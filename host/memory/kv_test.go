package memory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// roomy is a quota the tests that are not about quotas never reach.
var roomy = KVQuota{ResourceID: "r", MaxKeys: 1000, MaxBytes: 10 << 20}

// kvUsage is what the database holds for resource in ns: keys and bytes of
// keys and values, as an operator would sum them.
func kvUsage(t *testing.T, s *Store, ns, resource string) (keys int, bytes int64) {
	t.Helper()
	var u struct {
		N int   `bun:"n"`
		B int64 `bun:"b"`
	}
	if err := s.db.NewRaw(`SELECT count(*) AS n, coalesce(sum(length(value)), 0) + coalesce(sum(length(key)), 0) AS b
		FROM mastra_server_plugin_kv WHERE namespace = ? AND resource_id = ?`, ns, resource).Scan(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u.N, u.B
}

// N8: a resource's keys in a plugin's namespace are bounded in number and
// bytes; a write past either is ErrKVQuota and stores nothing, while
// another resource and another namespace still write, a value that replaces
// one is counted once, and expired entries do not count.
func TestPluginKVQuota(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		q := KVQuota{ResourceID: "tenant-a", MaxKeys: 3, MaxBytes: 100}
		val := []byte(strings.Repeat("v", 20)) // 22 bytes with a 2-byte key
		for i := range 3 {
			if err := s.KVSet(ctx, "p", fmt.Sprintf("k%d", i), val, 0, q); err != nil {
				t.Fatalf("set %d within the quota: %v", i, err)
			}
		}
		if err := s.KVSet(ctx, "p", "k3", val, 0, q); !errors.Is(err, ErrKVQuota) {
			t.Fatalf("fourth key = %v; want ErrKVQuota", err)
		}
		if _, ok, _ := s.KVGet(ctx, "p", "k3"); ok {
			t.Error("the refused key was stored")
		}
		// Replacing a key is within the quota, up to its bytes.
		if err := s.KVSet(ctx, "p", "k0", []byte(strings.Repeat("w", 50)), 0, q); err != nil {
			t.Errorf("replace k0 = %v", err)
		}
		if err := s.KVSet(ctx, "p", "k1", []byte(strings.Repeat("w", 60)), 0, q); !errors.Is(err, ErrKVQuota) {
			t.Errorf("replace k1 past the bytes = %v; want ErrKVQuota", err)
		}
		if n, b := kvUsage(t, s, "p", "tenant-a"); n != 3 || b != 52+22+22 {
			t.Errorf("stored %d keys, %d bytes; want 3 keys, 96 bytes", n, b)
		}
		// Another resource and another namespace have their own quota.
		if err := s.KVSet(ctx, "p", "b0", val, 0, KVQuota{ResourceID: "tenant-b", MaxKeys: 3, MaxBytes: 100}); err != nil {
			t.Errorf("tenant-b = %v", err)
		}
		if err := s.KVSet(ctx, "p2", "k3", val, 0, q); err != nil {
			t.Errorf("another namespace = %v", err)
		}
		// Expired entries do not count.
		if err := s.KVDelete(ctx, "p", "k2"); err != nil {
			t.Fatal(err)
		}
		if err := s.KVSet(ctx, "p", "short", []byte("x"), time.Millisecond, q); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := s.KVSet(ctx, "p", "k2", val, 0, q); err != nil {
			t.Errorf("set after an entry expired = %v", err)
		}
	})
}

// Concurrent writers of one resource, on two stores over one database (two
// server instances), never take it past its quota.
func TestPluginKVQuotaConcurrent(t *testing.T) {
	for kind, opts := range map[string]func(t *testing.T) Options{
		"sqlite":   func(t *testing.T) Options { return Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")} },
		"postgres": func(t *testing.T) Options { return Options{DatabaseURL: pgtest.NewDatabase(t)} },
	} {
		t.Run(kind, func(t *testing.T) {
			o := opts(t)
			stores := []*Store{openStore(t, o), openStore(t, o)}
			q := KVQuota{ResourceID: "tenant-a", MaxKeys: 10, MaxBytes: 1 << 20}
			var wg sync.WaitGroup
			var mu sync.Mutex
			stored := 0
			for g := range 8 {
				wg.Go(func() {
					for i := range 4 {
						err := stores[g%2].KVSet(context.Background(), "p", fmt.Sprintf("g%d-%d", g, i), []byte("v"), 0, q)
						switch {
						case err == nil:
							mu.Lock()
							stored++
							mu.Unlock()
						case !errors.Is(err, ErrKVQuota):
							t.Errorf("set: %v", err)
						}
					}
				})
			}
			wg.Wait()
			if n, _ := kvUsage(t, stores[0], "p", "tenant-a"); n != q.MaxKeys || stored != q.MaxKeys {
				t.Errorf("%d keys stored, %d writes succeeded; want exactly %d", n, stored, q.MaxKeys)
			}
		})
	}
}
