package runlog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/mastra-server/mastra-server/internal/follow"
)

// readCounter counts the statements that read a stream run or its chunks:
// what a follower on another instance costs the database.
type readCounter struct{ n atomic.Int64 }

func (c *readCounter) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	q := strings.TrimSpace(e.Query)
	if strings.HasPrefix(q, "SELECT run_id, resource_id") || strings.HasPrefix(q, "SELECT r.run_id, r.resource_id") ||
		strings.HasPrefix(q, "SELECT seq, chunk FROM mastra_server_stream_chunks") {
		c.n.Add(1)
	}
	return ctx
}

func (c *readCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// follows records what one follower got.
type follows struct {
	mu   sync.Mutex
	seqs []int64
	data []string
	err  error
	got  chan int64 // each sequence number as it arrives
}

// followMany starts n followers of run on l from after 0 and returns them
// and a wait for their ends.
func followMany(t *testing.T, l *Log, runID string, n int) ([]*follows, func()) {
	t.Helper()
	ctx := context.Background()
	info, err := l.Info(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	fs := make([]*follows, n)
	var wg sync.WaitGroup
	for i := range fs {
		f := &follows{got: make(chan int64, 1024)}
		fs[i] = f
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.Follow(ctx, info, 0, func(seq int64, c []byte) error {
				f.mu.Lock()
				f.seqs = append(f.seqs, seq)
				f.data = append(f.data, string(c))
				f.mu.Unlock()
				f.got <- seq
				return nil
			})
			f.mu.Lock()
			f.err = err
			f.mu.Unlock()
		}()
	}
	return fs, wg.Wait
}

// waitAll waits until every follower got sequence number seq.
func waitAll(t *testing.T, fs []*follows, seq int64) {
	t.Helper()
	for _, f := range fs {
		for {
			select {
			case s := <-f.got:
				if s < seq {
					continue
				}
			case <-time.After(30 * time.Second): // a deadlock guard, not a timing assertion
				t.Fatalf("a follower never got chunk %d", seq)
			}
			break
		}
	}
}

// readsPerWakeup follows one run of another instance with n followers,
// some joining from the start and some after chunks were logged (they have
// a backlog), and returns the stream reads per wake-up once all follow.
// Every follower must get the whole run, in order, exactly once.
func readsPerWakeup(t *testing.T, n int) float64 {
	runner := openLog(t, Options{FlushInterval: time.Millisecond})
	reads := &readCounter{}
	runner.store.AddQueryHook(reads)
	other, err := Open(Options{Store: runner.store, PollInterval: time.Hour,
		Terminate: func(string, [][]byte) [][]byte { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	ctx := context.Background()
	w, err := runner.Start(ctx, Run{RunID: "R", ResourceID: "r", AgentID: "a", ThreadID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	logChunk := func() int64 {
		c := fmt.Sprintf(`{"type":"text-delta","n":%d}`, len(want)+1)
		want = append(want, c)
		seq := w.Append([]byte(c))
		if err := w.Hold(ctx); err != nil {
			t.Fatal(err)
		}
		other.hub.Signal("R") // as the NOTIFY of the runner's batch would on Postgres
		return seq
	}
	seq := logChunk()
	early, waitEarly := followMany(t, other, "R", n/2)
	waitAll(t, early, seq)
	for range 3 {
		seq = logChunk()
		waitAll(t, early, seq)
	}
	late, waitLate := followMany(t, other, "R", n-n/2)
	all := append(early, late...)
	waitAll(t, late, seq)

	const wakeups = 10
	before := reads.n.Load()
	for range wakeups {
		seq = logChunk()
		waitAll(t, all, seq)
	}
	perWakeup := float64(reads.n.Load()-before) / wakeups

	want = append(want, `{"type":"finish"}`)
	w.Append([]byte(want[len(want)-1]))
	if err := w.End(false); err != nil {
		t.Fatal(err)
	}
	other.hub.Signal("R")
	waitEarly()
	waitLate()
	for i, f := range all {
		if f.err != nil {
			t.Fatalf("follower %d ended with %v", i, f.err)
		}
		if fmt.Sprint(f.data) != fmt.Sprint(want) {
			t.Fatalf("follower %d got %q; want %q", i, f.data, want)
		}
		for j, s := range f.seqs {
			if s != int64(j+1) {
				t.Fatalf("follower %d got ids %v; want 1..%d", i, f.seqs, len(want))
			}
		}
	}
	return perWakeup
}

// TestFollowersShareReads: the followers of one run on one instance share
// its database reads: 50 followers cost what one costs per wake-up, and
// each gets the complete run.
func TestFollowersShareReads(t *testing.T) {
	one := readsPerWakeup(t, 1)
	many := readsPerWakeup(t, 50)
	t.Logf("stream reads per wake-up: %.1f with 1 follower, %.1f with 50", one, many)
	if many > one {
		t.Errorf("50 followers read the run %.1f times per wake-up; one follower %.1f: want the same", many, one)
	}
}

// TestSlowFollowerDoesNotBlock: a follower that stops taking chunks does
// not hold up the others of the shared reader; once it takes them again it
// gets the whole run, in order, exactly once (it reads its gap itself).
func TestSlowFollowerDoesNotBlock(t *testing.T) {
	runner := openLog(t, Options{FlushInterval: time.Millisecond})
	other, err := Open(Options{Store: runner.store, PollInterval: time.Hour,
		Terminate: func(string, [][]byte) [][]byte { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	ctx := context.Background()
	w, err := runner.Start(ctx, Run{RunID: "S", ResourceID: "r", AgentID: "a", ThreadID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	w.Append([]byte(`{"n":1}`))
	if err := w.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := other.Info(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	release, stuck := make(chan struct{}), make(chan struct{})
	var slow []int64
	slowDone := make(chan error, 1)
	go func() {
		slowDone <- other.Follow(ctx, info, 0, func(seq int64, c []byte) error {
			slow = append(slow, seq)
			if seq == 2 {
				close(stuck)
				<-release
			}
			return nil
		})
	}()
	fast, waitFast := followMany(t, other, "S", 5)
	waitAll(t, fast, 1)

	// Far more chunks than a follower's buffer, while the slow one is stuck.
	const total = 3*follow.Buffer + 1
	for i := 2; i <= total; i++ {
		w.Append(fmt.Appendf(nil, `{"n":%d}`, i))
	}
	if err := w.End(false); err != nil {
		t.Fatal(err)
	}
	other.hub.Signal("S")
	<-stuck
	waitFast() // would hang if the stuck follower held the reader up
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatalf("the slow follower ended with %v", err)
	}
	for i, f := range append(fast, &follows{seqs: slow}) {
		if len(f.seqs) != total || f.err != nil {
			t.Fatalf("follower %d got %d chunks (%v); want %d", i, len(f.seqs), f.err, total)
		}
		for j, s := range f.seqs {
			if s != int64(j+1) {
				t.Fatalf("follower %d got id %d at %d; want 1..%d in order", i, s, j, total)
			}
		}
	}
}
