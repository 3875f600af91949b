package server

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/workflow"
)

// The workflow routes' two-token cases. A owns three runs of the approve
// workflow: one created and never started, one suspended at its approve
// step, one finished; B owns one finished run. B reaches none of A's runs
// by id through any route (the 404 of a run nobody has), never sees them
// in listings or counts, and A's runs read back the same afterwards
// (snapshotA reads them). The admin reaches every resource's runs.

// aRuns are A's run ids, made by seedWorkflows.
var aRuns = []string{"a-run-pending", "a-run-suspended", "a-run-done"}

var workflowIsolationCases = map[string]func(t *testing.T, e *isoEnv){
	"GET /api/workflows":                                 caseNoTenantData("/api/workflows"),
	"GET /api/workflows/:workflowId":                     caseWorkflowDetails,
	"GET /api/workflows/:workflowId/runs":                caseWorkflowRuns,
	"GET /api/workflows/:workflowId/runs/:runId":         caseWorkflowRunByID,
	"DELETE /api/workflows/:workflowId/runs/:runId":      caseWorkflowDeleteRun,
	"POST /api/workflows/:workflowId/runs/:runId/cancel": caseWorkflowCancel,
	"POST /api/workflows/:workflowId/create-run":         caseWorkflowCreateRun,
	"POST /api/workflows/:workflowId/start":              caseWorkflowStart("start"),
	"POST /api/workflows/:workflowId/start-async":        caseWorkflowStart("start-async"),
	"POST /api/workflows/:workflowId/stream":             caseWorkflowStart("stream"),
	"POST /api/workflows/:workflowId/observe":            caseWorkflowObserve,
	"POST /api/workflows/:workflowId/resume":             caseWorkflowResume("resume"),
	"POST /api/workflows/:workflowId/resume-async":       caseWorkflowResume("resume-async"),
	"POST /api/workflows/:workflowId/resume-no-wait":     caseWorkflowResume("resume-no-wait"),
	"POST /api/workflows/:workflowId/resume-stream":      caseWorkflowResume("resume-stream"),
	"POST /api/workflows/:workflowId/restart":            caseWorkflowNotImplemented("restart"),
	"POST /api/workflows/:workflowId/restart-async":      caseWorkflowNotImplemented("restart-async"),
	"POST /api/workflows/:workflowId/time-travel":        caseWorkflowNotImplemented("time-travel"),
	"POST /api/workflows/:workflowId/time-travel-async":  caseWorkflowNotImplemented("time-travel-async"),
	"POST /api/workflows/:workflowId/time-travel-stream": caseWorkflowNotImplemented("time-travel-stream"),
}

// approveDef drafts from the input, suspends for an approval and
// publishes: enough for pending, suspended and finished runs.
var approveDef = workflow.Definition{
	ID: "approve", Description: "draft, approve, publish", StepTimeout: 10 * time.Second,
	InputSchema: json.RawMessage(`{"type":"object","required":["topic"],"properties":{"topic":{"type":"string"}}}`),
	Steps: []workflow.StepDef{
		{ID: "draft", Kind: "map", Map: `{"text": "draft of " + input.topic}`},
		{ID: "approve", Kind: "suspend", Suspend: `{"draft": steps.draft.text}`,
			ResumeSchema: json.RawMessage(`{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}`)},
		{ID: "publish", Kind: "map", Map: `{"published": steps.approve.approved, "text": steps.draft.text}`},
	},
}

// isoWorkflows opens and starts the engine on the suite's database, with
// the approve workflow unless o names definitions.
func isoWorkflows(t *testing.T, o workflow.Options) *workflow.Engine {
	t.Helper()
	ctx := context.Background()
	if o.Definitions == nil {
		o.Definitions = []workflow.Definition{approveDef}
	}
	o.Logger = quietLogger()
	eng, err := workflow.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = eng.Close(cctx)
	})
	return eng
}

const wfPath = "/api/workflows/approve/"

// seedWorkflows makes A's runs and B's through the routes.
func (e *isoEnv) seedWorkflows(t *testing.T) {
	t.Helper()
	must := func(r response, status, what string) {
		t.Helper()
		if r.status != 200 || (status != "" && r.body["status"] != status) {
			t.Fatalf("seed: %s = %d %s; want 200 %s", what, r.status, r.raw, status)
		}
	}
	must(e.as(aliceToken, "POST", wfPath+"create-run?runId=a-run-pending", ""), "", "A create-run")
	must(e.as(aliceToken, "POST", wfPath+"start-async?runId=a-run-suspended", `{"inputData":{"topic":"alice-secret"}}`), "suspended", "A start")
	must(e.as(aliceToken, "POST", wfPath+"start-async?runId=a-run-done", `{"inputData":{"topic":"alice-secret done"}}`), "suspended", "A start")
	must(e.as(aliceToken, "POST", wfPath+"resume-async?runId=a-run-done", `{"step":"approve","resumeData":{"approved":true}}`), "success", "A resume")
	must(e.as(bobToken, "POST", wfPath+"start-async?runId=b-run-done", `{"inputData":{"topic":"bob topic"}}`), "suspended", "B start")
	must(e.as(bobToken, "POST", wfPath+"resume-async?runId=b-run-done", `{"step":"approve","resumeData":{"approved":false}}`), "success", "B resume")
}

