package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// openKV opens a KV on a fresh, migrated store opened with o.
func openKV(t *testing.T, o memory.Options) storeKV {
	t.Helper()
	o.MaxOpenConns = 10
	s, err := memory.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return newStoreKV(s)
}

// eachKV runs fn against a KV on SQLite and one on Postgres.
func eachKV(t *testing.T, fn func(t *testing.T, s storeKV)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openKV(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openKV(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)}))
	})
}

// roomy is a quota the tests that are not about quotas never reach.
var roomy = plugin.KVQuota{ResourceID: "r", MaxKeys: 1000, MaxBytes: 10 << 20}

// kvUsage is what the database holds for resource in ns: keys and bytes of
// keys and values, as an operator would sum them.
func kvUsage(t *testing.T, s storeKV, ns, resource string) (keys int, bytes int64) {
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

// TestStoreKVQuota (N8): a resource's keys in a plugin's namespace are bounded in number and
// bytes; a write past either is plugin.ErrKVQuota and stores nothing, while
// another resource and another namespace still write, a value that replaces
// one is counted once, and expired entries do not count.
func TestStoreKVQuota(t *testing.T) {
	eachKV(t, func(t *testing.T, s storeKV) {
		ctx := context.Background()
		q := plugin.KVQuota{ResourceID: "tenant-a", MaxKeys: 3, MaxBytes: 100}
		val := []byte(strings.Repeat("v", 20)) // 22 bytes with a 2-byte key
		for i := range 3 {
			if err := s.Set(ctx, "p", fmt.Sprintf("k%d", i), val, 0, q); err != nil {
				t.Fatalf("set %d within the quota: %v", i, err)
			}
		}
		if err := s.Set(ctx, "p", "k3", val, 0, q); !errors.Is(err, plugin.ErrKVQuota) {
			t.Fatalf("fourth key = %v; want plugin.ErrKVQuota", err)
		}
		if _, ok, _ := s.Get(ctx, "p", "k3"); ok {
			t.Error("the refused key was stored")
		}
		// Replacing a key is within the quota, up to its bytes.
		if err := s.Set(ctx, "p", "k0", []byte(strings.Repeat("w", 50)), 0, q); err != nil {
			t.Errorf("replace k0 = %v", err)
		}
		if err := s.Set(ctx, "p", "k1", []byte(strings.Repeat("w", 60)), 0, q); !errors.Is(err, plugin.ErrKVQuota) {
			t.Errorf("replace k1 past the bytes = %v; want plugin.ErrKVQuota", err)
		}
		if n, b := kvUsage(t, s, "p", "tenant-a"); n != 3 || b != 52+22+22 {
			t.Errorf("stored %d keys, %d bytes; want 3 keys, 96 bytes", n, b)
		}
		// Another resource and another namespace have their own quota.
		if err := s.Set(ctx, "p", "b0", val, 0, plugin.KVQuota{ResourceID: "tenant-b", MaxKeys: 3, MaxBytes: 100}); err != nil {
			t.Errorf("tenant-b = %v", err)
		}
		if err := s.Set(ctx, "p2", "k3", val, 0, q); err != nil {
			t.Errorf("another namespace = %v", err)
		}
		// Expired entries do not count.
		if err := s.Delete(ctx, "p", "k2"); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "p", "short", []byte("x"), time.Millisecond, q); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := s.Set(ctx, "p", "k2", val, 0, q); err != nil {
			t.Errorf("set after an entry expired = %v", err)
		}
	})
}

// Concurrent writers of one resource, on two stores over one database (two
// server instances), never take it past its quota.
func TestStoreKVQuotaConcurrent(t *testing.T) {
	for kind, opts := range map[string]func(t *testing.T) memory.Options{
		"sqlite": func(t *testing.T) memory.Options {
			return memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}
		},
		"postgres": func(t *testing.T) memory.Options { return memory.Options{DatabaseURL: pgtest.NewDatabase(t)} },
	} {
		t.Run(kind, func(t *testing.T) {
			o := opts(t)
			stores := []storeKV{openKV(t, o), openKV(t, o)}
			q := plugin.KVQuota{ResourceID: "tenant-a", MaxKeys: 10, MaxBytes: 1 << 20}
			var wg sync.WaitGroup
			var mu sync.Mutex
			stored := 0
			for g := range 8 {
				wg.Go(func() {
					for i := range 4 {
						err := stores[g%2].Set(context.Background(), "p", fmt.Sprintf("g%d-%d", g, i), []byte("v"), 0, q)
						switch {
						case err == nil:
							mu.Lock()
							stored++
							mu.Unlock()
						case !errors.Is(err, plugin.ErrKVQuota):
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

// TestStoreKV: get, set, replace, expiry and delete, on both databases.
func TestStoreKV(t *testing.T) {
	eachKV(t, func(t *testing.T, s storeKV) {
		ctx := context.Background()
		if _, ok, err := s.Get(ctx, "p1", "k"); ok || err != nil {
			t.Fatalf("Get on empty = %v, %v; want missing", ok, err)
		}
		if err := s.Set(ctx, "p1", "k", []byte("v1"), 0, roomy); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "p1", "k", []byte("v2"), 0, roomy); err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := s.Get(ctx, "p1", "k"); !ok || string(v) != "v2" {
			t.Errorf("Get = %q, %v; want v2", v, ok)
		}
		if _, ok, _ := s.Get(ctx, "p2", "k"); ok {
			t.Error("another namespace sees p1's key")
		}
		if err := s.Set(ctx, "p1", "gone", []byte("x"), time.Millisecond, roomy); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if _, ok, _ := s.Get(ctx, "p1", "gone"); ok {
			t.Error("expired key still readable")
		}
		if err := s.Delete(ctx, "p1", "k"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "p1", "k"); ok {
			t.Error("deleted key still readable")
		}
		// Namespaces (one per plugin) never see or remove each other's keys.
		if err := s.Set(ctx, "plugin-a", "k", []byte("a"), 0, roomy); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "plugin-b", "k", []byte("b"), 0, roomy); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "plugin-b", "k"); err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := s.Get(ctx, "plugin-a", "k"); !ok || string(v) != "a" {
			t.Errorf("plugin-a's key = %q, %v after plugin-b's set and delete; want a", v, ok)
		}
	})
}
