package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// supervisorScript answers the supervisor (model "boss"): its first call
// delegates to the researcher with args, and once the tool answered it
// replies with the tool's result. The researcher (model "res") answers
// "found: <its last user message>", the writer (model "wri") lists what it
// was sent.
func supervisorScript(args string) func(llmtest.Request) llmtest.Reply {
	return func(req llmtest.Request) llmtest.Reply {
		last := req.Last()
		switch req.Model {
		case "boss":
			if last.Role == "tool" {
				return llmtest.Reply{Text: "done: " + last.Text()}
			}
			return llmtest.Reply{Calls: []llmtest.Call{{ID: "call-1", Name: "agent-researcher", Args: args}}}
		case "res":
			return llmtest.Reply{Text: "found: " + last.Text()}
		}
		var seen []string
		for _, m := range req.Messages {
			seen = append(seen, m.Role+":"+m.Text())
		}
		return llmtest.Reply{Text: strings.Join(seen, "|")}
	}
}

func supervisorAgents(m llm.Model) []*Agent {
	return []*Agent{
		{ID: "boss", Instructions: "Delegate.", Model: m, Provider: "openai", ModelID: "boss", LastMessages: 10,
			SubAgents: []SubAgent{{ID: "researcher"}, {ID: "writer", Memory: MemoryShared}}},
		{ID: "researcher", Description: "Finds things out.", Instructions: "Research.", Model: m, Provider: "openai", ModelID: "res", LastMessages: 10},
		{ID: "writer", Instructions: "Write.", Model: m, Provider: "openai", ModelID: "wri", LastMessages: 10},
	}
}

// A streamed turn that delegates: the sub-agent's chunks reach the client
// inside tool-output chunks, the tool's result has Mastra's output shape,
// the sub-agent saw the prompt and the caller's conversation without its
// system prompt or tool parts, and its thread is its own, under a resource
// derived from the caller's whatever resourceId the model wrote.
func TestDelegationStreams(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		fake := llmtest.NewServer(t, supervisorScript(`{"prompt":"look up Oslo","resourceId":"bob","threadId":"bobs-thread"}`))
		svc := newService(t, store, supervisorAgents(fake.Model(0))...)
		var rec recorder
		res, err := svc.Stream(ctx, Input{AgentID: "boss", ResourceID: "alice", ThreadID: "th-a", Messages: user("weather in Oslo?")}, rec.emit)
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		var sub []string
		var result map[string]any
		for _, c := range rec.chunks {
			switch c.Type {
			case ChunkToolOutput:
				p := payload(t, c)
				out := p["output"].(map[string]any)
				if p["toolCallId"] != "call-1" || p["toolName"] != "agent-researcher" || c.From != "USER" || c.RunID != res.RunID {
					t.Errorf("tool-output %v from %s run %s; want call-1, agent-researcher, USER, the caller's run", p, c.From, c.RunID)
				}
				sub = append(sub, out["type"].(string))
				if out["runId"] == res.RunID {
					t.Errorf("sub-agent chunk carries the caller's run id")
				}
			case ChunkToolResult:
				result = payload(t, c)["result"].(map[string]any)
			}
		}
		if got, want := compact(sub), "start,step-start,text-start,text-delta,text-end,step-finish,finish"; got != want {
			t.Errorf("sub-agent chunks = %s; want %s", got, want)
		}
		subRes := "alice/agent-researcher"
		subThread, _ := result["subAgentThreadId"].(string)
		if result["text"] != "found: look up Oslo" || result["subAgentResourceId"] != subRes || !strings.HasPrefix(subThread, "th-a-researcher-") ||
			result["finishReason"] != "stop" {
			t.Errorf("tool result = %v; want the researcher's text, its own thread and resource %s", result, subRes)
		}
		if res.Text != "done: found: look up Oslo" {
			t.Errorf("reply = %q; want the supervisor's answer built on the sub-agent's text alone", res.Text)
		}

		var resReq llmtest.Request
		for _, r := range fake.Requests() {
			if r.Model == "res" {
				resReq = r
			}
		}
		var roles []string
		for _, m := range resReq.Messages {
			roles = append(roles, m.Role+":"+m.Text())
			if m.Role == "tool" || len(m.ToolCalls) > 0 {
				t.Errorf("sub-agent was sent a tool part: %+v", m)
			}
		}
		if got, want := strings.Join(roles, "|"), "system:Research.|user:weather in Oslo?|user:look up Oslo"; got != want {
			t.Errorf("sub-agent prompt = %s; want %s", got, want)
		}

		if _, err := store.Thread(ctx, "bob", subThread); err == nil {
			t.Errorf("the model's resourceId reached the store")
		}
		th, err := store.Thread(ctx, subRes, subThread)
		if err != nil || th.ResourceID != subRes {
			t.Fatalf("sub-agent thread = %+v, %v; want it under %s", th, err, subRes)
		}
		if msgs := messages(t, store, subThread); len(msgs) != 2 || content(t, msgs[1]).Content != "found: look up Oslo" {
			t.Errorf("sub-agent thread holds %d messages; want its prompt and reply", len(msgs))
		}
		if msgs := messages(t, store, "th-a"); len(msgs) != 2 {
			t.Errorf("caller's thread holds %d messages; want its own 2", len(msgs))
		}
	})
}

