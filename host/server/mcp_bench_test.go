package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
)

// BenchmarkMCPToolCall: one tools/call of a trivial tool through the whole
// server handler (request id, log, auth off, scoping, the SDK's stateless
// transport, argument validation), beside the same tool through
// POST /api/tools/:toolId/execute, in one run. The difference is what MCP
// adds per call (issue 23's budget: ≤ 0.2 ms of CPU beyond the tool).
// "mcp" takes the fast path of host/mcp; "mcp-sdk" the SDK's transport
// (a body of unknown length, which the fast path leaves to it).
//
//	go test ./host/server -run '^$' -bench MCPToolCall -benchmem
func BenchmarkMCPToolCall(b *testing.B) {
	add := fnTool{"add", func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
		var in struct{ A, B float64 }
		if err := json.Unmarshal(args, &in); err != nil {
			return nil, err
		}
		return json.Marshal(in.A + in.B)
	}}
	tool := schemaTool{add, `{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}`}
	s, err := New(Options{Config: testConfig(), Logger: quietLogger(), DefaultResourceID: "default",
		Tools: []agent.Tool{tool}, MCPServers: []MCPServer{{ID: "main", Tools: []string{"add"}}}})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	run := func(b *testing.B, path, body string, mcp, viaSDK bool) {
		for b.Loop() {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if mcp {
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("MCP-Protocol-Version", "2025-06-18")
			}
			if viaSDK {
				req.ContentLength = -1 // no known length: the fast path leaves it to the SDK
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "42") {
				b.Fatalf("%s = %d %s", path, rec.Code, rec.Body)
			}
		}
	}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":40,"b":2}}}`
	b.Run("mcp", func(b *testing.B) { run(b, "/api/mcp/main/mcp", call, true, false) })
	b.Run("mcp-sdk", func(b *testing.B) { run(b, "/api/mcp/main/mcp", call, true, true) })
	b.Run("rest", func(b *testing.B) { run(b, "/api/tools/add/execute", `{"data":{"a":40,"b":2}}`, false, false) })
}
