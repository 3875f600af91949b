package agent

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// TestNetworkStreams: a network turn of the supervisor routes to its
// researcher, which runs, and then finds the task complete. The stream is
// Mastra's network chunk families in Mastra's order, the sub-agent's own
// chunks inside agent-execution-event-* with the execution's run id, and
// the final answer in network-execution-event-finish; the turn is saved in
// the thread named by the run.
func TestNetworkStreams(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		fake := llmtest.NewServer(t, supervisorScript(`{"prompt":"look up Oslo"}`))
		svc := newService(t, store, supervisorAgents(fake.Model(0))...)
		var rec recorder
		res, err := svc.RunNetwork(ctx, Input{AgentID: "boss", ResourceID: "alice", Messages: user("weather in Oslo?")}, Network{}, rec.emit)
		if err != nil {
			t.Fatalf("RunNetwork: %v", err)
		}
		got := compact(rec.types())
		want := "routing-agent-start,routing-agent-end,agent-execution-start,agent-execution-event-start,agent-execution-event-step-start," +
			"agent-execution-event-text-start,agent-execution-event-text-delta,agent-execution-event-text-end,agent-execution-event-step-finish," +
			"agent-execution-event-finish,agent-execution-end,network-execution-event-step-finish,routing-agent-start,routing-agent-text-start," +
			"routing-agent-text-delta,routing-agent-end,network-execution-event-step-finish,network-validation-start,network-validation-end," +
			"network-execution-event-finish"
		if got != want {
			t.Fatalf("chunks =\n%s\nwant\n%s", got, want)
		}
		var execID string
		for _, c := range rec.chunks {
			if c.From != NetworkFrom || c.RunID != res.RunID {
				t.Errorf("%s: from %s run %s; want NETWORK and the run's id", c.Type, c.From, c.RunID)
			}
			p := payload(t, c)
			switch {
			case c.Type == ChunkRoutingEnd && p["primitiveType"] == PrimitiveAgent:
				if p["primitiveId"] != "researcher" || p["prompt"] != "look up Oslo" || p["iteration"] != float64(0) || p["isComplete"] != false {
					t.Errorf("routing-agent-end = %v", p)
				}
			case c.Type == "agent-execution-start":
				execID, _ = p["runId"].(string)
				if p["agentId"] != "researcher" || execID == "" {
					t.Errorf("agent-execution-start = %v", p)
				}
			case strings.HasPrefix(c.Type, "agent-execution-event-"):
				if p["runId"] != execID || p["type"] != strings.TrimPrefix(c.Type, "agent-execution-event-") {
					t.Errorf("%s payload = %v; want the inner chunk with the execution's run id", c.Type, p)
				}
			case c.Type == "agent-execution-end":
				if p["result"] != "found: look up Oslo" || p["agentId"] != "researcher" {
					t.Errorf("agent-execution-end = %v", p)
				}
			case c.Type == ChunkRoutingEnd:
				if p["primitiveType"] != PrimitiveNone || p["isComplete"] != true || p["iteration"] != float64(1) {
					t.Errorf("final routing-agent-end = %v", p)
				}
			case c.Type == ChunkNetworkFinish:
				if p["result"] != "done: found: look up Oslo" || p["isComplete"] != true || p["completionReason"] != "Task complete" ||
					p["threadId"] != res.RunID || p["threadResourceId"] != "alice" || p["task"] != "weather in Oslo?" {
					t.Errorf("network-execution-event-finish = %v", p)
				}
			}
		}
		if res.ThreadID != res.RunID {
			t.Errorf("thread %s; want the run's id %s (Mastra's default)", res.ThreadID, res.RunID)
		}
		if msgs := messages(t, store, res.ThreadID); len(msgs) != 2 {
			t.Errorf("thread has %d messages; want the task and the reply", len(msgs))
		}
	})
}