// A shared sub-agent keeps one thread per conversation under the caller's
// resource: its second delegation in a conversation remembers the first.
// Generate delegates too, without chunks.
func TestDelegationSharedMemory(t *testing.T) {
	store := sqliteStore(t)
	ctx := context.Background()
	fake := llmtest.NewServer(t, func(req llmtest.Request) llmtest.Reply {
		last := req.Last()
		if req.Model == "boss" {
			if last.Role == "tool" {
				return llmtest.Reply{Text: "ok"}
			}
			return llmtest.Reply{Calls: []llmtest.Call{{ID: "c", Name: "agent-writer", Args: `{"prompt":"draft ` + last.Text() + `"}`}}}
		}
		return supervisorScript("")(req)
	})
	svc := newService(t, store, supervisorAgents(fake.Model(0))...)
	for _, msg := range []string{"one", "two"} {
		res, err := svc.Generate(ctx, Input{AgentID: "boss", ResourceID: "alice", ThreadID: "th-w", Messages: user(msg)})
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if len(res.ToolResults) != 1 {
			t.Fatalf("tool results = %d; want 1", len(res.ToolResults))
		}
	}
	th, err := store.Thread(ctx, "alice", "th-w-agent-writer")
	if err != nil {
		t.Fatalf("writer's thread: %v", err)
	}
	msgs := messages(t, store, th.ID)
	if len(msgs) != 4 {
		t.Fatalf("writer's thread holds %d messages; want 4 (two delegations)", len(msgs))
	}
	second := content(t, msgs[3]).Content
	if !strings.Contains(second, "user:draft one") || !strings.Contains(second, "user:draft two") {
		t.Errorf("second delegation saw %q; want its first prompt remembered and its own", second)
	}
}

// A delegation cycle, an unknown sub-agent and a tool named like a
// delegation are refused when the service is made.
func TestSubAgentsChecked(t *testing.T) {
	m := llm.Echo{}
	_, err := NewService(nil, []*Agent{
		{ID: "a", Model: m, SubAgents: []SubAgent{{ID: "b"}}},
		{ID: "b", Model: m, SubAgents: []SubAgent{{ID: "c"}}},
		{ID: "c", Model: m, SubAgents: []SubAgent{{ID: "a"}}},
	}, "", nil)
	if err == nil || !strings.Contains(err.Error(), "delegation cycle a → b → c → a") {
		t.Errorf("cycle: %v; want the cycle named", err)
	}
	_, err = NewService(nil, []*Agent{{ID: "a", Model: m, SubAgents: []SubAgent{{ID: "a"}}}}, "", nil)
	if err == nil || !strings.Contains(err.Error(), "delegation cycle a → a") {
		t.Errorf("self: %v; want the cycle named", err)
	}
	_, err = NewService(nil, []*Agent{{ID: "a", Model: m, SubAgents: []SubAgent{{ID: "zz"}}}}, "", nil)
	if err == nil || !strings.Contains(err.Error(), `sub-agent "zz" is not an agent`) {
		t.Errorf("unknown: %v", err)
	}
	_, err = NewService(nil, []*Agent{{ID: "a", Model: m, SubAgents: []SubAgent{{ID: "b", Memory: "global"}}}, {ID: "b", Model: m}}, "", nil)
	if err == nil || !strings.Contains(err.Error(), `memory "global"`) {
		t.Errorf("memory mode: %v", err)
	}
}

