package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fakeAgent answers "echo: <prompt>" and counts calls; block, when set,
// holds a call until it is closed or the call's context ends.
type fakeAgent struct {
	calls atomic.Int32
	block chan struct{}
	began chan struct{}
}

func (a *fakeAgent) RunAgent(ctx context.Context, agentID, prompt, resourceID string) (string, error) {
	a.calls.Add(1)
	if a.began != nil {
		select {
		case a.began <- struct{}{}:
		default:
		}
	}
	if a.block != nil {
		select {
		case <-a.block:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return "echo: " + prompt, nil
}

type fakeTools struct{}

func (fakeTools) RunTool(ctx context.Context, name string, args json.RawMessage, _ string) (json.RawMessage, error) {
	if name != "double" {
		return nil, fmt.Errorf("no tool %s", name)
	}
	var in struct{ N float64 }
	if err := json.Unmarshal(args, &in); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"n": in.N * 2})
}

// target is one database the engine runs on.
type target struct {
	name   string
	url    string // postgres
	sqlite string
}

// eachDB runs fn on Postgres and on SQLite, each a fresh migrated database.
func eachDB(t *testing.T, fn func(t *testing.T, db target)) {
	t.Run("postgres", func(t *testing.T) {
		db := target{name: "postgres", url: pgtest.NewDatabase(t)}
		migrate(t, db)
		fn(t, db)
	})
	t.Run("sqlite", func(t *testing.T) {
		db := target{name: "sqlite", sqlite: filepath.Join(t.TempDir(), "wf.db")}
		migrate(t, db)
		fn(t, db)
	})
}