// noRun is B's answer for a run nobody has: the answer for any run B
// cannot see.
func (e *isoEnv) noRun(t *testing.T) response {
	t.Helper()
	r := e.b("GET", wfPath+"runs/no-such-run", "")
	if r.status != 404 || r.body["error"] != "Workflow run not found" {
		t.Fatalf("B GET a run nobody has = %d %s; want 404 Workflow run not found", r.status, r.raw)
	}
	return r
}

func wantRunNotFound(t *testing.T, r, nobody response, what string) {
	t.Helper()
	if r.status != 404 || r.raw != nobody.raw {
		t.Errorf("%s = %d %s; want exactly the answer for a run nobody has: %d %s", what, r.status, r.raw, nobody.status, nobody.raw)
	}
}

// bodies are the ways B names A's resource in a run route's body.
func runBodies(extra string) []string {
	return []string{extra,
		strings.TrimSuffix(extra, "}") + `,"resourceId":"res-alice","requestContext":{"mastra__resourceId":"res-alice","resourceId":"res-alice"}}`}
}

// carolRun is a run of a third resource, for the admin, started and
// suspended unless pending.
func (e *isoEnv) carolRun(t *testing.T, pending bool) string {
	t.Helper()
	ctx := context.Background()
	id := e.fresh("c-run")
	if _, err := e.eng.CreateRun(ctx, "approve", id, "res-carol"); err != nil {
		t.Fatal(err)
	}
	if pending {
		return id
	}
	if err := e.eng.StartRun(ctx, workflow.StartParams{Workflow: "approve", RunID: id, ResourceID: "res-carol", Input: map[string]any{"topic": "carol"}}); err != nil {
		t.Fatal(err)
	}
	if r := e.waitRun(t, id); r.Snapshot.Status != workflow.StatusSuspended {
		t.Fatalf("Carol's run %s is %s; want suspended", id, r.Snapshot.Status)
	}
	return id
}

func (e *isoEnv) waitRun(t *testing.T, id string) *workflow.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := e.eng.Wait(ctx, "approve", id, "")
	if err != nil {
		t.Fatalf("wait for run %s: %v", id, err)
	}
	return r
}

func runIDs(t *testing.T, r response) []string {
	t.Helper()
	list, ok := r.body["runs"].([]any)
	if !ok {
		t.Fatalf("no runs in %d %s", r.status, r.raw)
	}
	var ids []string
	for _, run := range list {
		ids = append(ids, run.(map[string]any)["runId"].(string))
	}
	return ids
}

func caseWorkflowDetails(t *testing.T, e *isoEnv) {
	caseNoTenantData("/api/workflows/approve")(t, e)
	// run-counts is answered by this route: B counts his runs only (none
	// running or suspended), whatever resource he names.
	for _, q := range e.probes() {
		r := e.b("GET", "/api/workflows/run-counts?"+q, "")
		if r.status != 200 || !strings.Contains(r.raw, `"approve":{"running":0,"suspended":0}`) {
			t.Errorf("B GET run-counts?%s = %d %s; want approve with nothing running or suspended", q, r.status, r.raw)
		}
	}
	if a := e.aSnap["/api/workflows/run-counts"]; !strings.Contains(a, `"approve":{"running":0,"suspended":1}`) {
		t.Errorf("A's run-counts = %s; want her one suspended run", a)
	}
	if r := e.admin("GET", "/api/workflows/run-counts", ""); !strings.Contains(r.raw, `"suspended":`) ||
		strings.Contains(r.raw, `"suspended":0`) {
		t.Errorf("admin run-counts = %d %s; want every resource's suspended runs", r.status, r.raw)
	}
}