// TestNetworkMaxIterations: a routing agent that never finds the task
// complete stops after MaxIterations+1 primitives (Mastra's loop counts
// from 0), and the finish says so with the last primitive's result.
func TestNetworkMaxIterations(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		tool := &weather{}
		f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Calls: []llmtest.Call{{ID: "call_2", Name: "weather", Args: `{"city":"Rome"}`}}},
			llmtest.Reply{Text: "never asked"})
		a := approvalAgent(f, tool)
		a.RequireApproval = false
		svc := newService(t, store, a)
		var rec recorder
		if _, err := svc.RunNetwork(ctx, Input{AgentID: "a", ResourceID: "alice", Messages: user("weather?")}, Network{MaxIterations: 1}, rec.emit); err != nil {
			t.Fatalf("RunNetwork: %v", err)
		}
		if n := len(tool.seen()); n != 2 {
			t.Errorf("tool ran %d times; want 2", n)
		}
		last := rec.chunks[len(rec.chunks)-1]
		p := payload(t, last)
		if last.Type != ChunkNetworkFinish || p["isComplete"] != false || p["completionReason"] != "Max iterations reached: 1" ||
			p["primitiveType"] != PrimitiveTool || p["primitiveId"] != "weather" || p["iteration"] != float64(1) {
			t.Errorf("last chunk %s = %v", last.Type, p)
		}
		if !strings.Contains(compact(rec.types()), "tool-execution-start,tool-execution-end,network-execution-event-step-finish") {
			t.Errorf("chunks = %s; want tool executions", compact(rec.types()))
		}
	})
}

// TestNetworkApproval: a tool primitive that needs approval ends the
// network stream at tool-execution-approval; ResumeNetwork on another
// Service (instance) runs it and the network goes on to its finish; a
// second approval is a conflict.
func TestNetworkApproval(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		f := newFake(t, llmtest.Reply{Text: "Weather tool.", Calls: []llmtest.Call{parisCall}}, llmtest.Reply{Text: "It is 21C."})
		tool := &weather{}
		one := newService(t, store, approvalAgent(f, tool))
		var rec recorder
		res, err := one.RunNetwork(ctx, Input{AgentID: "a", ResourceID: "alice", Messages: user("weather in Paris?")}, Network{}, rec.emit)
		if err != nil {
			t.Fatalf("RunNetwork: %v", err)
		}
		last := rec.chunks[len(rec.chunks)-1]
		if last.Type != "tool-execution-approval" || res.FinishReason != FinishSuspended {
			t.Fatalf("chunks = %s, reason %s; want to end at tool-execution-approval", compact(rec.types()), res.FinishReason)
		}
		if p := payload(t, last); p["toolCallId"] != "call_1" || p["toolName"] != "weather" || p["selectionReason"] != "Weather tool." {
			t.Errorf("tool-execution-approval = %v", p)
		}
		two := newService(t, store, approvalAgent(f, tool))
		approved := true
		var rec2 recorder
		if _, err := two.ResumeNetwork(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: &approved}, rec2.emit); err != nil {
			t.Fatalf("ResumeNetwork: %v", err)
		}
		want := "tool-execution-start,tool-execution-end,network-execution-event-step-finish,routing-agent-start,routing-agent-text-start," +
			"routing-agent-text-delta,routing-agent-end,network-execution-event-step-finish,network-validation-start,network-validation-end,network-execution-event-finish"
		if got := compact(rec2.types()); got != want {
			t.Errorf("resumed chunks =\n%s\nwant\n%s", got, want)
		}
		if n := len(tool.seen()); n != 1 {
			t.Errorf("tool ran %d times; want once", n)
		}
		_, err = one.ResumeNetwork(ctx, Resume{AgentID: "a", RunID: res.RunID, ResourceID: "alice", Approved: &approved}, rec2.emit)
		if !errors.Is(err, ErrRunClaimed) {
			t.Errorf("second approval: %v; want ErrRunClaimed", err)
		}
	})
}