// A supervisor with require_approval waits before delegating; once
// approved (by another instance), the delegation runs with the caller's
// conversation, streams its chunks as tool-output and the turn completes.
func TestDelegationAfterApproval(t *testing.T) {
	store := sqliteStore(t)
	ctx := context.Background()
	fake := llmtest.NewServer(t, supervisorScript(`{"prompt":"look up Oslo"}`))
	agents := func() []*Agent {
		as := supervisorAgents(fake.Model(0))
		as[0].RequireApproval = true
		return as
	}
	one := newService(t, store, agents()...)
	var rec recorder
	res, err := one.Stream(ctx, Input{AgentID: "boss", ResourceID: "alice", ThreadID: "th-ap", Messages: user("weather in Oslo?")}, rec.emit)
	if err != nil || res.FinishReason != FinishSuspended || res.Suspension.ToolName != "agent-researcher" {
		t.Fatalf("Stream = %v, %+v; want it waiting for approval of agent-researcher", err, res)
	}
	for _, r := range fake.Requests() {
		if r.Model == "res" {
			t.Fatal("the sub-agent ran before the approval")
		}
	}
	two := newService(t, store, agents()...)
	var rec2 recorder
	res2, err := two.ResumeStream(ctx, Resume{AgentID: "boss", RunID: res.RunID, ResourceID: "alice", ToolCallID: "call-1", Approved: ptr(true)}, rec2.emit)
	if err != nil {
		t.Fatalf("ResumeStream: %v", err)
	}
	if res2.Text != "done: found: look up Oslo" {
		t.Errorf("resumed reply = %q; want the delegation's text relayed", res2.Text)
	}
	if got := compact(rec2.types()); !strings.HasPrefix(got, "start,tool-call,tool-output,tool-result,") {
		t.Errorf("resumed chunks = %s; want the delegation streamed as tool-output", got)
	}
	var resReq llmtest.Request
	for _, r := range fake.Requests() {
		if r.Model == "res" {
			resReq = r
		}
	}
	if len(resReq.Messages) != 3 || resReq.Messages[1].Text() != "weather in Oslo?" {
		t.Errorf("sub-agent was sent %+v; want its system prompt, the caller's question and its prompt", resReq.Messages)
	}
}

// counting is a scripted model that counts its calls.
type counting struct {
	mu sync.Mutex
	n  int
}

func (c *counting) model() scripted {
	return func(llm.Request) *llm.Response {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		return &llm.Response{Text: "A title", FinishReason: llm.FinishStop}
	}
}

func (c *counting) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// A delegation's thread gets no generated title (no model call for it),
// while the caller's new thread does.
func TestDelegationThreadsAreNotTitled(t *testing.T) {
	store := sqliteStore(t)
	var bossTitles, subTitles counting
	svc := newService(t, store,
		&Agent{ID: "boss", Model: bossModel("agent-scout"), Provider: "test", GenerateTitle: true, TitleModel: bossTitles.model(),
			SubAgents: []SubAgent{{ID: "scout"}}},
		&Agent{ID: "scout", Model: parrot, Provider: "test", GenerateTitle: true, TitleModel: subTitles.model()},
	)
	if _, err := svc.Generate(context.Background(), Input{AgentID: "boss", ResourceID: "alice", Messages: user("hi")}); err != nil {
		t.Fatal(err)
	}
	svc.bg.wg.Wait() // every title job started has ended
	if bossTitles.calls() != 1 || subTitles.calls() != 0 {
		t.Errorf("title calls: caller %d, sub-agent %d; want 1 and 0", bossTitles.calls(), subTitles.calls())
	}
}

// A sub-agent whose model fails is a tool error the supervisor's model
// sees with a safe message (not the provider's text), and the turn goes on.
func TestDelegationFailureIsAToolError(t *testing.T) {
	fake := llmtest.NewServer(t, func(req llmtest.Request) llmtest.Reply {
		if req.Model == "res" {
			return llmtest.Reply{Status: 400}
		}
		return supervisorScript(`{"prompt":"look"}`)(req)
	})
	svc := newService(t, nil, supervisorAgents(fake.Model(0))...)
	var rec recorder
	res, err := svc.Stream(context.Background(), Input{AgentID: "boss", ResourceID: "alice", Messages: user("hi")}, rec.emit)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	var toolErr string
	for _, c := range rec.chunks {
		if c.Type == ChunkToolError {
			toolErr = payload(t, c)["error"].(map[string]any)["message"].(string)
		}
	}
	if toolErr != "tool failed: agent researcher: model provider error" || strings.Contains(res.Text, "secret-sauce") ||
		!strings.HasPrefix(res.Text, "done: ") || res.FinishReason != "stop" {
		t.Errorf("tool error %q, reply %q (%s); want a safe message and the turn completed", toolErr, res.Text, res.FinishReason)
	}
}

