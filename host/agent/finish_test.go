package agent

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// TestFinishCarriesMessagesAndSteps: a streamed turn's finish payload has
// Mastra's messages {all, user, nonUser} as AI SDK model messages — the
// history, the input, and the reply with its tool call and result — and
// output.steps, one per model call; a resumed turn's too, without the
// waiting step twice.
func TestFinishCarriesMessagesAndSteps(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		f := newFake(t, llmtest.Reply{Text: "Hello."}, llmtest.Reply{Text: "Checking. ", Calls: []llmtest.Call{parisCall}},
			llmtest.Reply{Text: "It is 21C."})
		a := approvalAgent(f, &weather{})
		a.RequireApproval = false
		svc := newService(t, store, a)
		if _, err := svc.Generate(ctx, Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("hi")}); err != nil {
			t.Fatal(err)
		}
		var rec recorder
		if _, err := svc.Stream(ctx, Input{AgentID: "a", ThreadID: "t1", ResourceID: "alice", Messages: user("weather in Paris?")}, rec.emit); err != nil {
			t.Fatal(err)
		}
		fin := rec.chunks[len(rec.chunks)-1]
		if fin.Type != ChunkFinish {
			t.Fatalf("last chunk %s", fin.Type)
		}
		var p struct {
			Messages struct{ All, User, NonUser []modelMessage }
			Output   struct{ Steps []stepValue }
		}
		b, _ := json.Marshal(fin.Payload)
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		roles := func(ms []modelMessage) string {
			var s string
			for _, m := range ms {
				s += m.Role + ":"
				for _, c := range m.Content {
					s += c.Type + ","
				}
				s += " "
			}
			return s
		}
		if got, want := roles(p.Messages.User), "user:text, "; got != want {
			t.Errorf("user = %q; want %q", got, want)
		}
		if got, want := roles(p.Messages.NonUser), "assistant:text,tool-call, tool:tool-result, assistant:text, "; got != want {
			t.Errorf("nonUser = %q; want %q", got, want)
		}
		if got, want := roles(p.Messages.All), "user:text, assistant:text, user:text, assistant:text,tool-call, tool:tool-result, assistant:text, "; got != want {
			t.Errorf("all = %q; want %q", got, want)
		}
		if tr := p.Messages.NonUser[1].Content[0]; tr.ToolCallID != "call_1" || tr.Output == nil || tr.Output.Type != "json" {
			t.Errorf("tool result part = %+v", tr)
		}
		if len(p.Output.Steps) != 2 || p.Output.Steps[0].StepType != "initial" || p.Output.Steps[1].StepType != "tool-result" ||
			len(p.Output.Steps[0].ToolCalls) != 1 || p.Output.Steps[1].Text != "It is 21C." {
			t.Errorf("output.steps = %+v", p.Output.Steps)
		}
	})
}

// BenchmarkFinishMessages is what the finish payload's messages and steps
// cost a turn of 20 remembered messages and two steps (a tool call and
// the answer): building them and writing them as JSON.
func BenchmarkFinishMessages(b *testing.B) {
	var prompt []llm.Message
	prompt = append(prompt, llm.Message{Role: llm.RoleSystem, Content: "You are helpful."})
	for i := 0; i < 10; i++ {
		prompt = append(prompt, llm.Message{Role: llm.RoleUser, Content: "a question of some length"},
			llm.Message{Role: llm.RoleAssistant, Content: "an answer of some more length than the question"})
	}
	input := user("weather in Paris?")
	prompt = append(prompt, input...)
	call := Chunk{Type: ChunkToolCall, Payload: ToolCallPayload{ToolCallID: "c1", ToolName: "weather", Args: json.RawMessage(`{"city":"Paris"}`)}}
	result := Chunk{Type: ChunkToolResult, Payload: toolResultPayload{ToolCallID: "c1", ToolName: "weather", Args: json.RawMessage(`{"city":"Paris"}`), Result: json.RawMessage(`{"tempC":21}`)}}
	r := &run{in: Input{Messages: input}, prompt: prompt}
	r.res.StepResults = []Step{{Text: "Checking.", ToolCalls: []Chunk{call}, ToolResults: []Chunk{result}, FinishReason: "tool-calls", Provider: "openai"},
		{Text: "It is 21C.", FinishReason: "stop", Provider: "openai"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out := struct {
			M *finishMessages `json:"messages"`
			S []stepValue     `json:"steps"`
		}{r.finishMessages(), stepValues(r.res.StepResults)}
		if _, err := json.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
}
