package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// approvalAgent is an agent whose weather tool needs approval, on a fake
// model that calls it once and then answers.
func approvalAgent(f *llmtest.Server, tool Tool) *Agent {
	return &Agent{ID: "a", Model: f.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test",
		LastMessages: 20, Tools: []Tool{tool}, RequireApproval: true}
}

var parisCall = llmtest.Call{ID: "call_1", Name: "weather", Args: `{"city":"Paris"}`}

// TestApprovalRoundTrip: a stream stops at the approval, nothing is saved
// to the thread; a second Service on the same store (another instance)
// approves, the tool runs once, the turn completes and is saved whole.
func TestApprovalRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		f := newFake(t, llmtest.Reply{Text: "Let me check. ", Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: "It is 21C."})
		tool := &weather{}
		one := newService(t, store, approvalAgent(f, tool))
		var rec recorder
		res, err := one.Stream(ctx, Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("weather in Paris?")}, rec.emit)
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		if got := compact(rec.types()); !strings.HasSuffix(got, "text-end,tool-call-input-streaming-start,tool-call-delta,tool-call-input-streaming-end,tool-call,tool-call-approval,finish") {
			t.Fatalf("chunks = %s; want the tool call, its approval request, then finish", got)
		}
		last := rec.chunks[len(rec.chunks)-1]
		if p := payload(t, last); p["stepResult"].(map[string]any)["reason"] != FinishSuspended {
			t.Errorf("finish = %v; want reason suspended", p)
		}
		ap := payload(t, rec.chunks[len(rec.chunks)-2])
		if ap["toolCallId"] != "call_1" || ap["toolName"] != "weather" || ap["args"].(map[string]any)["city"] != "Paris" ||
			!strings.Contains(ap["resumeSchema"].(string), `"approved"`) {
			t.Errorf("tool-call-approval payload = %v", ap)
		}
		if res.FinishReason != FinishSuspended || res.Suspension == nil || res.Suspension.ToolCallID != "call_1" {
			t.Errorf("result = %q %+v; want suspended on call_1", res.FinishReason, res.Suspension)
		}
		if len(tool.seen()) != 0 {
			t.Fatalf("tool ran %d times before approval", len(tool.seen()))
		}
		// The thread shows the waiting turn: the question, and the reply so
		// far naming the waiting call in its metadata.
		waiting := messages(t, store, "t1")
		if len(waiting) != 2 || waiting[1].ID != res.MessageID {
			t.Fatalf("thread while waiting has %d messages; want the user's and the reply so far", len(waiting))
		}
		wc := content(t, waiting[1])
		pend, _ := wc.Metadata["pendingToolApprovals"].(map[string]any)
		if call, _ := pend["call_1"].(map[string]any); call["toolName"] != "weather" || call["runId"] != res.RunID || call["type"] != "approval" ||
			len(wc.ToolInvocations) != 1 || wc.ToolInvocations[0].State != "call" || wc.Metadata["finishReason"] != FinishSuspended {
			t.Errorf("reply while waiting = %s; want the pending call in its metadata", waiting[1].Content)
		}

		// Another instance lists and approves it.
		two := newService(t, store, approvalAgent(f, tool))
		runs, err := two.ListSuspended(ctx, "a", "alice", "", 100)
		if err != nil || len(runs) != 1 || runs[0].RunID != res.RunID || runs[0].ThreadID != "t1" || !runs[0].Wait.Approval {
			t.Fatalf("ListSuspended = %+v, %v; want the one run", runs, err)
		}
		if n, err := two.CountSuspended(ctx); err != nil || n["a"] != 1 || len(n) != 1 {
			t.Errorf("CountSuspended = %v, %v; want a: 1", n, err)
		}
		if other, _ := two.ListSuspended(ctx, "a", "bob", "", 100); len(other) != 0 {
			t.Errorf("bob lists %d of alice's runs", len(other))
		}
		if _, err := two.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "bob", Approved: ptr(true)}); !errors.Is(err, ErrRunNotFound) {
			t.Errorf("bob approves alice's run: %v; want ErrRunNotFound", err)
		}
		if _, err := two.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", ToolCallID: "call_9", Approved: ptr(true)}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("approve of another call id: %v; want ErrInvalidInput", err)
		}
		var rec2 recorder
		res2, err := two.ResumeStream(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", ToolCallID: "call_1", Approved: ptr(true)}, rec2.emit)
		if err != nil {
			t.Fatalf("ResumeStream: %v", err)
		}
		if got := compact(rec2.types()); got != "start,tool-call,tool-result,step-finish,step-start,text-start,text-delta,text-end,step-finish,finish" {
			t.Errorf("resumed chunks = %s", got)
		}
		if res2.Text != "Let me check. It is 21C." || res2.FinishReason != "stop" || res2.Steps != 2 || res2.RunID != res.RunID {
			t.Errorf("resumed result = %q %q steps %d run %s", res2.Text, res2.FinishReason, res2.Steps, res2.RunID)
		}
		if got := tool.seen(); len(got) != 1 || got[0] != parisCall.Args {
			t.Errorf("tool ran with %v; want once with Paris", got)
		}
		reqs := f.Requests()
		if len(reqs) != 2 {
			t.Fatalf("model called %d times; want 2", len(reqs))
		}
		checkSequence(t, reqs[1])
		msgs := messages(t, store, "t1")
		if len(msgs) != 2 || msgs[0].Role != "user" || msgs[1].ID != res.MessageID {
			t.Fatalf("saved %d messages; want the user's and the reply %s", len(msgs), res.MessageID)
		}
		c := content(t, msgs[1])
		if len(c.ToolInvocations) != 1 || c.ToolInvocations[0].State != "result" || !strings.Contains(string(c.ToolInvocations[0].Result), "21") ||
			c.Metadata["pendingToolApprovals"] != nil || c.Content != "Let me check. It is 21C." {
			t.Errorf("saved reply = %s; want the tool's result and no pending approval", msgs[1].Content)
		}
		if runs, _ := two.ListSuspended(ctx, "a", "alice", "", 100); len(runs) != 0 {
			t.Errorf("after approval %d runs still wait", len(runs))
		}
		if n, _ := two.CountSuspended(ctx); n["a"] != 0 {
			t.Errorf("CountSuspended after approval = %v", n)
		}
		if _, err := one.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: ptr(true)}); !errors.Is(err, ErrRunClaimed) {
			t.Errorf("second approval: %v; want ErrRunClaimed", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestDeclineContinues: a declined call is not run; the model sees the
// reason as the tool's output and answers.
func TestDeclineContinues(t *testing.T) {
	ctx := context.Background()
	store := sqliteStore(t)
	f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: "Fine, no weather."})
	tool := &weather{}
	svc := newService(t, store, approvalAgent(f, tool))
	res, err := svc.Generate(ctx, Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("weather?")})
	if err != nil || res.FinishReason != FinishSuspended {
		t.Fatalf("Generate = %+v, %v; want suspended", res, err)
	}
	var rec recorder
	res2, err := svc.ResumeStream(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: ptr(false), Reason: "not now"}, rec.emit)
	if err != nil {
		t.Fatalf("decline: %v", err)
	}
	if got := compact(rec.types()); !strings.HasPrefix(got, "start,tool-call,tool-output-denied,step-finish,step-start") || !strings.HasSuffix(got, "finish") {
		t.Errorf("chunks = %s; want tool-output-denied and the model going on", got)
	}
	d := payload(t, rec.chunks[2])
	if ap := d["approval"].(map[string]any); ap["approved"] != false || ap["reason"] != "not now" || d["toolCallId"] != "call_1" {
		t.Errorf("tool-output-denied = %v", d)
	}
	if len(tool.seen()) != 0 {
		t.Errorf("declined tool ran")
	}
	if res2.Text != "Fine, no weather." {
		t.Errorf("text = %q", res2.Text)
	}
	reqs := f.Requests()
	last := reqs[len(reqs)-1]
	checkSequence(t, last)
	if b, _ := json.Marshal(last.Messages); !strings.Contains(string(b), "not now") {
		t.Errorf("model did not see the decline: %s", b)
	}
}

