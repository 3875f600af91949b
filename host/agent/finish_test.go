package agent

import (
	"context"
	"encoding/json"
	"testing"

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