// TestApprovalInsideSubAgent: a sub-agent's tool call that needs approval
// suspends the delegation and the caller's turn, shown as Mastra's: the
// caller's tool-call-approval under the caller's call id, with the
// sub-agent's tool and args. Approving the caller's run (on another
// instance) resumes the sub-agent's run: its tool runs once, its answer is
// the delegation's result, and the caller's turn completes; declining
// tells the sub-agent's model, whose answer goes up the same way.
func TestApprovalInsideSubAgent(t *testing.T) {
	for _, approve := range []bool{true, false} {
		t.Run(fmt.Sprint("approve=", approve), func(t *testing.T) {
			store := sqliteStore(t)
			ctx := context.Background()
			fake := llmtest.NewServer(t, func(req llmtest.Request) llmtest.Reply {
				last := req.Last()
				switch {
				case last.Role == "tool" && req.Model == "boss":
					return llmtest.Reply{Text: "done: " + last.Text()}
				case last.Role == "tool":
					return llmtest.Reply{Text: "found: " + last.Text()}
				case req.Model == "boss":
					return llmtest.Reply{Calls: []llmtest.Call{{ID: "call-1", Name: "agent-researcher", Args: `{"prompt":"weather in Paris"}`}}}
				}
				return llmtest.Reply{Calls: []llmtest.Call{parisCall}}
			})
			tool := &weather{}
			agents := func() []*Agent {
				as := supervisorAgents(fake.Model(0))
				as[1].Tools, as[1].RequireApproval = []Tool{tool}, true
				return as
			}
			one := newService(t, store, agents()...)
			var rec recorder
			res, err := one.Stream(ctx, Input{AgentID: "boss", ResourceID: "alice", ThreadID: "th-sub", Messages: user("weather?")}, rec.emit)
			if err != nil || res.FinishReason != FinishSuspended {
				t.Fatalf("Stream = %v, %+v; want it waiting", err, res)
			}
			last := rec.chunks[len(rec.chunks)-2]
			p := payload(t, last)
			if last.Type != ChunkToolCallApproval || p["toolCallId"] != "call-1" || p["toolName"] != "weather" ||
				p["args"].(map[string]any)["city"] != "Paris" {
				t.Fatalf("chunks %s; approval %v; want the caller's call id with the sub-agent's tool", compact(rec.types()), p)
			}
			if res.Suspension.ParentToolName != "agent-researcher" || res.Suspension.DelegatedRunID == "" {
				t.Errorf("suspension = %+v; want the parent tool and the sub-agent's run", res.Suspension)
			}
			if len(tool.seen()) != 0 {
				t.Fatal("the sub-agent's tool ran before the approval")
			}
			two := newService(t, store, agents()...)
			var rec2 recorder
			res2, err := two.ResumeStream(ctx, Resume{AgentID: "boss", RunID: res.RunID, ResourceID: "alice", ToolCallID: "call-1",
				Approved: ptr(approve), Reason: "no Paris"}, rec2.emit)
			if err != nil {
				t.Fatalf("ResumeStream: %v", err)
			}
			want, ran := `done: found: {"city":"Paris"`, 1
			if !approve {
				want, ran = `done: found: "no Paris"`, 0
			}
			if !strings.HasPrefix(res2.Text, want) || len(tool.seen()) != ran {
				t.Errorf("resumed reply %q, tool ran %d; want %s…, %d", res2.Text, len(tool.seen()), want, ran)
			}
			if got := compact(rec2.types()); !strings.HasPrefix(got, "start,tool-call,tool-output,tool-result,") {
				t.Errorf("resumed chunks = %s; want the sub-agent's resumed run as tool-output", got)
			}
			if runs, _ := one.ListSuspended(ctx, "researcher", "", "", 10); len(runs) != 0 {
				t.Errorf("the sub-agent's run still waits: %+v", runs)
			}
		})
	}
}
