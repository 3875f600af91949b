package server

import (
	"strings"
	"testing"
)

// The stream reconnect routes' two-token cases. A runs a resumable stream
// (ephemeral, so that A's threads stay as seeded); B reconnecting to it by
// its run id, naming A's resource every way, gets the 404 of a run nobody
// has, while A and the admin get A's chunks.
var resumeIsolationCases = map[string]func(t *testing.T, e *isoEnv){
	"GET /agent/stream/:runId":               caseResume("/agent/stream/"),
	"GET /api/agents/:agentId/stream/:runId": caseResume("/api/agents/assistant/stream/"),
}

func caseResume(prefix string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		r := e.as(aliceToken, "POST", "/api/agents/assistant/stream", `{"messages":"alice-secret resumable","resumable":true}`)
		run := r.header.Get("X-Run-Id")
		if r.status != 200 || run == "" || !strings.Contains(r.raw, `"runId":"`+run+`"`) {
			t.Fatalf("A's resumable stream = %d, X-Run-Id %q, %s", r.status, run, r.raw)
		}
		nobody := e.b("GET", prefix+"no-such-run", "")
		wantStatus(t, nobody, 404, "B reconnect to a missing run")
		for _, q := range e.probes() {
			for _, h := range [][]string{nil, {"Last-Event-ID", "0"}, {"Last-Event-ID", "2"}} {
				r := e.b("GET", prefix+run+"?"+q, "", h...)
				if r.status != nobody.status || r.raw != nobody.raw {
					t.Errorf("B reconnect to A's run ?%s %v = %d %s; want the missing run's %d %s", q, h, r.status, r.raw, nobody.status, nobody.raw)
				}
			}
		}
		for who, tok := range map[string]string{"A": aliceToken, "the admin": adminToken} {
			r := e.as(tok, "GET", prefix+run, "")
			if r.status != 200 || !strings.Contains(r.raw, "Echo: alice-secret resumable") || !strings.HasSuffix(r.raw, "data: [DONE]\n\n") {
				t.Errorf("%s reconnecting to A's run = %d %s; want A's chunks and [DONE]", who, r.status, r.raw)
			}
		}
		if strings.HasPrefix(prefix, "/api/agents/") {
			// The run is the assistant's: under another agent it is not found.
			r := e.as(aliceToken, "GET", "/api/agents/wm/stream/"+run, "")
			if r.status != 404 {
				t.Errorf("A reconnecting to her run under another agent = %d %s; want 404", r.status, r.raw)
			}
		}
	}
}