// TestConcurrentApprovals: of two approvals racing, exactly one runs the
// turn; the other is told the run was claimed.
func TestConcurrentApprovals(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		tool := &weather{}
		for round := 0; round < 3; round++ {
			f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: "done"})
			svc := newService(t, store, approvalAgent(f, tool))
			res, err := svc.Generate(ctx, Input{AgentID: "a", ResourceID: "alice", Messages: user("weather?")})
			if err != nil || res.FinishReason != FinishSuspended {
				t.Fatalf("Generate = %v; want suspended", err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = svc.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: ptr(true)})
				}()
			}
			wg.Wait()
			won, lost := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, ErrRunClaimed):
					lost++
				default:
					t.Errorf("approval: %v", err)
				}
			}
			if won != 1 || lost != 1 {
				t.Errorf("round %d: %d won, %d claimed; want 1 and 1", round, won, lost)
			}
		}
		if n := len(tool.seen()); n != 3 {
			t.Errorf("tool ran %d times in 3 rounds; want 3", n)
		}
	})
}

// asker is a tool that suspends to ask a question, and answers with the
// resume data once resumed.
type asker struct{ calls []string }

func (a *asker) Name() string        { return "ask" }
func (a *asker) Description() string { return "asks the user" }
func (a *asker) InputSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}},"additionalProperties":false}`)
}
func (a *asker) ResumeSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}`)
}
func (a *asker) Execute(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
	a.calls = append(a.calls, string(args))
	var in struct {
		Q          string          `json:"q"`
		ResumeData json.RawMessage `json:"resumeData"`
	}
	if err := json.Unmarshal(args, &in); err != nil {
		return nil, err
	}
	if in.ResumeData == nil {
		return nil, &ToolSuspend{Payload: json.RawMessage(`{"question":"` + in.Q + `"}`)}
	}
	return in.ResumeData, nil
}

