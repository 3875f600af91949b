// Package providers is the registry of model providers and the one parser
// of model references ("openai/gpt-4o-mini", "azure/<deployment>", "echo").
//
// It is a leaf, imported by config (to validate references, to map each
// provider's environment variables and to default its base URL) and by
// host/app (to pick the client of a provider's kind from host/llm). config
// may not import host/, so the table cannot live in host/llm; host/llm
// keeps the wire clients and takes explicit settings.
//
// A provider that speaks one of the known wire formats is one row of the
// table: Groq, Mistral or OpenRouter are OpenAICompatible with their own
// base URL and key variable (and a [providers.<name>] table in config).
package providers

import (
	"fmt"
	"strings"
)

// Kind is the wire format a provider speaks, which decides the client
// host/app builds for it.
type Kind string

const (
	// OpenAICompatible speaks OpenAI chat completions (llm.OpenAI).
	OpenAICompatible Kind = "openai-compatible"
	// Azure speaks Azure OpenAI's deployments API (llm.Azure).
	Azure Kind = "azure"
	// Echo is the built-in offline model (llm.Echo), for development.
	Echo Kind = "echo"
	// Anthropic speaks Anthropic's Messages API (llm.Anthropic).
	Anthropic Kind = "anthropic"
)

// Provider is one row of the registry.
type Provider struct {
	// Name is the provider's part of a model reference and its
	// configuration table: [providers.<Name>].
	Name string
	Kind Kind
	// BaseURL is the provider's public API root, the default of
	// providers.<Name>.base_url ("" when the kind has none, e.g. Azure,
	// whose URL comes from the resource name).
	BaseURL string
	// APIKeyEnv is the environment variable that sets
	// providers.<Name>.api_key.
	APIKeyEnv string
	// BaseURLEnv is the environment variable that sets
	// providers.<Name>.base_url ("" for none).
	BaseURLEnv string
}

// registry lists every provider a model reference may name.
var registry = []Provider{
	{Name: "openai", Kind: OpenAICompatible, BaseURL: "https://api.openai.com/v1", APIKeyEnv: "OPENAI_API_KEY", BaseURLEnv: "OPENAI_BASE_URL"},
	{Name: "azure", Kind: Azure, APIKeyEnv: "AZURE_API_KEY"},
	{Name: "anthropic", Kind: Anthropic, BaseURL: "https://api.anthropic.com", APIKeyEnv: "ANTHROPIC_API_KEY", BaseURLEnv: "ANTHROPIC_BASE_URL"},
	{Name: "echo", Kind: Echo},
}

// Lookup returns the provider named name.
func Lookup(name string) (Provider, bool) {
	for _, p := range registry {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// All returns every provider, in the registry's order.
func All() []Provider { return append([]Provider(nil), registry...) }

// Names returns every provider's name, in the registry's order.
func Names() []string {
	names := make([]string, len(registry))
	for i, p := range registry {
		names[i] = p.Name
	}
	return names
}

// ParseModelRef splits a model reference such as "openai/gpt-4o-mini",
// "azure/my-deployment" or "echo" into its provider (lower-cased) and model.
// The model is everything after the first slash, so "openrouter/meta-llama/
// llama-3-8b" keeps its own slashes. "echo" needs no model; every other
// provider does. It checks the syntax only: Lookup says whether the
// provider exists.
func ParseModelRef(s string) (provider, model string, err error) {
	s = strings.TrimSpace(s)
	provider, model, _ = strings.Cut(s, "/")
	provider = strings.ToLower(strings.TrimSpace(provider))
	model = strings.TrimSpace(model)
	switch {
	case s == "":
		return "", "", fmt.Errorf("empty model reference (want provider/model such as \"openai/gpt-4o-mini\", or \"echo\")")
	case provider == "":
		return "", "", fmt.Errorf("model reference %q names no provider (want provider/model such as \"openai/gpt-4o-mini\")", s)
	case model == "" && provider != "echo":
		return "", "", fmt.Errorf("model reference %q names no model (want provider/model such as \"openai/gpt-4o-mini\" or \"azure/<deployment>\", or \"echo\")", s)
	}
	return provider, model, nil
}
