package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
)

// TestRouteTable: every built-in route is in the one table, registered, and
// says what it touches. The isolation suite walks Server.Routes, so a route
// registered anywhere else would escape it.
func TestRouteTable(t *testing.T) {
	store := openSQLite(t)
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "assistant", Model: llm.Echo{}, Provider: "echo"}}, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	s, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc})
	routes := s.Routes()
	seen := map[string]bool{}
	valid := map[Touch]bool{TouchNone: true, TouchMemory: true, TouchAgent: true, TouchTool: true, TouchWorkflow: true, TouchObservability: true}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		if !valid[rt.Touches] {
			t.Errorf("%s touches %q; want one of none, memory, agent, tool, workflow, observability", key, rt.Touches)
		}
		path := strings.NewReplacer(":threadId", "t-x", ":agentId", "assistant", ":toolId", "nope").Replace(rt.Path)
		r := do(t, rt.Method, ts.URL+path, "")
		// The router's own 405 and 404 (the thread subscription's 405 is
		// its handler's answer: not supported).
		if (r.status == http.StatusMethodNotAllowed && r.body["error"] == "Method Not Allowed") ||
			(r.status == http.StatusNotFound && r.body["error"] == "Not Found") {
			t.Errorf("%s %s = %d %s; want the listed route to answer", rt.Method, path, r.status, r.raw)
		}
	}
	for _, must := range []string{"GET /threads", "POST /agent/generate", "POST /api/memory/save-messages",
		"POST /api/memory/messages/delete", "POST /api/agents/:agentId/tools/:toolId/execute"} {
		if !seen[must] {
			t.Errorf("%s missing from the route table", must)
		}
	}
	if r := do(t, "GET", ts.URL+"/api/memory/nope", ""); r.status != 404 || r.body["error"] != "Not Found" {
		t.Errorf("unlisted path = %d %s; want the router's 404", r.status, r.raw)
	}
	// Without agents, the agent routes are neither listed nor served.
	s2, ts2 := newTestServer(t, Options{Config: testConfig(), Store: openSQLite(t)})
	for _, rt := range s2.Routes() {
		if strings.HasPrefix(rt.Path, "/agent/") || strings.HasPrefix(rt.Path, "/api/agents") {
			t.Errorf("%s %s listed without agents", rt.Method, rt.Path)
		}
	}
	if r := do(t, "POST", ts2.URL+"/agent/generate", ""); r.status != 404 {
		t.Errorf("agent route without agents = %d; want 404", r.status)
	}
}