// TestToolSuspends: a tool that suspends itself stops the turn with
// tool-call-suspended; resume data that does not match its resume schema
// is refused and the run keeps waiting; matching data runs the tool again
// with it, and the model goes on.
func TestToolSuspends(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{{ID: "call_q", Name: "ask", Args: `{"q":"colour?"}`}}}, llmtest.Reply{Text: "Blue it is."})
		tool := &asker{}
		svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test", Tools: []Tool{tool}})
		var rec recorder
		res, err := svc.Stream(ctx, Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("pick a colour")}, rec.emit)
		if err != nil || res.FinishReason != FinishSuspended {
			t.Fatalf("Stream = %v; want suspended", err)
		}
		if got := compact(rec.types()); !strings.HasSuffix(got, "tool-call,tool-call-suspended,finish") {
			t.Fatalf("chunks = %s", got)
		}
		p := payload(t, rec.chunks[len(rec.chunks)-2])
		if p["toolCallId"] != "call_q" || p["suspendPayload"].(map[string]any)["question"] != "colour?" || !strings.Contains(p["resumeSchema"].(string), "answer") {
			t.Errorf("tool-call-suspended = %v", p)
		}
		runs, _ := svc.ListSuspended(ctx, "a", "alice", "", 10)
		if len(runs) != 1 || runs[0].Wait.Approval || !jsonEq(runs[0].Wait.Payload, `{"question":"colour?"}`) {
			t.Fatalf("listed = %+v", runs)
		}
		if _, err := svc.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Data: json.RawMessage(`{"colour":"blue"}`)}); !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("resume with data against the schema: %v; want ErrInvalidInput", err)
		}
		var rec2 recorder
		res2, err := svc.ResumeStream(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Data: json.RawMessage(`{"answer":"blue"}`)}, rec2.emit)
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if got := compact(rec2.types()); !strings.HasPrefix(got, "start,tool-call,tool-result,step-finish") {
			t.Errorf("resumed chunks = %s", got)
		}
		if len(tool.calls) != 2 || tool.calls[1] != `{"q":"colour?","resumeData":{"answer":"blue"}}` {
			t.Errorf("tool calls = %q; want the first, then one with resumeData", tool.calls)
		}
		if res2.Text != "Blue it is." {
			t.Errorf("text = %q", res2.Text)
		}
		c := content(t, messages(t, store, "t1")[1])
		if len(c.ToolInvocations) != 1 || !jsonEq(c.ToolInvocations[0].Args, `{"q":"colour?"}`) || !jsonEq(c.ToolInvocations[0].Result, `{"answer":"blue"}`) {
			t.Errorf("saved invocation = %+v", c.ToolInvocations)
		}
	})
}

