package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The fast path answers tools/call exactly as the SDK's transport does,
// status, headers and body byte for byte, for a success, a tool's error,
// arguments the schema refuses, an unknown tool and bad params, under every
// protocol version; what it does not serve goes to the SDK.
func TestFastCallMatchesSDK(t *testing.T) {
	s, err := NewServer(Info{ID: "f", Name: "f", Description: "Tools <&> more"}, []Tool{
		{Name: "add", InputSchema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}`),
			Call: func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
				var in struct{ A, B float64 }
				if err := json.Unmarshal(args, &in); err != nil {
					return nil, err
				}
				return json.Marshal(in.A + in.B)
			}},
		{Name: "say", Call: func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.Marshal("<b>\"tom & jerry\"</b> \u2028 é 😀")
		}},
		{Name: "obj", Call: func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`{"x": [1, 2], "y": "<&>"}`), nil
		}},
		{Name: "refuse", Call: func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, &ToolError{Message: "no <such> order"}
		}},
		{Name: "crash", Call: func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, errors.New("internal detail")
		}},
	}, Options{TrustedOrigins: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(h http.Handler, version, body string, headers ...string) (int, http.Header, string) {
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if version != "" {
			req.Header.Set("MCP-Protocol-Version", version)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Header(), rec.Body.String()
	}
	call := func(id, params string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":` + params + `}`
	}
	cases := []struct {
		what, body string
		fast       bool // the fast path answers it
	}{
		{"success", call(`1`, `{"name":"add","arguments":{"a":40,"b":2}}`), true},
		{"string id, text to escape", call(`"r-<1>"`, `{"name":"say","arguments":{}}`), true},
		{"JSON result, no arguments", call(`9007199254740993`, `{"name":"obj"}`), true},
		{"fractional id", call(`2.5`, `{"name":"add","arguments":{"a":1,"b":2}}`), true},
		{"tool error", call(`3`, `{"name":"refuse","arguments":{}}`), true},
		{"tool failure", call(`4`, `{"name":"crash","arguments":{}}`), true},
		{"arguments against the schema", call(`5`, `{"name":"add","arguments":{"a":"x"}}`), true},
		{"unknown tool", call(`6`, `{"name":"ghost","arguments":{}}`), false},
		{"arguments not an object", call(`7`, `{"name":"add","arguments":[1,2]}`), false},
		{"null arguments", call(`8`, `{"name":"add","arguments":null}`), false},
		{"name not a string", call(`9`, `{"name":5}`), false},
		{"params not an object", call(`10`, `"add"`), false},
		{"no params", `{"jsonrpc":"2.0","id":11,"method":"tools/call"}`, false},
		{"_meta", call(`12`, `{"name":"add","arguments":{"a":1,"b":2},"_meta":{"progressToken":1}}`), false},
		{"case of a key", `{"jsonrpc":"2.0","id":13,"Method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`, false},
		{"notification", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`, false},
		{"another method", `{"jsonrpc":"2.0","id":14,"method":"tools/list"}`, false},
		{"batch", `[` + call(`15`, `{"name":"add","arguments":{"a":1,"b":2}}`) + `]`, false},
		{"not JSON", `{"jsonrpc":`, false},
	}
	for _, version := range []string{"", "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"} {
		for _, c := range cases {
			before := s.fastCalls.Load()
			st1, h1, b1 := answer(s.viaSDK, version, c.body)
			st2, h2, b2 := answer(s, version, c.body)
			served := s.fastCalls.Load() > before
			what := c.what + " (version " + version + ")"
			if want := c.fast && version != "2026-07-28"; served != want {
				t.Errorf("%s: fast path served it: %v; want %v", what, served, want)
			}
			if st1 != st2 || b1 != b2 || h1.Get("Content-Type") != h2.Get("Content-Type") || h1.Get("Cache-Control") != h2.Get("Cache-Control") {
				t.Errorf("%s:\n SDK  %d %v %s\n fast %d %v %s", what, st1, h1, b1, st2, h2, b2)
			}
			if c.what == "success" && version != "2026-07-28" && (st2 != 200 || !strings.Contains(b2, `"text":"42"`)) {
				t.Errorf("%s = %d %s; want 42", what, st2, b2)
			}
		}
	}
	// Headers that change what the SDK does leave the call to it.
	body := call(`1`, `{"name":"add","arguments":{"a":40,"b":2}}`)
	for _, h := range [][]string{{"Mcp-Method", "tools/list"}, {"Mcp-Name", "ghost"}, {"Last-Event-ID", "x_1"}, {"Accept", "application/json"}} {
		before := s.fastCalls.Load()
		st1, _, b1 := answer(s.viaSDK, "2025-11-25", body, h...)
		st2, _, b2 := answer(s, "2025-11-25", body, h...)
		if s.fastCalls.Load() != before || st1 != st2 || b1 != b2 {
			t.Errorf("with %s: fast path served it %v; SDK %d %s, here %d %s", h[0], s.fastCalls.Load() != before, st1, b1, st2, b2)
		}
	}

	// 2026-07-28: the _meta and headers an SDK client sends.
	meta := func(extra string) string {
		return `"_meta":{"io.modelcontextprotocol/clientCapabilities":{"roots":{"listChanged":true}},` +
			`"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"` + extra + `}`
	}
	for _, c := range []struct {
		what, body, name string
		headers          []string
		fast             bool
	}{
		{"success", call(`2`, `{`+meta("")+`,"name":"add","arguments":{"a":40,"b":2}}`), "add", nil, true},
		{"tool error", call(`3`, `{`+meta("")+`,"name":"refuse","arguments":{}}`), "refuse", nil, true},
		{"schema refusal", call(`3`, `{`+meta("")+`,"name":"add","arguments":{"a":"x"}}`), "add", nil, true},
		{"no client info", call(`4`, `{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"say"}`), "say", nil, true},
		{"unknown tool", call(`5`, `{`+meta("")+`,"name":"ghost","arguments":{}}`), "ghost", nil, false},
		{"Mcp-Name of another tool", call(`6`, `{`+meta("")+`,"name":"add","arguments":{"a":1,"b":2}}`), "say", nil, false},
		{"no Mcp-Method", call(`7`, `{`+meta("")+`,"name":"add","arguments":{"a":1,"b":2}}`), "add", []string{"Mcp-Method", ""}, false},
		{"progress token", call(`8`, `{`+meta(`,"progressToken":1`)+`,"name":"add","arguments":{"a":1,"b":2}}`), "add", nil, false},
		{"no capabilities", call(`9`, `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"add","arguments":{"a":1,"b":2}}`), "add", nil, false},
		{"other capabilities", call(`10`, `{"_meta":{"io.modelcontextprotocol/clientCapabilities":{"sampling":{}},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"say"}`), "say", nil, false},
		{"no _meta", call(`11`, `{"name":"add","arguments":{"a":1,"b":2}}`), "add", nil, false},
		{"_meta of another version", call(`12`, `{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2025-11-25"},"name":"say"}`), "say", nil, false},
	} {
		h := append([]string{"Mcp-Method", "tools/call", "Mcp-Name", c.name}, c.headers...)
		before := s.fastCalls.Load()
		st1, h1, b1 := answer(s.viaSDK, "2026-07-28", c.body, h...)
		st2, h2, b2 := answer(s, "2026-07-28", c.body, h...)
		if served := s.fastCalls.Load() > before; served != c.fast {
			t.Errorf("2026-07-28 %s: fast path served it: %v; want %v", c.what, served, c.fast)
		}
		if st1 != st2 || b1 != b2 || h1.Get("Content-Type") != h2.Get("Content-Type") || h1.Get("Cache-Control") != h2.Get("Cache-Control") {
			t.Errorf("2026-07-28 %s:\n SDK  %d %v %s\n fast %d %v %s", c.what, st1, h1, b1, st2, h2, b2)
		}
		if c.what == "success" && (st2 != 200 || !strings.Contains(b2, `"text":"42"`)) {
			t.Errorf("2026-07-28 success = %d %s; want 42", st2, b2)
		}
	}
}
