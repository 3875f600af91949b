package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// dropModel calls the remote drop tool, and answers "done: <tool output>"
// once a tool message follows.
func dropModel(req llmtest.Request) llmtest.Reply {
	if last := req.Messages[len(req.Messages)-1]; last.Role == "tool" && last.Content != nil {
		return llmtest.Reply{Text: "done: " + *last.Content}
	}
	return llmtest.Reply{Calls: []llmtest.Call{{ID: "call_d", Name: "db_drop", Args: `{"table":"users"}`}}}
}

// An MCP client's tools named in require_approval go through the agent's
// approval path as Wasm tools do: the stream stops at tool-call-approval
// with a suspended run kept in Postgres, /api/tools says which tools need
// approval, approving runs the remote call once, declining never calls
// the server and tells the model so; bob cannot approve alice's run.
func TestMCPToolApproval(t *testing.T) {
	var drops atomic.Int32
	remote := sdk.NewServer(&sdk.Implementation{Name: "db", Version: "1"}, nil)
	sdk.AddTool(remote, &sdk.Tool{Name: "drop", Description: "Drops a table."},
		func(_ context.Context, _ *sdk.CallToolRequest, in struct {
			Table string `json:"table"`
		}) (*sdk.CallToolResult, any, error) {
			drops.Add(1)
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "dropped " + in.Table}}}, nil, nil
		})
	sdk.AddTool(remote, &sdk.Tool{Name: "count", Description: "Counts rows."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "3"}}}, nil, nil
		})
	rs := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return remote }, nil))
	t.Cleanup(rs.Close)

	model := llmtest.NewServer(t, dropModel)
	toml := `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "ALICE_TOKEN"
user = "alice"
resource_id = "alice"
[[server.auth.tokens]]
env = "BOB_TOKEN"
user = "bob"
resource_id = "bob"
[agents.ops]
model = "openai/fake"
tools = ["mcp:db/drop", "mcp:db/count"]
[mcp_clients.db]
url = "` + rs.URL + `"
require_approval = ["drop"]
`
	a, ts := build(t, toml, "OPENAI_BASE_URL="+model.URL, "OPENAI_API_KEY=sk-test", "ALICE_TOKEN=a-token", "BOB_TOKEN=b-token",
		"MASTRA_MEMORY__DATABASE_URL="+pgtest.NewDatabase(t))
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	alice, bob := wfClient{t, ts.URL, "a-token"}, wfClient{t, ts.URL, "b-token"}

	tools := alice.json("GET", "/api/tools", "", 200)
	for name, want := range map[string]bool{"db_drop": true, "db_count": false} {
		if tl, _ := tools[name].(map[string]any); tl == nil || tl["requireApproval"] != want {
			t.Errorf("/api/tools %s = %v; want requireApproval %v", name, tools[name], want)
		}
	}

	// Approved: the call runs once, after the approval.
	status, body := alice.call("POST", "/api/agents/ops/stream", `{"messages":"drop users","memory":{"thread":"t1","resource":"alice"}}`)
	s := string(body)
	if status != 200 || !strings.Contains(s, `"type":"tool-call-approval"`) || !strings.Contains(s, `"toolName":"db_drop"`) || !strings.Contains(s, `"reason":"suspended"`) {
		t.Fatalf("stream = %d %s; want tool-call-approval for db_drop and a suspended finish", status, s)
	}
	if n := drops.Load(); n != 0 {
		t.Fatalf("the remote tool ran %d times before approval", n)
	}
	runs := alice.json("GET", "/api/agents/ops/suspended-runs", "", 200)["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("suspended runs = %v; want 1", runs)
	}
	run := runs[0].(map[string]any)["runId"].(string)
	decision := `{"runId":"` + run + `","toolCallId":"call_d"}`
	if st, b := bob.call("POST", "/api/agents/ops/approve-tool-call-generate", decision); st != 404 {
		t.Errorf("bob approves alice's run = %d %s; want 404", st, b)
	}
	if drops.Load() != 0 {
		t.Fatal("bob's approval ran the remote tool")
	}
	r := alice.json("POST", "/api/agents/ops/approve-tool-call-generate", decision, 200)
	if r["text"] != `done: "dropped users"` || drops.Load() != 1 {
		t.Fatalf("approved = %v, remote calls %d; want the remote answer and one call", r, drops.Load())
	}
	if st, b := alice.call("POST", "/api/agents/ops/approve-tool-call-generate", decision); st != 409 || drops.Load() != 1 {
		t.Errorf("second approval = %d %s, remote calls %d; want 409 and no second call", st, b, drops.Load())
	}

	// Declined: the server is never called; the model reads the decline.
	g := alice.json("POST", "/api/agents/ops/generate", `{"messages":"drop users again","memory":{"thread":"t2","resource":"alice"}}`, 200)
	if g["finishReason"] != "suspended" || g["runId"] == nil {
		t.Fatalf("generate = %v; want a suspended turn", g)
	}
	reason, _ := json.Marshal("not today")
	r = alice.json("POST", "/api/agents/ops/decline-tool-call-generate", `{"runId":"`+g["runId"].(string)+`","toolCallId":"call_d","reason":`+string(reason)+`}`, 200)
	if text, _ := r["text"].(string); !strings.HasPrefix(text, "done: ") || !strings.Contains(text, "not today") || drops.Load() != 1 {
		t.Errorf("declined = %v, remote calls %d; want the model told of the decline and no call", r, drops.Load())
	}
}
