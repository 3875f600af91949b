package workflow

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fakeModules answers as examples/approval-step does: 202 (suspend) for
// amounts over 100 until resumed, 400 for input without an amount.
type fakeModules struct{}

func (fakeModules) RunModule(ctx context.Context, wf, step string, body json.RawMessage) (int, []byte, error) {
	var call struct {
		InputData struct {
			Amount *float64 `json:"amount"`
		} `json:"inputData"`
		ResumeData map[string]any `json:"resumeData"`
	}
	if err := json.Unmarshal(body, &call); err != nil || call.InputData.Amount == nil {
		return 400, []byte(`{"error":"no amount"}`), nil
	}
	switch {
	case call.ResumeData != nil:
		b, _ := json.Marshal(map[string]any{"approved": call.ResumeData["approved"]})
		return 200, b, nil
	case *call.InputData.Amount > 100:
		return 202, []byte(`{"needs":"approval"}`), nil
	}
	return 200, []byte(`{"approved":true}`), nil
}

// A wasm step's module suspends the run with status 202 and is run again
// with the resume data; another status fails the run.
func TestModuleStep(t *testing.T) {
	def := Definition{ID: "expense", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "approve", Kind: "wasm", Module: "approval.wasm", Input: `{"amount": input.amount}`,
			ResumeSchema: json.RawMessage(`{"type":"object","required":["approved"]}`)},
		{ID: "book", Kind: "map", Map: "steps.approve.approved"},
	}}
	eachDB(t, func(t *testing.T, db target) {
		ctx := context.Background()
		e, err := Open(ctx, Options{DatabaseURL: db.url, SQLitePath: db.sqlite, Definitions: []Definition{def}, Modules: fakeModules{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Close(ctx)
		run := startRun(t, e, "expense", "", map[string]any{"amount": 500})
		r := wait(t, e, "expense", run)
		if r.Snapshot.Status != StatusSuspended || jsonOf(r.Snapshot.Context.Steps["approve"].SuspendPayload) != `{"needs":"approval"}` {
			t.Fatalf("status %s: %s", r.Snapshot.Status, jsonOf(r.Snapshot.Context.Steps))
		}
		if err := e.Resume(ctx, "expense", run, "", nil, map[string]any{}); !isInput(err, "resumeData") {
			t.Fatalf("resume without approved: %v", err)
		}
		if err := e.Resume(ctx, "expense", run, "", []string{"approve"}, map[string]any{"approved": false}); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, e, "expense", run); r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `false` {
			t.Fatalf("status %s result %s", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
		}
		run = startRun(t, e, "expense", "", map[string]any{})
		if r := wait(t, e, "expense", run); r.Snapshot.Status != StatusFailed || !strings.Contains(jsonOf(r.Snapshot.Error), "answered status 400") {
			t.Fatalf("status %s error %s", r.Snapshot.Status, jsonOf(r.Snapshot.Error))
		}
	})
}
