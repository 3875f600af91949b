package workflow

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A step whose output fails its output_schema fails the run, naming the
// step; a result that fails the workflow's output_schema fails the run.
func TestOutputSchema(t *testing.T) {
	count := Definition{ID: "count", StepTimeout: 10 * time.Second, Result: `{"n": steps.count}`,
		OutputSchema: json.RawMessage(`{"type":"object","required":["n"]}`),
		Steps:        []StepDef{{ID: "count", Kind: "map", Map: "input.n", OutputSchema: json.RawMessage(`{"type":"integer","minimum":0}`)}}}
	wrong := Definition{ID: "wrong", StepTimeout: 10 * time.Second, Result: `{"m": 1}`,
		OutputSchema: json.RawMessage(`{"type":"object","required":["n"]}`),
		Steps:        []StepDef{{ID: "one", Kind: "map", Map: "1"}}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, count, wrong)
		if r := wait(t, e, "count", startRun(t, e, "count", "", map[string]any{"n": 3})); r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `{"n":3}` {
			t.Fatalf("status %s result %s error %v", r.Snapshot.Status, jsonOf(r.Snapshot.Result), r.Snapshot.Error)
		}
		r := wait(t, e, "count", startRun(t, e, "count", "", map[string]any{"n": -1}))
		if r.Snapshot.Status != StatusFailed || !strings.Contains(errorMessage(r.Snapshot.Error), "step count: output does not match its output_schema") {
			t.Fatalf("status %s error %v", r.Snapshot.Status, r.Snapshot.Error)
		}
		if s := r.Snapshot.Context.Steps["count"]; s.Status != StatusFailed {
			t.Errorf("step status %s", s.Status)
		}
		r = wait(t, e, "wrong", startRun(t, e, "wrong", "", nil))
		if r.Snapshot.Status != StatusFailed || !strings.Contains(errorMessage(r.Snapshot.Error), "workflow wrong: result does not match the output_schema") {
			t.Fatalf("status %s error %v", r.Snapshot.Status, r.Snapshot.Error)
		}
	})
}

// Workflow state (Mastra's state/setState): initialState checked against
// state_schema, read by expressions as state, replaced by a step's
// set_state, kept in the snapshot's value across a suspend.
func TestWorkflowState(t *testing.T) {
	def := Definition{ID: "tally", StepTimeout: 10 * time.Second,
		StateSchema: json.RawMessage(`{"type":"object","required":["count"],"properties":{"count":{"type":"integer"}}}`),
		Steps: []StepDef{
			{ID: "inc", Kind: "map", Map: "state.count + 1", SetState: `{"count": output}`},
			{ID: "ask", Kind: "suspend", Suspend: `{"count": state.count}`},
			{ID: "times", Kind: "map", Map: "state.count * 10", SetState: `{"count": output}`},
			{ID: "bad", Kind: "map", Map: `"spoiled"`, SetState: `{"count": output}`},
		}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, def)
		ctx := context.Background()
		r, err := e.CreateRun(ctx, "tally", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.StartRun(ctx, StartParams{Workflow: "tally", RunID: r.RunID, InitialState: map[string]any{"count": "x"}}); !isInput(err, "initialState") {
			t.Fatalf("start with a bad initialState: %v", err)
		}
		if err := e.StartRun(ctx, StartParams{Workflow: "tally", RunID: r.RunID, InitialState: map[string]any{"count": 3}}); err != nil {
			t.Fatal(err)
		}
		got := wait(t, e, "tally", r.RunID)
		if got.Snapshot.Status != StatusSuspended || jsonOf(got.Snapshot.Value) != `{"count":4}` ||
			jsonOf(got.Snapshot.Context.Steps["ask"].SuspendPayload) != `{"count":4}` {
			t.Fatalf("status %s value %s", got.Snapshot.Status, jsonOf(got.Snapshot.Value))
		}
		if err := e.Resume(ctx, "tally", r.RunID, "", nil, map[string]any{"spoil": 1}); err != nil {
			t.Fatal(err)
		}
		got = wait(t, e, "tally", r.RunID)
		if jsonOf(got.Snapshot.Context.Steps["times"].Output) != `40` {
			t.Fatalf("times = %s (state %s)", jsonOf(got.Snapshot.Context.Steps["times"]), jsonOf(got.Snapshot.Value))
		}
		// The last step sets state its schema refuses: the step fails.
		if got.Snapshot.Status != StatusFailed || !strings.Contains(errorMessage(got.Snapshot.Error), "step bad: state does not match the state_schema") {
			t.Fatalf("status %s error %v", got.Snapshot.Status, got.Snapshot.Error)
		}
		if jsonOf(ResultOf(got)["state"]) != `{"count":40}` {
			t.Errorf("state = %s", jsonOf(ResultOf(got)["state"]))
		}
	})
}

