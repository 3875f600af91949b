package runlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// eachDB runs fn against the log's statements on a fresh, migrated SQLite
// store and a fresh, migrated Postgres store.
func eachDB(t *testing.T, fn func(t *testing.T, s *db)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openDB(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db"), MaxOpenConns: 4}))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openDB(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t), MaxOpenConns: 4}))
	})
}

func openDB(t testing.TB, so memory.Options) *db {
	t.Helper()
	store, err := memory.Open(context.Background(), so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &db{bun: store.DB(), pg: store.Kind() == "postgres"}
}

// TestStatements: the log's statements on both databases. A run
// id is taken while its run runs or by another resource, and reused by its
// own resource once ended (its old chunks gone); chunks go in only from
// the holder at the expected position; an expired run is failed once, by
// one instance; ended runs past the cutoff are pruned with their chunks,
// running ones are kept.
func TestStatements(t *testing.T) {
	eachDB(t, func(t *testing.T, s *db) {
		ctx := context.Background()
		now := time.Now().UnixMilli()
		run := func(id, res string) Info {
			return Info{Run: Run{RunID: id, ResourceID: res, AgentID: "a", ThreadID: "t-" + id}, Owner: "one", LeaseUntil: now + 60_000, CreatedAt: now}
		}
		chunks := func(from, n int) [][]byte {
			var out [][]byte
			for i := from; i < from+n; i++ {
				out = append(out, fmt.Appendf(nil, `{"n":%d}`, i))
			}
			return out
		}
		read := func(id string, after int64) string {
			t.Helper()
			cs, err := s.chunks(ctx, id, after, 100)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, c := range cs {
				out += fmt.Sprintf("%d%s ", c.Seq, c.Data)
			}
			return out
		}
		if err := s.createRun(ctx, run("r1", "alice")); err != nil {
			t.Fatal(err)
		}
		for _, r := range []Info{run("r1", "alice"), run("r1", "bob")} {
			if err := s.createRun(ctx, r); !errors.Is(err, errConflict) {
				t.Errorf("creating running r1 for %s = %v; want errConflict", r.ResourceID, err)
			}
		}
		if err := s.appendChunks(ctx, "r1", "one", 0, chunks(1, 3), now+60_000, now, StatusRunning); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			owner string
			after int64
		}{{"two", 3}, {"one", 2}, {"one", 4}} {
			if err := s.appendChunks(ctx, "r1", tc.owner, tc.after, chunks(4, 1), now+60_000, now, StatusRunning); !errors.Is(err, ErrLost) {
				t.Errorf("append as %s after %d = %v; want ErrLost", tc.owner, tc.after, err)
			}
		}
		if err := s.appendChunks(ctx, "r1", "one", 3, chunks(4, 2), now+60_000, now, StatusDone); err != nil {
			t.Fatal(err)
		}
		if got := read("r1", 2); got != `3{"n":3} 4{"n":4} 5{"n":5} ` {
			t.Errorf("chunks after 2 = %q", got)
		}
		// Several runs in one batch, one of them lost; chunks with quotes,
		// backslashes, placeholders and the first dollar tag.
		odd := []byte(`{"t":"it's \\ $m0$ ? $$ '' \u0000"}`)
		for _, id := range []string{"r3", "r4"} {
			if err := s.createRun(ctx, run(id, "alice")); err != nil {
				t.Fatal(err)
			}
		}
		held, err := s.appendRuns(ctx, "one", now+60_000, now, []appendItem{
			{RunID: "r3", After: 0, Chunks: [][]byte{odd, odd}, Status: StatusRunning},
			{RunID: "r4", After: 0, Chunks: [][]byte{odd}, Status: StatusDone},
			{RunID: "r1", After: 0, Chunks: [][]byte{odd}, Status: StatusRunning}, // ended: lost
		})
		if err != nil || !held["r3"] || !held["r4"] || held["r1"] {
			t.Fatalf("batch held %v, %v; want r3 and r4", held, err)
		}
		if got, want := read("r3", 0)+read("r4", 0), "1"+string(odd)+" 2"+string(odd)+" 1"+string(odd)+" "; got != want {
			t.Errorf("odd chunks read back %q; want %q", got, want)
		}
		if info, err := s.info(ctx, "r4"); err != nil || info.Status != StatusDone || info.LastSeq != 1 {
			t.Errorf("r4 after the batch = %+v, %v; want done at 1", info, err)
		}
		if info, err := s.info(ctx, "r1"); err != nil || info.Status != StatusDone || info.LastSeq != 5 {
			t.Errorf("r1 = %+v, %v; want done at 5", info, err)
		}
		if err := s.createRun(ctx, run("r1", "bob")); !errors.Is(err, errConflict) {
			t.Errorf("bob reusing alice's ended r1 = %v; want errConflict", err)
		}
		if err := s.createRun(ctx, run("r1", "alice")); err != nil {
			t.Fatalf("alice reusing her ended r1 = %v", err)
		}
		if got := read("r1", 0); got != "" {
			t.Errorf("the reused r1 still has chunks %q", got)
		}

		// A run whose lease expired is failed once.
		expired := run("r2", "alice")
		expired.LeaseUntil = now - 1
		if err := s.createRun(ctx, expired); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.failRun(ctx, "r1", "two", 0, 1<<20+1, chunks(9, 1), now); ok || err != nil {
			t.Errorf("failing r1, whose lease holds = %v, %v; want false", ok, err)
		}
		if ok, err := s.failRun(ctx, "r2", "two", 0, 1<<20+1, chunks(9, 2), now); !ok || err != nil {
			t.Fatalf("failing expired r2 = %v, %v; want true", ok, err)
		}
		if ok, err := s.failRun(ctx, "r2", "three", 0, 1<<20+1, chunks(9, 2), now); ok || err != nil {
			t.Errorf("failing r2 again = %v, %v; want false", ok, err)
		}
		if got := read("r2", 5); got != `1048577{"n":9} 1048578{"n":10} ` {
			t.Errorf("r2's ending chunks = %q", got)
		}
		if err := s.appendChunks(ctx, "r2", "one", 0, chunks(1, 1), now+60_000, now, StatusRunning); !errors.Is(err, ErrLost) {
			t.Errorf("its old runner appending = %v; want ErrLost", err)
		}
		if id, err := s.running(ctx, "alice", "a", "t-r1"); err != nil || id != "r1" {
			t.Errorf("running run of t-r1 = %q, %v", id, err)
		}
		if _, err := s.running(ctx, "bob", "a", "t-r1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob's running run of alice's thread = %v; want ErrNotFound", err)
		}

		// Pruning: r2 and r4 ended at now, r1 and r3 run.
		if n, err := s.prune(ctx, now+1); err != nil || n != 2 {
			t.Errorf("prune = %d, %v; want r2 and r4, the ended runs", n, err)
		}
		if _, err := s.info(ctx, "r2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("r2 after pruning: %v", err)
		}
		if got := read("r2", 0); got != "" {
			t.Errorf("r2's chunks after pruning: %q", got)
		}
		if _, err := s.info(ctx, "r1"); err != nil {
			t.Errorf("running r1 after pruning: %v", err)
		}
	})
}

