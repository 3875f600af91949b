package agent

import (
	"context"
	"encoding/json"
	"testing"
)

// noop is a tool that answers at once: the plain tool a delegating turn is
// compared with.
type noop struct{}

func (noop) Name() string                 { return "noop" }
func (noop) Description() string          { return "does nothing" }
func (noop) InputSchema() json.RawMessage { return nil }
func (noop) Execute(context.Context, json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`{"text":"ok"}`), nil
}

// BenchmarkDelegation measures what a delegation costs beyond the
// sub-agent's own turn, in one run, without memory and with in-process
// models (so only the server's work is counted): blocks of b.N turns of
// (a) a supervisor turn calling a plain tool, (b) the sub-agent's turn
// alone, (c) the supervisor turn delegating to the sub-agent instead.
// overhead-µs/delegation = c − a − b, in process CPU. Streamed turns
// marshal every chunk, as the HTTP layer does.
func BenchmarkDelegation(b *testing.B) {
	for _, mode := range []string{"generate", "stream"} {
		b.Run(mode, func(b *testing.B) {
			svc, err := NewService(nil, []*Agent{
				{ID: "plain", Instructions: "Delegate.", Model: bossModel("noop"), Provider: "test", Tools: []Tool{noop{}}},
				{ID: "boss", Instructions: "Delegate.", Model: bossModel("agent-sub"), Provider: "test", SubAgents: []SubAgent{{ID: "sub"}}},
				{ID: "sub", Instructions: "Answer.", Model: parrot, Provider: "test"},
			}, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			emit := func(c Chunk) error {
				_, err := json.Marshal(c)
				return err
			}
			turn := func(agentID, msg string) {
				in := Input{AgentID: agentID, ResourceID: "r", Messages: user(msg), Ephemeral: true}
				var res *Result
				var err error
				if mode == "stream" {
					res, err = svc.Stream(ctx, in, emit)
				} else {
					res, err = svc.Generate(ctx, in)
				}
				if err != nil || res.Text == "" {
					b.Fatalf("%s: %v", agentID, err)
				}
			}
			turn("boss", "hello")
			block := func(agentID, msg string) float64 {
				cpu0 := processCPU()
				for range b.N {
					turn(agentID, msg)
				}
				return float64(processCPU()-cpu0) / float64(b.N) / 1e3
			}
			b.ReportAllocs()
			b.ResetTimer()
			plain := block("plain", "hello")
			sub := block("sub", "task hello")
			boss := block("boss", "hello")
			b.StopTimer()
			b.ReportMetric(plain, "cpu-µs/plain-turn")
			b.ReportMetric(sub, "cpu-µs/sub-turn")
			b.ReportMetric(boss, "cpu-µs/delegating-turn")
			b.ReportMetric(boss-plain-sub, "overhead-µs/delegation")
		})
	}
}
