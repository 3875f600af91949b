package app

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/providers"
)

// defaultOpenAIModel is the model of an agent that names none while an
// OpenAI key is set.
const defaultOpenAIModel = "openai/gpt-4o-mini"

// buildAgents turns [agents.*] and [providers.*] into agents with model
// clients, one client per provider shared by its agents. An agent with no
// model gets OpenAI when a key is set, else the offline echo model, with a
// log line saying how to configure a real one.
func buildAgents(cfg *config.Config, log *slog.Logger, tools map[string]agent.Tool) ([]*agent.Agent, error) {
	var errs []error
	clients := map[string]llm.Model{}
	ids := make([]string, 0, len(cfg.Agents))
	for id := range cfg.Agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var agents []*agent.Agent
	for _, id := range ids {
		ac := cfg.Agents[id]
		ref := ac.Model
		if ref == "" {
			if cfg.Providers.OpenAI.APIKey != "" {
				ref = defaultOpenAIModel
			} else {
				ref = "echo"
				log.Warn("agent has no model: using the offline echo model, which only repeats messages (development only). "+
					"Set model = \"openai/gpt-4o-mini\" with OPENAI_API_KEY, or model = \"azure/<deployment>\" with AZURE_RESOURCE_NAME and AZURE_API_KEY",
					"agent", id)
			}
		}
		name, model, err := providers.ParseModelRef(ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("agents.%s.model = %q: %w", id, ref, err))
			continue
		}
		p, ok := providers.Lookup(name)
		if !ok {
			errs = append(errs, fmt.Errorf("agents.%s.model = %q: unknown provider %q", id, ref, name))
			continue
		}
		a := &agent.Agent{
			ID: id, Name: ac.Name, Description: ac.Description, Instructions: ac.Instructions,
			Provider: name, ModelID: model, MaxSteps: ac.MaxSteps,
			LastMessages: cfg.Memory.LastMessages,
			ModelSettings: agent.ModelSettings{Temperature: ac.Temperature, MaxTokens: ac.MaxTokens, TopP: ac.TopP, Seed: ac.Seed,
				Stop: ac.Stop, PresencePenalty: ac.PresencePenalty, FrequencyPenalty: ac.FrequencyPenalty},
		}
		switch {
		case ac.LastMessages == -1:
			a.LastMessages = 0
		case ac.LastMessages > 0:
			a.LastMessages = ac.LastMessages
		}
		if p.Kind == providers.Echo {
			a.ModelID = ""
			log.Info("agent uses the offline echo model (development only, not a real model)", "agent", id)
		}
		key := name
		if p.Kind == providers.Anthropic && (ac.ThinkingBudget != nil || ac.Cache != nil) {
			key = "agent:" + id // its own settings: a client of its own
		}
		if a.Model = clients[key]; a.Model == nil {
			a.Model, err = newModel(cfg, p, ac)
			if err != nil {
				errs = append(errs, fmt.Errorf("agents.%s.model = %q: %w", id, ref, err))
				continue
			}
			clients[key] = a.Model
		}
		for _, name := range ac.Tools {
			if t, ok := tools[name]; ok {
				a.Tools = append(a.Tools, t)
			}
		}
		agents = append(agents, a)
	}
	return agents, errors.Join(errs...)
}

// newModel builds the client of provider p from its [providers.<name>]
// table, by the kind the registry gives it; ac's overrides apply to an
// Anthropic client.
func newModel(cfg *config.Config, p providers.Provider, ac config.Agent) (llm.Model, error) {
	switch p.Kind {
	case providers.Echo:
		return llm.Echo{}, nil
	case providers.OpenAICompatible:
		s, ok := openAISettings(cfg, p.Name)
		if !ok {
			return nil, fmt.Errorf("provider %q has no [providers.%s] settings", p.Name, p.Name)
		}
		if s.APIKey == "" && s.BaseURL == p.BaseURL {
			return nil, fmt.Errorf("no %s API key: set %s (or providers.%s.api_key), or point %s at a local OpenAI-compatible server",
				p.Name, p.APIKeyEnv, p.Name, cmp.Or(p.BaseURLEnv, "providers."+p.Name+".base_url"))
		}
		return llm.NewOpenAI(llm.OpenAIConfig{Name: p.Name, APIKey: string(s.APIKey), BaseURL: s.BaseURL, Timeout: s.Timeout,
			MaxRetries: s.MaxRetries, MaxCompletionTokens: s.MaxCompletionTokens})
	case providers.Azure:
		s := cfg.Providers.Azure
		if (s.ResourceName == "" && s.Endpoint == "") || s.APIKey == "" {
			return nil, errors.New("Azure OpenAI needs AZURE_RESOURCE_NAME (or providers.azure.endpoint) and AZURE_API_KEY")
		}
		return llm.NewAzure(llm.AzureConfig{Name: p.Name, ResourceName: s.ResourceName, APIKey: string(s.APIKey), APIVersion: s.APIVersion,
			Endpoint: s.Endpoint, Timeout: s.Timeout, MaxRetries: s.MaxRetries, MaxCompletionTokens: s.MaxCompletionTokens})
	case providers.Anthropic:
		s := cfg.Providers.Anthropic
		if s.APIKey == "" && s.BaseURL == p.BaseURL {
			return nil, fmt.Errorf("no %s API key: set %s (or providers.%s.api_key)", p.Name, p.APIKeyEnv, p.Name)
		}
		c := llm.AnthropicConfig{Name: p.Name, APIKey: string(s.APIKey), BaseURL: s.BaseURL, Version: s.Version,
			Timeout: s.Timeout, MaxRetries: s.MaxRetries, MaxTokens: s.MaxTokens, Cache: s.Cache, ThinkingBudget: s.ThinkingBudget}
		if ac.ThinkingBudget != nil {
			c.ThinkingBudget = *ac.ThinkingBudget
		}
		if ac.Cache != nil {
			c.Cache = *ac.Cache
		}
		return llm.NewAnthropic(c)
	}
	return nil, fmt.Errorf("provider %q has kind %q, which no client serves", p.Name, p.Kind)
}

// openAISettings returns the [providers.<name>] table of an
// OpenAI-compatible provider. A provider added to the registry gets its
// table in config and a case here.
func openAISettings(cfg *config.Config, name string) (config.OpenAI, bool) {
	switch name {
	case "openai":
		return cfg.Providers.OpenAI, true
	}
	return config.OpenAI{}, false
}
