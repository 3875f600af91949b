package app

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
)

const defaultOpenAIModel = "openai/gpt-4o-mini"

// buildAgents turns [agents.*] and [providers.*] into agents with model
// clients. An agent with no model gets OpenAI when a key is set, else the
// offline echo model, with a log line saying how to configure a real one.
func buildAgents(cfg *config.Config, log *slog.Logger, tools map[string]agent.Tool) ([]*agent.Agent, error) {
	var (
		errs   []error
		openai *llm.OpenAI
		azure  *llm.Azure
	)
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
		provider, model, err := config.SplitModel(ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("agents.%s.model = %q: %w", id, ref, err))
			continue
		}
		a := &agent.Agent{
			ID: id, Name: ac.Name, Description: ac.Description, Instructions: ac.Instructions,
			Provider: provider, ModelID: model, MaxSteps: ac.MaxSteps,
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
		switch provider {
		case llm.ProviderEcho:
			a.Model, a.ModelID = llm.Echo{}, ""
			log.Info("agent uses the offline echo model (development only, not a real model)", "agent", id)
		case llm.ProviderOpenAI:
			p := cfg.Providers.OpenAI
			if p.APIKey == "" && p.BaseURL == config.Defaults().Providers.OpenAI.BaseURL {
				errs = append(errs, fmt.Errorf("agents.%s.model = %q: no OpenAI API key: set OPENAI_API_KEY (or providers.openai.api_key), or point OPENAI_BASE_URL at a local OpenAI-compatible server", id, ref))
				continue
			}
			if openai == nil {
				var err error
				openai, err = llm.NewOpenAI(llm.OpenAIConfig{Name: provider, APIKey: string(p.APIKey), BaseURL: p.BaseURL, Timeout: p.Timeout,
					MaxRetries: p.MaxRetries, MaxCompletionTokens: p.MaxCompletionTokens})
				if err != nil {
					errs = append(errs, err)
					continue
				}
			}
			a.Model = openai
		case llm.ProviderAzure:
			p := cfg.Providers.Azure
			if (p.ResourceName == "" && p.Endpoint == "") || p.APIKey == "" {
				errs = append(errs, fmt.Errorf("agents.%s.model = %q: Azure OpenAI needs AZURE_RESOURCE_NAME (or providers.azure.endpoint) and AZURE_API_KEY", id, ref))
				continue
			}
			if azure == nil {
				var err error
				azure, err = llm.NewAzure(llm.AzureConfig{Name: provider, ResourceName: p.ResourceName, APIKey: string(p.APIKey), APIVersion: p.APIVersion,
					Endpoint: p.Endpoint, Timeout: p.Timeout, MaxRetries: p.MaxRetries, MaxCompletionTokens: p.MaxCompletionTokens})
				if err != nil {
					errs = append(errs, err)
					continue
				}
			}
			a.Model = azure
		default:
			errs = append(errs, fmt.Errorf("agents.%s.model = %q: unknown provider %q", id, ref, provider))
			continue
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
