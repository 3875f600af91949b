package app

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

const mcpTOML = `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "TOKEN_A"
user = "a"
resource_id = "tenant-a"
[[server.auth.tokens]]
env = "TOKEN_B"
user = "b"
resource_id = "tenant-b"

[agents.assistant]
model = "echo"
description = "Repeats what it is told."

[[tools]]
name = "counter"
description = "Counts the calls it served."
module = %s

[mcp_servers.main]
name = "Main"
description = "The assistant and a Wasm tool."
agents = ["assistant"]
tools = ["counter"]
`

// bearer adds a token to every request of an MCP client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// mcpSession connects the SDK's own client to endpoint with token.
func mcpSession(t testing.TB, endpoint, token string) *sdk.ClientSession {
	t.Helper()
	c := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil)
	tr := &sdk.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}}
	cs, err := c.Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", endpoint, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callText(t testing.TB, cs *sdk.ClientSession, name string, args any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	if len(res.Content) != 1 {
		t.Fatalf("call %s: %d contents", name, len(res.Content))
	}
	return res.Content[0].(*sdk.TextContent).Text, res.IsError
}

// The SDK's client lists and calls an agent and a Wasm tool through
// [mcp_servers.main], with two tokens: each call runs for the token's
// resource, and one tenant cannot continue the other's thread.
func TestMCPServerWithSDKClient(t *testing.T) {
	toml := strings.Replace(mcpTOML, "%s", wasm(t, "counter"), 1)
	a, ts := build(t, toml, "TOKEN_A=tok-a-0123456789abcdef", "TOKEN_B=tok-b-0123456789abcdef")
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	endpoint := ts.URL + "/api/mcp/main/mcp"
	ca := mcpSession(t, endpoint, "tok-a-0123456789abcdef")
	cb := mcpSession(t, endpoint, "tok-b-0123456789abcdef")

	lt, err := ca.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range lt.Tools {
		names = append(names, tl.Name)
		if tl.Name == "ask_assistant" && !strings.Contains(tl.Description, "Repeats what it is told.") {
			t.Errorf("ask_assistant description = %q; want the agent's", tl.Description)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"ask_assistant", "counter"}) {
		t.Errorf("tools = %v; want ask_assistant and counter", names)
	}

	// The Wasm tool: the counter plugin answers 1, 2, … whoever calls.
	if text, isErr := callText(t, ca, "counter", map[string]any{}); isErr || text != "1" {
		t.Errorf("counter as A = %v %q; want 1", isErr, text)
	}
	if text, isErr := callText(t, cb, "counter", map[string]any{}); isErr || text != "2" {
		t.Errorf("counter as B = %v %q; want 2", isErr, text)
	}

	// A asks on a thread of hers: the echo model answers, and the thread
	// is hers and remembered.
	text, isErr := callText(t, ca, "ask_assistant", map[string]any{"message": "hello from A", "threadId": "a-mcp-thread"})
	var g struct {
		Text       string `json:"text"`
		ThreadID   string `json:"threadId"`
		ResourceID string `json:"resourceId"`
	}
	if isErr || json.Unmarshal([]byte(text), &g) != nil {
		t.Fatalf("ask_assistant as A = %v %s", isErr, text)
	}
	if !strings.Contains(g.Text, "hello from A") || g.ResourceID != "tenant-a" || g.ThreadID != "a-mcp-thread" {
		t.Errorf("ask_assistant as A = %+v; want the echo on a-mcp-thread of tenant-a", g)
	}
	// B cannot continue it.
	if text, isErr := callText(t, cb, "ask_assistant", map[string]any{"message": "B here", "threadId": "a-mcp-thread"}); !isErr ||
		!strings.Contains(text, "Thread already exists") || strings.Contains(text, "hello from A") {
		t.Errorf("ask_assistant as B on A's thread = %v %s; want the taken-thread error", isErr, text)
	}
	// Arguments the schema refuses are a tool error, before any turn.
	if text, isErr := callText(t, cb, "ask_assistant", map[string]any{"msg": "typo"}); !isErr || !strings.Contains(text, "message") {
		t.Errorf("ask_assistant without message = %v %s; want an error naming message", isErr, text)
	}
	// A's thread holds her turn only.
	r, err := http.NewRequest("GET", ts.URL+"/api/memory/threads/a-mcp-thread/messages", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer tok-a-0123456789abcdef")
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var msgs struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&msgs); err != nil || len(msgs.Messages) != 2 {
		t.Errorf("A's thread after the MCP turns: %d messages (%v); want her question and the reply", len(msgs.Messages), err)
	}

	// Without a token the endpoint is closed, like every /api route.
	c := sdk.NewClient(&sdk.Implementation{Name: "anon", Version: "1"}, nil)
	if _, err := c.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1}, nil); err == nil {
		t.Error("an MCP client without a token connected")
	}
}
