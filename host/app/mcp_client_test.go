package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

type echoArgs struct {
	Message string `json:"message"`
}

// An agent on a fake model calls tools of three MCP servers in one turn:
// one over streamable HTTP (a Go SDK server in this process, all its
// allowed tools named "mcp:remote"), one over stdio (a Go binary built
// here, one tool named "mcp:local/echo"), and one that is down, whose call
// fails with an error the model reads while the others answer.
func TestAgentUsesMCPTools(t *testing.T) {
	remote := sdk.NewServer(&sdk.Implementation{Name: "remote", Version: "1"}, nil)
	sdk.AddTool(remote, &sdk.Tool{Name: "echo", Description: "Echoes over HTTP."},
		func(_ context.Context, _ *sdk.CallToolRequest, in echoArgs) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "Echo: " + in.Message}}}, nil, nil
		})
	sdk.AddTool(remote, &sdk.Tool{Name: "hidden", Description: "Not allowed."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{}, nil, nil
		})
	var sawKey atomic.Value // the handler runs on the server's goroutines
	sawKey.Store("")
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return remote }, nil)
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			sawKey.Store(r.Header.Get("X-Api-Key"))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(rs.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	bin := filepath.Join(t.TempDir(), "stdioserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../mcp/testdata/stdioserver").CombinedOutput(); err != nil {
		t.Fatalf("build the stdio server: %v\n%s", err, out)
	}

	model := llmtest.NewServer(t, llmtest.Replies(
		llmtest.Reply{Calls: []llmtest.Call{
			{ID: "c1", Name: "remote_echo", Args: `{"message":"from remote"}`},
			{ID: "c2", Name: "local_echo", Args: `{"message":"from stdio"}`},
			{ID: "c3", Name: "gone_echo", Args: `{"message":"nobody"}`},
		}},
		llmtest.Reply{Text: "done"},
	))
	toml := `
[providers.fake]
kind = "openai"
base_url = "` + model.URL + `"
api_key = "sk-test"
[agents.assistant]
model = "fake/m"
tools = ["mcp:remote", "mcp:local/echo", "mcp:gone/echo"]
[mcp_clients.remote]
url = "` + rs.URL + `"
tools = ["echo"]
[mcp_clients.remote.headers]
X-Api-Key = "${REMOTE_KEY}"
[mcp_clients.local]
command = "` + bin + `"
[mcp_clients.gone]
url = "` + down.URL + `"
timeout = "2s"
`
	a, ts := build(t, toml, "REMOTE_KEY=k-123")
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	r := postJSON(t, ts.URL+"/agent/generate", `{"message":"use your tools"}`)
	if r["text"] != "done" {
		t.Fatalf("turn = %v", r)
	}
	reqs := model.Requests()
	if len(reqs) != 2 {
		t.Fatalf("model calls = %d; want 2", len(reqs))
	}
	var offered []string
	for _, tl := range reqs[0].Tools {
		offered = append(offered, tl.Function.Name)
		if tl.Function.Name == "remote_echo" && tl.Function.Description != "Echoes over HTTP." {
			t.Errorf("remote_echo description = %q; want the server's", tl.Function.Description)
		}
	}
	slices.Sort(offered)
	if !slices.Equal(offered, []string{"gone_echo", "local_echo", "remote_echo"}) {
		t.Errorf("tools offered = %v; want gone_echo, local_echo, remote_echo (remote's hidden is not allowed)", offered)
	}
	results := map[string]string{}
	for _, m := range reqs[1].Messages {
		if m.Role == "tool" {
			results[m.ToolCallID] = m.Text()
		}
	}
	if !strings.Contains(results["c1"], "Echo: from remote") || !strings.Contains(results["c2"], "Echo: from stdio") {
		t.Errorf("tool results = %v; want both echoes", results)
	}
	if !strings.Contains(results["c3"], "error") || !strings.Contains(results["c3"], "unavailable") {
		t.Errorf("down server's result = %q; want an error saying it is unavailable", results["c3"])
	}
	if got := sawKey.Load().(string); got != "k-123" {
		t.Errorf("remote saw X-Api-Key %q; want the header from ${REMOTE_KEY}", got)
	}
}

// postJSON posts body and decodes the JSON answer, failing on a non-200.
func postJSON(t *testing.T, url, body string) map[string]any {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("POST %s = %d %v %v", url, res.StatusCode, out, err)
	}
	return out
}