func caseWorkflowRuns(t *testing.T, e *isoEnv) {
	for _, q := range append(e.probes(), "status=suspended&resourceId=res-alice", "status=success&resourceId=res-alice",
		"limit=100&offset=0&resourceId=res-alice", "perPage=1000&page=0&resourceId=res-alice") {
		r := e.b("GET", wfPath+"runs?"+q, "")
		if r.status != 200 {
			t.Errorf("B GET runs?%s = %d %s", q, r.status, r.raw)
			continue
		}
		ids := runIDs(t, r)
		for _, id := range ids {
			if !strings.HasPrefix(id, "b-") {
				t.Errorf("B GET runs?%s lists %s, not his", q, id)
			}
		}
		if r.body["total"] != float64(len(ids)) {
			t.Errorf("B GET runs?%s total = %v for %d runs; the total counts others' runs", q, r.body["total"], len(ids))
		}
		if !strings.Contains(q, "status=suspended") && !slices.Contains(ids, "b-run-done") {
			t.Errorf("B GET runs?%s = %v; want his b-run-done", q, ids)
		}
	}
	ids := runIDs(t, e.admin("GET", wfPath+"runs", ""))
	for _, want := range append([]string{"b-run-done"}, aRuns...) {
		if !slices.Contains(ids, want) {
			t.Errorf("admin GET runs = %v; want %s among every resource's runs", ids, want)
		}
	}
	ids = runIDs(t, e.admin("GET", wfPath+"runs?resourceId=res-alice", ""))
	if slices.Sort(ids); !slices.Equal(ids, []string{"a-run-done", "a-run-pending", "a-run-suspended"}) {
		t.Errorf("admin GET runs naming res-alice = %v; want A's three", ids)
	}
}

func caseWorkflowRunByID(t *testing.T, e *isoEnv) {
	nobody := e.noRun(t)
	for _, id := range aRuns {
		for _, q := range append(e.probes(), "fields=result,steps&resourceId=res-alice") {
			wantRunNotFound(t, e.b("GET", wfPath+"runs/"+id+"?"+q, ""), nobody, "B GET run "+id+"?"+q)
		}
	}
	p := wfPath + "runs/a-run-done"
	if r := e.admin("GET", p, ""); r.raw != e.aSnap[p] {
		t.Errorf("admin GET %s = %d %s; want what A reads %s", p, r.status, r.raw, e.aSnap[p])
	}
}

func caseWorkflowDeleteRun(t *testing.T, e *isoEnv) {
	nobody := e.noRun(t)
	for _, id := range aRuns {
		for _, q := range e.probes() {
			wantRunNotFound(t, e.b("DELETE", wfPath+"runs/"+id+"?"+q, ""), nobody, "B DELETE run "+id+"?"+q)
		}
	}
	id := e.carolRun(t, false)
	wantStatus(t, e.admin("DELETE", wfPath+"runs/"+id, ""), 200, "admin DELETE Carol's run")
	if _, err := e.eng.GetRun(context.Background(), "approve", id, ""); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("admin DELETE %s: the run is still there (%v)", id, err)
	}
}

func caseWorkflowCancel(t *testing.T, e *isoEnv) {
	nobody := e.noRun(t)
	for _, id := range aRuns {
		for _, q := range e.probes() {
			wantRunNotFound(t, e.b("POST", wfPath+"runs/"+id+"/cancel?"+q, ""), nobody, "B cancel run "+id+"?"+q)
		}
	}
	id := e.carolRun(t, false)
	wantStatus(t, e.admin("POST", wfPath+"runs/"+id+"/cancel", ""), 200, "admin cancel Carol's run")
	if r := e.waitRun(t, id); r.Snapshot.Status != workflow.StatusCanceled {
		t.Errorf("Carol's run after the admin's cancel is %s; want canceled", r.Snapshot.Status)
	}
}

func caseWorkflowCreateRun(t *testing.T, e *isoEnv) {
	// B's own taken id answers with the run (Mastra's createRun attaches
	// to an existing run); A's ids answer the same, so B learns nothing,
	// and A's run is untouched (snapshotA).
	own := e.b("POST", wfPath+"create-run?runId=b-run-done", "")
	if own.status != 200 || own.body["runId"] != "b-run-done" {
		t.Fatalf("B create-run of his own b-run-done = %d %s", own.status, own.raw)
	}
	for _, id := range aRuns {
		for _, q := range e.probes() {
			for _, body := range runBodies(`{"disableScorers":true}`) {
				r := e.b("POST", wfPath+"create-run?runId="+id+"&"+q, body)
				if want := strings.ReplaceAll(own.raw, "b-run-done", id); r.status != own.status || r.raw != want {
					t.Errorf("B create-run %s?%s %s = %d %s; want the answer of his own taken id: %s", id, q, body, r.status, r.raw, want)
				}
			}
		}
		// Still not his.
		wantRunNotFound(t, e.b("GET", wfPath+"runs/"+id, ""), e.noRun(t), "B GET "+id+" after create-run")
	}
	// Naming A's resource makes a run of B's.
	id := e.fresh("b-made")
	wantStatus(t, e.b("POST", wfPath+"create-run?runId="+id+"&resourceId=res-alice", `{"resourceId":"res-alice"}`), 200, "B create-run naming A")
	if r := e.as(bobToken, "GET", wfPath+"runs/"+id, ""); r.status != 200 || r.body["resourceId"] != "res-bob" {
		t.Errorf("B's new run %s = %d %s; want it under res-bob", id, r.status, r.raw)
	}
	// The admin creates for the resource it names.
	id = e.fresh("c-made")
	wantStatus(t, e.admin("POST", wfPath+"create-run?runId="+id, `{"resourceId":"res-carol"}`), 200, "admin create-run for Carol")
	if r, err := e.eng.GetRun(context.Background(), "approve", id, "res-carol"); err != nil || r.ResourceID != "res-carol" {
		t.Errorf("admin's run %s for Carol: %v %v", id, r, err)
	}
}

