package memory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestStreamRuns: the log of a resumable stream on both databases. A run
// id is taken while its run runs or by another resource, and reused by its
// own resource once ended (its old chunks gone); chunks go in only from
// the holder at the expected position; an expired run is failed once, by
// one instance; ended runs past the cutoff are pruned with their chunks,
// running ones are kept.
func TestStreamRuns(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UnixMilli()
		run := func(id, res string) StreamRun {
			return StreamRun{RunID: id, ResourceID: res, AgentID: "a", ThreadID: "t-" + id, Owner: "one", LeaseUntil: now + 60_000, CreatedAt: now}
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
			cs, err := s.StreamChunks(ctx, id, after, 100)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, c := range cs {
				out += fmt.Sprintf("%d%s ", c.Seq, c.Data)
			}
			return out
		}
		if err := s.CreateStreamRun(ctx, run("r1", "alice")); err != nil {
			t.Fatal(err)
		}
		for _, r := range []StreamRun{run("r1", "alice"), run("r1", "bob")} {
			if err := s.CreateStreamRun(ctx, r); !errors.Is(err, ErrConflict) {
				t.Errorf("creating running r1 for %s = %v; want ErrConflict", r.ResourceID, err)
			}
		}
		if err := s.AppendStreamChunks(ctx, "r1", "one", 0, chunks(1, 3), now+60_000, now, StreamRunning); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			owner string
			after int64
		}{{"two", 3}, {"one", 2}, {"one", 4}} {
			if err := s.AppendStreamChunks(ctx, "r1", tc.owner, tc.after, chunks(4, 1), now+60_000, now, StreamRunning); !errors.Is(err, ErrStreamLost) {
				t.Errorf("append as %s after %d = %v; want ErrStreamLost", tc.owner, tc.after, err)
			}
		}
		if err := s.AppendStreamChunks(ctx, "r1", "one", 3, chunks(4, 2), now+60_000, now, StreamDone); err != nil {
			t.Fatal(err)
		}
		if got := read("r1", 2); got != `3{"n":3} 4{"n":4} 5{"n":5} ` {
			t.Errorf("chunks after 2 = %q", got)
		}
		// Several runs in one batch, one of them lost; chunks with quotes,
		// backslashes, placeholders and the first dollar tag.
		odd := []byte(`{"t":"it's \\ $m0$ ? $$ '' \u0000"}`)
		for _, id := range []string{"r3", "r4"} {
			if err := s.CreateStreamRun(ctx, run(id, "alice")); err != nil {
				t.Fatal(err)
			}
		}
		held, err := s.AppendStreams(ctx, "one", now+60_000, now, []StreamAppend{
			{RunID: "r3", After: 0, Chunks: [][]byte{odd, odd}, Status: StreamRunning},
			{RunID: "r4", After: 0, Chunks: [][]byte{odd}, Status: StreamDone},
			{RunID: "r1", After: 0, Chunks: [][]byte{odd}, Status: StreamRunning}, // ended: lost
		})
		if err != nil || !held["r3"] || !held["r4"] || held["r1"] {
			t.Fatalf("batch held %v, %v; want r3 and r4", held, err)
		}
		if got, want := read("r3", 0)+read("r4", 0), "1"+string(odd)+" 2"+string(odd)+" 1"+string(odd)+" "; got != want {
			t.Errorf("odd chunks read back %q; want %q", got, want)
		}
		if info, err := s.StreamRunInfo(ctx, "r4"); err != nil || info.Status != StreamDone || info.LastSeq != 1 {
			t.Errorf("r4 after the batch = %+v, %v; want done at 1", info, err)
		}
		if info, err := s.StreamRunInfo(ctx, "r1"); err != nil || info.Status != StreamDone || info.LastSeq != 5 {
			t.Errorf("r1 = %+v, %v; want done at 5", info, err)
		}
		if err := s.CreateStreamRun(ctx, run("r1", "bob")); !errors.Is(err, ErrConflict) {
			t.Errorf("bob reusing alice's ended r1 = %v; want ErrConflict", err)
		}
		if err := s.CreateStreamRun(ctx, run("r1", "alice")); err != nil {
			t.Fatalf("alice reusing her ended r1 = %v", err)
		}
		if got := read("r1", 0); got != "" {
			t.Errorf("the reused r1 still has chunks %q", got)
		}

		// A run whose lease expired is failed once.
		expired := run("r2", "alice")
		expired.LeaseUntil = now - 1
		if err := s.CreateStreamRun(ctx, expired); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.FailStreamRun(ctx, "r1", "two", 0, 1<<20+1, chunks(9, 1), now); ok || err != nil {
			t.Errorf("failing r1, whose lease holds = %v, %v; want false", ok, err)
		}
		if ok, err := s.FailStreamRun(ctx, "r2", "two", 0, 1<<20+1, chunks(9, 2), now); !ok || err != nil {
			t.Fatalf("failing expired r2 = %v, %v; want true", ok, err)
		}
		if ok, err := s.FailStreamRun(ctx, "r2", "three", 0, 1<<20+1, chunks(9, 2), now); ok || err != nil {
			t.Errorf("failing r2 again = %v, %v; want false", ok, err)
		}
		if got := read("r2", 5); got != `1048577{"n":9} 1048578{"n":10} ` {
			t.Errorf("r2's ending chunks = %q", got)
		}
		if err := s.AppendStreamChunks(ctx, "r2", "one", 0, chunks(1, 1), now+60_000, now, StreamRunning); !errors.Is(err, ErrStreamLost) {
			t.Errorf("its old runner appending = %v; want ErrStreamLost", err)
		}
		if id, err := s.RunningStreamRun(ctx, "alice", "a", "t-r1"); err != nil || id != "r1" {
			t.Errorf("running run of t-r1 = %q, %v", id, err)
		}
		if _, err := s.RunningStreamRun(ctx, "bob", "a", "t-r1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob's running run of alice's thread = %v; want ErrNotFound", err)
		}

		// Pruning: r2 and r4 ended at now, r1 and r3 run.
		if n, err := s.PruneStreamRuns(ctx, now+1); err != nil || n != 2 {
			t.Errorf("prune = %d, %v; want r2 and r4, the ended runs", n, err)
		}
		if _, err := s.StreamRunInfo(ctx, "r2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("r2 after pruning: %v", err)
		}
		if got := read("r2", 0); got != "" {
			t.Errorf("r2's chunks after pruning: %q", got)
		}
		if _, err := s.StreamRunInfo(ctx, "r1"); err != nil {
			t.Errorf("running r1 after pruning: %v", err)
		}
	})
}
