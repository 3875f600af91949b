package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/providers"
)

// defaultOpenAIModel is the model of an agent that names none while an
// OpenAI key is set.
const defaultOpenAIModel = "openai/gpt-4o-mini"

// buildAgents turns [agents.*] and [providers.*] into agents with model
// clients, one client per provider shared by its agents. An agent's model
// list gives its model and then its fallbacks. An agent with no model gets
// OpenAI when a key is set, else the offline echo model, each with a
// warning saying how to choose one. Provider credentials no agent uses get
// one warning naming them. Each fallback is logged and handed to
// onFallback (nil: none).
func buildAgents(cfg *config.Config, log *slog.Logger, tools map[string]agent.Tool, client *http.Client, onFallback func(agent.FallbackEvent)) ([]*agent.Agent, error) {
	var errs []error
	clients := map[string]llm.Model{}
	used := map[string]bool{}
	ids := make([]string, 0, len(cfg.Agents))
	for id := range cfg.Agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var agents []*agent.Agent
	// Said once for all the agents concerned, after the loop, not per agent.
	var noModel, onEcho []string
	for _, id := range ids {
		ac := cfg.Agents[id]
		refs := ac.Model
		if len(refs) == 0 {
			if cfg.Providers["openai"].APIKey != "" {
				refs = config.ModelList{defaultOpenAIModel}
			} else {
				refs = config.ModelList{"echo"}
			}
			noModel = append(noModel, id)
		}
		var choices []agent.Choice
		for _, ref := range refs {
			c, err := choice(cfg, clients, id, ac, ref, client)
			if err != nil {
				errs = append(errs, fmt.Errorf("agents.%s.model = %q: %w", id, ref, err))
				continue
			}
			used[c.Provider] = true
			if c.Provider == llm.ProviderEcho && len(ac.Model) > 0 {
				onEcho = append(onEcho, id)
			}
			choices = append(choices, c)
		}
		if len(choices) != len(refs) {
			continue
		}
		a := &agent.Agent{
			ID: id, Name: ac.Name, Description: ac.Description, Instructions: ac.Instructions,
			Model: choices[0].Model, Provider: choices[0].Provider, ModelID: choices[0].ModelID,
			NoJSONSchema: choices[0].NoJSONSchema, Fallbacks: choices[1:],
			OnFallback: func(ev agent.FallbackEvent) {
				log.Warn("model failed before its first token: falling back to the next model",
					"agent", ev.AgentID, "run", ev.RunID, "from", ev.From, "to", ev.To, "error", ev.Err.Error())
				if onFallback != nil {
					onFallback(ev)
				}
			},
			MaxSteps: ac.MaxSteps, LastMessages: cfg.Memory.LastMessages,
			ModelSettings: agent.ModelSettings{Temperature: ac.Temperature, MaxTokens: ac.MaxTokens, TopP: ac.TopP, Seed: ac.Seed,
				Stop: ac.Stop, PresencePenalty: ac.PresencePenalty, FrequencyPenalty: ac.FrequencyPenalty},
		}
		switch {
		case ac.LastMessages == -1:
			a.LastMessages = 0
		case ac.LastMessages > 0:
			a.LastMessages = ac.LastMessages
		}
		for _, name := range ac.Tools {
			ts := []agent.Tool{tools[name]}
			if ts[0] == nil {
				// "mcp:<client>" stands for every tool listed under
				// "mcp:<client>/"; one also named alone is taken once.
				ts = toolsUnder(tools, name+"/")
			}
			for _, t := range ts {
				if !slices.ContainsFunc(a.Tools, func(o agent.Tool) bool { return o.Name() == t.Name() }) {
					a.Tools = append(a.Tools, t)
				}
			}
		}
		for _, sub := range ac.Agents {
			a.SubAgents = append(a.SubAgents, agent.SubAgent{ID: sub, Memory: ac.SubAgentMemory[sub]})
		}
		if err := memoryOptions(a, ac, func(ref string) (llm.Model, string, error) { return titleModel(cfg, clients, ref, client) }); err != nil {
			errs = append(errs, fmt.Errorf("agents.%s: %w", id, err))
			continue
		}
		if sr := ac.Memory.SemanticRecall; sr.Enabled {
			e, err := embedder(cfg, clients, used, ac.Memory.Embedder, client, log)
			if err != nil {
				errs = append(errs, fmt.Errorf("agents.%s.memory.embedder: %w", id, err))
				continue
			}
			e.TopK, e.Before, e.After, e.Scope, e.Threshold, e.Index, e.Dimensions =
				sr.TopK, *sr.Before, *sr.After, sr.Scope, sr.Threshold, sr.Index, sr.Dimensions
			ic := sr.IndexConfig
			e.IndexConfig = memory.IndexConfig{Type: ic.Type, M: ic.M, EfConstruction: ic.EfConstruction, Lists: ic.Lists, EfSearch: ic.EfSearch}
			if err := memory.CheckIndexConfig(e.IndexConfig); err != nil {
				errs = append(errs, fmt.Errorf("agents.%s.memory.semantic_recall.index_config: %w", id, err))
				continue
			}
			if sr.Filter != nil {
				if e.Filter, err = recallFilter(sr.Filter); err != nil {
					errs = append(errs, fmt.Errorf("agents.%s.memory.semantic_recall.filter: %w", id, err))
					continue
				}
			}
			a.SemanticRecall = e
		}
		agents = append(agents, a)
	}
	errs = append(errs, recallTableConflicts(agents)...)
	switch {
	case len(noModel) == 0:
	case cfg.Providers["openai"].APIKey != "":
		log.Warn("no model set: using "+defaultOpenAIModel+" because OPENAI_API_KEY is set. "+
			"Set the agents' model (or MASTRA_MODEL for the default agent) to choose one",
			"agents", noModel, "model", defaultOpenAIModel)
	default:
		log.Warn("no model set: using the offline echo model, which only repeats messages (development only). "+
			"Set MASTRA_MODEL or model = \"<provider>/<model>\" with the provider's key (e.g. OPENAI_API_KEY), "+
			"or AZURE_RESOURCE_NAME, AZURE_API_KEY and AZURE_DEPLOYMENT for Azure OpenAI",
			"agents", noModel)
	}
	if len(onEcho) > 0 {
		log.Info("the offline echo model answers (development only, not a real model)", "agents", onEcho)
	}
	if unused := unusedCredentials(cfg, used); len(unused) > 0 {
		log.Warn("provider credentials are set but no agent uses them: "+strings.Join(unused, ", ")+
			". Name the provider in an agent's model (\"<provider>/<model>\", or MASTRA_MODEL for the default agent)",
			"providers", unused)
	}
	return agents, errors.Join(errs...)
}

