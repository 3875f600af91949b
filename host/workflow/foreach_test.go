package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fanDef runs map step "each" over input.items: item * 2.
func fanDef(maxItems, concurrency int) Definition {
	return Definition{ID: "fan", StepTimeout: 10 * time.Second, MaxForeachItems: maxItems,
		Steps: []StepDef{{ID: "each", Kind: "map", Map: "item * 2", Foreach: "input.items", Concurrency: concurrency}}}
}

func numbers(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// openWith starts an engine with options o on db (closed at the test's end).
func openWith(t *testing.T, db target, o Options) *Engine {
	t.Helper()
	ctx := context.Background()
	o.DatabaseURL, o.SQLitePath = db.url, db.sqlite
	e, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = e.Close(cctx)
	})
	return e
}

// A list past max_foreach_items that the input decides is refused at
// start, naming the cap, and the run stays pending; a list past it that
// only a step computes fails that step, naming the cap.
func TestForeachCap(t *testing.T) {
	later := Definition{ID: "later", StepTimeout: 10 * time.Second, MaxForeachItems: 3,
		Steps: []StepDef{
			{ID: "list", Kind: "map", Map: "input.items"},
			{ID: "each", Kind: "map", Map: "item", Foreach: "steps.list"},
		}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, nil, fanDef(3, 2), later)
		ctx := context.Background()
		r, err := e.CreateRun(ctx, "fan", "", "alice")
		if err != nil {
			t.Fatal(err)
		}
		err = e.StartRun(ctx, StartParams{Workflow: "fan", RunID: r.RunID, ResourceID: "alice", Input: map[string]any{"items": numbers(4)}})
		if !isInput(err, "inputData") || !strings.Contains(err.Error(), "max_foreach_items = 3") {
			t.Fatalf("start with 4 elements: %v; want an InputError naming max_foreach_items = 3", err)
		}
		if got, err := e.GetRun(ctx, "fan", r.RunID, "alice"); err != nil || got.Snapshot.Status != StatusPending {
			t.Fatalf("run after the refused start: %v %+v", err, got)
		}
		if err := e.CheckStart("fan", map[string]any{"items": numbers(4)}); !isInput(err, "inputData") {
			t.Errorf("CheckStart with 4 elements: %v", err)
		}
		if got := wait(t, e, "fan", startRun(t, e, "fan", "alice", map[string]any{"items": numbers(3)})); jsonOf(got.Snapshot.Result) != "[0,2,4]" {
			t.Errorf("3 elements: %s %s", got.Snapshot.Status, jsonOf(got.Snapshot.Result))
		}
		got := wait(t, e, "later", startRun(t, e, "later", "alice", map[string]any{"items": numbers(4)}))
		if got.Snapshot.Status != StatusFailed || !strings.Contains(errorMessage(got.Snapshot.Error), "max_foreach_items = 3") ||
			got.Snapshot.Context.Steps["each"].Status != StatusFailed {
			t.Errorf("a computed list of 4: %s %v; want the step failed naming max_foreach_items = 3", got.Snapshot.Status, got.Snapshot.Error)
		}
	})
}

