package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// review is a workflow run as a step of outer: it suspends for a verdict.
func nestedDefs() []Definition {
	review := Definition{ID: "review", StepTimeout: 10 * time.Second,
		InputSchema: json.RawMessage(`{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}`),
		Steps: []StepDef{
			{ID: "check", Kind: "suspend", Suspend: `{"text": input.text}`,
				ResumeSchema: json.RawMessage(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"}}}`)},
			{ID: "verdict", Kind: "map", Map: `steps.check.ok ? {"ok": true, "text": input.text} : {"ok": false}`},
		}}
	outer := Definition{ID: "outer", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "draft", Kind: "map", Map: `{"text": "hello " + input.name}`},
		{ID: "review", Kind: "workflow", Workflow: "review", Input: `{"text": steps.draft.text}`},
		{ID: "done", Kind: "map", Map: `{"reviewed": steps.review.ok, "text": steps.review.text}`},
	}}
	broken := Definition{ID: "broken", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "inner", Kind: "workflow", Workflow: "review", Input: `{"text": 5}`},
	}}
	failing := Definition{ID: "failing", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "boom", Kind: "tool", Tool: "missing"},
	}}
	callsFailing := Definition{ID: "calls-failing", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "sub", Kind: "workflow", Workflow: "failing"},
		{ID: "after", Kind: "map", Map: "1"},
	}}
	return []Definition{review, outer, broken, failing, callsFailing}
}

// A nested workflow step runs the other workflow as a child run: its input
// is mapped from the parent's data, a suspend inside it suspends the parent
// on the path [step, inner step], a resume by that path reaches the child,
// and the child's result becomes the step's output.
func TestNestedWorkflow(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, nestedDefs()...)
		ctx := context.Background()
		run := startRun(t, e, "outer", "alice", map[string]any{"name": "bob"})
		r := wait(t, e, "outer", run)
		if r.Snapshot.Status != StatusSuspended {
			t.Fatalf("status %s, want suspended: %s", r.Snapshot.Status, jsonOf(r.Snapshot))
		}
		step := r.Snapshot.Context.Steps["review"]
		if step == nil || step.Status != StatusSuspended {
			t.Fatalf("review step: %s", jsonOf(step))
		}
		var payload struct {
			Text string `json:"text"`
			Meta struct {
				RunID string   `json:"runId"`
				Path  []string `json:"path"`
			} `json:"__workflow_meta"`
		}
		if err := json.Unmarshal([]byte(jsonOf(step.SuspendPayload)), &payload); err != nil {
			t.Fatal(err)
		}
		if payload.Text != "hello bob" || jsonOf(payload.Meta.Path) != `["check"]` || payload.Meta.RunID == "" {
			t.Fatalf("suspendPayload = %s", jsonOf(step.SuspendPayload))
		}
		if got := jsonOf(ResultOf(r)["suspended"]); got != `[["review","check"]]` {
			t.Errorf("suspended = %s", got)
		}
		if _, ok := r.Snapshot.SuspendedPaths["review"]; !ok {
			t.Errorf("suspendedPaths = %s", jsonOf(r.Snapshot.SuspendedPaths))
		}
		child, err := e.GetRun(ctx, "review", payload.Meta.RunID, "alice")
		if err != nil || child.Snapshot.Status != StatusSuspended {
			t.Fatalf("child run: %v %+v", err, child)
		}
		// The child is the parent's resource's: another resource sees none.
		if _, err := e.GetRun(ctx, "review", payload.Meta.RunID, "mallory"); !errors.Is(err, ErrNotFound) {
			t.Errorf("child run read by another resource: %v, want ErrNotFound", err)
		}
		if err := e.Resume(ctx, "review", child.RunID, "alice", nil, map[string]any{"ok": true}); !errors.Is(err, ErrConflict) {
			t.Errorf("resume of the child itself: %v, want ErrConflict", err)
		}
		// Deleting the child alone would leave the parent waiting on a run
		// that is gone, resumable never: it is refused, as its resume is.
		if err := e.DeleteRun(ctx, "review", child.RunID, "alice"); !errors.Is(err, ErrConflict) {
			t.Errorf("delete of the child itself: %v, want ErrConflict", err)
		}
		if err := e.Resume(ctx, "outer", run, "alice", []string{"review", "check"}, map[string]any{"ok": "yes"}); !isInput(err, "resumeData") {
			t.Errorf("resume with data the child's schema refuses: %v", err)
		}
		if err := e.Resume(ctx, "outer", run, "alice", []string{"draft", "check"}, map[string]any{"ok": true}); err == nil {
			t.Errorf("resume of a path through a finished step succeeded")
		}
		if err := e.Resume(ctx, "outer", run, "alice", []string{"review", "check"}, map[string]any{"ok": true}); err != nil {
			t.Fatal(err)
		}
		r = wait(t, e, "outer", run)
		if r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `{"reviewed":true,"text":"hello bob"}` {
			t.Fatalf("status %s result %s error %v", r.Snapshot.Status, jsonOf(r.Snapshot.Result), r.Snapshot.Error)
		}
		if child, _ = e.GetRun(ctx, "review", child.RunID, ""); child.Snapshot.Status != StatusSuccess {
			t.Errorf("child status %s", child.Snapshot.Status)
		}

		// Resumed without a step: every suspended step, the child's too.
		run = startRun(t, e, "outer", "alice", map[string]any{"name": "eve"})
		if r := wait(t, e, "outer", run); r.Snapshot.Status != StatusSuspended {
			t.Fatalf("status %s", r.Snapshot.Status)
		}
		if err := e.Resume(ctx, "outer", run, "alice", nil, map[string]any{"ok": false}); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, e, "outer", run); r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `{"reviewed":false,"text":null}` {
			t.Fatalf("status %s result %s", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
		}

		// Cancelling the parent cancels the suspended child.
		run = startRun(t, e, "outer", "alice", map[string]any{"name": "zed"})
		r = wait(t, e, "outer", run)
		childID := r.Snapshot.Context.Steps["review"].SuspendPayload.(map[string]any)["__workflow_meta"].(map[string]any)["runId"].(string)
		if err := e.Cancel(ctx, "outer", run, "alice"); err != nil {
			t.Fatal(err)
		}
		if child, err := e.GetRun(ctx, "review", childID, ""); err != nil || child.Snapshot.Status != StatusCanceled {
			t.Errorf("child after the parent's cancel: %v %+v", err, child)
		}

		// Cancelling the child fails the parent's step; deleting the
		// parent deletes the child.
		run = startRun(t, e, "outer", "alice", map[string]any{"name": "amy"})
		r = wait(t, e, "outer", run)
		childID = r.Snapshot.Context.Steps["review"].SuspendPayload.(map[string]any)["__workflow_meta"].(map[string]any)["runId"].(string)
		if err := e.Cancel(ctx, "review", childID, "alice"); err != nil {
			t.Fatal(err)
		}
		r = waitEnd(t, e, "outer", run)
		if r.Snapshot.Status != StatusFailed || !strings.Contains(errorMessage(r.Snapshot.Error), "nested workflow review was cancelled") {
			t.Fatalf("parent after the child's cancel: %s %v", r.Snapshot.Status, r.Snapshot.Error)
		}
		if err := e.DeleteRun(ctx, "outer", run, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.GetRun(ctx, "review", childID, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("child after the parent's delete: %v", err)
		}
	})
}

