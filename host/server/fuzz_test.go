package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// Fuzz targets for every decoder of client input. Invariants: the server
// never panics and never answers 5xx, whatever the input (client mistakes
// are 4xx). Their seeds run with go test; scripts/fuzz.sh fuzzes them.

var testTime = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// fuzzHandler is the whole handler with the echo agent "assistant" on a
// SQLite store holding thread t1 of resource alice.
func fuzzHandler(f *testing.F) http.Handler {
	f.Helper()
	cfg := testConfig()
	store, err := memory.Open(context.Background(), memory.Options{SQLitePath: filepath.Join(f.TempDir(), "m.db"), MaxOpenConns: 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	at := memory.TextContent("hello", testTime)
	if err := store.AppendTurn(context.Background(), memory.Turn{Thread: memory.Thread{ID: "t1", ResourceID: "alice"},
		Messages: []memory.Message{{ID: "m1", Role: "user", Content: at, CreatedAt: testTime}}}); err != nil {
		f.Fatal(err)
	}
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}}, "assistant", quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon", Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	return s.Handler()
}

// noServerError serves one request and fails on a 5xx.
func noServerError(t *testing.T, h http.Handler, method, target, body string) {
	t.Helper()
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return // not a request a client can send
	}
	req.URL = u
	req.RequestURI = ""
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %.200q body %.300q = %d %s; want no 5xx for client input", method, target, body, rec.Code, rec.Body.String())
	}
}

func FuzzRootBody(f *testing.F) {
	for _, s := range []string{
		`{"message":"hi"}`, `{"message":"hi","threadId":"t1","resourceId":"alice"}`, `{"message":"hi","threadId":"t1","resourceId":"bob"}`,
		`{"message":"","agentId":"ghost"}`, `{"message":"a\u0000b","threadId":"x/y"}`, `{"message":5}`, `[]`, `null`, ``,
		`{"message":"hi","requestContext":{"mastra__resourceId":"bob","k":[1,{"a":null}]}}`, `{"message":"hi","threadId":"\ud800"}`,
		`{"message":"hi","structuredOutput":{"schema":{"type":"object"},"errorStrategy":"fallback","fallbackValue":{}}}`, `{"message":"hi","structuredOutput":{}}`,
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		noServerError(t, h, "POST", "/agent/generate", body)
	})
}

func FuzzMastraBody(f *testing.F) {
	for _, s := range []string{
		`{"messages":"hi"}`, `{"messages":"hi","memory":{"thread":"t1","resource":"alice"}}`,
		`{"messages":[{"role":"user","content":"hi"}],"memory":{"thread":{"id":"t2"},"resource":"alice"},"runId":"r"}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"tool-call","toolCallId":"c","toolName":"x","input":{}}]}]}`,
		`{"messages":[{"role":"assistant","parts":[{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"c","toolName":"x","args":{},"result":1}}]},{"role":"tool","content":[{"type":"tool-result","toolCallId":"c","output":{"type":"json","value":2}}]}]}`,
		`{"messages":[{"role":"user","content":{"format":2,"parts":[],"content":"v2"}}]}`,
		`{"messages":"hi","clientTools":{"t":{"id":"","inputSchema":null}},"maxSteps":-1}`,
		`{"messages":"hi","instructions":["a",{"content":"b"}],"system":{"content":["c"]},"modelSettings":{"temperature":"x"}}`,
		`{"messages":[1,null,"x"]}`, `{"messages":{}}`,
		`{"messages":"hi","structuredOutput":{"schema":{"type":"object","properties":{"a":{"type":"string"}}}}}`,
		`{"messages":"hi","structuredOutput":{"schema":{"type":"array","items":{"enum":[1,"x"]}},"errorStrategy":"fallback","fallbackValue":[1]}}`,
		`{"messages":"hi","structuredOutput":{"schema":{"enum":["a"]},"errorStrategy":"warn","jsonPromptInjection":true,"instructions":"x"}}`,
		`{"messages":"hi","structuredOutput":{"schema":{"$ref":"http://x/y"},"model":"openai/x"}}`, `{"messages":"hi","structuredOutput":{"schema":true}}`,
		`{"messages":"hi","output":{"type":"object"},"context":[{"role":"system","content":"c"}],"activeTools":[],"toolChoice":{"type":"tool","toolName":""}}`,
		`{"messages":"hi","model":{"id":"x"},"modelSettings":{"topK":0,"maxRetries":-1,"headers":{}},"memory":{"thread":"t9","resource":"alice","options":{"lastMessages":1}}}`,
		`{"messages":"hi","savePerStep":1,"requireToolApproval":"yes","tracingOptions":[],"threadId":null,"resourceId":""}`,
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		noServerError(t, h, "POST", "/api/agents/assistant/generate", body)
	})
}

