package app

import (
	"testing"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server"
)

// TestModelProviders: /api/agents/providers lists the registry and the
// configuration's own providers, connected when they have their key (or
// need none and serve an agent), with the models the agents use.
func TestModelProviders(t *testing.T) {
	cfg := &config.Config{Providers: map[string]config.Provider{
		"openai": {APIKey: "sk-test"},
		"azure":  {APIKey: "k"}, // no resource: cannot answer
		"mine":   {Kind: "openai", APIKeyEnv: "MINE_KEY", APIKey: "m"},
	}}
	agents := []*agent.Agent{
		{ID: "a", Provider: "openai", ModelID: "gpt-4o-mini", Fallbacks: []agent.Choice{{Provider: "ollama", ModelID: "llama3"}}},
		{ID: "b", Provider: "openai", ModelID: "gpt-4o-mini"},
		{ID: "c", Provider: "mine", ModelID: "m1"},
	}
	got := map[string]server.ModelProvider{}
	var order []string
	for _, p := range modelProviders(cfg, agents) {
		got[p.ID] = p
		order = append(order, p.ID)
	}
	for _, c := range []struct {
		id        string
		connected bool
		models    []string
	}{
		{"openai", true, []string{"gpt-4o-mini"}},
		{"azure", false, nil},
		{"anthropic", false, nil},
		{"ollama", true, []string{"llama3"}}, // needs no key, serves a fallback
		{"lmstudio", false, nil},
		{"echo", true, nil},
		{"mine", true, []string{"m1"}},
	} {
		p, ok := got[c.id]
		if !ok || p.Connected != c.connected || len(p.Models) != len(c.models) || (len(c.models) > 0 && p.Models[0] != c.models[0]) {
			t.Errorf("provider %s = %+v (listed %v); want connected %v, models %v", c.id, p, ok, c.connected, c.models)
		}
	}
	if got["openai"].EnvVar != "OPENAI_API_KEY" || got["mine"].EnvVar != "MINE_KEY" {
		t.Errorf("env vars: openai %q, mine %q", got["openai"].EnvVar, got["mine"].EnvVar)
	}
	if order[0] != "openai" || order[len(order)-1] != "mine" {
		t.Errorf("order %v; want the registry's, then the configuration's own", order)
	}
}
