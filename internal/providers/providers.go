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
// table; a provider the table lacks is a [providers.<name>] table with a
// kind in the configuration.
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
	// Anthropic speaks Anthropic's Messages API (llm.Anthropic).
	Anthropic Kind = "anthropic"
	// Echo is the built-in offline model (llm.Echo), for development.
	Echo Kind = "echo"
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
	// KeyOptional marks a local server that needs no API key.
	KeyOptional bool
	// Aliases are other spellings of Name in model references.
	Aliases []string
}

// registry lists every provider a model reference may name without a
// [providers.<name>] table. Names, key variables and base URLs follow
// Mastra's model router (packages/core/src/llm/model/provider-registry.json,
// @mastra/core 1.71), so a Mastra model string means the same here. Where
// that file has no URL (its own SDKs: openai, anthropic, xai, perplexity,
// google) the URL is the one the provider documents (for OpenAI-compatible
// clients, except anthropic's native Messages API; Google's is its
// OpenAI-compatible endpoint, not the native API); ollama is a local
// server's default port.
var registry = []Provider{
	{Name: "openai", Kind: OpenAICompatible, BaseURL: "https://api.openai.com/v1", APIKeyEnv: "OPENAI_API_KEY", BaseURLEnv: "OPENAI_BASE_URL"},
	{Name: "azure", Kind: Azure, APIKeyEnv: "AZURE_API_KEY"},
	{Name: "anthropic", Kind: Anthropic, BaseURL: "https://api.anthropic.com", APIKeyEnv: "ANTHROPIC_API_KEY", BaseURLEnv: "ANTHROPIC_BASE_URL"},
	{Name: "groq", Kind: OpenAICompatible, BaseURL: "https://api.groq.com/openai/v1", APIKeyEnv: "GROQ_API_KEY"},
	{Name: "mistral", Kind: OpenAICompatible, BaseURL: "https://api.mistral.ai/v1", APIKeyEnv: "MISTRAL_API_KEY"},
	{Name: "deepseek", Kind: OpenAICompatible, BaseURL: "https://api.deepseek.com", APIKeyEnv: "DEEPSEEK_API_KEY"},
	{Name: "xai", Kind: OpenAICompatible, BaseURL: "https://api.x.ai/v1", APIKeyEnv: "XAI_API_KEY"},
	{Name: "openrouter", Kind: OpenAICompatible, BaseURL: "https://openrouter.ai/api/v1", APIKeyEnv: "OPENROUTER_API_KEY"},
	{Name: "togetherai", Kind: OpenAICompatible, BaseURL: "https://api.together.xyz/v1", APIKeyEnv: "TOGETHER_API_KEY", Aliases: []string{"together"}},
	{Name: "fireworks-ai", Kind: OpenAICompatible, BaseURL: "https://api.fireworks.ai/inference/v1", APIKeyEnv: "FIREWORKS_API_KEY", Aliases: []string{"fireworks"}},
	{Name: "cerebras", Kind: OpenAICompatible, BaseURL: "https://api.cerebras.ai/v1", APIKeyEnv: "CEREBRAS_API_KEY"},
	{Name: "perplexity", Kind: OpenAICompatible, BaseURL: "https://api.perplexity.ai", APIKeyEnv: "PERPLEXITY_API_KEY"},
	{Name: "google", Kind: OpenAICompatible, BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai", APIKeyEnv: "GOOGLE_GENERATIVE_AI_API_KEY"},
	{Name: "ollama", Kind: OpenAICompatible, BaseURL: "http://localhost:11434/v1", APIKeyEnv: "OLLAMA_API_KEY", KeyOptional: true},
	{Name: "lmstudio", Kind: OpenAICompatible, BaseURL: "http://127.0.0.1:1234/v1", APIKeyEnv: "LMSTUDIO_API_KEY", KeyOptional: true},
	{Name: "echo", Kind: Echo, KeyOptional: true},
}

// Lookup returns the provider named name or one of its aliases.
func Lookup(name string) (Provider, bool) {
	for _, p := range registry {
		if p.Name == name {
			return p, true
		}
		for _, a := range p.Aliases {
			if a == name {
				return p, true
			}
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

// KindOf maps the kind a [providers.<name>] table of a custom provider
// names ("openai" or "anthropic": the wire format it speaks) to a Kind.
func KindOf(configured string) (Kind, bool) {
	switch strings.ToLower(strings.TrimSpace(configured)) {
	case "openai", string(OpenAICompatible):
		return OpenAICompatible, true
	case "anthropic":
		return Anthropic, true
	}
	return "", false
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
