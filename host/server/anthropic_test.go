package server

import (
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/anthropictest"
)

// A request's seed for an Anthropic agent, which has no such field, is a
// 400 naming modelSettings.seed, before the model is called, on both
// routes; the same request without it is answered.
func TestAnthropicSeedIs400(t *testing.T) {
	store := openSQLite(t)
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Thinking: "Hmm. ", Text: "Hello from Claude"}))
	cfg := f.Config(5 * time.Second)
	cfg.ThinkingBudget = 1024
	m, err := llm.NewAnthropic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "claude", Model: m, Provider: "anthropic", ModelID: "claude-test", LastMessages: 10}}, "claude", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "anon"})

	for _, route := range []string{"generate", "stream"} {
		r := do(t, "POST", ts.URL+"/api/agents/claude/"+route, `{"messages":"hi","modelSettings":{"seed":7}}`, "Content-Type", "application/json")
		if r.status != 400 || !strings.Contains(r.raw, `"modelSettings.seed"`) || !strings.Contains(r.raw, "anthropic") {
			t.Errorf("%s with a seed = %d %s; want 400 naming modelSettings.seed", route, r.status, r.raw)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("the model got %d requests; want none", n)
	}
	r := do(t, "POST", ts.URL+"/api/agents/claude/generate", `{"messages":"hi"}`, "Content-Type", "application/json")
	if r.status != 200 || r.body["text"] != "Hello from Claude" {
		t.Errorf("generate = %d %s", r.status, r.raw)
	}
	res := post(t, ts.URL+"/api/agents/claude/stream", `{"messages":"hi"}`)
	defer res.Body.Close()
	events, done := readSSE(t, res.Body)
	var types []string
	for _, ev := range events {
		types = append(types, ev["type"].(string))
	}
	if got := strings.Join(types, ","); !done || !strings.Contains(got, "reasoning-start,reasoning-delta,reasoning-end,text-start") {
		t.Errorf("stream chunk types = %s (done %v); want reasoning chunks before the text", got, done)
	}
}
