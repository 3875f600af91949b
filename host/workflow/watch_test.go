package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// 250 watchers of one run share one reader of it: each wake-up (a commit
// of the run, or a poll) costs at most two reads (the run's state, its new
// chunks), not two per watcher.
func TestWatchersShareOneReader(t *testing.T) {
	const watchers = 250
	def := Definition{ID: "chain", StepTimeout: 10 * time.Second}
	for i := 0; i < 5; i++ {
		def.Steps = append(def.Steps, StepDef{ID: fmt.Sprintf("s%d", i), Kind: "map", Map: "prev"})
	}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, nil, def)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := e.CreateRun(ctx, "chain", "", "")
		if err != nil {
			t.Fatal(err)
		}
		key := "chain/" + r.RunID
		var wg sync.WaitGroup
		got := make([][]string, watchers)
		errs := make([]error, watchers)
		for i := range watchers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.Watch(ctx, "chain", r.RunID, "", 0, false, func(seq int64, c json.RawMessage) error {
					if want := int64(len(got[i]) + 1); seq != want {
						return fmt.Errorf("chunk %d, want %d", seq, want)
					}
					var ch struct{ Type string }
					_ = json.Unmarshal(c, &ch)
					got[i] = append(got[i], ch.Type)
					return nil
				})
			}()
		}
		// Every watcher follows the one reader, which has read the
		// pending run once.
		for e.watchers.Followers(key) != watchers || e.watchReads.Load() == 0 {
			if ctx.Err() != nil {
				t.Fatalf("%d watchers joined", e.watchers.Followers(key))
			}
			time.Sleep(time.Millisecond)
		}
		if n := e.watchers.Readers(); n != 1 {
			t.Fatalf("%d readers for one run", n)
		}
		version := func() int64 {
			var v int64
			if err := (dbq{e.db}).queryRow(ctx, `SELECT version FROM mastra_server_workflow_runs WHERE workflow_name = 'chain' AND run_id = $1`, r.RunID).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		reads0, v0, t0 := e.watchReads.Load(), version(), time.Now()
		if err := e.StartRun(ctx, StartParams{Workflow: "chain", RunID: r.RunID, Input: map[string]any{"x": 1}}); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		reads, commits := e.watchReads.Load()-reads0, version()-v0
		polls := int64(time.Since(t0)/watchPoll) + 1
		for i := range watchers {
			if errs[i] != nil {
				t.Fatalf("watcher %d: %v", i, errs[i])
			}
			if len(got[i]) != len(got[0]) || got[i][len(got[i])-1] != "workflow-finish" {
				t.Fatalf("watcher %d got %v, watcher 0 %v", i, got[i], got[0])
			}
		}
		// Each commit notifies once; the reader wakes at most once per
		// notification or poll, and reads twice then.
		if wakeups := commits + polls; reads > 2*wakeups {
			t.Errorf("%d watchers: %d reads for at most %d wake-ups (%d commits), want ≤ 2 per wake-up", watchers, reads, wakeups, commits)
		}
		t.Logf("%d watchers, %d chunks each: %d reads, %d commits, %d polls at most", watchers, len(got[0]), reads, commits, polls)
		if n := e.watchers.Readers(); n != 0 {
			t.Errorf("%d readers left once the run finished", n)
		}
	})
}

// A watcher joining a finished run replays it from any position, with the
// numbers it had before the readers were shared: after n chunks, the next
// is n+1.
func TestWatchFromAnOffset(t *testing.T) {
	def := Definition{ID: "chain", StepTimeout: 10 * time.Second,
		Steps: []StepDef{{ID: "a", Kind: "map", Map: "prev"}, {ID: "b", Kind: "map", Map: "prev"}}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, nil, def)
		ctx := context.Background()
		run := startRun(t, e, "chain", "", map[string]any{"x": 1})
		r := wait(t, e, "chain", run)
		var all []int64
		if err := e.Watch(ctx, "chain", run, "", 0, false, func(seq int64, _ json.RawMessage) error {
			all = append(all, seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if int64(len(all)) != r.Seq || all[0] != 1 || all[len(all)-1] != r.Seq {
			t.Fatalf("chunks %v, run.Seq %d", all, r.Seq)
		}
		var tail []int64
		if err := e.Watch(ctx, "chain", run, "", r.Seq-2, false, func(seq int64, _ json.RawMessage) error {
			tail = append(tail, seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(tail) != fmt.Sprint([]int64{r.Seq - 1, r.Seq}) {
			t.Fatalf("after %d: %v", r.Seq-2, tail)
		}
		if err := e.Watch(ctx, "chain", run, "", r.Seq+5, false, func(int64, json.RawMessage) error {
			t.Fatal("a chunk past the end")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}
