package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
)

// mcpTestServer: two MCP servers over the echo agent and a schema'd tool.
func mcpTestServer(t *testing.T) string {
	t.Helper()
	store := openSQLite(t)
	add := fnTool{"add", func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
		var in struct{ A, B float64 }
		if err := json.Unmarshal(args, &in); err != nil {
			return nil, err
		}
		return json.Marshal(in.A + in.B)
	}}
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "assistant", Name: "Assistant", Description: "Echoes.", Model: llm.Echo{},
		Provider: "echo", LastMessages: 10}}, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc, Tools: []agent.Tool{schemaTool{add,
		`{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}`}},
		MCPServers: []MCPServer{
			{ID: "alpha", Name: "Alpha", Version: "2.0.0", Description: "first", Agents: []string{"assistant"}, Tools: []string{"add"}},
			{ID: "beta", Name: "Beta", Version: "1.0.0", Tools: []string{"add"}},
		}})
	return ts.URL
}

// schemaTool gives a fnTool an input schema.
type schemaTool struct {
	fnTool
	schema string
}

func (s schemaTool) InputSchema() json.RawMessage { return json.RawMessage(s.schema) }

func TestMCPRegistryRoutes(t *testing.T) {
	base := mcpTestServer(t)
	r := do(t, "GET", base+"/api/mcp/v0/servers", "")
	if r.status != 200 || r.body["total_count"] != float64(2) || r.body["next"] != nil || len(r.body["servers"].([]any)) != 2 {
		t.Fatalf("list = %d %s", r.status, r.raw)
	}
	first := r.body["servers"].([]any)[0].(map[string]any)
	if first["id"] != "alpha" || first["version_detail"].(map[string]any)["version"] != "2.0.0" {
		t.Errorf("first server = %v", first)
	}
	r = do(t, "GET", base+"/api/mcp/v0/servers?perPage=1", "")
	if len(r.body["servers"].([]any)) != 1 || r.body["next"] != "/api/mcp/v0/servers?perPage=1&page=1" {
		t.Errorf("perPage=1 = %s", r.raw)
	}
	r = do(t, "GET", base+"/api/mcp/v0/servers?limit=1&offset=1", "")
	if s := r.body["servers"].([]any); len(s) != 1 || s[0].(map[string]any)["id"] != "beta" || r.body["next"] != nil {
		t.Errorf("limit=1&offset=1 = %s", r.raw)
	}
	wantStatus(t, do(t, "GET", base+"/api/mcp/v0/servers?perPage=0", ""), 400, "perPage=0")
	wantStatus(t, do(t, "GET", base+"/api/mcp/v0/servers/alpha", ""), 200, "detail")
	wantStatus(t, do(t, "GET", base+"/api/mcp/v0/servers/alpha?version=2.0.0", ""), 200, "detail of its version")
	wantStatus(t, do(t, "GET", base+"/api/mcp/v0/servers/alpha?version=1.0.0", ""), 404, "detail of another version")
	wantStatus(t, do(t, "GET", base+"/api/mcp/v0/servers/gamma", ""), 404, "unknown server")
	wantStatus(t, do(t, "GET", base+"/api/mcp/v1/servers", ""), 404, "v1 registry")

	r = do(t, "GET", base+"/api/mcp/alpha/tools", "")
	var tools struct {
		Tools []mcpToolJSON `json:"tools"`
	}
	if err := json.Unmarshal([]byte(r.raw), &tools); err != nil || len(tools.Tools) != 2 {
		t.Fatalf("alpha tools = %s", r.raw)
	}
	if tl := tools.Tools[1]; tl.Name != "ask_assistant" || tl.ToolType != "agent" || !strings.Contains(tl.Description, "Echoes.") {
		t.Errorf("ask tool = %+v", tl)
	}
	wantStatus(t, do(t, "GET", base+"/api/mcp/alpha/tools/add", ""), 200, "one tool")
	wantStatus(t, do(t, "GET", base+"/api/mcp/beta/tools/ask_assistant", ""), 404, "a tool beta does not serve")
	wantStatus(t, do(t, "GET", base+"/api/mcp/nope/tools", ""), 404, "tools of an unknown server")

	r = do(t, "POST", base+"/api/mcp/alpha/tools/add/execute", `{"data":{"a":2,"b":40}}`, "Content-Type", jsonCT)
	if r.status != 200 || r.body["result"] != float64(42) {
		t.Errorf("execute add = %d %s", r.status, r.raw)
	}
	r = do(t, "POST", base+"/api/mcp/alpha/tools/add/execute", `{"data":{"a":"two"}}`, "Content-Type", jsonCT)
	if r.status != 400 || !strings.Contains(r.raw, "data/a") || !strings.Contains(r.raw, "b") {
		t.Errorf("execute add with bad data = %d %s; want 400 naming the fields", r.status, r.raw)
	}
	r = do(t, "POST", base+"/api/mcp/alpha/tools/ask_assistant/execute", `{"data":{"message":"hi there"}}`, "Content-Type", jsonCT)
	res, _ := r.body["result"].(map[string]any)
	if r.status != 200 || res == nil || !strings.Contains(res["text"].(string), "hi there") || res["resourceId"] != "default" {
		t.Errorf("execute ask_assistant = %d %s", r.status, r.raw)
	}
	// The transport refuses what is not a JSON-RPC POST.
	wantStatus(t, do(t, "GET", base+"/api/mcp/alpha/mcp", ""), 405, "GET on the transport")
	wantStatus(t, do(t, "POST", base+"/api/mcp/nope/mcp", `{}`, "Content-Type", jsonCT), 404, "transport of an unknown server")
}

