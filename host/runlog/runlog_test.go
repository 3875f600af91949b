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
	store, err := memory.Open(context.Background(), memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db"), MaxOpenConns: 4})
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
	err = l.Follow(ctx, "ended", 0, func(seq int64, c []byte) error {
		got = append(got, string(c))
		return nil
	})
	if err != nil || len(got) != 1 {
		t.Fatalf("following the ended run = %q, %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := l.store.StreamRunInfo(ctx, "ended")
		if errors.Is(err, memory.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ended run was never pruned: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if info, err := l.store.StreamRunInfo(ctx, "running"); err != nil || info.Status != memory.StreamRunning || info.LastSeq != 1 {
		t.Errorf("the running run after pruning = %+v, %v", info, err)
	}
}
