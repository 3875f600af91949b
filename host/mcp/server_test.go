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
