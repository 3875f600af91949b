package config

import (
	"net/url"
	"sort"
	"strings"

	"github.com/mastra-server/mastra-server/internal/providers"
)

// Provider resolves a provider name of a model reference: a registry row
// (by name or alias) with its [providers.<name>] table over it (base_url
// and api_key_env replace the row's), or a custom provider's table with a
// kind. It reports false for a name that is neither.
func (c *Config) Provider(name string) (providers.Provider, Provider, bool) {
	if row, ok := providers.Lookup(name); ok {
		s := c.Providers[row.Name]
		if s.BaseURL != "" {
			row.BaseURL = s.BaseURL
		}
		if s.APIKeyEnv != "" {
			row.APIKeyEnv = s.APIKeyEnv
		}
		return row, s, true
	}
	s, ok := c.Providers[name]
	if !ok {
		return providers.Provider{}, Provider{}, false
	}
	kind, ok := providers.KindOf(s.Kind)
	if !ok {
		return providers.Provider{}, Provider{}, false
	}
	return providers.Provider{Name: name, Kind: kind, BaseURL: s.BaseURL, APIKeyEnv: s.APIKeyEnv}, s, true
}

// validateProviders checks each [providers.<name>] table.
func (c *Config) validateProviders(bad func(string, any, string, ...any)) {
	names := make([]string, 0, len(c.Providers))
	for n := range c.Providers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := c.Providers[name]
		key := "providers." + name
		row, known := providers.Lookup(name)
		switch {
		case known && row.Name != name:
			bad(key, name, "%q is another name of provider %q: configure it as [providers.%s]", name, row.Name, row.Name)
			continue
		case known && s.Kind != "":
			if k, ok := providers.KindOf(s.Kind); !ok || k != row.Kind {
				bad(key+".kind", s.Kind, "%s is a built-in provider (%s); remove kind, or choose another name for a custom provider", name, row.Kind)
			}
		case !known:
			if _, ok := providers.KindOf(s.Kind); !ok {
				bad(key+".kind", s.Kind, "%q is not a built-in provider (%s): a custom provider needs kind = \"openai\" or \"anthropic\"",
					name, strings.Join(providers.Names(), ", "))
			}
			if s.BaseURL == "" {
				bad(key+".base_url", "", "a custom provider needs the URL of its API, such as \"https://llm.example.com/v1\"")
			}
		}
		if s.BaseURL != "" {
			if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(key+".base_url", s.BaseURL, "expected an http:// or https:// URL such as \"https://api.openai.com/v1\"")
			}
		}
		if s.Timeout <= 0 {
			bad(key+".timeout", s.Timeout, "expected a positive duration such as \"60s\"")
		}
		if s.MaxRetries < 0 {
			bad(key+".max_retries", s.MaxRetries, "expected 0 (no retries) or more")
		}
		kind := row.Kind
		if !known {
			kind, _ = providers.KindOf(s.Kind)
		}
		if kind == providers.Anthropic {
			if s.Version == "" {
				bad(key+".version", "", "expected an anthropic-version such as \"2023-06-01\"")
			}
			if s.MaxTokens == nil || *s.MaxTokens < 1 {
				bad(key+".max_tokens", value(s.MaxTokens), "expected a positive number of tokens (Anthropic requires max_tokens)")
			}
			if s.ThinkingBudget != nil && *s.ThinkingBudget != 0 && *s.ThinkingBudget < 1024 {
				bad(key+".thinking_budget", *s.ThinkingBudget, "expected 0 (off) or at least 1024 tokens")
			}
		} else {
			for _, f := range []struct {
				name string
				set  bool
			}{{"version", s.Version != ""}, {"max_tokens", s.MaxTokens != nil}, {"cache", s.Cache != nil}, {"thinking_budget", s.ThinkingBudget != nil}} {
				if f.set {
					bad(key+"."+f.name, name, "only providers of kind anthropic ([providers.anthropic], or kind = \"anthropic\") have %s", f.name)
				}
			}
		}
		if kind == providers.Azure {
			if s.BaseURL != "" {
				// Azure's URL is built from the resource or endpoint
				// (scheme and host, no /openai path): a base_url would be
				// ignored, so it is refused rather than guessed at.
				bad(key+".base_url", s.BaseURL, "Azure OpenAI has no base_url; set endpoint (scheme and host, such as \"https://my-resource.openai.azure.com\") or resource_name")
			}
			if s.APIVersion == "" {
				bad(key+".api_version", "", "expected an Azure OpenAI API version such as \"2024-10-21\"")
			}
			continue
		}
		for k, v := range map[string]string{"resource_name": s.ResourceName, "api_version": s.APIVersion,
			"endpoint": s.Endpoint, "deployment": s.Deployment} {
			if v != "" {
				bad(key+"."+k, v, "only Azure OpenAI ([providers.azure]) has %s", k)
			}
		}
		if kind != providers.OpenAICompatible && s.JSONSchema != nil {
			bad(key+".json_schema", *s.JSONSchema, "only OpenAI-compatible providers have json_schema (Azure OpenAI has it; Anthropic has its own form)")
		}
		if kind != providers.OpenAICompatible && s.MaxCompletionTokens {
			bad(key+".max_completion_tokens", true, "only OpenAI-compatible providers and Azure OpenAI have max_completion_tokens")
		}
	}
}

// value returns *p, or 0 for nil.
func value(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