// The SDK's HTTP-level refusals on the transport are JSON errors like the
// rest of the API's, with their status (and Allow on 405); JSON-RPC
// answers, errors included, pass as the SDK writes them.
func TestMCPTransportErrorsAreJSON(t *testing.T) {
	cfg := testConfig()
	cfg.CORS.Origins = []string{"https://app.example"}
	_, ts := newTestServer(t, Options{Config: cfg, Logger: quietLogger(), DefaultResourceID: "default",
		Tools:      []agent.Tool{fnTool{"noop", func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`1`), nil }}},
		MCPServers: []MCPServer{{ID: "main", Tools: []string{"noop"}}}})
	url := ts.URL + "/api/mcp/main/mcp"
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"noop","arguments":{}}}`
	accept := "application/json, text/event-stream"
	for _, c := range []struct {
		what    string
		headers []string
		status  int
		text    string
	}{
		{"text/plain body", []string{"Content-Type", "text/plain", "Accept", accept}, 415, "Content-Type must be 'application/json'"},
		{"no event-stream in Accept", []string{"Content-Type", jsonCT, "Accept", "application/json"}, 400, "Accept must contain both"},
		{"unknown protocol version", []string{"Content-Type", jsonCT, "Accept", accept, "MCP-Protocol-Version", "1999-01-01"}, 400, "Unsupported protocol version"},
		{"untrusted cross-origin POST", []string{"Content-Type", jsonCT, "Accept", accept, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, "cross-origin"},
	} {
		r := do(t, "POST", url, call, c.headers...)
		msg, _ := r.body["error"].(string)
		if r.status != c.status || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || !strings.Contains(msg, c.text) {
			t.Errorf("%s = %d %q %s; want %d with a JSON error saying %q", c.what, r.status, r.header.Get("Content-Type"), r.raw, c.status, c.text)
		}
	}
	r := do(t, "GET", url, "", "Accept", accept)
	if r.status != 405 || r.header.Get("Allow") == "" || r.body["error"] == nil {
		t.Errorf("GET = %d Allow %q %s; want a JSON 405 with Allow", r.status, r.header.Get("Allow"), r.raw)
	}
	r = do(t, "POST", url, `{"jsonrpc":"2.0","id":7,"method":"no/such"}`, "Content-Type", jsonCT, "Accept", accept, "MCP-Protocol-Version", "2025-06-18")
	if msg, _ := r.body["error"].(string); r.status != 400 || !strings.Contains(msg, "no/such") {
		t.Errorf("unknown method = %d %s; want a JSON 400 naming it", r.status, r.raw)
	}
	r = do(t, "POST", url, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ghost"}}`, "Content-Type", jsonCT, "Accept", accept, "MCP-Protocol-Version", "2025-06-18")
	if r.body["jsonrpc"] != "2.0" || r.body["error"] == nil || r.body["id"] != float64(7) {
		t.Errorf("unknown tool = %d %s; want the SDK's JSON-RPC error", r.status, r.raw)
	}
	r = do(t, "POST", url, call, "Content-Type", jsonCT, "Accept", accept, "MCP-Protocol-Version", "2025-06-18")
	if r.status != 200 || r.body["result"] == nil {
		t.Errorf("tools/call = %d %s; want its result", r.status, r.raw)
	}
}
