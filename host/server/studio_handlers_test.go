package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/wire"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// studioServer serves the echo agent, an OpenAI agent with the upper tool
// on fake, and two model providers, one of them connected.
func studioServer(t *testing.T, store *memory.Store, fake *llmtest.Server, edit func(*Config)) string {
	t.Helper()
	agents := []*agent.Agent{
		{ID: "assistant", Name: "Assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10},
		{ID: "gpt", Name: "GPT", Model: fake.Model(5 * time.Second), Provider: "openai", ModelID: "gpt-test", LastMessages: 10,
			Tools: []agent.Tool{upperTool{}}},
	}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon",
		Providers: []ModelProvider{
			{ID: "openai", Name: "openai", EnvVar: "OPENAI_API_KEY", Connected: true, Models: []string{"gpt-test"}},
			{ID: "groq", Name: "groq", EnvVar: "GROQ_API_KEY"},
		}})
	return ts.URL
}

// TestStudioRoutes: what Mastra Studio reads before and beside its pages,
// in Mastra's shapes.
func TestStudioRoutes(t *testing.T) {
	base := studioServer(t, openSQLite(t), llmtest.NewServer(t, llmtest.Replies(hello)), nil)
	cases := []struct {
		method, path string
		status       int
		want         string // the exact body
	}{
		{"GET", "/", 200, `{"name":"mastra-server","api":"/api","health":"/health"}`},
		{"GET", "/api/auth/capabilities", 200, `{"enabled":false,"login":null}`},
		{"GET", "/api/agents/providers", 200, `{"providers":[` +
			`{"id":"openai","name":"openai","label":"openai","description":"","envVar":"OPENAI_API_KEY","connected":true,"models":["gpt-test"]},` +
			`{"id":"groq","name":"groq","label":"groq","description":"","envVar":"GROQ_API_KEY","connected":false,"models":[]}]}`},
		{"GET", "/api/editor/builder/models/available", 200, `{"providers":[` +
			`{"id":"openai","name":"openai","label":"openai","description":"","envVar":"OPENAI_API_KEY","connected":true,"models":["gpt-test"]}]}`},
		{"GET", "/api/editor/builder/settings", 200, `{"enabled":false,"modelPolicy":{"active":false}}`},
		{"POST", "/api/agents/assistant/threads/subscribe", 405, `{"error":"agent thread subscriptions are not supported by mastra-server"}`},
		{"POST", "/api/agents/nobody/threads/subscribe", 404, `{"error":"Agent with id nobody not found"}`},
		{"GET", "/api/agents/assistant/voice/speakers", 200, `[]`},
		{"GET", "/api/system/packages", 200, `{"packages":[],"isDev":false,"cmsEnabled":false,"observabilityEnabled":false,"storageType":"sqlite"}`},
		{"GET", "/api/channels/platforms", 200, `[]`},
		{"GET", "/api/schedules?workflowId=hello", 200, `{"schedules":[]}`},
		{"GET", "/api/processors", 200, `{}`},
		{"GET", "/api/scores/scorers", 200, `{}`},
		{"GET", "/api/mcp/v0/servers", 200, `{"servers":[],"total_count":0,"next":null}`},
		{"GET", "/api/workspaces", 200, `{"workspaces":[]}`},
		{"GET", "/api/datasets", 200, `{"datasets":[],"pagination":{"total":0,"page":0,"perPage":10,"hasMore":false}}`},
		{"GET", "/api/experiments", 200, `{"experiments":[],"pagination":{"total":0,"page":0,"perPage":10,"hasMore":false}}`},
		{"GET", "/api/experiments/review-summary", 200, `{"counts":[]}`},
		{"GET", "/api/observability/feedback", 200, `{"feedback":[],"pagination":{"total":0,"page":0,"perPage":10,"hasMore":false}}`},
		{"GET", "/api/observability/logs", 200, `{"logs":[],"pagination":{"total":0,"page":0,"perPage":10,"hasMore":false}}`},
		{"POST", "/api/observability/traces/query", 422, `{"error":"The trace query is invalid","code":"TRACE_QUERY_INVALID",` +
			`"issues":[{"field":"timeRange","message":"timeRange {from, to} (ISO date-times) is required"}]}`},
		{"POST", "/api/observability/traces/query/fields", 200, `{"canonicalFields":[],"observedFields":[],"observedFieldsTruncated":false}`},
		{"GET", "/api/observability/discovery/entity-names", 200, `{"names":[]}`},
		{"GET", "/api/observability/discovery/environments", 200, `{"environments":[]}`},
		{"GET", "/api/observability/discovery/service-names", 200, `{"serviceNames":[]}`},
		{"GET", "/api/observability/discovery/tags", 200, `{"tags":[]}`},
	}
	for _, c := range cases {
		body := ""
		if c.method == "POST" {
			body = `{"threadId":"t1"}`
		}
		r := do(t, c.method, base+c.path, body, "Content-Type", jsonCT)
		got := strings.TrimSpace(r.raw)
		if r.status >= 500 { // a 5xx body carries the request id too
			got = strings.Replace(got, fmt.Sprintf(`,"requestId":%q`, r.body["requestId"]), "", 1)
		}
		if r.status != c.status || got != c.want {
			t.Errorf("%s %s = %d %s; want %d %s", c.method, c.path, r.status, r.raw, c.status, c.want)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q; want JSON", c.method, c.path, ct)
		}
	}
	// The subscription's 405 says no method subscribes (a 4xx, which
	// client-js does not retry, unlike Mastra's 501).
	if r := do(t, "POST", base+"/api/agents/assistant/threads/subscribe", `{"threadId":"t1"}`, "Content-Type", jsonCT); r.header.Get("Allow") != "OPTIONS" {
		t.Errorf("subscribe: Allow %q; want OPTIONS", r.header.Get("Allow"))
	}
	// The agent itself is still served beside the providers.
	if r := do(t, "GET", base+"/api/agents/gpt", ""); r.status != 200 || r.body["modelId"] != "gpt-test" {
		t.Errorf("GET /api/agents/gpt = %d %s", r.status, r.raw)
	}
}

