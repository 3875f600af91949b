package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The two-token cases of the MCP routes (mcp_handlers.go). The registry and
// tool listings hold no tenant data; a call, over REST or the streamable
// transport, runs for the caller's resource whatever resource it names, and
// ask_<agent> cannot continue another resource's thread.

var mcpIsolationCases = map[string]func(t *testing.T, e *isoEnv){
	"GET /api/mcp/v0/servers":                       caseNoTenantData("/api/mcp/v0/servers"),
	"GET /api/mcp/v0/servers/:id":                   caseNoTenantData("/api/mcp/v0/servers/main"),
	"GET /api/mcp/:serverId/tools":                  caseNoTenantData("/api/mcp/main/tools"),
	"GET /api/mcp/:serverId/tools/:toolId":          caseNoTenantData("/api/mcp/main/tools/whoami", "/api/mcp/main/tools/ask_assistant"),
	"POST /api/mcp/:serverId/tools/:toolId/execute": caseMCPCall(false),
	"POST /api/mcp/:serverId/mcp":                   caseMCPCall(true),
	"GET /api/mcp/:serverId/resources":              caseNoTenantData("/api/mcp/main/resources"),
	"POST /api/mcp/:serverId/resources/read":        caseMCPRead,
}

// caseMCPRead: a resource is static content, the same for every caller,
// whatever resource B names; an unknown one is 404 for both.
func caseMCPRead(t *testing.T, e *isoEnv) {
	const body = `{"uri":"docs://readme"}`
	want := e.as(aliceToken, "POST", "/api/mcp/main/resources/read", body)
	if want.status != 200 || !strings.Contains(want.raw, `"text":"# Readme"`) {
		t.Fatalf("A reading docs://readme = %d %s", want.status, want.raw)
	}
	for _, q := range e.probes() {
		if r := e.b("POST", "/api/mcp/main/resources/read?"+q, body); r.status != 200 || r.raw != want.raw {
			t.Errorf("B reading docs://readme ?%s = %d %s; want A's answer", q, r.status, r.raw)
		}
	}
	for _, tok := range []string{aliceToken, bobToken} {
		if r := e.as(tok, "POST", "/api/mcp/main/resources/read", `{"uri":"docs://nothing"}`); r.status != 404 {
			t.Errorf("reading an unknown resource = %d %s; want 404", r.status, r.raw)
		}
	}
}

// mcpRPC calls tool name with args as token tok: through the streamable
// transport (a bare JSON-RPC tools/call, which a stateless server answers
// without a session) or the REST execute route. It returns the result's
// text, whether it is an error, and the HTTP answer.
func (e *isoEnv) mcpRPC(t *testing.T, transport bool, tok, query, name, args string) (string, bool, response) {
	t.Helper()
	call := e.as
	if tok == bobToken {
		call = func(_, method, path, body string, headers ...string) response {
			return e.b(method, path, body, headers...)
		}
	}
	if !transport {
		r := call(tok, "POST", "/api/mcp/main/tools/"+name+"/execute?"+query, `{"data":`+args+`}`)
		if r.status != 200 {
			return r.raw, true, r
		}
		var out struct {
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal([]byte(r.raw), &out); err != nil {
			t.Fatalf("execute %s = %s", name, r.raw)
		}
		return string(out.Result), false, r
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, name, args)
	r := call(tok, "POST", "/api/mcp/main/mcp?"+query, body, "Accept", "application/json, text/event-stream")
	var out struct {
		Result struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.raw), &out) != nil || len(out.Result.Content) != 1 {
		t.Fatalf("tools/call %s = %d %s", name, r.status, r.raw)
	}
	return out.Result.Content[0].Text, out.Result.IsError, r
}

func caseMCPCall(transport bool) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		type who struct {
			Resource string   `json:"resource"`
			Threads  []string `json:"threads"`
		}
		whoami := func(tok, query string) who {
			t.Helper()
			text, isErr, _ := e.mcpRPC(t, transport, tok, query, "whoami", `{"n":1}`)
			var w who
			if isErr || json.Unmarshal([]byte(text), &w) != nil {
				t.Fatalf("whoami as %s?%s = %s", tok, query, text)
			}
			return w
		}
		for _, q := range e.probes() {
			if w := whoami(bobToken, q); w.Resource != "res-bob" || !slices.Contains(w.Threads, "b-thread") {
				t.Errorf("B's MCP call ?%s ran for %+v; want res-bob", q, w)
			}
		}
		if w := whoami(aliceToken, ""); w.Resource != "res-alice" || len(w.Threads) != 2 {
			t.Errorf("A's MCP call ran for %+v; want res-alice and her 2 threads", w)
		}
		// B cannot continue A's thread through ask_<agent>.
		for _, th := range []string{"a-thread", "a-second"} {
			text, isErr, _ := e.mcpRPC(t, transport, bobToken, "resourceId=res-alice", "ask_assistant",
				fmt.Sprintf(`{"message":"bob asks","threadId":%q}`, th))
			if !isErr || !strings.Contains(text, "Thread already exists") {
				t.Errorf("B ask_assistant on %s = %v %s; want the taken-thread error", th, isErr, text)
			}
		}
		// A one-off question runs for B and is not remembered anywhere.
		text, isErr, _ := e.mcpRPC(t, transport, bobToken, "resourceId=res-alice", "ask_assistant", `{"message":"bob one-off"}`)
		var g struct {
			Text, ResourceID string
		}
		if isErr || json.Unmarshal([]byte(text), &g) != nil || g.ResourceID != "res-bob" || !strings.Contains(g.Text, "bob one-off") {
			t.Errorf("B ask_assistant = %v %s; want the echo of his message for res-bob", isErr, text)
		}
	}
}
