package server

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// callThenAnswer is a model that calls its tool once, and answers
// "done: <the tool's output>" once a tool message follows the call.
type callThenAnswer struct{ tool string }

func (m callThenAnswer) Generate(_ context.Context, req llm.Request) (*llm.Response, error) {
	u := llm.Usage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5}
	if last := req.Messages[len(req.Messages)-1]; last.Role == llm.RoleTool {
		return &llm.Response{ID: "r2", Text: "done: " + last.Content, FinishReason: llm.FinishStop, Usage: u}, nil
	}
	return &llm.Response{ID: "r1", FinishReason: llm.FinishToolCalls, Usage: u,
		ToolCalls: []llm.ToolCall{{ID: "call_1", Name: m.tool, Arguments: json.RawMessage(`{"n":7}`)}}}, nil
}

func (m callThenAnswer) Stream(ctx context.Context, req llm.Request, onDelta func(llm.Delta) error) (*llm.Response, error) {
	resp, err := m.Generate(ctx, req)
	if err == nil && resp.Text != "" {
		err = onDelta(llm.Delta{Text: resp.Text})
	}
	return resp, err
}

// approvalInstance is one server instance with the agent "approver",
// whose tool "stamp" needs approval and counts its runs in ran.
func approvalInstance(t *testing.T, db memory.Options, ran *atomic.Int32, cfgs ...func(*Config)) string {
	t.Helper()
	store := openStore(t, db)
	stamp := fnTool{"stamp", func(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
		ran.Add(1)
		return json.RawMessage(`{"stamped":true}`), nil
	}}
	agents := []*agent.Agent{{ID: "approver", Name: "Approver", Model: callThenAnswer{"stamp"}, Provider: "openai", ModelID: "fake",
		LastMessages: 10, Tools: []agent.Tool{stamp}, RequireApproval: true}}
	svc, err := agent.NewService(store, agents, "", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	for _, c := range cfgs {
		c(&cfg)
	}
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon"})
	return ts.URL
}

// sseChunks parses a stream's chunks.
func sseChunks(t *testing.T, r response) []map[string]any {
	t.Helper()
	if r.status != 200 || !strings.HasSuffix(r.raw, "data: [DONE]\n\n") {
		t.Fatalf("stream = %d %s; want 200 ending in [DONE]", r.status, r.raw)
	}
	events, _ := readSSE(t, strings.NewReader(r.raw))
	return events
}

func chunkTypes(events []map[string]any) string {
	var out []string
	for _, e := range events {
		out = append(out, e["type"].(string))
	}
	return strings.Join(out, ",")
}

func findChunk(events []map[string]any, typ string) map[string]any {
	for _, e := range events {
		if e["type"] == typ {
			return e
		}
	}
	return nil
}

// TestApprovalAcrossInstances: a turn suspends on one instance, is listed
// and approved on a second sharing the database, and a generate turn
// suspended there is declined on a third started afterwards (a restart).
func TestApprovalAcrossInstances(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			db := memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}
			if kind == "postgres" {
				db = memory.Options{DatabaseURL: pgtest.NewDatabase(t)}
			}
			var ran atomic.Int32
			one, two := approvalInstance(t, db, &ran), approvalInstance(t, db, &ran)
			j := func(base, method, path, body string) response {
				t.Helper()
				h := []string{}
				if body != "" {
					h = []string{"Content-Type", jsonCT}
				}
				return do(t, method, base+path, body, h...)
			}

			ev := sseChunks(t, j(one, "POST", "/api/agents/approver/stream", `{"messages":"stamp it","memory":{"thread":"t1","resource":"alice"}}`))
			if got := chunkTypes(ev); !strings.HasSuffix(got, "tool-call,tool-call-approval,finish") {
				t.Fatalf("chunks = %s; want tool-call, tool-call-approval, finish", got)
			}
			ap := findChunk(ev, "tool-call-approval")
			run, _ := ap["runId"].(string)
			p := ap["payload"].(map[string]any)
			if run == "" || p["toolCallId"] != "call_1" || p["toolName"] != "stamp" || p["resumeSchema"] == nil {
				t.Fatalf("tool-call-approval = %v", ap)
			}
			if fin := ev[len(ev)-1]["payload"].(map[string]any)["stepResult"].(map[string]any); fin["reason"] != "suspended" {
				t.Errorf("finish = %v; want reason suspended", fin)
			}
			if ran.Load() != 0 {
				t.Fatal("the tool ran before its approval")
			}

			list := j(two, "GET", "/api/agents/approver/suspended-runs?resourceId=alice", "")
			runs, _ := list.body["runs"].([]any)
			if list.status != 200 || list.body["total"] != 1.0 || len(runs) != 1 {
				t.Fatalf("suspended-runs on the second instance = %d %s; want the run", list.status, list.raw)
			}
			r0 := runs[0].(map[string]any)
			tc := r0["toolCalls"].([]any)[0].(map[string]any)
			if r0["runId"] != run || r0["threadId"] != "t1" || r0["resourceId"] != "alice" || r0["status"] != "suspended" ||
				tc["toolCallId"] != "call_1" || tc["requiresApproval"] != true {
				t.Errorf("listed run = %v", r0)
			}
			if other := j(two, "GET", "/api/agents/approver/suspended-runs?resourceId=bob", ""); other.body["total"] != 0.0 {
				t.Errorf("bob's suspended runs = %s; want none", other.raw)
			}

			ev = sseChunks(t, j(two, "POST", "/api/agents/approver/approve-tool-call", `{"runId":"`+run+`","toolCallId":"call_1"}`))
			if got := chunkTypes(ev); !strings.HasPrefix(got, "start,tool-call,tool-result,step-finish,step-start") || !strings.HasSuffix(got, "text-end,step-finish,finish") {
				t.Errorf("approved chunks = %s", got)
			}
			if res := findChunk(ev, "tool-result"); res["runId"] != run || !strings.Contains(mustJSON(t, res), `"stamped":true`) {
				t.Errorf("tool-result = %v", res)
			}
			if ran.Load() != 1 {
				t.Errorf("tool ran %d times; want once", ran.Load())
			}
			msgs := j(one, "GET", "/api/memory/threads/t1/messages?resourceId=alice", "")
			if msgs.status != 200 || !strings.Contains(msgs.raw, "stamp it") || !strings.Contains(msgs.raw, `done: {\"stamped\":true}`) {
				t.Errorf("thread after approval = %d %s; want the user message and the reply", msgs.status, msgs.raw)
			}
			again := j(one, "POST", "/api/agents/approver/approve-tool-call", `{"runId":"`+run+`","toolCallId":"call_1"}`)
			if again.status != 409 || ran.Load() != 1 {
				t.Errorf("second approval = %d %s (tool ran %d); want 409 and no second run", again.status, again.raw, ran.Load())
			}
			if l := j(one, "GET", "/api/agents/approver/suspended-runs", ""); l.body["total"] != 0.0 {
				t.Errorf("suspended runs after approval = %s", l.raw)
			}

			// Generate suspends; an instance started afterwards declines.
			g := j(two, "POST", "/api/agents/approver/generate", `{"messages":"stamp again","memory":{"thread":"t2","resource":"alice"}}`)
			sp, _ := g.body["suspendPayload"].(map[string]any)
			grun, _ := g.body["runId"].(string)
			if g.status != 200 || g.body["finishReason"] != "suspended" || sp["toolCallId"] != "call_1" || g.body["resumeSchema"] == nil || grun == "" {
				t.Fatalf("generate = %d %s; want finishReason suspended with the suspendPayload", g.status, g.raw)
			}
			three := approvalInstance(t, db, &ran)
			d := j(three, "POST", "/api/agents/approver/decline-tool-call-generate", `{"runId":"`+grun+`","toolCallId":"call_1","reason":"no stamps today"}`)
			if d.status != 200 || d.body["finishReason"] != "stop" || d.body["text"] != `done: "no stamps today"` {
				t.Errorf("decline = %d %s; want the model's answer to the decline", d.status, d.raw)
			}
			if ran.Load() != 1 {
				t.Errorf("a declined call ran the tool")
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestApprovalBadRequests: every mistake is a 4xx before anything runs.
func TestApprovalBadRequests(t *testing.T) {
	var ran atomic.Int32
	base := approvalInstance(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}, &ran)
	g := do(t, "POST", base+"/api/agents/approver/generate", `{"messages":"stamp","memory":{"thread":"t1","resource":"alice"}}`, "Content-Type", jsonCT)
	run, _ := g.body["runId"].(string)
	for _, tc := range []struct {
		path, body string
		status     int
		field      string
	}{
		{"/api/agents/approver/approve-tool-call", `{"toolCallId":"call_1"}`, 400, "runId"},
		{"/api/agents/approver/approve-tool-call", `{"runId":"` + run + `"}`, 400, "toolCallId"},
		{"/api/agents/approver/decline-tool-call-generate", `{"runId":"` + run + `","toolCallId":"call_1","model":"openai/gpt-4o"}`, 400, "model"},
		{"/api/agents/approver/approve-tool-call-generate", `{"runId":"` + run + `","toolCallId":"call_1","format":"aisdk"}`, 400, "format"},
		{"/api/agents/approver/approve-tool-call-generate", `{"runId":"` + run + `","toolCallId":"call_9"}`, 400, "toolCallId"},
		{"/api/agents/approver/resume-stream", `{"runId":"` + run + `"}`, 400, "resumeData"},
		{"/api/agents/approver/resume-stream", `{"runId":"` + run + `","resumeData":{"ok":1}}`, 400, "resumeData"},
		{"/api/agents/approver/approve-tool-call", `{"runId":"no-such-run","toolCallId":"call_1"}`, 404, ""},
		{"/api/agents/nobody/approve-tool-call", `{"runId":"` + run + `","toolCallId":"call_1"}`, 404, ""},
	} {
		r := do(t, "POST", base+tc.path, tc.body, "Content-Type", jsonCT)
		if r.status != tc.status || (tc.field != "" && !strings.Contains(r.raw, `"field":"`+tc.field+`"`)) {
			t.Errorf("%s %s = %d %s; want %d naming %q", tc.path, tc.body, r.status, r.raw, tc.status, tc.field)
		}
	}
	for _, q := range []string{"fromDate=yesterday", "page=-1", "perPage=0", "fromDate=2026-12-08T00:00:00Z&toDate=2026-12-07T00:00:00Z"} {
		if r := do(t, "GET", base+"/api/agents/approver/suspended-runs?"+q, ""); r.status != 400 {
			t.Errorf("suspended-runs?%s = %d %s; want 400", q, r.status, r.raw)
		}
	}
	if ran.Load() != 0 {
		t.Errorf("a bad request ran the tool")
	}
	// Still waiting, and resume-stream with {approved:true} approves it.
	ev := sseChunks(t, do(t, "POST", base+"/api/agents/approver/resume-stream", `{"runId":"`+run+`","resumeData":{"approved":true}}`, "Content-Type", jsonCT))
	if findChunk(ev, "tool-result") == nil || ran.Load() != 1 {
		t.Errorf("resume-stream approval = %s; want the tool's result", chunkTypes(ev))
	}
}

// TestApprovalTenants: with two tokens, Bob neither sees nor resolves
// Alice's waiting turn, naming her resource any way; the admin sees it.
func TestApprovalTenants(t *testing.T) {
	var ran atomic.Int32
	base := approvalInstance(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)}, &ran, withAuth)
	as := func(tok, method, path, body string) response {
		t.Helper()
		h := []string{"Authorization", "Bearer " + tok}
		if body != "" {
			h = append(h, "Content-Type", jsonCT)
		}
		return do(t, method, base+path, body, h...)
	}
	g := as(aliceToken, "POST", "/api/agents/approver/generate", `{"messages":"alice-secret stamp","memory":{"thread":"a1","resource":"res-alice"}}`)
	run, _ := g.body["runId"].(string)
	if g.body["finishReason"] != "suspended" {
		t.Fatalf("alice's generate = %s", g.raw)
	}
	missing := as(bobToken, "POST", "/api/agents/approver/approve-tool-call-generate", `{"runId":"no-such-run","toolCallId":"call_1"}`)
	for _, path := range []string{"approve-tool-call", "decline-tool-call", "approve-tool-call-generate", "decline-tool-call-generate"} {
		for _, rc := range []string{"", `,"requestContext":{"mastra__resourceId":"res-alice","resourceId":"res-alice"}`} {
			r := as(bobToken, "POST", "/api/agents/approver/"+path, `{"runId":"`+run+`","toolCallId":"call_1"`+rc+`}`)
			if r.status != 404 || r.raw != missing.raw {
				t.Errorf("bob %s on alice's run = %d %s; want the 404 of a missing run", path, r.status, r.raw)
			}
		}
	}
	if r := as(bobToken, "POST", "/api/agents/approver/resume-stream", `{"runId":"`+run+`","resumeData":{"approved":true}}`); r.status != 404 {
		t.Errorf("bob resume-stream = %d %s", r.status, r.raw)
	}
	for _, q := range []string{"", "?resourceId=res-alice", "?threadId=a1&resourceId=res-alice"} {
		if r := as(bobToken, "GET", "/api/agents/approver/suspended-runs"+q, ""); r.status != 200 || r.body["total"] != 0.0 || strings.Contains(r.raw, run) {
			t.Errorf("bob lists suspended-runs%s = %d %s; want none", q, r.status, r.raw)
		}
	}
	if r := as(adminToken, "GET", "/api/agents/approver/suspended-runs", ""); r.body["total"] != 1.0 {
		t.Errorf("admin lists = %s; want alice's run", r.raw)
	}
	if ran.Load() != 0 {
		t.Fatal("bob ran alice's tool")
	}
	r := as(aliceToken, "POST", "/api/agents/approver/approve-tool-call-generate", `{"runId":"`+run+`","toolCallId":"call_1"}`)
	if r.status != 200 || r.body["finishReason"] != "stop" || ran.Load() != 1 {
		t.Errorf("alice approves = %d %s; want her turn completed", r.status, r.raw)
	}
}

