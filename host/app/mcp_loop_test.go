package app

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// Stateless across instances: a client's requests alternate between two
// instances behind a round-robin balancer, and every one is answered.
func TestMCPAnyInstanceAnswers(t *testing.T) {
	toml := strings.Replace(mcpTOML, "%s", wasm(t, "counter"), 1)
	env := []string{"TOKEN_A=tok-a-0123456789abcdef", "TOKEN_B=tok-b-0123456789abcdef"}
	a1, s1 := build(t, toml, env...)
	a2, s2 := build(t, toml, env...)
	t.Cleanup(func() {
		s1.Close()
		s2.Close()
		a1.Close(context.Background())
		a2.Close(context.Background())
	})
	var n, hits1 atomic.Int64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			hits1.Add(1)
			a1.Server.Handler().ServeHTTP(w, r)
			return
		}
		a2.Server.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	cs := mcpSession(t, lb.URL+"/api/mcp/main/mcp", "tok-a-0123456789abcdef")
	for i := range 6 {
		if _, err := cs.ListTools(context.Background(), nil); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
		text, isErr := callText(t, cs, "ask_assistant", map[string]any{"message": "round robin"})
		if isErr || !strings.Contains(text, "Echo: round robin") {
			t.Fatalf("ask %d = %v %s", i, isErr, text)
		}
	}
	if h := hits1.Load(); h == 0 || h == n.Load() {
		t.Errorf("instance 1 answered %d of %d requests; want both instances used", h, n.Load())
	}
}

// The server's MCP client against its own MCP server: an agent on a fake
// model calls self_ask_inner, which runs the inner agent's turn through
// /api/mcp/main/mcp with the token from the environment.
func TestMCPClientAgainstOwnServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	model := llmtest.NewServer(t, llmtest.Replies(
		llmtest.Reply{Calls: []llmtest.Call{{ID: "c1", Name: "self_ask_inner", Args: `{"message":"through MCP"}`}}},
		llmtest.Reply{Text: "relayed"},
	))
	toml := `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "TOKEN_A"
user = "a"
resource_id = "tenant-a"
[providers.fake]
kind = "openai"
base_url = "` + model.URL + `"
api_key = "sk-test"
[agents.outer]
model = "fake/m"
tools = ["mcp:self/ask_inner"]
[agents.inner]
model = "echo"
description = "Repeats what it is told."
[mcp_servers.main]
agents = ["inner"]
[mcp_clients.self]
url = "http://` + ln.Addr().String() + `/api/mcp/main/mcp"
headers = { Authorization = "Bearer ${TOKEN_A}" }
`
	a, ts := build(t, toml, "TOKEN_A=tok-a-0123456789abcdef")
	ts.Close() // served on ln instead, whose address the config names
	srv := &http.Server{Handler: a.Server.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/agents/outer/generate", strings.NewReader(`{"messages":"relay this"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tok-a-0123456789abcdef")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("outer turn = %d", res.StatusCode)
	}
	reqs := model.Requests()
	if len(reqs) != 2 {
		t.Fatalf("model calls = %d; want 2", len(reqs))
	}
	var result string
	for _, m := range reqs[1].Messages {
		if m.Role == "tool" {
			result = m.Text()
		}
	}
	if !strings.Contains(result, "Echo: through MCP") || !strings.Contains(result, "tenant-a") {
		t.Errorf("self_ask_inner result = %q; want the inner agent's echo for tenant-a", result)
	}
}
