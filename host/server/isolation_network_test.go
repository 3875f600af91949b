package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// The network routes' two-token cases. A network run keeps a thread (its
// memory is required), so the runs that wait are Carol's, started by the
// admin, and A's data stays as seeded: B reaches neither A's threads
// through a network nor Carol's waiting run through the network approvals.
var networkIsolationCases = map[string]func(t *testing.T, e *isoEnv){
	"POST /api/agents/:agentId/network":                   caseNetwork,
	"POST /api/agents/:agentId/approve-network-tool-call": caseNetworkDecision("approve-network-tool-call", ""),
	"POST /api/agents/:agentId/decline-network-tool-call": caseNetworkDecision("decline-network-tool-call", `,"reason":"b says no"`),
}

func init() {
	for k, v := range networkIsolationCases {
		isolationCases[k] = v
	}
}

// netChunks reads the chunks of an SSE answer.
func netChunks(raw string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(raw, "\n") {
		var c map[string]any
		if rest, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(rest), &c) == nil {
			out = append(out, c)
		}
	}
	return out
}

// netPayload returns the payload of the last chunk of type typ, nil when none.
func netPayload(chunks []map[string]any, typ string) map[string]any {
	var p map[string]any
	for _, c := range chunks {
		if c["type"] == typ {
			p, _ = c["payload"].(map[string]any)
			if p == nil {
				p = map[string]any{}
			}
		}
	}
	return p
}

// caseNetwork: B's network naming A's thread is the taken answer; without
// memory B's network runs in a thread of his own, whatever resource he
// names.
func caseNetwork(t *testing.T, e *isoEnv) {
	q := "/api/agents/assistant/network?resourceId=res-alice&requestContext=" + e.ctxB64
	for _, th := range []string{"a-thread", "a-second"} {
		e.wantTaken(t, e.b("POST", q, `{"messages":"bob asks","memory":{"thread":"`+th+`","resource":"res-alice"},"requestContext":{"mastra__resourceId":"res-alice"}}`),
			"B network on "+th)
	}
	r := e.b("POST", q, `{"messages":"bob asks","requestContext":{"mastra__resourceId":"res-alice"}}`)
	fin := netPayload(netChunks(r.raw), "network-execution-event-finish")
	if r.status != 200 || fin == nil || fin["threadResourceId"] != "res-bob" || fin["result"] != "Echo: bob asks" {
		t.Fatalf("B's network = %d %s; want it finished under res-bob", r.status, r.raw)
	}
	th, _ := fin["threadId"].(string)
	if g := e.as(bobToken, "GET", "/api/memory/threads/"+th, ""); g.status != 200 || g.body["resourceId"] != "res-bob" {
		t.Errorf("B's network thread %s = %d %s; want it under res-bob", th, g.status, g.raw)
	}
}

// suspendCarol starts a network of Carol's (by the admin) whose primitive
// waits for approval, and returns its run id.
func suspendCarol(t *testing.T, e *isoEnv) string {
	t.Helper()
	r := e.admin("POST", "/api/agents/approver/network", `{"messages":"carol-secret approve me","memory":{"thread":"`+e.fresh("c-net")+`","resource":"res-carol"}}`)
	chunks := netChunks(r.raw)
	ap := netPayload(chunks, "tool-execution-approval")
	if r.status != 200 || ap == nil || len(chunks) == 0 {
		t.Fatalf("Carol's network = %d %s; want it waiting at tool-execution-approval", r.status, r.raw)
	}
	run, _ := chunks[0]["runId"].(string)
	return run
}

func caseNetworkDecision(route, extra string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		run := suspendCarol(t, e)
		path := "/api/agents/approver/" + route
		nobody := e.b("POST", path, `{"runId":"no-such-run"`+extra+`}`)
		wantStatus(t, nobody, 404, "B on a missing run")
		for _, more := range []string{"", `,"requestContext":{"mastra__resourceId":"res-carol","resourceId":"res-carol"}`} {
			r := e.b("POST", path+"?resourceId=res-carol", `{"runId":"`+run+`"`+extra+more+`}`)
			if r.status != nobody.status || r.raw != nobody.raw {
				t.Errorf("B %s on Carol's run%s = %d %s; want the missing run's %d %s", route, more, r.status, r.raw, nobody.status, nobody.raw)
			}
		}
		if strings.Contains(e.b("GET", "/api/agents/approver/suspended-runs", "").raw, run) {
			t.Errorf("B lists Carol's waiting run")
		}
		r := e.admin("POST", path, `{"runId":"`+run+`"`+extra+`}`)
		fin := netPayload(netChunks(r.raw), "network-execution-event-finish")
		if r.status != 200 || fin == nil || fin["isComplete"] != true {
			t.Errorf("the admin %s on Carol's run = %d %s; want the network finished", route, r.status, r.raw)
		}
		if again := e.admin("POST", path, `{"runId":"`+run+`"}`); again.status != 409 {
			t.Errorf("a second %s = %d %s; want 409", route, again.status, again.raw)
		}
	}
}
