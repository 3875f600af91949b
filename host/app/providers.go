package app

import (
	"slices"
	"sort"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server"
	"github.com/mastra-server/mastra-server/internal/providers"
)

// modelProviders lists the registry's providers, then the configuration's
// own, for GET /api/agents/providers: connected when the provider has its
// key (Azure: and its resource or endpoint), needs none and serves an
// agent, or is the built-in echo model; with the models this server's
// agents use from it.
func modelProviders(cfg *config.Config, agents []*agent.Agent) []server.ModelProvider {
	used := map[string][]string{}
	for _, a := range agents {
		for _, c := range append([]agent.Choice{{Provider: a.Provider, ModelID: a.ModelID}}, a.Fallbacks...) {
			name, model := c.Provider, c.ModelID
			if row, ok := providers.Lookup(name); ok {
				name = row.Name
			}
			if model != "" && !slices.Contains(used[name], model) {
				used[name] = append(used[name], model)
			}
			if _, ok := used[name]; !ok {
				used[name] = []string{}
			}
		}
	}
	configured := func(name string) config.Provider {
		if s, ok := cfg.Providers[name]; ok {
			return s
		}
		row, _ := providers.Lookup(name)
		for _, alias := range row.Aliases {
			if s, ok := cfg.Providers[alias]; ok {
				return s
			}
		}
		return config.Provider{}
	}
	var out []server.ModelProvider
	for _, row := range providers.All() {
		s := configured(row.Name)
		_, serves := used[row.Name]
		p := server.ModelProvider{ID: row.Name, Name: row.Name, EnvVar: row.APIKeyEnv, Models: used[row.Name]}
		switch {
		case row.Kind == providers.Echo:
			p.Connected = true
		case row.Kind == providers.Azure:
			p.Connected = s.APIKey != "" && (s.ResourceName != "" || s.Endpoint != "")
		case row.KeyOptional:
			p.Connected = serves || s.APIKey != ""
		default:
			p.Connected = s.APIKey != ""
		}
		out = append(out, p)
	}
	var custom []string
	for name := range cfg.Providers {
		if _, ok := providers.Lookup(name); !ok {
			custom = append(custom, name)
		}
	}
	sort.Strings(custom)
	for _, name := range custom {
		s := cfg.Providers[name]
		out = append(out, server.ModelProvider{ID: name, Name: name, EnvVar: s.APIKeyEnv, Connected: s.APIKey != "", Models: used[name]})
	}
	return out
}