// recallTableConflicts is an error for each agent whose recall vectors go
// to the pgvector table of an agent before it with another
// semantic_recall.index_config, naming both: the first agent to embed creates the
// table's index (m, ef_construction, lists are fixed from then on) and
// the agent built last sets ef_search for every query on the table, so
// the difference would be settled silently by whichever came first. The
// table is known at start from index, or from dimensions; without either
// it is the embedding model's native size, unknown until it answers, but
// one model always gives one size, so agents of one model are compared.
func recallTableConflicts(agents []*agent.Agent) []error {
	type owner struct {
		id  string
		cfg memory.IndexConfig
	}
	var errs []error
	first := map[string]owner{} // by table, the first agent seen writing to it
	for _, a := range agents {
		sr := a.SemanticRecall
		if sr == nil {
			continue
		}
		table := "the recall table of " + sr.EmbedderRef + "'s vectors"
		switch {
		case sr.Index != "":
			table = "the recall table " + sr.Index
		case sr.Dimensions > 0:
			table = "the recall table " + sr.IndexName(sr.Dimensions)
		}
		cfg := sr.IndexConfig.Effective()
		o, ok := first[table]
		if !ok {
			first[table] = owner{a.ID, cfg}
			continue
		}
		if o.cfg != cfg {
			errs = append(errs, fmt.Errorf("agents.%s and agents.%s write to %s but their memory.semantic_recall.index_config differ "+
				"(%s: %v; %s: %v): the first to embed would build the table's index with its own settings; "+
				"set the same index_config on both, or a semantic_recall.index of its own on one",
				o.id, a.ID, table, o.id, o.cfg, a.ID, cfg))
		}
	}
	return errs
}