// A child that fails, or whose input its schema refuses, fails the parent
// with an error naming the nested workflow.
func TestNestedWorkflowFailure(t *testing.T) {
	eachDB(t, func(t *testing.T, db target) {
		e := open(t, db, &fakeAgent{}, nestedDefs()...)
		run := startRun(t, e, "calls-failing", "", nil)
		r := wait(t, e, "calls-failing", run)
		if r.Snapshot.Status != StatusFailed || !strings.Contains(jsonOf(r.Snapshot.Error), "nested workflow failing") ||
			!strings.Contains(jsonOf(r.Snapshot.Error), "no tool missing") {
			t.Fatalf("status %s error %s", r.Snapshot.Status, jsonOf(r.Snapshot.Error))
		}
		if _, ran := r.Snapshot.Context.Steps["after"]; ran {
			t.Error("the step after the failed child ran")
		}
		run = startRun(t, e, "broken", "", nil)
		r = wait(t, e, "broken", run)
		if r.Snapshot.Status != StatusFailed || !strings.Contains(jsonOf(r.Snapshot.Error), "inputData") {
			t.Fatalf("status %s error %s", r.Snapshot.Status, jsonOf(r.Snapshot.Error))
		}
	})
}

// Workflows that nest each other in a cycle, or nest an unknown workflow,
// are refused at start with one line naming the workflow and the step.
func TestNestedWorkflowCycle(t *testing.T) {
	db := target{name: "sqlite", sqlite: t.TempDir() + "/wf.db"}
	a := Definition{ID: "a", Steps: []StepDef{{ID: "x", Kind: "workflow", Workflow: "b"}}}
	b := Definition{ID: "b", Steps: []StepDef{{ID: "m", Kind: "map", Map: "1"}, {ID: "y", Kind: "workflow", Workflow: "a"}}}
	_, err := Open(context.Background(), Options{SQLitePath: db.sqlite, Definitions: []Definition{a, b}})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "workflow a: step x: nested workflows form a cycle: a → b → a") {
		t.Fatalf("cycle: %v", err)
	}
	c := Definition{ID: "c", Steps: []StepDef{{ID: "z", Kind: "workflow", Workflow: "ghost"}}}
	_, err = Open(context.Background(), Options{SQLitePath: db.sqlite, Definitions: []Definition{c}})
	if err == nil || !strings.Contains(err.Error(), "workflow c: step z: no workflow ghost") {
		t.Fatalf("unknown: %v", err)
	}
}

// waitEnd returns the run once it has ended (Wait returns at a suspend
// too).
func waitEnd(t *testing.T, e *Engine, wf, run string) *Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Watch(ctx, wf, run, "", 0, false, func(int64, json.RawMessage) error { return nil }); err != nil {
		t.Fatalf("watch run %s: %v", run, err)
	}
	r, err := e.GetRun(ctx, wf, run, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
