package server

import (
	"strings"
	"testing"
)

// The approval routes' two-token cases. A's turn of the agent "approver"
// waits for an approval (ephemeral, so A's threads stay as seeded). B,
// naming A's run and A's resource every way, gets the 404 of a run nobody
// has and lists none of A's runs; A's run still waits, and A resolves it.
var approvalIsolationCases = map[string]func(t *testing.T, e *isoEnv){
	"POST /api/agents/:agentId/approve-tool-call":          caseApproval("approve-tool-call", `"toolCallId":"call_1"`),
	"POST /api/agents/:agentId/decline-tool-call":          caseApproval("decline-tool-call", `"toolCallId":"call_1","reason":"b says no"`),
	"POST /api/agents/:agentId/approve-tool-call-generate": caseApproval("approve-tool-call-generate", `"toolCallId":"call_1"`),
	"POST /api/agents/:agentId/decline-tool-call-generate": caseApproval("decline-tool-call-generate", `"toolCallId":"call_1"`),
	"POST /api/agents/:agentId/resume-stream":              caseApproval("resume-stream", `"resumeData":{"approved":true}`),
	"POST /api/agents/:agentId/resume-stream-until-idle":   caseApproval("resume-stream-until-idle", `"resumeData":{"approved":false}`),
	"GET /api/agents/:agentId/suspended-runs":              caseApproval("", ""),
	"POST /api/agents/:agentId/send-tool-approval":         caseSendApproval,
	"POST /api/agents/:agentId/recover":                    caseRecover,
}

func init() {
	for k, v := range approvalIsolationCases {
		isolationCases[k] = v
	}
}

// suspendA runs a turn of A's that waits for an approval and returns its
// run id.
func suspendA(t *testing.T, e *isoEnv) string {
	t.Helper()
	g := e.as(aliceToken, "POST", "/api/agents/approver/generate", `{"messages":"alice-secret approve me"}`)
	run, _ := g.body["runId"].(string)
	if g.status != 200 || g.body["finishReason"] != "suspended" || run == "" {
		t.Fatalf("A's turn = %d %s; want it suspended", g.status, g.raw)
	}
	return run
}

// listed reports whether tok's suspended-runs (with query q) names run.
func listed(t *testing.T, e *isoEnv, tok, q, run string) bool {
	t.Helper()
	r := e.as(tok, "GET", "/api/agents/approver/suspended-runs"+q, "")
	if r.status != 200 {
		t.Fatalf("suspended-runs%s = %d %s", q, r.status, r.raw)
	}
	return strings.Contains(r.raw, run)
}

func caseApproval(route, fields string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		run := suspendA(t, e)
		if route == "" {
			for _, q := range e.probes() {
				r := e.b("GET", "/api/agents/approver/suspended-runs?"+q, "")
				if r.status != 200 || strings.Contains(r.raw, run) || !strings.Contains(r.raw, `"total":0`) {
					t.Errorf("B suspended-runs?%s = %d %s; want none of A's", q, r.status, r.raw)
				}
			}
			if !listed(t, e, aliceToken, "", run) || !listed(t, e, adminToken, "?resourceId=res-alice", run) {
				t.Errorf("A or the admin does not list A's waiting run")
			}
			// Resolve it, so later cases start from no waiting runs.
			if r := e.as(aliceToken, "POST", "/api/agents/approver/decline-tool-call-generate", `{"runId":"`+run+`","toolCallId":"call_1"}`); r.status != 200 {
				t.Errorf("A declines = %d %s", r.status, r.raw)
			}
			return
		}
		path := "/api/agents/approver/" + route
		body := func(runID, extra string) string { return `{"runId":"` + runID + `",` + fields + extra + `}` }
		wantStatus(t, e.b("POST", path, body("no-such-run", "")), 404, "B on a missing run")
		for _, extra := range []string{"", `,"requestContext":{"mastra__resourceId":"res-alice","resourceId":"res-alice"}`, `,"resourceId":"res-alice"`} {
			// Whatever B sends, A's run answers as a run nobody has.
			nobody := e.b("POST", path, body("no-such-run", extra))
			r := e.b("POST", path, body(run, extra))
			if r.status != nobody.status || r.raw != nobody.raw {
				t.Errorf("B %s on A's run%s = %d %s; want the missing run's %d %s", route, extra, r.status, r.raw, nobody.status, nobody.raw)
			}
		}
		if !listed(t, e, aliceToken, "", run) {
			t.Fatalf("A's run no longer waits after B's attempts")
		}
		if r := e.as(aliceToken, "POST", path, body(run, "")); r.status != 200 || !strings.Contains(r.raw, "done:") {
			t.Errorf("A %s = %d %s; want her turn completed", route, r.status, r.raw)
		}
		if listed(t, e, aliceToken, "", run) {
			t.Errorf("A's run still waits after %s", route)
		}
	}
}

// caseSendApproval: B naming A's resource, thread and call finds nothing
// (his token's resource decides); A's own is accepted.
func caseSendApproval(t *testing.T, e *isoEnv) {
	run := suspendA(t, e)
	l := e.as(aliceToken, "GET", "/api/agents/approver/suspended-runs", "")
	var thread string
	for _, r := range l.body["runs"].([]any) {
		if m := r.(map[string]any); m["runId"] == run {
			thread, _ = m["threadId"].(string)
		}
	}
	if thread == "" {
		t.Fatalf("A's run is not listed: %s", l.raw)
	}
	body := `{"resourceId":"res-alice","threadId":"` + thread + `","toolCallId":"call_1","approved":true}`
	nobody := e.b("POST", "/api/agents/approver/send-tool-approval", `{"resourceId":"res-alice","threadId":"no-thread","toolCallId":"call_1","approved":true}`)
	wantStatus(t, nobody, 404, "B on a missing thread")
	for _, extra := range []string{"", `,"requestContext":{"mastra__resourceId":"res-alice"}`} {
		r := e.b("POST", "/api/agents/approver/send-tool-approval", strings.TrimSuffix(body, "}")+extra+"}")
		if r.status != 404 || r.body["error"] != nobody.body["error"] {
			t.Errorf("B send-tool-approval on A's run%s = %d %s; want the 404 of nothing waiting", extra, r.status, r.raw)
		}
	}
	if !listed(t, e, aliceToken, "", run) {
		t.Fatalf("A's run no longer waits after B's attempts")
	}
	if r := e.as(aliceToken, "POST", "/api/agents/approver/send-tool-approval", body); r.status != 200 || r.body["runId"] != run {
		t.Errorf("A send-tool-approval = %d %s", r.status, r.raw)
	}
}

// caseRecover: the same 400 for everyone, naming nothing of A's.
func caseRecover(t *testing.T, e *isoEnv) {
	run := suspendA(t, e)
	a := e.as(aliceToken, "POST", "/api/agents/approver/recover", `{"runId":"`+run+`"}`)
	b := e.b("POST", "/api/agents/approver/recover", `{"runId":"`+run+`"}`)
	if a.status != 400 || b.status != 400 || a.body["error"] != b.body["error"] {
		t.Errorf("recover: A %d %s, B %d %s; want the same 400", a.status, a.raw, b.status, b.raw)
	}
	if r := e.as(aliceToken, "POST", "/api/agents/approver/decline-tool-call-generate", `{"runId":"`+run+`","toolCallId":"call_1"}`); r.status != 200 {
		t.Errorf("A declines = %d %s", r.status, r.raw)
	}
}