// choice resolves one model reference of agent id (settings ac) to its
// client, building the provider's client the first time. An agent with its
// own Anthropic settings (thinking_budget, cache) gets a client of its own.
// client is the HTTP client of the requests; nil: the client's own.
func choice(cfg *config.Config, clients map[string]llm.Model, id string, ac config.Agent, ref string, client *http.Client) (agent.Choice, error) {
	name, model, err := providers.ParseModelRef(ref)
	if err != nil {
		return agent.Choice{}, err
	}
	p, s, ok := cfg.Provider(name)
	if !ok {
		return agent.Choice{}, fmt.Errorf("unknown provider %q", name)
	}
	key := p.Name
	if p.Kind == providers.Anthropic && (ac.ThinkingBudget != nil || ac.Cache != nil) {
		key = p.Name + " for agent " + id
	}
	c := agent.Choice{Provider: p.Name, ModelID: model, Model: clients[key], NoJSONSchema: s.JSONSchema != nil && !*s.JSONSchema}
	if p.Kind == providers.Echo {
		c.ModelID = ""
	}
	if c.Model == nil {
		if c.Model, err = newModel(p, s, ac, client); err != nil {
			return agent.Choice{}, err
		}
		clients[key] = c.Model
	}
	return c, nil
}

// newModel builds the client of provider p with its settings s, by the
// kind the registry (or the custom provider's table) gives it; ac's
// thinking_budget and cache apply to an Anthropic client. client is the HTTP
// client of the requests; nil: the client's own.
func newModel(p providers.Provider, s config.Provider, ac config.Agent, client *http.Client) (llm.Model, error) {
	switch p.Kind {
	case providers.Echo:
		return llm.Echo{}, nil
	case providers.OpenAICompatible:
		if s.APIKey == "" && keyRequired(p) {
			return nil, fmt.Errorf("provider %s needs an API key: set %s", p.Name, keyHint(p))
		}
		return llm.NewOpenAI(llm.OpenAIConfig{Name: p.Name, APIKey: string(s.APIKey), BaseURL: p.BaseURL, Timeout: s.Timeout,
			MaxRetries: s.MaxRetries, MaxCompletionTokens: s.MaxCompletionTokens, HTTPClient: client})
	case providers.Azure:
		if (s.ResourceName == "" && s.Endpoint == "") || s.APIKey == "" {
			return nil, errors.New("Azure OpenAI needs AZURE_RESOURCE_NAME (or AZURE_OPENAI_ENDPOINT) and AZURE_API_KEY")
		}
		return llm.NewAzure(llm.AzureConfig{Name: p.Name, ResourceName: s.ResourceName, APIKey: string(s.APIKey), APIVersion: s.APIVersion,
			Endpoint: s.Endpoint, Timeout: s.Timeout, MaxRetries: s.MaxRetries, MaxCompletionTokens: s.MaxCompletionTokens,
			HTTPClient: client})
	case providers.Anthropic:
		if s.APIKey == "" && keyRequired(p) {
			return nil, fmt.Errorf("provider %s needs an API key: set %s", p.Name, keyHint(p))
		}
		c := llm.AnthropicConfig{Name: p.Name, APIKey: string(s.APIKey), BaseURL: p.BaseURL, Version: s.Version,
			Timeout: s.Timeout, MaxRetries: s.MaxRetries, HTTPClient: client}
		if s.MaxTokens != nil {
			c.MaxTokens = *s.MaxTokens
		}
		if s.Cache != nil {
			c.Cache = *s.Cache
		}
		if s.ThinkingBudget != nil {
			c.ThinkingBudget = *s.ThinkingBudget
		}
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

// keyRequired reports whether provider p cannot run without a key: a
// hosted registry provider at its own URL, or a custom provider that names
// its key variable. A registry provider pointed at another URL (a local
// proxy) and a custom one without api_key_env may go without.
func keyRequired(p providers.Provider) bool {
	row, ok := providers.Lookup(p.Name)
	if !ok {
		return p.APIKeyEnv != ""
	}
	return !row.KeyOptional && p.BaseURL == row.BaseURL
}

// keyHint names where provider p's key is read from.
func keyHint(p providers.Provider) string {
	if p.APIKeyEnv != "" {
		return p.APIKeyEnv + " (or providers." + p.Name + ".api_key)"
	}
	return "providers." + p.Name + ".api_key (or name its variable in providers." + p.Name + ".api_key_env)"
}

// unusedCredentials lists the providers that have a key (or, for Azure, a
// resource) but serve no agent, sorted.
func unusedCredentials(cfg *config.Config, used map[string]bool) []string {
	var out []string
	for name, s := range cfg.Providers {
		row, ok := providers.Lookup(name)
		if ok {
			name = row.Name
		}
		if used[name] || (s.APIKey == "" && s.ResourceName == "" && s.Endpoint == "") {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// memoryOptions sets an agent's working memory and title generation from
// [agents.<id>]; model builds the client of title_model.
func memoryOptions(a *agent.Agent, ac config.Agent, model func(ref string) (llm.Model, string, error)) error {
	if wm := ac.WorkingMemory; wm.Enabled {
		a.WorkingMemory = &agent.WorkingMemory{Scope: wm.Scope, Template: wm.Template}
		if wm.Schema != "" {
			a.WorkingMemory.Schema = json.RawMessage(wm.Schema)
		}
	}
	a.GenerateTitle = ac.GenerateTitle
	a.RequireApproval = ac.RequireApproval
	if ac.GenerateTitle && ac.TitleModel != "" {
		m, id, err := model(ac.TitleModel)
		if err != nil {
			return fmt.Errorf("title_model = %q: %w", ac.TitleModel, err)
		}
		a.TitleModel, a.TitleModelID = m, id
	}
	return nil
}

// embedder builds the embedding models of refs (the first, then its
// fallbacks) from the providers' clients, shared with the chat models:
// OpenAI-compatible and Azure providers embed, Anthropic has no
// embeddings, echo is the offline EchoEmbedder.
func embedder(cfg *config.Config, clients map[string]llm.Model, used map[string]bool, refs config.ModelList, client *http.Client, log *slog.Logger) (*agent.SemanticRecall, error) {
	fb := &llm.Fallbacks{OnFallback: func(from, to string, err error) {
		log.Warn("embedding model failed: falling back to the next one", "from", from, "to", to, "error", err.Error())
	}}
	for _, ref := range refs {
		c, err := choice(cfg, clients, "", config.Agent{}, ref, client)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", ref, err)
		}
		var e llm.Embedder
		if c.Provider == llm.ProviderEcho {
			e = llm.EchoEmbedder{}
		} else if e, _ = c.Model.(llm.Embedder); e == nil {
			return nil, fmt.Errorf("%q: provider %s has no embeddings API", ref, c.Provider)
		}
		used[c.Provider] = true
		fb.Choices = append(fb.Choices, llm.EmbedChoice{Embedder: e, Ref: c.Ref(), Model: c.ModelID})
	}
	if len(fb.Choices) == 0 {
		return nil, errors.New("no embedding model: set memory.embedder or agents.<id>.memory.embedder")
	}
	return &agent.SemanticRecall{Embedder: fb, EmbedderRef: fb.Choices[0].Ref, Model: fb.Choices[0].Model}, nil
}

// modelResolver resolves the "provider/model" a request names (a
// structured output's model) among the configured providers, building
// each provider's client once; a provider without its credentials is
// refused as at start.
func modelResolver(cfg *config.Config, client *http.Client) func(ref string) (agent.Choice, error) {
	var mu sync.Mutex
	clients := map[string]llm.Model{}
	return func(ref string) (agent.Choice, error) {
		mu.Lock()
		defer mu.Unlock()
		return choice(cfg, clients, "", config.Agent{}, ref, client)
	}
}

// titleModel returns the client of a title model reference, sharing the
// provider's client with the agents (an agent's own Anthropic thinking and
// cache settings are for its turns, not its titles).
func titleModel(cfg *config.Config, clients map[string]llm.Model, ref string, client *http.Client) (llm.Model, string, error) {
	c, err := choice(cfg, clients, "", config.Agent{}, ref, client)
	if err != nil {
		return nil, "", err
	}
	return c.Model, c.ModelID, nil
}

// recallFilter is a configured semantic_recall.filter as the metadata it
// is matched against reads: JSON (TOML's integers become numbers), checked
// as a query would check it.
func recallFilter(f map[string]any) (map[string]any, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if err := memory.CheckVectorFilter(out); err != nil {
		return nil, err
	}
	return out, nil
}