func migrate(t testing.TB, db target) {
	t.Helper()
	s, err := memory.Open(context.Background(), memory.Options{DatabaseURL: db.url, SQLitePath: db.sqlite, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// open starts an engine on db; it is closed when the test ends (or
// earlier by the test, to simulate a restart).
func open(t *testing.T, db target, agent AgentRunner, defs ...Definition) *Engine {
	t.Helper()
	return openWith(t, db, Options{Definitions: defs, Agents: agent, Tools: fakeTools{}})
}

func publishDef(sleep time.Duration) Definition {
	return Definition{
		ID: "publish", StepTimeout: 10 * time.Second,
		InputSchema: json.RawMessage(`{"type":"object","required":["topic"],"properties":{"topic":{"type":"string"}}}`),
		Steps: []StepDef{
			{ID: "draft", Kind: "agent", Agent: "assistant", Prompt: "Write about ${input.topic}"},
			{ID: "approve", Kind: "suspend", Suspend: `{"draft": steps.draft.text}`,
				ResumeSchema: json.RawMessage(`{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}`)},
			{ID: "wait", Kind: "sleep", Sleep: sleep},
			{ID: "publish", Kind: "map", Map: `steps.approve.approved ? {"published": true, "text": steps.draft.text} : {"published": false}`},
		},
	}
}

func wait(t *testing.T, e *Engine, wf, run string) *Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := e.Wait(ctx, wf, run, "")
	if err != nil {
		t.Fatalf("wait for run %s: %v", run, err)
	}
	return r
}

func startRun(t *testing.T, e *Engine, wf, res string, input any) string {
	t.Helper()
	ctx := context.Background()
	r, err := e.CreateRun(ctx, wf, "", res)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.StartRun(ctx, StartParams{Workflow: wf, RunID: r.RunID, ResourceID: res, Input: input}); err != nil {
		t.Fatal(err)
	}
	return r.RunID
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The publish example end to end: agent, suspend, resume, sleep, map.
func TestPublish(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		agent := &fakeAgent{}
		e := open(t, db, agent, publishDef(50*time.Millisecond))
		ctx := context.Background()
		run := startRun(t, e, "publish", "alice", map[string]any{"topic": "otters"})
		r := wait(t, e, "publish", run)
		if r.Snapshot.Status != StatusSuspended {
			t.Fatalf("status %s, want suspended: %s", r.Snapshot.Status, jsonOf(r.Snapshot))
		}
		if got := jsonOf(r.Snapshot.Context.Steps["approve"].SuspendPayload); got != `{"draft":"echo: Write about otters"}` {
			t.Fatalf("suspendPayload = %s", got)
		}
		if err := e.Resume(ctx, "publish", run, "alice", nil, map[string]any{"approved": "yes"}); !isInput(err, "resumeData") {
			t.Fatalf("resume with a string: %v, want an InputError on resumeData", err)
		}
		if err := e.Resume(ctx, "publish", run, "alice", []string{"approve"}, map[string]any{"approved": true}); err != nil {
			t.Fatal(err)
		}
		r = wait(t, e, "publish", run)
		if r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `{"published":true,"text":"echo: Write about otters"}` {
			t.Fatalf("status %s result %s", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
		}
		// The chunk log replays the whole run from any offset.
		var types []string
		if err := e.Watch(ctx, "publish", run, "", 0, false, func(seq int64, c json.RawMessage) error {
			var ch struct{ Type, RunID string }
			_ = json.Unmarshal(c, &ch)
			types = append(types, ch.Type)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := "workflow-start workflow-step-start workflow-step-result workflow-step-finish workflow-step-start workflow-step-suspended workflow-finish " +
			"workflow-step-start workflow-step-result workflow-step-finish workflow-step-start workflow-step-waiting workflow-step-result workflow-step-finish " +
			"workflow-step-start workflow-step-result workflow-step-finish workflow-finish"
		if got := strings.Join(types, " "); got != want {
			t.Errorf("chunks:\n%s\nwant\n%s", got, want)
		}
		if err := e.StartRun(ctx, StartParams{Workflow: "publish", RunID: run, ResourceID: "alice", Input: map[string]any{"topic": "x"}}); !errors.Is(err, ErrConflict) {
			t.Errorf("second start: %v, want ErrConflict", err)
		}
	})
}

func isInput(err error, field string) bool {
	var ie *InputError
	return errors.As(err, &ie) && ie.Field == field
}

func TestInvalidInput(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, publishDef(time.Millisecond))
		r, err := e.CreateRun(context.Background(), "publish", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.StartRun(context.Background(), StartParams{Workflow: "publish", RunID: r.RunID, Input: map[string]any{"topic": 5}}); !isInput(err, "inputData") {
			t.Fatalf("start with a bad topic: %v", err)
		}
		got, err := e.GetRun(context.Background(), "publish", r.RunID, "")
		if err != nil || got.Snapshot.Status != StatusPending {
			t.Fatalf("run after a refused start: %v %+v", err, got)
		}
	})
}

// parallel, branch, foreach with a concurrency limit, an until loop, a tool.
func TestControlFlow(t *testing.T) {
	def := Definition{ID: "flow", StepTimeout: 10 * time.Second, Result: `{"fan": steps.fan, "pick": steps.pick, "each": steps.each, "count": steps.count, "tool": steps.tool}`,
		Steps: []StepDef{
			{ID: "fan", Kind: "parallel", Children: []StepDef{
				{ID: "a", Kind: "map", Map: "input.n + 1"},
				{ID: "b", Kind: "map", Map: "[1, 2, 3]"},
			}},
			{ID: "pick", Kind: "branch", Children: []StepDef{
				{ID: "big", Kind: "map", Map: `"big"`, When: "input.n > 10"},
				{ID: "small", Kind: "map", Map: `"small"`, When: "input.n <= 10"},
			}},
			{ID: "each", Kind: "map", Map: "item * 10 + index", Foreach: "steps.b", Concurrency: 2},
			{ID: "count", Kind: "map", Map: "iteration + 1", Until: "output >= 3", MaxIterations: 10},
			{ID: "tool", Kind: "tool", Tool: "double", Input: `{"n": steps.count}`},
		}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, def)
		run := startRun(t, e, "flow", "", map[string]any{"n": 4})
		r := wait(t, e, "flow", run)
		want := `{"count":3,"each":[10,21,32],"fan":{"a":5,"b":[1,2,3]},"pick":{"small":"small"},"tool":{"n":6}}`
		if r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != want {
			t.Fatalf("status %s result %s error %v; want %s", r.Snapshot.Status, jsonOf(r.Snapshot.Result), r.Snapshot.Error, want)
		}
	})
}

