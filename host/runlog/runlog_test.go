package runlog

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

func openLog(t *testing.T, o Options) *Log {
	t.Helper()
	return openStoreLog(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db"), MaxOpenConns: 4}, o)
}

// openStoreLog opens a log on a migrated store opened with so.
func openStoreLog(t *testing.T, so memory.Options, o Options) *Log {
	t.Helper()
	store, err := memory.Open(context.Background(), so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.Store = store
	o.Terminate = func(string, [][]byte) [][]byte { return nil }
	l, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// TestRetention: an ended run is pruned once the retention has passed,
// by the log's own loop; a running one is kept.
func TestRetention(t *testing.T) {
	l := openLog(t, Options{Retention: 100 * time.Millisecond, FlushInterval: time.Millisecond})
	ctx := context.Background()
	ended, err := l.Start(ctx, Run{RunID: "ended", ResourceID: "r", AgentID: "a", ThreadID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	running, err := l.Start(ctx, Run{RunID: "running", ResourceID: "r", AgentID: "a", ThreadID: "t2"})
	if err != nil {
		t.Fatal(err)
	}
	ended.Append([]byte(`{"type":"start"}`))
	running.Append([]byte(`{"type":"start"}`))
	if err := ended.End(false); err != nil {
		t.Fatal(err)
	}
	if err := running.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	info, _ := l.Info(ctx, "ended")
	err = l.Follow(ctx, info, 0, func(seq int64, c []byte) error {
		got = append(got, string(c))
		return nil
	})
	if err != nil || len(got) != 1 {
		t.Fatalf("following the ended run = %q, %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := l.db.info(ctx, "ended")
		if errors.Is(err, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ended run was never pruned: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if info, err := l.db.info(ctx, "running"); err != nil || info.Status != StatusRunning || info.LastSeq != 1 {
		t.Errorf("the running run after pruning = %+v, %v", info, err)
	}
}

// TestFollowPinsItsRun: a follower reads the run it was let in to, not
// whatever later holds its id. Here B's run X is deleted under its
// follower on another instance (as Abort does for a turn that failed before
// its first chunk), and A then logs a new run under the same id X, a
// client-chosen one: B's follower must not get A's chunks.
func TestFollowPinsItsRun(t *testing.T) {
	runner := openLog(t, Options{FlushInterval: time.Millisecond})
	other, err := Open(Options{Store: runner.store, PollInterval: time.Hour,
		Terminate: func(string, [][]byte) [][]byte { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	ctx := context.Background()
	wb, err := runner.Start(ctx, Run{RunID: "X", ResourceID: "tenant-b", AgentID: "a", ThreadID: "tb"})
	if err != nil {
		t.Fatal(err)
	}
	wb.Append([]byte(`{"type":"b-chunk"}`))
	if err := wb.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := other.Info(ctx, "X")
	if err != nil {
		t.Fatal(err)
	}
	gotFirst := make(chan struct{})
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- other.Follow(ctx, info, 0, func(seq int64, c []byte) error {
			got = append(got, string(c))
			if seq == 1 {
				close(gotFirst)
			}
			return nil
		})
	}()
	<-gotFirst
	if err := wb.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	wa, err := runner.Start(ctx, Run{RunID: "X", ResourceID: "tenant-a", AgentID: "a", ThreadID: "ta"})
	if err != nil {
		t.Fatal(err)
	}
	wa.Append([]byte(`{"type":"a-1"}`))
	wa.Append([]byte(`{"type":"a-secret"}`))
	if err := wa.End(false); err != nil {
		t.Fatal(err)
	}
	other.hub.Signal("X") // as the NOTIFY of A's batch would on Postgres
	err = <-done
	for _, c := range got {
		if c != `{"type":"b-chunk"}` {
			t.Fatalf("B's follower got %q of A's run (Follow = %v)", got, err)
		}
	}
	if err == nil {
		t.Errorf("Follow of a run deleted under it = nil; want an error (the run is gone)")
	}
}

// TestFollowLocalAbortedRun: a follower on the runner's own instance of a
// run that is then deleted (Abort) ends, rather than waiting on the
// dropped writer until its client leaves.
func TestFollowLocalAbortedRun(t *testing.T) {
	l := openLog(t, Options{FlushInterval: time.Millisecond})
	ctx := context.Background()
	w, err := l.Start(ctx, Run{RunID: "Y", ResourceID: "r", AgentID: "a", ThreadID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	w.Append([]byte(`{"type":"start"}`))
	if err := w.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := l.Info(ctx, "Y")
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- l.Follow(ctx, info, 0, func(seq int64, c []byte) error {
			if seq == 1 {
				close(first)
			}
			return nil
		})
	}()
	<-first
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Follow of an aborted run = nil; want an error")
		}
	case <-time.After(30 * time.Second): // a deadlock guard, not a timing assertion
		t.Fatal("the follower of an aborted run never ended")
	}
}