// jsonEq reports whether a is the JSON document b (Postgres's jsonb
// respaces what it keeps).
func jsonEq(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// outcomes records the outcome of each turn.
type outcomes struct {
	mu   sync.Mutex
	seen []string
}

func (o *outcomes) StartTurn(ctx context.Context, _ TurnInfo) (context.Context, func(TurnEnd)) {
	return ctx, func(e TurnEnd) { o.mu.Lock(); o.seen = append(o.seen, e.Outcome); o.mu.Unlock() }
}
func (o *outcomes) StartModelCall(ctx context.Context, _ ModelCallInfo) (context.Context, ModelCallObserver) {
	return ctx, nopModelCall{}
}
func (o *outcomes) StartToolCall(ctx context.Context, _ ToolCallInfo) (context.Context, func(ToolCallEnd)) {
	return ctx, func(ToolCallEnd) {}
}

type nopModelCall struct{}

func (nopModelCall) FirstChunk()              {}
func (nopModelCall) End(*llm.Response, error) {}

// TestSuspendedOutcome: a turn that waits is observed as "suspended", its
// resume as a turn of its own.
func TestSuspendedOutcome(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: "done"})
	svc := newService(t, sqliteStore(t), approvalAgent(f, &weather{}))
	var o outcomes
	svc.SetObserver(&o)
	res, err := svc.Generate(ctx, Input{AgentID: "a", ResourceID: "alice", Messages: user("weather?")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.seen) != "[suspended ok]" {
		t.Errorf("outcomes = %v; want [suspended ok]", o.seen)
	}
}