// A step that fails fails the run, with the step's error.
func TestStepFailure(t *testing.T) {
	def := Definition{ID: "bad", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "boom", Kind: "tool", Tool: "missing"},
	}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, def)
		run := startRun(t, e, "bad", "", map[string]any{})
		r := wait(t, e, "bad", run)
		if r.Snapshot.Status != StatusFailed || !strings.Contains(jsonOf(r.Snapshot.Error), "no tool missing") {
			t.Fatalf("status %s error %s", r.Snapshot.Status, jsonOf(r.Snapshot.Error))
		}
	})
}

// Two concurrent resumes of one suspended step: one wins, the other is a
// conflict, and the steps after it run once.
func TestConcurrentResume(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		agent := &fakeAgent{}
		def := Definition{ID: "approve", StepTimeout: 10 * time.Second, Steps: []StepDef{
			{ID: "ask", Kind: "suspend", Suspend: "{}"},
			{ID: "after", Kind: "agent", Agent: "assistant", Prompt: "go ${resume}"},
		}}
		e := open(t, db, agent, def)
		for i := 0; i < 5; i++ {
			run := startRun(t, e, "approve", "", nil)
			if r := wait(t, e, "approve", run); r.Snapshot.Status != StatusSuspended {
				t.Fatalf("status %s", r.Snapshot.Status)
			}
			before := agent.calls.Load()
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for k := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[k] = e.Resume(context.Background(), "approve", run, "", nil, map[string]any{"k": k})
				}()
			}
			wg.Wait()
			ok, conflict := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrConflict):
					conflict++
				default:
					t.Fatalf("resume: %v", err)
				}
			}
			if ok != 1 || conflict != 1 {
				t.Fatalf("resumes: %d succeeded, %d conflicts (%v)", ok, conflict, errs)
			}
			if r := wait(t, e, "approve", run); r.Snapshot.Status != StatusSuccess {
				t.Fatalf("status %s", r.Snapshot.Status)
			}
			if n := agent.calls.Load() - before; n != 1 {
				t.Fatalf("the step after the resume ran %d times", n)
			}
		}
	})
}

// Cancel ends the run and removes its queued steps (a sleep of an hour).
func TestCancel(t *testing.T) {
	def := Definition{ID: "slow", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "nap", Kind: "sleep", Sleep: time.Hour},
		{ID: "after", Kind: "map", Map: "1"},
	}}
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, def)
		ctx := context.Background()
		run := startRun(t, e, "slow", "", nil)
		if queuedJobs(t, e, run) != 1 {
			t.Fatal("the sleep is not queued")
		}
		if err := e.Cancel(ctx, "slow", run, ""); err != nil {
			t.Fatal(err)
		}
		r := wait(t, e, "slow", run)
		if r.Snapshot.Status != StatusCanceled || r.Snapshot.Context.Steps["nap"].Status != StatusCanceled {
			t.Fatalf("status %s, nap %s", r.Snapshot.Status, r.Snapshot.Context.Steps["nap"].Status)
		}
		if n := queuedJobs(t, e, run); n != 0 {
			t.Fatalf("%d jobs still queued after cancel", n)
		}
		if err := e.Resume(ctx, "slow", run, "", nil, nil); !errors.Is(err, ErrConflict) {
			t.Errorf("resume of a cancelled run: %v", err)
		}
	})
}

