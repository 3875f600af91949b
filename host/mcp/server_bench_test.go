package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkServerToolCall: one tools/call of a trivial tool through the
// transport alone (no router, auth or log): "fast" through the fast path
// (fastcall.go), "sdk" through the SDK's stateless transport, which the
// fast path spares; host/server's BenchmarkMCPToolCall is the same
// through the whole server.
//
//	go test ./host/mcp -run '^$' -bench ServerToolCall -benchmem
func BenchmarkServerToolCall(b *testing.B) {
	s, err := NewServer(Info{ID: "b", Name: "b"}, []Tool{{Name: "add", InputSchema: json.RawMessage(
		`{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}`),
		Call: func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
			var in struct{ A, B float64 }
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, err
			}
			return json.Marshal(in.A + in.B)
		}}}, Options{TrustedOrigins: []string{"*"}})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":40,"b":2}}}`
	run := func(b *testing.B, h http.Handler) {
		for b.Loop() {
			req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), "42") {
				b.Fatalf("= %d %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("fast", func(b *testing.B) { run(b, s) })
	b.Run("sdk", func(b *testing.B) { run(b, s.viaSDK) })
}