// What a foreach element writes does not grow with the list: the bytes
// written per element (cursor, snapshot, chunks, outputs; the list stored
// once at the step's start and the output assembled once at its end
// included) are about the same for 2,000 elements as for 200 (10 times
// more; BenchmarkForeachElement goes to 20,000). The list used to sit in
// the cursor, and the input in the snapshot, both rewritten at every
// element: ten times the bytes per element.
func TestForeachCostPerElement(t *testing.T) {
	db := target{name: "sqlite", sqlite: t.TempDir() + "/wf.db"}
	migrate(t, db)
	// readsInput's elements read the run's input, so they read the
	// snapshot; they still must not write it.
	readsInput := Definition{ID: "reads-input", StepTimeout: 10 * time.Second, MaxForeachItems: 10000,
		Steps: []StepDef{{ID: "each", Kind: "map", Map: "item * input.factor", Foreach: "input.items", Concurrency: 4}}}
	e := openWith(t, db, Options{Definitions: []Definition{fanDef(10000, 4), readsInput}})
	perElement := func(wf string, n int) float64 {
		before := e.db.written.Load()
		run := startRun(t, e, wf, "", map[string]any{"items": numbers(n), "factor": 2})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		r, err := e.Wait(ctx, wf, run, "")
		if err != nil {
			t.Fatalf("%s, %d elements: %v", wf, n, err)
		}
		if r.Snapshot.Status != StatusSuccess {
			t.Fatalf("%s, %d elements: %s %v", wf, n, r.Snapshot.Status, r.Snapshot.Error)
		}
		out, _ := r.Snapshot.Result.([]any)
		if len(out) != n || out[n-1] != float64(2*(n-1)) {
			t.Fatalf("%s, %d elements: result of %d, last %v", wf, n, len(out), out[len(out)-1])
		}
		return float64(e.db.written.Load()-before) / float64(n)
	}
	for _, wf := range []string{"fan", "reads-input"} {
		small, large := perElement(wf, 200), perElement(wf, 1000)
		t.Logf("%s: bytes written per element: %.0f for 200, %.0f for 1,000", wf, small, large)
		if large > 1.5*small {
			t.Errorf("%s: bytes written per element: %.0f for 1,000 elements, %.0f for 200; want about the same", wf, large, small)
		}
	}
}

// orderTools records the order of its calls ("<resource>:<name>") and
// holds the call named hold until release is closed.
type orderTools struct {
	mu      sync.Mutex
	calls   []string
	hold    string
	began   chan struct{}
	release chan struct{}
}