// TestStudioAuthCapabilities: with auth, the caller's user and no login
// flow; without a token, 401 like every route.
func TestStudioAuthCapabilities(t *testing.T) {
	base := studioServer(t, openSQLite(t), llmtest.NewServer(t, llmtest.Replies(hello)), withAuth)
	r := do(t, "GET", base+"/api/auth/capabilities", "", "Authorization", "Bearer "+aliceToken)
	want := `{"enabled":true,"login":null,"user":{"id":"alice"},"capabilities":{"user":true,"session":false,"sso":false,"rbac":false,"acl":false,"fga":false},"access":null}`
	if r.status != 200 || strings.TrimSpace(r.raw) != want {
		t.Errorf("GET /api/auth/capabilities as alice = %d %s; want %s", r.status, r.raw, want)
	}
	if r := do(t, "GET", base+"/api/auth/capabilities", ""); r.status != 401 {
		t.Errorf("GET /api/auth/capabilities without a token = %d %s; want 401", r.status, r.raw)
	}
}

// TestGenerateUIMessages: generate answers response.uiMessages, the reply
// as AI SDK UI messages (Studio's Generate mode shows them): text, and a
// tool part with its input and output.
func TestGenerateUIMessages(t *testing.T) {
	fake := llmtest.NewServer(t, llmtest.Replies(
		llmtest.Reply{Calls: []llmtest.Call{{ID: "call_1", Name: "upper", Args: `{"text":"abc"}`}}},
		llmtest.Reply{Text: "Upper-cased."}))
	base := studioServer(t, openSQLite(t), fake, nil)

	r := do(t, "POST", base+"/api/agents/assistant/generate", `{"messages":"hi","memory":{"thread":"g1","resource":"r1"}}`, "Content-Type", jsonCT)
	var echo struct {
		Response struct {
			UIMessages []uiMessage `json:"uiMessages"`
		} `json:"response"`
		Messages []wire.Message `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.raw), &echo); err != nil || r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	ui := echo.Response.UIMessages
	if len(ui) != 1 || ui[0].Role != "assistant" || ui[0].ID != echo.Messages[1].ID {
		t.Fatalf("uiMessages = %+v; want the one assistant message %s", ui, echo.Messages[1].ID)
	}
	if got := partTypes(ui[0]); got != "step-start,text" || ui[0].Parts[1].Text != "Echo: hi" {
		t.Errorf("uiMessages parts = %+v; want step-start, text Echo: hi", ui[0].Parts)
	}

	r = do(t, "POST", base+"/api/agents/gpt/generate", `{"messages":"shout abc","memory":{"thread":"g2","resource":"r1"}}`, "Content-Type", jsonCT)
	if err := json.Unmarshal([]byte(r.raw), &echo); err != nil || r.status != 200 {
		t.Fatalf("generate with a tool = %d %s", r.status, r.raw)
	}
	var tool *uiPart
	var text string
	for _, m := range echo.Response.UIMessages {
		for i, p := range m.Parts {
			switch p.Type {
			case "tool-upper":
				tool = &m.Parts[i]
			case "text":
				text += p.Text
			}
		}
	}
	if tool == nil || tool.ToolCallID != "call_1" || tool.State != "output-available" || string(tool.Input) != `{"text":"abc"}` || !strings.Contains(string(tool.Output), "ABC") {
		t.Errorf("tool part = %+v; want tool-upper call_1 output-available with input and output", tool)
	}
	if text != "Upper-cased." {
		t.Errorf("text parts = %q; want Upper-cased.", text)
	}
}

func partTypes(m uiMessage) string {
	var out []string
	for _, p := range m.Parts {
		out = append(out, p.Type)
	}
	return strings.Join(out, ",")
}

// TestCloneThread: a clone copies the thread's messages with new ids and
// their times, in order; takes a title and metadata, records its source;
// messageLimit keeps the last n; a taken id is 409, a missing thread 404,
// bad input 400.
func TestCloneThread(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		base := studioServer(t, store, llmtest.NewServer(t, llmtest.Replies(hello)), nil)
		for i := range 3 {
			r := do(t, "POST", base+"/api/agents/assistant/generate",
				fmt.Sprintf(`{"messages":"m%d","memory":{"thread":"src","resource":"r1"}}`, i), "Content-Type", jsonCT)
			wantStatus(t, r, 200, "turn")
		}
		src := do(t, "GET", base+"/api/memory/threads/src/messages?resourceId=r1", "")

		r := do(t, "POST", base+"/api/memory/threads/src/clone?agentId=assistant&resourceId=r1",
			`{"newThreadId":"copy","title":"Copy","metadata":{"k":"v"}}`, "Content-Type", jsonCT)
		var out clonedThreadJSON
		if err := json.Unmarshal([]byte(r.raw), &out); err != nil || r.status != 200 {
			t.Fatalf("clone = %d %s", r.status, r.raw)
		}
		if out.Thread.ID != "copy" || out.Thread.Title != "Copy" || out.Thread.ResourceID != "r1" || out.Thread.Metadata["k"] != "v" {
			t.Errorf("clone thread = %+v", out.Thread)
		}
		if c, _ := out.Thread.Metadata["clone"].(map[string]any); c["sourceThreadId"] != "src" {
			t.Errorf("clone metadata = %v; want clone.sourceThreadId src", out.Thread.Metadata)
		}
		var srcMsgs wire.MessageList
		_ = json.Unmarshal([]byte(src.raw), &srcMsgs)
		if len(out.ClonedMessages) != 6 || len(srcMsgs.Messages) != 6 {
			t.Fatalf("cloned %d messages of %d; want 6", len(out.ClonedMessages), len(srcMsgs.Messages))
		}
		for i, m := range out.ClonedMessages {
			s := srcMsgs.Messages[i]
			if m.ID == s.ID || m.ThreadID != "copy" || string(m.Content) != string(s.Content) || m.CreatedAt != s.CreatedAt || m.Role != s.Role {
				t.Errorf("cloned message %d = %+v; want a copy of %+v with a new id", i, m, s)
			}
		}
		if got := do(t, "GET", base+"/api/memory/threads/copy/messages?resourceId=r1", ""); !strings.Contains(got.raw, "Echo: m2") {
			t.Errorf("the clone reads back %s", got.raw)
		}
		// Continuing the clone leaves the source alone.
		wantStatus(t, do(t, "POST", base+"/api/agents/assistant/generate", `{"messages":"more","memory":{"thread":"copy","resource":"r1"}}`,
			"Content-Type", jsonCT), 200, "turn on the clone")
		if again := do(t, "GET", base+"/api/memory/threads/src/messages?resourceId=r1", ""); again.raw != src.raw {
			t.Errorf("the source changed after a turn on its clone")
		}

		r = do(t, "POST", base+"/api/memory/threads/src/clone?resourceId=r1", `{"options":{"messageLimit":2}}`, "Content-Type", jsonCT)
		if err := json.Unmarshal([]byte(r.raw), &out); err != nil || r.status != 200 || len(out.ClonedMessages) != 2 ||
			!strings.Contains(string(out.ClonedMessages[1].Content), "Echo: m2") || out.Thread.Title != "" || out.Thread.ID == "" {
			t.Errorf("clone with messageLimit 2 = %d %s; want the last 2 messages under a new id", r.status, r.raw)
		}

		for _, c := range []struct {
			path, body string
			status     int
		}{
			{"/api/memory/threads/src/clone?resourceId=r1", `{"newThreadId":"copy"}`, 409},
			{"/api/memory/threads/nope/clone?resourceId=r1", `{}`, 404},
			{"/api/memory/threads/src/clone?resourceId=r2", `{}`, 404},
			{"/api/memory/threads/src/clone?resourceId=r1", `{"options":{"messageLimit":0}}`, 400},
			{"/api/memory/threads/src/clone?resourceId=r1", `{"newThreadId":"a/b"}`, 400},
			{"/api/memory/threads/src/clone?resourceId=r1", `{"metadata":[1]}`, 400},
			{"/api/memory/threads/src/clone?agentId=nobody", `{}`, 404},
		} {
			if r := do(t, "POST", base+c.path, c.body, "Content-Type", jsonCT); r.status != c.status {
				t.Errorf("POST %s %s = %d %s; want %d", c.path, c.body, r.status, r.raw, c.status)
			}
		}
	})
}