// A network without memory is refused before any model call.
func TestNetworkNeedsMemory(t *testing.T) {
	f := newFake(t, llmtest.Reply{Text: "no"})
	svc := newService(t, nil, approvalAgent(f, &weather{}))
	var rec recorder
	_, err := svc.RunNetwork(context.Background(), Input{AgentID: "a", ResourceID: "alice", Messages: user("hi")}, Network{}, rec.emit)
	if !errors.Is(err, ErrNetworkMemory) || len(rec.chunks) != 0 || len(f.Requests()) != 0 {
		t.Errorf("err %v, %d chunks, %d model calls; want ErrNetworkMemory before anything", err, len(rec.chunks), len(f.Requests()))
	}
}

// TestNetworkUsage: each network chunk that carries usage carries the
// tokens of its own step, as Mastra's: routing-agent-end the routing
// model call's (the one that picked the primitive, and the one that found
// the task complete), agent-execution-end the sub-agent's run, and
// agent-execution-approval the sub-agent's run until it waited.
func TestNetworkUsage(t *testing.T) {
	usage := func(in, out int) *llmtest.Usage {
		return &llmtest.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
	}
	script := func(subCalls bool) func(llmtest.Request) llmtest.Reply {
		return func(req llmtest.Request) llmtest.Reply {
			last := req.Last()
			switch {
			case req.Model == "boss" && last.Role == "tool":
				return llmtest.Reply{Text: "done: " + last.Text(), Usage: usage(300, 9)}
			case req.Model == "boss":
				return llmtest.Reply{Text: "The researcher.", Calls: []llmtest.Call{{ID: "call-1", Name: "agent-researcher", Args: `{"prompt":"weather in Paris"}`}},
					Usage: usage(100, 7)}
			case subCalls:
				return llmtest.Reply{Calls: []llmtest.Call{parisCall}, Usage: usage(40, 5)}
			}
			return llmtest.Reply{Text: "found it", Usage: usage(20, 3)}
		}
	}
	want := func(t *testing.T, what string, p map[string]any, in, out int) {
		t.Helper()
		u, _ := p["usage"].(map[string]any)
		if u["inputTokens"] != float64(in) || u["outputTokens"] != float64(out) || u["totalTokens"] != float64(in+out) {
			t.Errorf("%s usage = %v; want %d in, %d out", what, p["usage"], in, out)
		}
	}
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		fake := llmtest.NewServer(t, script(false))
		svc := newService(t, store, supervisorAgents(fake.Model(0))...)
		var rec recorder
		if _, err := svc.RunNetwork(ctx, Input{AgentID: "boss", ResourceID: "alice", Messages: user("weather?")}, Network{}, rec.emit); err != nil {
			t.Fatalf("RunNetwork: %v", err)
		}
		var seen []string
		for _, c := range rec.chunks {
			p := payload(t, c)
			switch {
			case c.Type == ChunkRoutingEnd && p["primitiveType"] == PrimitiveAgent:
				want(t, "routing-agent-end (the pick)", p, 100, 7)
			case c.Type == ChunkRoutingEnd:
				want(t, "routing-agent-end (complete)", p, 300, 9)
			case c.Type == "agent-execution-end":
				want(t, c.Type, p, 20, 3)
			default:
				continue
			}
			seen = append(seen, c.Type)
		}
		if len(seen) != 3 {
			t.Errorf("usage chunks %v; want two routing-agent-end and agent-execution-end", seen)
		}
	})
	t.Run("a sub-agent waits", func(t *testing.T) {
		store := sqliteStore(t)
		fake := llmtest.NewServer(t, script(true))
		as := supervisorAgents(fake.Model(0))
		as[1].Tools, as[1].RequireApproval = []Tool{&weather{}}, true
		svc := newService(t, store, as...)
		var rec recorder
		res, err := svc.RunNetwork(context.Background(), Input{AgentID: "boss", ResourceID: "alice", Messages: user("weather?")}, Network{}, rec.emit)
		if err != nil || res.FinishReason != FinishSuspended {
			t.Fatalf("RunNetwork = %v, %+v; want it waiting", err, res)
		}
		last := rec.chunks[len(rec.chunks)-1]
		if last.Type != "agent-execution-approval" {
			t.Fatalf("chunks %s; want to end at agent-execution-approval", compact(rec.types()))
		}
		want(t, last.Type, payload(t, last), 40, 5)
	})
}