// queuedJobs counts the run's jobs still waiting to run.
func queuedJobs(t *testing.T, e *Engine, run string) int {
	t.Helper()
	var n int
	var err error
	if e.db.postgres() {
		err = dbq{e.db}.queryRow(context.Background(), `SELECT count(*) FROM river_job WHERE args->>'r' = $1 AND state IN ('available', 'scheduled', 'retryable', 'running')`, run).Scan(&n)
	} else {
		err = dbq{e.db}.queryRow(context.Background(), `SELECT count(*) FROM mastra_server_workflow_jobs WHERE run_id = $1`, run).Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Suspended on one engine, resumed on another after the first closed: the
// run's state is in the database, not in a process.
func TestResumeAfterRestart(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		agent := &fakeAgent{}
		e1 := open(t, db, agent, publishDef(10*time.Millisecond))
		run := startRun(t, e1, "publish", "alice", map[string]any{"topic": "tea"})
		if r := wait(t, e1, "publish", run); r.Snapshot.Status != StatusSuspended {
			t.Fatalf("status %s", r.Snapshot.Status)
		}
		if err := e1.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		e2 := open(t, db, agent, publishDef(10*time.Millisecond))
		if err := e2.Resume(context.Background(), "publish", run, "alice", nil, map[string]any{"approved": false}); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, e2, "publish", run); r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `{"published":false}` {
			t.Fatalf("status %s result %s", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
		}
	})
}

// A step cut short by a stop runs again after the restart, and the run
// finishes by itself.
func TestStepInterruptedByRestart(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		blocked := &fakeAgent{block: make(chan struct{}), began: make(chan struct{}, 1)}
		def := publishDef(time.Millisecond)
		e1 := open(t, db, blocked, def)
		run := startRun(t, e1, "publish", "", map[string]any{"topic": "rain"})
		select {
		case <-blocked.began:
		case <-time.After(20 * time.Second):
			t.Fatal("the draft step never started")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_ = e1.Close(ctx) // the step is still running: it is cut short
		cancel()
		e2 := open(t, db, &fakeAgent{}, def)
		if r := wait(t, e2, "publish", run); r.Snapshot.Status != StatusSuspended {
			t.Fatalf("after the restart: status %s error %v", r.Snapshot.Status, r.Snapshot.Error)
		}
	})
}

// A run of another resource is not found, for every call.
func TestOwnership(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, publishDef(time.Millisecond))
		ctx := context.Background()
		run := startRun(t, e, "publish", "alice", map[string]any{"topic": "x"})
		wait(t, e, "publish", run)
		for name, err := range map[string]error{
			"get":    func() error { _, err := e.GetRun(ctx, "publish", run, "bob"); return err }(),
			"resume": e.Resume(ctx, "publish", run, "bob", nil, map[string]any{"approved": true}),
			"cancel": e.Cancel(ctx, "publish", run, "bob"),
			"delete": e.DeleteRun(ctx, "publish", run, "bob"),
			"create": func() error { _, err := e.CreateRun(ctx, "publish", run, "bob"); return err }(),
			"watch":  e.Watch(ctx, "publish", run, "bob", 0, true, func(int64, json.RawMessage) error { return nil }),
		} {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s as bob: %v, want ErrNotFound", name, err)
			}
		}
		runs, total, err := e.ListRuns(ctx, "publish", RunFilter{ResourceID: "bob"})
		if err != nil || total != 0 || len(runs) != 0 {
			t.Errorf("bob lists %d runs (%v)", total, err)
		}
		runs, total, err = e.ListRuns(ctx, "publish", RunFilter{ResourceID: "alice", Status: StatusSuspended})
		if err != nil || total != 1 || runs[0].RunID != run {
			t.Errorf("alice lists %d suspended runs (%v)", total, err)
		}
		counts, err := e.RunCounts(ctx, "alice")
		if err != nil || counts["publish"].Suspended != 1 {
			t.Errorf("counts %+v (%v)", counts, err)
		}
		if err := e.DeleteRun(ctx, "publish", run, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.GetRun(ctx, "publish", run, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted run: %v", err)
		}
	})
}
