package limits

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// TestLeaseExpiry: on both databases, a lease holds its slot until its
// TTL has passed on the database's clock, a renewal moves that on, and a
// slot whose holder died (never released, never renewed) frees itself.
func TestLeaseExpiry(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			o := memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db"), MaxOpenConns: 4}
			if kind == "postgres" {
				o = memory.Options{DatabaseURL: pgtest.NewDatabase(t), MaxOpenConns: 4}
			}
			store, err := memory.Open(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			if _, err := store.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			c := newDBCounter(store)
			ctx := context.Background()
			acquire := func(id string, ttl time.Duration) bool {
				t.Helper()
				ok, err := c.AcquireLease(ctx, "k", id, 1, ttl)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if !acquire("a", time.Hour) {
				t.Fatal("the first lease was refused")
			}
			if acquire("b", time.Hour) {
				t.Fatal("a second lease was granted with max 1")
			}
			// a is renewed for a moment only, then "dies".
			if err := c.RenewLease(ctx, "k", "a", 300*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for !acquire("b", time.Hour) {
				if time.Now().After(deadline) {
					t.Fatal("the dead holder's slot never freed itself")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := c.ReleaseLease(ctx, "k", "b"); err != nil {
				t.Fatal(err)
			}
			if !acquire("c", time.Hour) {
				t.Error("a released slot was not free")
			}
		})
	}
}
