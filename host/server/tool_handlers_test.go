package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/reqctx"
)

// fnTool is a Go tool for the route tests; the Wasm tools are tested end to
// end in tests/tools.
type fnTool struct {
	name string
	run  func(ctx context.Context, args json.RawMessage) (json.RawMessage, error)
}

func (f fnTool) Name() string        { return f.name }
func (f fnTool) Description() string { return "the " + f.name + " tool" }
func (f fnTool) InputSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)
}
func (f fnTool) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	return f.run(ctx, args)
}

// refusal mimics wasmtool.StatusError.
type refusal struct {
	status int
	body   string
}

func (r refusal) Error() string               { return fmt.Sprintf("status %d", r.status) }
func (r refusal) ToolResponse() (int, []byte) { return r.status, []byte(r.body) }

func TestToolRoutesUnit(t *testing.T) {
	echo := fnTool{"echo", func(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
		who, _ := reqctx.From(ctx).GetString("who")
		return json.RawMessage(fmt.Sprintf(`{"args":%s,"who":%q}`, args, who)), nil
	}}
	text := fnTool{"text", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage("plain words"), nil
	}}
	refuse := fnTool{"refuse", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, fmt.Errorf("wrapped: %w", refusal{422, "no json here"})
	}}
	fail5 := fnTool{"fail5", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, refusal{503, `{"error":"inner detail"}`}
	}}
	crash := fnTool{"crash", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, errors.New("secret internals")
	}}
	late := fnTool{"late", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, fmt.Errorf("plugin: %w", context.DeadlineExceeded)
	}}
	svc, err := agent.NewService(nil, []*agent.Agent{{ID: "a", Model: llm.Echo{}, Tools: []agent.Tool{echo, text}}}, "", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	// echo is both an extra tool and the agent's: listed once.
	_, ts := newTestServer(t, Options{Config: cfg, Agents: svc, Tools: []agent.Tool{refuse, fail5, crash, late, echo}})

	res, err := http.Get(ts.URL + "/api/tools")
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]toolJSON
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list) != 6 || list["text"].ID != "text" || list["echo"].InputSchema != `{"json":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}` {
		t.Errorf("GET /api/tools = %+v", list)
	}

	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/api/tools/echo/execute", `{"data":{"n":1},"requestContext":{"who":"ann","mastra__resourceId":"x"}}`, 200, `{"args":{"n":1},"who":"ann"}`},
		{"/api/agents/a/tools/echo/execute", `{"data":{"n":2}}`, 200, `{"args":{"n":2},"who":""}`},
		{"/api/tools/text/execute", `{"data":{"n":1}}`, 200, `"plain words"`},
		// Mastra's Tool.execute returns its ValidationError: a 200 that
		// client-js hands back instead of throwing.
		{"/api/tools/echo/execute", `{"data":{"n":"1"}}`, 200, `{"error":true,"message":"Tool input validation failed for echo. Please fix the following errors and try again:\n- n: got string, want integer\n\nProvided arguments: {\"n\":\"1\"}","validationErrors":{"errors":[],"fields":{"n":{"errors":["got string, want integer"],"fields":{}}}}}`},
		{"/api/agents/a/tools/echo/execute", `{"data":{}}`, 200, `{"error":true,"message":"Tool input validation failed for echo. Please fix the following errors and try again:\n- root: missing property 'n'\n\nProvided arguments: {}","validationErrors":{"errors":["missing property 'n'"],"fields":{}}}`},
		{"/api/tools/echo/execute", `{"data":null}`, 400, `{"error":"Invalid request body","issues":[{"field":"data","message":"data is required"}]}`},
		{"/api/tools/refuse/execute", `{"data":{"n":1}}`, 422, `{"error":"no json here"}`},
		{"/api/tools/fail5/execute", `{"data":{"n":1}}`, 500, `{"error":"Tool execution failed"}`},
		{"/api/tools/crash/execute", `{"data":{"n":1}}`, 500, `{"error":"Tool execution failed"}`},
		{"/api/tools/late/execute", `{"data":{"n":1}}`, 504, `{"error":"Tool timed out"}`},
		{"/api/agents/a/tools/crash/execute", `{"data":{"n":1}}`, 404, `{"error":"Tool not found"}`},
	} {
		res := post(t, ts.URL+tc.path, tc.body)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var got map[string]any
		json.Unmarshal(b, &got)
		delete(got, "requestId")
		gotJSON, _ := json.Marshal(got)
		if got == nil {
			gotJSON = []byte(strings.TrimSpace(string(b)))
		}
		var want any
		json.Unmarshal([]byte(tc.want), &want)
		wantJSON, _ := json.Marshal(want)
		if res.StatusCode != tc.status || string(gotJSON) != string(wantJSON) {
			t.Errorf("POST %s %s: %d %s; want %d %s", tc.path, tc.body, res.StatusCode, b, tc.status, tc.want)
		}
		if strings.Contains(string(b), "secret") || strings.Contains(string(b), "inner detail") {
			t.Errorf("POST %s leaked the cause: %s", tc.path, b)
		}
	}
}

func TestToolRoutesWithoutAgents(t *testing.T) {
	cfg := testConfig()
	_, ts := newTestServer(t, Options{Config: cfg, Store: openSQLite(t)})
	res, err := http.Get(ts.URL + "/api/tools")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.TrimSpace(string(b)) != "{}" {
		t.Errorf("GET /api/tools with no tools: %d %s", res.StatusCode, b)
	}
}
