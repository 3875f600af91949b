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
		if row.Kind == providers.Azure {
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
	}
}
