package limits_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openPG(t *testing.T, url string) *memory.Store {
	t.Helper()
	s, err := memory.Open(context.Background(), memory.Options{DatabaseURL: url, MaxOpenConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStreamLeasesHammer: 40 streams of one subject start at once on two
// instances sharing Postgres; exactly max get a slot, and an instance
// whose clock is wrong gets none of them (TestLeaseExpiry: a dead
// instance's slot frees itself).
func TestStreamLeasesHammer(t *testing.T) {
	url := pgtest.NewDatabase(t)
	now := time.Now()
	clock := func() time.Time { return now }
	var ls []*limits.Limiter
	for range 2 {
		l := limits.NewStore(openPG(t, url), slog.New(slog.DiscardHandler))
		l.Now = clock
		ls = append(ls, l)
	}
	sub := limits.Subject{Key: "resource:r1", Limits: limits.Limits{MaxStreams: 3}}
	var got, refused atomic.Int64
	var mu sync.Mutex
	var held []func()
	defer func() { // stop the renewals at the end
		for _, release := range held {
			release()
		}
	}()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			release, err := ls[i%2].AcquireStream(context.Background(), sub)
			var ee *limits.ExceededError
			switch {
			case err == nil:
				got.Add(1)
				mu.Lock()
				held = append(held, release)
				mu.Unlock()
			case errors.As(err, &ee):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got.Load() != 3 || refused.Load() != 37 {
		t.Fatalf("acquired %d, refused %d; want 3 and 37", got.Load(), refused.Load())
	}
	// Leases expire by the database's clock: an instance whose clock runs
	// an hour ahead does not take the slots the others hold.
	ahead := limits.NewStore(openPG(t, url), slog.New(slog.DiscardHandler))
	ahead.Now = func() time.Time { return now.Add(time.Hour) }
	if release, err := ahead.AcquireStream(context.Background(), sub); err == nil {
		release()
		t.Fatal("an instance with its clock an hour ahead took a slot held by the others")
	}
}

// TestRequestCounterHammer: 50 requests at once over two instances with a
// limit of 20: exactly 20 pass.
func TestRequestCounterHammer(t *testing.T) {
	url := pgtest.NewDatabase(t)
	now := time.Now().Truncate(time.Minute).Add(30 * time.Second)
	var ls []*limits.Limiter
	for range 2 {
		l := limits.NewStore(openPG(t, url), slog.New(slog.DiscardHandler))
		l.Now = func() time.Time { return now }
		ls = append(ls, l)
	}
	sub := limits.Subject{Key: "resource:r1", Limits: limits.Limits{RequestsPerMinute: 20}}
	var passed atomic.Int64
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := ls[i%2].Request(context.Background(), sub); err == nil {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 20 {
		t.Fatalf("%d requests passed; want 20", passed.Load())
	}
}

// BenchmarkRequest is the cost a request pays for [server.limits]: one
// upsert on Postgres, a map update in memory.
func BenchmarkRequest(b *testing.B) {
	sub := limits.Subject{Key: "resource:r1", Limits: limits.Limits{RequestsPerMinute: 1 << 30}}
	b.Run("postgres", func(b *testing.B) {
		store, err := memory.Open(context.Background(), memory.Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: 10})
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		if _, err := store.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		l := limits.NewStore(store, slog.New(slog.DiscardHandler))
		for b.Loop() {
			if err := l.Request(context.Background(), sub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memory", func(b *testing.B) {
		l := limits.NewMemory(slog.New(slog.DiscardHandler))
		for b.Loop() {
			if err := l.Request(context.Background(), sub); err != nil {
				b.Fatal(err)
			}
		}
	})
}