// TestSendToolApproval: approval by thread and tool call id, answered once
// claimed; the turn completes in the background and lands in the thread.
func TestSendToolApproval(t *testing.T) {
	var ran atomic.Int32
	base := approvalInstance(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)}, &ran)
	post := func(path, body string) response {
		t.Helper()
		return do(t, "POST", base+path, body, "Content-Type", jsonCT)
	}
	g := post("/api/agents/approver/generate", `{"messages":"stamp","memory":{"thread":"t1","resource":"alice"}}`)
	run, _ := g.body["runId"].(string)
	for _, bad := range []struct{ body, field string }{
		{`{"resourceId":"alice","toolCallId":"call_1","approved":true}`, "threadId"},
		{`{"resourceId":"alice","threadId":"t1","approved":true}`, "toolCallId"},
		{`{"resourceId":"alice","threadId":"t1","toolCallId":"call_1"}`, "approved"},
		{`{"threadId":"t1","toolCallId":"call_1","approved":true}`, "resourceId"},
		{`{"resourceId":"alice","threadId":"t1","toolCallId":"call_1","approved":true,"messages":[{"role":"user","content":"x"}]}`, "messages"},
	} {
		if r := post("/api/agents/approver/send-tool-approval", bad.body); r.status != 400 || !strings.Contains(r.raw, `"field":"`+bad.field+`"`) {
			t.Errorf("send-tool-approval %s = %d %s; want 400 naming %s", bad.body, r.status, r.raw, bad.field)
		}
	}
	for _, body := range []string{
		`{"resourceId":"bob","threadId":"t1","toolCallId":"call_1","approved":true}`,
		`{"resourceId":"alice","threadId":"t2","toolCallId":"call_1","approved":true}`,
		`{"resourceId":"alice","threadId":"t1","toolCallId":"call_2","approved":true}`,
	} {
		if r := post("/api/agents/approver/send-tool-approval", body); r.status != 404 {
			t.Errorf("send-tool-approval %s = %d %s; want 404", body, r.status, r.raw)
		}
	}
	r := post("/api/agents/approver/send-tool-approval", `{"resourceId":"alice","threadId":"t1","toolCallId":"call_1","approved":true}`)
	if r.status != 200 || r.body["accepted"] != true || r.body["runId"] != run || r.body["toolCallId"] != "call_1" {
		t.Fatalf("send-tool-approval = %d %s; want accepted for run %s", r.status, r.raw, run)
	}
	if again := post("/api/agents/approver/send-tool-approval", `{"resourceId":"alice","threadId":"t1","toolCallId":"call_1","approved":true}`); again.status != 404 && again.status != 409 {
		t.Errorf("second send-tool-approval = %d %s; want the run no longer waiting", again.status, again.raw)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := do(t, "GET", base+"/api/memory/threads/t1/messages?resourceId=alice", "")
		if strings.Contains(msgs.raw, `done: {\"stamped\":true}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved turn never reached the thread: %s", msgs.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ran.Load() != 1 {
		t.Errorf("tool ran %d times; want once", ran.Load())
	}
	if r := post("/api/agents/approver/recover", `{"runId":"`+run+`"}`); r.status != 400 || !strings.Contains(r.raw, "durable agents") {
		t.Errorf("recover = %d %s; want Mastra's 400", r.status, r.raw)
	}
}

// TestChatApproval: useChat's stream carries the waiting call as a data
// part with the run id the approve route takes.
func TestChatApproval(t *testing.T) {
	var ran atomic.Int32
	base := approvalInstance(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}, &ran)
	events := chatTurnEvents(t, base+"/chat/approver", chatBodyJSON("c1", "", uiMsg("u1", "user", "stamp it")))
	var data map[string]any
	for _, e := range events {
		if e["type"] == "data-tool-call-approval" {
			data, _ = e["data"].(map[string]any)
		}
	}
	run, _ := data["runId"].(string)
	if p, _ := data["payload"].(map[string]any); run == "" || p["toolCallId"] != "call_1" || p["toolName"] != "stamp" {
		t.Fatalf("chat events = %v; want a data-tool-call-approval part", events)
	}
	r := do(t, "POST", base+"/api/agents/approver/approve-tool-call-generate", `{"runId":"`+run+`","toolCallId":"call_1"}`, "Content-Type", jsonCT)
	if r.status != 200 || ran.Load() != 1 {
		t.Errorf("approve the chat's call = %d %s", r.status, r.raw)
	}
}
