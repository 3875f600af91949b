package metrics

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// BenchmarkTurnHooks is what metrics add to one turn with a tool: the
// request's start and end, the turn, two model calls and one tool call.
// Compare with the CPU of a whole turn (tests/ops BenchmarkTurn).
func BenchmarkTurnHooks(b *testing.B) {
	m := New()
	h, ag := m.HTTP(), m.Agents()
	a := &agent.Agent{ID: "a", Provider: "openai", ModelID: "gpt-4o-mini"}
	req := httptest.NewRequest("POST", "/api/agents/a/generate", nil)
	resp := &llm.Response{Usage: llm.Usage{InputTokens: 100, OutputTokens: 20}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		info := &transport.Info{Method: "POST", Start: time.Now()}
		h.Start(req, info)
		_, end := ag.StartTurn(ctx, agent.TurnInfo{Agent: a})
		for range 2 {
			_, mc := ag.StartModelCall(ctx, agent.ModelCallInfo{Agent: a, Provider: "openai", Model: "gpt-4o-mini"})
			mc.FirstChunk()
			mc.End(resp, nil)
		}
		_, tend := ag.StartToolCall(ctx, agent.ToolCallInfo{Agent: a, Tool: "weather", Known: true})
		tend(agent.ToolCallEnd{Outcome: agent.ToolOK})
		end(agent.TurnEnd{Outcome: agent.OutcomeOK})
		info.Route, info.Status, info.Duration = "/api/agents/:agentId/generate", 200, time.Millisecond
		h.End(ctx, info)
	}
}