func FuzzSaveMessages(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"x","threadId":"t1"}]}`,
		`{"messages":[{"id":"m1","role":"assistant","content":{"format":2,"parts":[{"type":"text","text":"y"}]},"threadId":"t1","createdAt":"2026-01-01T00:00:00Z","type":"v2"}]}`,
		`{"messages":[{"role":"user","content":"x","threadId":"t1","createdAt":1e300}]}`,
		`{"messages":[{"role":"user","content":"x","threadId":"t1","createdAt":-8.64e15}]}`,
		`{"messages":[{"role":"user","content":"x","threadId":"nope"}]}`, `{"messages":[]}`, `{"messages":null}`,
		`{"messages":[{"role":"user","content":"x","threadId":"t1","resourceId":"bob","id":"m\u0000"}]}`,
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		noServerError(t, h, "POST", "/api/memory/save-messages?agentId=assistant", body)
		noServerError(t, h, "POST", "/api/memory/messages/delete?agentId=assistant", body)
		noServerError(t, h, "POST", "/api/memory/threads?agentId=assistant", body)
		noServerError(t, h, "PATCH", "/api/memory/threads/t1?agentId=assistant", body)
	})
}

func FuzzQueryRequestContext(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `eyJhIjoxfQ==`, `eyJhIjoxfQ`, `not-json`, `{`, `{"mastra__resourceId":"bob"}`, `W10=`, `bnVsbA==`} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, raw string) {
		m, ok := decodeContextParam(raw)
		if !ok && m != nil && len(m) > 0 {
			t.Fatalf("decodeContextParam(%q) refused but returned %v", raw, m)
		}
		q := url.QueryEscape(raw)
		noServerError(t, h, "GET", "/api/memory/threads?resourceId=alice&requestContext="+q, "")
		noServerError(t, h, "GET", "/api/agents?requestContext="+q, "")
	})
}

func FuzzPageAndOrder(f *testing.F) {
	f.Add("0", "20", "createdAt", "DESC", `{"k":"v"}`)
	f.Add("9223372036854775807", "2", `{"field":"updatedAt","direction":"asc"}`, "", `{"a\"b":1}`)
	f.Add("-1", "false", "title", "UP", `[]`)
	f.Add("3", "1000", "", "", `{"k":{"n":[1,2]}}`)
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, page, perPage, orderBy, dir, metadata string) {
		q := url.Values{"resourceId": {"alice"}, "page": {page}, "perPage": {perPage}, "orderBy": {orderBy},
			"sortDirection": {dir}, "metadata": {metadata}}
		noServerError(t, h, "GET", "/api/memory/threads?"+q.Encode(), "")
		noServerError(t, h, "GET", "/api/memory/threads/t1/messages?"+q.Encode(), "")
		noServerError(t, h, "GET", "/threads?"+q.Encode(), "")
		noServerError(t, h, "GET", "/threads/t1?"+q.Encode(), "")
		q2 := url.Values{"resourceId": {"alice"}, "orderBy[field]": {orderBy}, "orderBy[direction]": {dir}}
		noServerError(t, h, "GET", "/api/memory/threads?"+q2.Encode(), "")
	})
}

func FuzzChatBody(f *testing.F) {
	for _, s := range []string{
		`{"id":"c1","trigger":"submit-message","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"hi"}]}]}`,
		`{"id":"c1","threadId":"t1","resourceId":"alice","trigger":"regenerate-message","messageId":"m1","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"hi"}]},{"id":"a1","role":"assistant","parts":[{"type":"step-start"},{"type":"tool-x","toolCallId":"c","state":"output-available","input":{},"output":1},{"type":"text","text":"ok"}]}]}`,
		`{"id":"a/b","messages":[]}`, `{"messages":"hi"}`, `{"messages":[1,null,"x"]}`, `{"trigger":5}`, `[]`, `null`, ``,
		`{"id":"\ud800","messages":[{"role":"user","parts":[{"type":"text","text":"a\u0000b"}]}]}`,
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		noServerError(t, h, "POST", "/chat/assistant", body)
	})
}

