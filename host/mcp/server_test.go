package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A client that goes away cancels the tool call it made, whatever protocol
// version it speaks.
func TestClientGoneCancelsCall(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan bool, 1)
	s, err := NewServer(Info{ID: "t", Name: "t"}, []Tool{{Name: "wait",
		Call: func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			close(started)
			select {
			case <-ctx.Done():
				cancelled <- true
			case <-time.After(10 * time.Second):
				cancelled <- false
			}
			return json.RawMessage(`null`), nil
		}}}, Options{TrustedOrigins: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	go func() {
		<-started
		cancel()
	}()
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	if !<-cancelled {
		t.Error("the tool call ran on after its client went away")
	}
}

// A tool that answers an MCP tool result (content blocks) has it passed
// through, on the fast path and the SDK's alike; any other output, even one
// with a "content" key, is text.
func TestToolContentPassesThrough(t *testing.T) {
	outputs := map[string]string{
		"image":    `{"content":[{"type":"image","data":"iVBORw0K","mimeType":"image/png"},{"type":"text","text":"hi"}]}`,
		"failed":   `{"isError":true,"content":[{"type":"text","text":"nope"}]}`,
		"extra":    `{"content":[{"type":"text","text":"hi"}],"other":1}`,
		"unknown":  `{"content":[{"type":"video","data":"AA=="}]}`,
		"empty":    `{"content":[]}`,
		"notarray": `{"content":"text"}`,
	}
	var tools []Tool
	for name, out := range outputs {
		tools = append(tools, Tool{Name: name, Call: func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(out), nil
		}})
	}
	s, err := NewServer(Info{ID: "t", Name: "t"}, tools, Options{TrustedOrigins: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"image":  `{"content":[{"type":"image","mimeType":"image/png","data":"iVBORw0K"},{"type":"text","text":"hi"}]}`,
		"failed": `{"content":[{"type":"text","text":"nope"}],"isError":true}`,
	}
	for name, out := range outputs {
		if want[name] == "" {
			text, _ := json.Marshal(out)
			want[name] = `{"content":[{"type":"text","text":` + string(text) + `}]}`
		}
	}
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"fast path", s}, {"sdk", s.viaSDK}} {
		for name := range outputs {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/", strings.NewReader(
				`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","arguments":{}}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
			h.h.ServeHTTP(rec, req)
			var msg struct{ Result json.RawMessage }
			if err := json.Unmarshal(rec.Body.Bytes(), &msg); err != nil {
				t.Fatalf("%s %s: %d %s", h.name, name, rec.Code, rec.Body)
			}
			if got := string(msg.Result); got != want[name] {
				t.Errorf("%s: %s =\n %s\nwant\n %s", h.name, name, got, want[name])
			}
		}
	}
}