// TestResumeKeepsTurnOptions: a turn's structured output, active tools and
// its steps so far survive its suspension: the resumed turn answers the
// object and every step.
func TestResumeKeepsTurnOptions(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: `{"city":"Paris","tempC":21}`})
	svc := newService(t, sqliteStore(t), approvalAgent(f, &weather{}))
	schema := json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"tempC":{"type":"number"}},"required":["city","tempC"],"additionalProperties":false}`)
	res, err := svc.Generate(ctx, Input{AgentID: "a", ResourceID: "alice", Messages: user("weather?"),
		StructuredOutput: &StructuredOutput{Schema: schema}, ActiveTools: []string{"weather"}})
	if err != nil || res.FinishReason != FinishSuspended {
		t.Fatalf("Generate = %v; want suspended", err)
	}
	res2, err := svc.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEq(res2.Object, `{"city":"Paris","tempC":21}`) {
		t.Errorf("object = %s; want the structured answer", res2.Object)
	}
	if len(res2.StepResults) != 2 || len(res2.StepResults[0].ToolCalls) != 1 {
		t.Fatalf("steps = %+v; want the step before the suspension and the one after", res2.StepResults)
	}
	if _, ok := res2.StepResults[0].ToolCalls[0].Payload.(ToolCallPayload); !ok {
		t.Errorf("first step's tool call payload is %T; want ToolCallPayload", res2.StepResults[0].ToolCalls[0].Payload)
	}
	reqs := f.Requests()
	if last := reqs[len(reqs)-1]; len(last.Tools) != 1 || last.Tools[0].Function.Name != "weather" {
		t.Errorf("resumed model call offered %+v; want the active tool only", last.Tools)
	}
}

// TestIdempotentRetryOfAResumedTurn: a retry of the request whose turn
// waited, and was then approved, answers with the completed turn.
func TestIdempotentRetryOfAResumedTurn(t *testing.T) {
	ctx := context.Background()
	store := sqliteStore(t)
	f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: "It is 21C."})
	svc := newService(t, store, approvalAgent(f, &weather{}))
	in := Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("weather?"), IdempotencyKey: "k1"}
	res, err := svc.Generate(ctx, in)
	if err != nil || res.FinishReason != FinishSuspended {
		t.Fatalf("Generate = %v", err)
	}
	if _, err := svc.ResumeGenerate(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	again, err := svc.Generate(ctx, in)
	if err != nil || !again.Replayed || again.Text != "It is 21C." || again.FinishReason != "stop" {
		t.Fatalf("retry = %+v, %v; want the completed turn replayed", again, err)
	}
	if n := len(f.Requests()); n != 2 {
		t.Errorf("model called %d times; want 2 (the retry calls none)", n)
	}
}

// TestIdempotentRetryWhileWaiting: a retry of a request whose turn still
// waits answers it as waiting, with the call it waits for.
func TestIdempotentRetryWhileWaiting(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: "It is 21C."})
	svc := newService(t, sqliteStore(t), approvalAgent(f, &weather{}))
	in := Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("weather?"), IdempotencyKey: "k1"}
	if _, err := svc.Generate(ctx, in); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	again, err := svc.Stream(ctx, in, rec.emit)
	if err != nil || !again.Replayed || again.FinishReason != FinishSuspended || again.Suspension == nil || again.Suspension.ToolCallID != "call_1" {
		t.Fatalf("retry = %+v, %v; want the waiting turn replayed", again, err)
	}
	if got := compact(rec.types()); got != "start,step-start,tool-call-approval,finish" {
		t.Errorf("replayed chunks = %s", got)
	}
	if p := payload(t, rec.chunks[2]); p["toolName"] != "weather" || !strings.Contains(p["resumeSchema"].(string), "approved") {
		t.Errorf("replayed approval = %v", p)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("model called %d times; want 1", n)
	}
}

// TestApprovalsOfOneStep: a step with two calls that need approval
// announces both at once; each is decided on its own, in any order (here
// the second first, on another instance): the run waits until the last is
// decided, and only then does the model go on, with both answers.
func TestApprovalsOfOneStep(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		romeCall := llmtest.Call{ID: "call_2", Name: "weather", Args: `{"city":"Rome"}`}
		f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall, romeCall}}, llmtest.Reply{Text: "Rome is 21C."})
		tool := &weather{}
		one := newService(t, store, approvalAgent(f, tool))
		var rec recorder
		res, err := one.Stream(ctx, Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("weather?")}, rec.emit)
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		var announced []string
		for _, c := range rec.chunks {
			if c.Type == ChunkToolCallApproval {
				announced = append(announced, payload(t, c)["toolCallId"].(string))
			}
		}
		if strings.Join(announced, ",") != "call_1,call_2" || res.FinishReason != FinishSuspended {
			t.Fatalf("approvals announced %v, reason %s; want both calls, suspended", announced, res.FinishReason)
		}
		runs, err := one.ListSuspended(ctx, "a", "alice", "", 10)
		if err != nil || len(runs) != 1 || len(runs[0].Waits) != 2 {
			t.Fatalf("ListSuspended = %+v, %v; want one run waiting for two calls", runs, err)
		}

		two := newService(t, store, approvalAgent(f, tool))
		yes, no := true, false
		var rec2 recorder
		res2, err := two.ResumeStream(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", ToolCallID: "call_2", Approved: &yes}, rec2.emit)
		if err != nil {
			t.Fatalf("approve call_2: %v", err)
		}
		if got := compact(rec2.types()); got != "start,tool-call-approval,tool-call,tool-result,finish" || res2.FinishReason != FinishSuspended {
			t.Errorf("after approving call_2: chunks %s, reason %s; want call_1 announced again, call_2 run, suspended", got, res2.FinishReason)
		}
		if seen := tool.seen(); len(seen) != 1 || !strings.Contains(seen[0], "Rome") {
			t.Errorf("tool ran %v; want Rome only", seen)
		}
		if len(f.Requests()) != 1 {
			t.Errorf("the model was called %d times; want it to wait for call_1", len(f.Requests()))
		}
		_, err = one.ResumeStream(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", ToolCallID: "call_2", Approved: &yes}, rec2.emit)
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("approving call_2 again: %v; want ErrInvalidInput (only call_1 waits)", err)
		}
		var rec3 recorder
		res3, err := one.ResumeStream(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", ToolCallID: "call_1", Approved: &no}, rec3.emit)
		if err != nil {
			t.Fatalf("decline call_1: %v", err)
		}
		if res3.FinishReason != llm.FinishStop || res3.Text != "Rome is 21C." || len(tool.seen()) != 1 {
			t.Errorf("after declining call_1: %s %q, tool ran %d; want the model's answer, the tool once", res3.FinishReason, res3.Text, len(tool.seen()))
		}
		reqs := f.Requests()
		last := reqs[len(reqs)-1]
		var answers []string
		for _, m := range last.Messages {
			if m.Role == "tool" {
				answers = append(answers, m.ToolCallID)
			}
		}
		if len(answers) != 2 {
			t.Errorf("the model's last prompt answers calls %v; want both", answers)
		}
		if runs, _ := one.ListSuspended(ctx, "a", "alice", "", 10); len(runs) != 0 {
			t.Errorf("%d runs still wait", len(runs))
		}
	})
}