// approvalFuzzHandler is the whole handler with the agent "approver"
// (its tool "stamp" needs approval) and one of its turns waiting, run r1
// of resource alice in thread t1.
func approvalFuzzHandler(f *testing.F) http.Handler {
	f.Helper()
	store, err := memory.Open(context.Background(), memory.Options{SQLitePath: filepath.Join(f.TempDir(), "m.db"), MaxOpenConns: 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	stamp := fnTool{"stamp", func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }}
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "approver", Model: callThenAnswer{"stamp"}, Provider: "openai", ModelID: "fake",
		Tools: []agent.Tool{stamp}, RequireApproval: true}}, "approver", quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.Generate(context.Background(), agent.Input{AgentID: "approver", RunID: "r1", ThreadID: "t1", ResourceID: "alice",
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "stamp"}}}); err != nil {
		f.Fatal(err)
	}
	s, err := New(Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "anon", Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	return s.Handler()
}

func FuzzApprovalBodies(f *testing.F) {
	for _, s := range []string{
		`{"runId":"r1","toolCallId":"call_1"}`, `{"runId":"r1","toolCallId":"call_1","reason":"no"}`,
		`{"runId":"r1","toolCallId":"call_2","model":"x","format":"aisdk"}`, `{"runId":"","toolCallId":""}`,
		`{"runId":"r1","resumeData":{"approved":true}}`, `{"runId":"r1","resumeData":null,"maxIdleMs":-1}`,
		`{"runId":"r1","resumeData":{"approved":"yes","reason":5}}`, `{"runId":"r\u0000","toolCallId":"\ud800"}`,
		`{"resourceId":"alice","threadId":"t1","toolCallId":"call_1","approved":false}`,
		`{"resourceId":"alice","threadId":"t1","toolCallId":"call_1","approved":true,"resumeData":[1],"messages":[]}`,
		`{"runId":"r1","requestContext":{"mastra__resourceId":"bob"}}`, `[]`, `null`, ``, `{"runId":5}`,
		`{"messages":"hi","maxSteps":3,"routing":{"additionalInstructions":"x","verboseIntrospection":true}}`,
		`{"messages":"hi","memory":{"thread":"t1","resource":"alice"},"routing":5,"completion":{"scorers":[]}}`,
		`{"messages":"hi","completion":{"scorers":[{"id":"x"}]},"clientTools":{"t":{}}}`,
	} {
		f.Add(s)
	}
	h := approvalFuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, route := range []string{"approve-tool-call", "decline-tool-call", "approve-tool-call-generate",
			"decline-tool-call-generate", "resume-stream", "resume-stream-until-idle", "send-tool-approval", "recover",
			"network", "approve-network-tool-call", "decline-network-tool-call"} {
			noServerError(t, h, "POST", "/api/agents/approver/"+route, body)
		}
		noServerError(t, h, "GET", "/api/agents/approver/suspended-runs?threadId="+url.QueryEscape(body)+"&fromDate="+url.QueryEscape(body)+"&page="+url.QueryEscape(body), "")
	})
}
