package main

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The mastra workflow and thread functions with two tokens, on the real
// server with a Wasm guest (host/plugin/testdata/datafwd.wat answers
// 400+errno on an error), on SQLite and Postgres: a run A starts through
// the plugin is A's (the HTTP route shows it under A's resource); B can
// neither read nor resume it (ENOENT, as for a missing run, with no text)
// nor see A's threads or their messages; A's run and threads are
// unchanged by B's attempts.
func TestPluginWorkflowAndThreadIsolation(t *testing.T) {
	onEachStore(t, workflowAndThreadIsolation)
}

func workflowAndThreadIsolation(t *testing.T, env []string) {
	mod := strconv.Quote(wasmFrom(t, "../../host/plugin/testdata/datafwd.wat"))
	base, _ := startServer(t, `
[server.auth]
enabled = true
`+twoTenantTokens+`
[workflows.gate]
input_schema = '{"type":"object","required":["topic"],"properties":{"topic":{"type":"string"}}}'
[[workflows.gate.steps]]
id = "approve"
suspend = '{"topic": input.topic}'
resume_schema = '{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}'
[[workflows.gate.steps]]
id = "done"
map = '{"approved": steps.approve.approved, "topic": input.topic}'

[workflows.other]
[[workflows.other.steps]]
id = "only"
map = '{"ok": true}'

[[routes]]
name = "datafwd"
method = "POST"
path = "/plug/data/:op/:wf/:id"
module = `+mod+`
workflows = ["gate"]
threads = true
`, append(env, tenantEnv...)...)
	A, B := asTenantA, asTenantB
	plug := func(who []string, op, wf, id, body string) (int, string) {
		t.Helper()
		return call(t, "POST", base+"/plug/data/"+op+"/"+wf+"/"+id, body, who...)
	}
	// waitStatus reads the run through the plugin until it leaves running.
	waitStatus := func(runID string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := plug(A, "g", "gate", runID, "")
			if code != 200 {
				t.Fatalf("A workflow_run = %d %q", code, body)
			}
			var run map[string]any
			if err := json.Unmarshal([]byte(body), &run); err != nil {
				t.Fatalf("workflow_run answer %q: %v", body, err)
			}
			if run["status"] != "running" && run["status"] != "pending" {
				return run
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s still %v", runID, run["status"])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A starts a run through the plugin; it suspends under A's resource.
	code, body := plug(A, "s", "gate", "-", `{"topic":"alice-secret"}`)
	var started struct{ RunID string }
	if code != 200 || json.Unmarshal([]byte(body), &started) != nil || started.RunID == "" {
		t.Fatalf("A workflow_start = %d %q; want 200 {runId}", code, body)
	}
	runID := started.RunID
	run := waitStatus(runID)
	if run["status"] != "suspended" || run["resourceId"] != "tenant-a" {
		t.Fatalf("A's run = %v; want suspended under tenant-a", run)
	}
	// The plugin reads the run as the HTTP route returns it.
	code, body = call(t, "GET", base+"/api/workflows/gate/runs/"+runID, "", A...)
	var viaHTTP map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &viaHTTP) != nil {
		t.Fatalf("A GET run = %d %q", code, body)
	}
	if !reflect.DeepEqual(run, viaHTTP) {
		t.Errorf("workflow_run = %v\nGET …/runs/:runId = %v; want the same", run, viaHTTP)
	}
	_, before := plug(A, "g", "gate", runID, "")

	// B cannot read or resume A's run: ENOENT with no text, as for a run
	// that does not exist.
	if code, body := plug(B, "g", "gate", runID, ""); code != 444 || body != "" {
		t.Errorf("B workflow_run on A's run = %d %q; want 444 (ENOENT) and nothing", code, body)
	}
	if code, body := plug(B, "g", "gate", "no-such-run", ""); code != 444 || body != "" {
		t.Errorf("B workflow_run on a missing run = %d %q; want 444 (ENOENT) and nothing", code, body)
	}
	if code, body := plug(B, "r", "gate", runID, `{"step":"approve","resumeData":{"approved":false}}`); code != 444 || body != "" {
		t.Errorf("B workflow_resume on A's run = %d %q; want 444 (ENOENT) and nothing", code, body)
	}
	if code, body := call(t, "GET", base+"/api/workflows/gate/runs/"+runID, "", B...); code != 404 {
		t.Errorf("B GET A's run = %d %q; want 404", code, body)
	}
	if _, now := plug(A, "g", "gate", runID, ""); now != before {
		t.Errorf("A's run changed by B's calls:\n was %s\n now %s", before, now)
	}

	// A resumes its run through the plugin; it finishes with A's data. A
	// second resume is EBUSY: the run is no longer suspended.
	if code, body := plug(A, "r", "gate", runID, `{"step":"approve","resumeData":{"approved":true}}`); code != 200 {
		t.Fatalf("A workflow_resume = %d %q", code, body)
	}
	run = waitStatus(runID)
	if want := map[string]any{"approved": true, "topic": "alice-secret"}; run["status"] != "success" || !reflect.DeepEqual(run["result"], want) {
		t.Errorf("A's run after resume = %v; want success with %v", run, want)
	}
	if code, body := plug(A, "r", "gate", runID, `{"step":"approve","resumeData":{"approved":true}}`); code != 410 || body == "" {
		t.Errorf("A's second workflow_resume = %d %q; want 410 (EBUSY) with the reason", code, body)
	}

	// Bad input is EINVAL naming the field, and leaves no run behind; a
	// workflow the plugin is not granted is EPERM.
	if code, body := plug(A, "s", "gate", "-", `{}`); code != 428 || !strings.Contains(body, "inputData") {
		t.Errorf("workflow_start with bad input = %d %q; want 428 (EINVAL) naming inputData", code, body)
	}
	if code, body := call(t, "GET", base+"/api/workflows/gate/runs", "", A...); code != 200 || !strings.Contains(body, `"total":1`) {
		t.Errorf("A's runs after a rejected start = %d %s; want only the first run", code, body)
	}
	if code, body := plug(A, "s", "other", "-", `{}`); code != 463 {
		t.Errorf("workflow_start of an ungranted workflow = %d %q; want 463 (EPERM)", code, body)
	}

	// Threads: A has one; the plugin lists it for A, not for B.
	if code, body := call(t, "POST", base+"/agent/generate", `{"message":"alice-secret thread","threadId":"ta-1"}`, A...); code != 200 {
		t.Fatalf("A generate = %d %s", code, body)
	}
	code, body = plug(A, "t", "-", "-", `{"perPage":10}`)
	var list struct {
		Threads []struct{ ID, ResourceID string }
		Total   int
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || list.Total != 1 || list.Threads[0].ID != "ta-1" ||
		list.Threads[0].ResourceID != "tenant-a" {
		t.Errorf("A threads_list = %d %q; want ta-1 under tenant-a", code, body)
	}
	if code, body := plug(A, "m", "-", "ta-1", ""); code != 200 || !strings.Contains(body, "alice-secret thread") {
		t.Errorf("A thread_messages = %d %q; want its messages", code, body)
	}
	if code, body := plug(B, "t", "-", "-", ""); code != 200 || !strings.Contains(body, `"total":0`) || strings.Contains(body, "ta-1") {
		t.Errorf("B threads_list = %d %q; want none of A's threads", code, body)
	}
	if code, body := plug(B, "m", "-", "ta-1", ""); code != 444 || body != "" {
		t.Errorf("B thread_messages on A's thread = %d %q; want 444 (ENOENT) and nothing", code, body)
	}
	if code, body := plug(A, "t", "-", "-", `{"perPage":0}`); code != 428 || !strings.Contains(body, "perPage") {
		t.Errorf("threads_list with perPage 0 = %d %q; want 428 (EINVAL) naming perPage", code, body)
	}
	// Without a token the route is 401, as every route.
	if code, body := call(t, "POST", base+"/plug/data/g/gate/"+runID, ""); code != 401 {
		t.Errorf("plugin route without a token = %d %q; want 401", code, body)
	}
}
