package server

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// tokenTransport adds a bearer token to an MCP client's requests.
type tokenTransport string

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(t))
	return http.DefaultTransport.RoundTrip(r)
}

// A run_<workflow> call whose run suspends asks the client for the resume
// data as an elicitation (protocol 2026-07-28's multi-round trip, which
// needs no session): the Go SDK client's elicitation handler answers with
// the step's resume schema as the form, the run resumes and the call
// answers its result. Declining leaves the run suspended; a client of an
// older protocol gets the suspended result, and another tenant cannot
// resume the run by forging the request state.
func TestMCPSuspendedRunElicits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	store := openStore(t, memory.Options{SQLitePath: path})
	eng := isoWorkflows(t, workflow.Options{SQLitePath: path})
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "assistant", Name: "Assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}},
		"assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	withAuth(&cfg)
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, Workflows: eng,
		MCPServers: []MCPServer{{ID: "main", Workflows: []string{"approve"}}}})
	ctx := context.Background()

	connect := func(token string, version string, answer func(*sdk.ElicitRequest) (*sdk.ElicitResult, error)) *sdk.ClientSession {
		t.Helper()
		opts := &sdk.ClientOptions{ElicitationHandler: func(_ context.Context, r *sdk.ElicitRequest) (*sdk.ElicitResult, error) { return answer(r) }}
		cs, err := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, opts).Connect(ctx,
			&sdk.StreamableClientTransport{Endpoint: ts.URL + "/api/mcp/main/mcp", MaxRetries: -1,
				HTTPClient: &http.Client{Transport: tokenTransport(token)}}, &sdk.ClientSessionOptions{ProtocolVersion: version})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	text := func(r *sdk.CallToolResult) string {
		var b strings.Builder
		for _, c := range r.Content {
			if tc, ok := c.(*sdk.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return b.String()
	}
	run := func(cs *sdk.ClientSession) (*sdk.CallToolResult, map[string]any) {
		t.Helper()
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "run_approve", Arguments: map[string]any{"topic": "tides"}})
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal([]byte(text(r)), &out)
		return r, out
	}

	t.Run("accept resumes the run", func(t *testing.T) {
		var asked *sdk.ElicitParams
		cs := connect(aliceToken, "", func(r *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			asked = r.Params
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approved": true}}, nil
		})
		r, out := run(cs)
		if asked == nil {
			t.Fatalf("the client was not asked for input; result %s", text(r))
		}
		schema, _ := json.Marshal(asked.RequestedSchema)
		if asked.Message != `"run_approve" needs more input` || !strings.Contains(string(schema), `"approved":{"type":"boolean"}`) {
			t.Errorf("elicitation = %q %s; want the generic message and the step's resume schema", asked.Message, schema)
		}
		res, _ := out["result"].(map[string]any)
		if r.IsError || out["status"] != "success" || res["published"] != true || res["text"] != "draft of tides" {
			t.Fatalf("result after accepting = %s", text(r))
		}
	})

	t.Run("decline leaves the run suspended", func(t *testing.T) {
		cs := connect(aliceToken, "", func(*sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "decline"}, nil
		})
		r, _ := run(cs)
		if !r.IsError || text(r) != "Tool 'run_approve' was declined" {
			t.Fatalf("declined = %v %s", r.IsError, text(r))
		}
	})

	t.Run("an older client gets the suspended result", func(t *testing.T) {
		// A bare tools/call of protocol 2025-11-25, as such a client sends
		// after its initialize.
		req, _ := http.NewRequest("POST", ts.URL+"/api/mcp/main/mcp", strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_approve","arguments":{"topic":"tides"}}}`))
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct{ Result *sdk.CallToolResult }
		err = json.NewDecoder(res.Body).Decode(&msg)
		res.Body.Close()
		if err != nil || msg.Result == nil {
			t.Fatalf("tools/call = %d %v", res.StatusCode, err)
		}
		r := msg.Result
		var out map[string]any
		_ = json.Unmarshal([]byte(text(r)), &out)
		if r.IsError || r.NeedsInput() || out["status"] != "suspended" || out["runId"] == "" {
			t.Fatalf("result = %s; want the suspended run", text(r))
		}
		// Another tenant answering for alice's run with a forged state: not
		// found, and the run stays suspended.
		bob := connect(bobToken, "", func(*sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approved": true}}, nil
		})
		state, _ := json.Marshal(map[string]any{"runId": out["runId"], "path": []string{"approve"}})
		forged, err := bob.CallTool(ctx, &sdk.CallToolParams{Name: "run_approve", Arguments: map[string]any{"topic": "tides"},
			RequestState: string(state), InputResponses: sdk.InputResponseMap{"input": &sdk.ElicitResult{Action: "accept",
				Content: map[string]any{"approved": true}}}})
		if err != nil {
			t.Fatal(err)
		}
		if !forged.IsError || !strings.Contains(text(forged), "not found") {
			t.Fatalf("bob resuming alice's run = %v %s; want a not-found error", forged.IsError, text(forged))
		}
		alice := connect(aliceToken, "", func(*sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approved": false}}, nil
		})
		r, err = alice.CallTool(ctx, &sdk.CallToolParams{Name: "run_approve", Arguments: map[string]any{"topic": "tides"},
			RequestState: string(state), InputResponses: sdk.InputResponseMap{"input": &sdk.ElicitResult{Action: "accept",
				Content: map[string]any{"approved": false}}}})
		if err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(text(r)), &out)
		if res, _ := out["result"].(map[string]any); out["status"] != "success" || res["published"] != false {
			t.Fatalf("alice resuming her run after bob's try = %s; want it published: false", text(r))
		}
	})
}