func (o *orderTools) RunTool(ctx context.Context, _ string, args json.RawMessage, resourceID string) (json.RawMessage, error) {
	var in struct{ Name string }
	if err := json.Unmarshal(args, &in); err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.calls = append(o.calls, resourceID+":"+in.Name)
	o.mu.Unlock()
	if in.Name == o.hold {
		close(o.began)
		select {
		case <-o.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return json.Marshal(in.Name)
}

func (o *orderTools) order() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}

// With one worker, tenant B's long foreach under way and tenant A's new run
// started: A's step runs before B's elements that were already queued.
func TestForeachFairDispatch(t *testing.T) {
	each := Definition{ID: "each", StepTimeout: 10 * time.Second, MaxForeachItems: 100,
		Steps: []StepDef{{ID: "call", Kind: "tool", Tool: "t", Input: `{"name": item}`, Foreach: "input.items", Concurrency: 4}}}
	one := Definition{ID: "one", StepTimeout: 10 * time.Second,
		Steps: []StepDef{{ID: "call", Kind: "tool", Tool: "t", Input: `{"name": input.name}`}}}
	eachDB(t, func(t *testing.T, db target) {
		tools := &orderTools{hold: "b0", began: make(chan struct{}), release: make(chan struct{})}
		e := openWith(t, db, Options{Definitions: []Definition{each, one}, Tools: tools, Workers: 1})
		var items []any
		for i := 0; i < 10; i++ {
			items = append(items, fmt.Sprintf("b%d", i))
		}
		bRun := startRun(t, e, "each", "tenant-b", map[string]any{"items": items})
		select {
		case <-tools.began:
		case <-time.After(20 * time.Second):
			t.Fatal("B's first element did not start")
		}
		// B holds the only worker; b1…b3 are queued. A starts now.
		aRun := startRun(t, e, "one", "tenant-a", map[string]any{"name": "a"})
		close(tools.release)
		if r := wait(t, e, "one", aRun); r.Snapshot.Status != StatusSuccess {
			t.Fatalf("A's run: %s %v", r.Snapshot.Status, r.Snapshot.Error)
		}
		if r := wait(t, e, "each", bRun); r.Snapshot.Status != StatusSuccess || len(r.Snapshot.Result.([]any)) != 10 {
			t.Fatalf("B's run: %s %v", r.Snapshot.Status, r.Snapshot.Error)
		}
		calls := tools.order()
		if len(calls) < 2 || calls[0] != "tenant-b:b0" || calls[1] != "tenant-a:a" {
			t.Errorf("calls in order %v; want B's b0, then A's step before B's next elements", calls)
		}
	})
}

// An element whose job runs twice (a duplicate delivery, or a job rescued
// while the first run of it was still going) runs its work twice (steps
// are at least once) but its output is recorded once: one row per
// element, one progress chunk per element, the step's output in order.
func TestForeachElementRecordedOnce(t *testing.T) {
	def := Definition{ID: "each", StepTimeout: 10 * time.Second, MaxForeachItems: 100,
		Steps: []StepDef{{ID: "call", Kind: "tool", Tool: "t", Input: `{"name": item}`, Foreach: "input.items", Concurrency: 1}}}
	eachDB(t, func(t *testing.T, db target) {
		tools := &orderTools{hold: "x1", began: make(chan struct{}), release: make(chan struct{})}
		e := openWith(t, db, Options{Definitions: []Definition{def}, Tools: tools})
		ctx := context.Background()
		run := startRun(t, e, "each", "alice", map[string]any{"items": []any{"x0", "x1", "x2"}})
		select {
		case <-tools.began: // x0 done, x1 running
		case <-time.After(20 * time.Second):
			t.Fatal("element 1 did not start")
		}
		// Element 0's job again, as a rescued or duplicated job would be.
		if err := e.work(ctx, job{Workflow: "each", RunID: run, Step: "call", Iter: 0}); err != nil && !errors.Is(err, errLeased) {
			t.Fatalf("element 0 again: %v", err)
		}
		var n int
		var out string
		if err := (dbq{e.db}).queryRow(ctx, `SELECT count(*), min(output) FROM mastra_server_workflow_foreach
			WHERE workflow_name = 'each' AND run_id = $1 AND step_id = 'call' AND idx = 0 AND output IS NOT NULL`, run).Scan(&n, &out); err != nil {
			t.Fatal(err)
		}
		if n != 1 || out != `"x0"` {
			t.Fatalf("element 0 recorded %d times (%s); want once, \"x0\"", n, out)
		}
		close(tools.release)
		r := wait(t, e, "each", run)
		if r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `["x0","x1","x2"]` {
			t.Fatalf("run: %s %s", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
		}
		var progress []string
		if err := e.Watch(ctx, "each", run, "", 0, false, func(_ int64, c json.RawMessage) error {
			var ch struct {
				Type    string
				Payload struct{ CurrentIndex, CompletedCount int }
			}
			_ = json.Unmarshal(c, &ch)
			if ch.Type == "workflow-step-progress" {
				progress = append(progress, fmt.Sprintf("%d/%d", ch.Payload.CurrentIndex, ch.Payload.CompletedCount))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(progress, " "); got != "0/1 1/2 2/3" {
			t.Errorf("progress chunks (index/completed): %s; want 0/1 1/2 2/3", got)
		}
		// The rows go with the step's end.
		if err := (dbq{e.db}).queryRow(ctx, `SELECT count(*) FROM mastra_server_workflow_foreach WHERE run_id = $1`, run).Scan(&n); err != nil || n != 0 {
			t.Errorf("rows left after the step: %d %v", n, err)
		}
	})
}

// A run under way across the upgrade, whose cursor still holds the list
// and the outputs so far, goes on: its elements move into rows at the
// next element's end and the step's output is whole.
func TestForeachLegacyCursor(t *testing.T) {
	def := Definition{ID: "each", StepTimeout: 10 * time.Second, MaxForeachItems: 100,
		Steps: []StepDef{{ID: "call", Kind: "tool", Tool: "t", Input: `{"name": item}`, Foreach: "input.items", Concurrency: 1}}}
	db := target{name: "sqlite", sqlite: t.TempDir() + "/wf.db"}
	migrate(t, db)
	tools := &orderTools{hold: "x1", began: make(chan struct{}), release: make(chan struct{})}
	e := openWith(t, db, Options{Definitions: []Definition{def}, Tools: tools})
	ctx := context.Background()
	run := startRun(t, e, "each", "alice", map[string]any{"items": []any{"x0", "x1", "x2"}})
	<-tools.began // x0 done, x1 running
	// Rewrite the cursor as the earlier version kept it.
	q := dbq{e.db}
	var raw string
	if err := q.queryRow(ctx, `SELECT cursor FROM mastra_server_workflow_runs WHERE run_id = $1`, run).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var cur map[string]any
	if err := json.Unmarshal([]byte(raw), &cur); err != nil {
		t.Fatal(err)
	}
	p := cur["steps"].(map[string]any)["call"].(map[string]any)
	delete(p, "total")
	p["items"], p["outputs"] = []any{"x0", "x1", "x2"}, []any{"x0", nil, nil}
	b, _ := json.Marshal(cur)
	if _, err := q.exec(ctx, `UPDATE mastra_server_workflow_runs SET cursor = $2 WHERE run_id = $1`, run, string(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.exec(ctx, `DELETE FROM mastra_server_workflow_foreach WHERE run_id = $1`, run); err != nil {
		t.Fatal(err)
	}
	close(tools.release)
	if r := wait(t, e, "each", run); r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `["x0","x1","x2"]` {
		t.Fatalf("run: %s %s %v", r.Snapshot.Status, jsonOf(r.Snapshot.Result), r.Snapshot.Error)
	}
}

// A workflow step per element: each element's nested run's result is its
// output; the nested runs are the parent's (deleted with it) whether the
// step has ended or the run was cancelled while elements were under way.
func TestForeachNestedWorkflow(t *testing.T) {
	double := Definition{ID: "double", StepTimeout: 10 * time.Second,
		Steps: []StepDef{{ID: "d", Kind: "map", Map: "input.n * 2"}}}
	waits := Definition{ID: "waits", StepTimeout: 10 * time.Second,
		Steps: []StepDef{{ID: "w", Kind: "suspend", Suspend: "input"}}}
	outer := Definition{ID: "outer", StepTimeout: 10 * time.Second, MaxForeachItems: 10, Steps: []StepDef{
		{ID: "each", Kind: "workflow", Workflow: "double", Input: `{"n": item}`, Foreach: "input.items", Concurrency: 2}}}
	stuck := Definition{ID: "stuck", StepTimeout: 10 * time.Second, MaxForeachItems: 10, Steps: []StepDef{
		{ID: "each", Kind: "workflow", Workflow: "waits", Input: `{"n": item}`, Foreach: "input.items", Concurrency: 2}}}
	db := target{name: "sqlite", sqlite: t.TempDir() + "/wf.db"}
	migrate(t, db)
	e := openWith(t, db, Options{Definitions: []Definition{double, waits, outer, stuck}})
	ctx := context.Background()
	count := func(wf string) int {
		t.Helper()
		_, n, err := e.ListRuns(ctx, wf, RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	run := startRun(t, e, "outer", "alice", map[string]any{"items": []any{1, 2, 3}})
	if r := wait(t, e, "outer", run); r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != "[2,4,6]" {
		t.Fatalf("run: %s %s %v", r.Snapshot.Status, jsonOf(r.Snapshot.Result), r.Snapshot.Error)
	}
	if n := count("double"); n != 3 {
		t.Fatalf("%d nested runs, want 3", n)
	}
	if err := e.DeleteRun(ctx, "outer", run, "alice"); err != nil {
		t.Fatal(err)
	}
	if n := count("double"); n != 0 {
		t.Errorf("%d nested runs left after deleting the parent", n)
	}
	run = startRun(t, e, "stuck", "alice", map[string]any{"items": []any{1, 2, 3}})
	if r := wait(t, e, "stuck", run); r.Snapshot.Status != StatusSuspended {
		t.Fatalf("stuck: %s", r.Snapshot.Status)
	}
	if err := e.Cancel(ctx, "stuck", run, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteRun(ctx, "stuck", run, "alice"); err != nil {
		t.Fatal(err)
	}
	if n := count("waits"); n != 0 {
		t.Errorf("%d nested runs left after cancelling and deleting the parent", n)
	}
}