// The chunk log of a finished run is pruned once older than the
// workflow's chunk_retention, all but its last chunk (workflow-finish,
// which carries the result); a suspended run keeps its log.
func TestChunkPruning(t *testing.T) {
	short := Definition{ID: "short", StepTimeout: 10 * time.Second, ChunkRetention: time.Millisecond,
		Steps: []StepDef{{ID: "a", Kind: "map", Map: "1"}, {ID: "b", Kind: "map", Map: "2"}}}
	paused := Definition{ID: "paused", StepTimeout: 10 * time.Second, ChunkRetention: time.Millisecond,
		Steps: []StepDef{{ID: "ask", Kind: "suspend", Suspend: "{}"}}}
	long := Definition{ID: "long", StepTimeout: 10 * time.Second, ChunkRetention: time.Hour,
		Steps: []StepDef{{ID: "a", Kind: "map", Map: "1"}}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, short, paused, long)
		ctx := context.Background()
		runs := map[string]string{}
		for _, wf := range []string{"short", "paused", "long"} {
			runs[wf] = startRun(t, e, wf, "", nil)
			wait(t, e, wf, runs[wf])
		}
		types := func(wf string) []string {
			var out []string
			_ = e.Watch(ctx, wf, runs[wf], "", 0, true, func(_ int64, c json.RawMessage) error {
				var ch struct{ Type string }
				_ = json.Unmarshal(c, &ch)
				out = append(out, ch.Type)
				return nil
			})
			return out
		}
		before := map[string]int{"paused": len(types("paused")), "long": len(types("long"))}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := e.PruneChunks(ctx); err != nil {
				t.Fatal(err)
			}
			if got := types("short"); len(got) == 1 {
				if got[0] != "workflow-finish" {
					t.Fatalf("kept %v", got)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("short run's chunks were not pruned: %v", types("short"))
			}
			time.Sleep(5 * time.Millisecond)
		}
		for wf, n := range before {
			if got := len(types(wf)); got != n || n < 3 {
				t.Errorf("%s: %d chunks after the prune, %d before", wf, got, n)
			}
		}
	})
}

// run-counts for every resource is cached (Mastra: 5 s); a resource's own
// counts are not.
func TestRunCountsCache(t *testing.T) {
	def := Definition{ID: "ask", StepTimeout: 10 * time.Second, Steps: []StepDef{{ID: "ask", Kind: "suspend", Suspend: "{}"}}}
	eachDB(t, func(t *testing.T, db target) {
		ctx := context.Background()
		e, err := Open(ctx, Options{DatabaseURL: db.url, SQLitePath: db.sqlite, Definitions: []Definition{def}, CountsCacheTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Close(ctx)
		if c, err := e.RunCounts(ctx, ""); err != nil || c["ask"].Suspended != 0 {
			t.Fatalf("counts %v %v", c, err)
		}
		wait(t, e, "ask", startRun(t, e, "ask", "alice", nil))
		if c, _ := e.RunCounts(ctx, ""); c["ask"].Suspended != 0 {
			t.Errorf("all resources' counts not cached: %v", c)
		}
		if c, _ := e.RunCounts(ctx, "alice"); c["ask"].Suspended != 1 {
			t.Errorf("alice's counts = %v", c)
		}
	})
}