// caseWorkflowStart: B cannot start A's runs (her pending one above all),
// nor stream them; the admin starts Carol's pending run.
func caseWorkflowStart(route string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		nobody := e.noRun(t)
		for _, id := range aRuns {
			for _, q := range e.probes() {
				for _, body := range runBodies(`{"inputData":{"topic":"bob"}}`) {
					wantRunNotFound(t, e.b("POST", wfPath+route+"?runId="+id+"&"+q, body), nobody, "B "+route+" "+id+"?"+q+" "+body)
				}
			}
		}
		id := e.carolRun(t, true)
		r := e.admin("POST", wfPath+route+"?runId="+id, `{"inputData":{"topic":"carol"}}`)
		if r.status != 200 {
			t.Errorf("admin %s of Carol's run = %d %s", route, r.status, r.raw)
		}
		if run := e.waitRun(t, id); run.Snapshot.Status != workflow.StatusSuspended || run.ResourceID != "res-carol" {
			t.Errorf("Carol's run after the admin's %s: %s of %s; want suspended, still Carol's", route, run.Snapshot.Status, run.ResourceID)
		}
	}
}

func caseWorkflowObserve(t *testing.T, e *isoEnv) {
	nobody := e.noRun(t)
	for _, id := range aRuns {
		for _, q := range append(e.probes(), "offset=0&resourceId=res-alice") {
			wantRunNotFound(t, e.b("POST", wfPath+"observe?runId="+id+"&"+q, ""), nobody, "B observe "+id+"?"+q)
		}
	}
	r := e.admin("POST", wfPath+"observe?runId=a-run-done", "")
	if r.status != 200 || !strings.Contains(r.raw, "alice-secret done") {
		t.Errorf("admin observe a-run-done = %d %q; want A's run's chunks", r.status, r.raw)
	}
}

// caseWorkflowResume: B cannot resume A's suspended run (nor any other of
// hers); the admin resumes Carol's.
func caseWorkflowResume(route string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		nobody := e.noRun(t)
		for _, id := range aRuns {
			for _, q := range e.probes() {
				for _, body := range append(runBodies(`{"step":"approve","resumeData":{"approved":true}}`),
					`{"step":["approve"],"resumeData":{"approved":true}}`, `{"resumeData":{"approved":true}}`) {
					wantRunNotFound(t, e.b("POST", wfPath+route+"?runId="+id+"&"+q, body), nobody, "B "+route+" "+id+"?"+q+" "+body)
				}
			}
		}
		id := e.carolRun(t, false)
		r := e.admin("POST", wfPath+route+"?runId="+id, `{"step":"approve","resumeData":{"approved":true}}`)
		if r.status != 200 {
			t.Errorf("admin %s of Carol's run = %d %s", route, r.status, r.raw)
		}
		if run := e.waitRun(t, id); run.Snapshot.Status != workflow.StatusSuccess {
			t.Errorf("Carol's run after the admin's %s is %s; want success", route, run.Snapshot.Status)
		}
	}
}

// caseWorkflowNotImplemented: 501 for everyone, naming A's run or not.
func caseWorkflowNotImplemented(route string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		want := e.as(aliceToken, "POST", wfPath+route+"?runId=a-run-suspended", `{"step":"approve"}`)
		if want.status != 501 {
			t.Fatalf("A %s = %d %s; want 501", route, want.status, want.raw)
		}
		for _, q := range e.probes() {
			// (a 5xx answer carries its request id; the rest must match)
			if r := e.b("POST", wfPath+route+"?runId=a-run-suspended&"+q, `{"step":"approve"}`); r.status != 501 || r.body["error"] != want.body["error"] {
				t.Errorf("B %s = %d %s; want A's answer %s", route, r.status, r.raw, want.raw)
			}
		}
	}
}