// BenchmarkAppendStreamChunks is one batch write of a resumable stream's
// log (20 text-delta chunks, the lease, the notification) on Postgres; it
// reports this process's CPU per write, the part a stream turn pays.
func BenchmarkAppendStreamChunks(b *testing.B) {
	ctx := context.Background()
	s := openDB(b, memory.Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: 4})
	chunks := make([][]byte, 20)
	for i := range chunks {
		chunks[i] = fmt.Appendf(nil, `{"type":"text-delta","runId":"4f1c1d7e-1f4e-4a51-9a57-52b2d6f0c3aa","from":"AGENT","payload":{"id":"txt-0","text":"word%d "}}`, i)
	}
	now := time.Now().UnixMilli()
	if err := s.createRun(ctx, Info{Run: Run{RunID: "bench", ResourceID: "r", AgentID: "a", ThreadID: "t"}, Owner: "me", LeaseUntil: now + 60_000, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.appendChunks(ctx, "bench", "me", int64(i*len(chunks)), chunks, now+60_000, now, StatusRunning); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/write")
}

// appendChunks (for the tests) logs chunks of a run held by owner, numbered from
// after+1 (after must be the run's last sequence number), and renews the
// lease to leaseUntil; a status other than StatusRunning ends the run. A
// run not held by owner, ended or moved on is ErrLost.
func (s *db) appendChunks(ctx context.Context, runID, owner string, after int64, chunks [][]byte, leaseUntil, now int64, status string) error {
	held, err := s.appendRuns(ctx, owner, leaseUntil, now, []appendItem{{RunID: runID, After: after, Chunks: chunks, Status: status}})
	if err != nil {
		return err
	}
	if !held[runID] {
		return ErrLost
	}
	return nil
}
