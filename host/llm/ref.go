package llm

import (
	"fmt"
	"strings"
)

// Provider names used in model references.
const (
	ProviderOpenAI = "openai"
	ProviderAzure  = "azure"
	ProviderEcho   = "echo"
)

// ParseModelRef splits a model reference such as "openai/gpt-4o-mini",
// "azure/my-deployment" or "echo" into its provider (lower-cased) and model.
// The model is everything after the first slash, so "openrouter/meta-llama/
// llama-3-8b" keeps its own slashes. "echo" needs no model; every other
// provider does. Which providers exist is up to the caller's configuration.
func ParseModelRef(s string) (provider, model string, err error) {
	s = strings.TrimSpace(s)
	provider, model, _ = strings.Cut(s, "/")
	provider = strings.ToLower(strings.TrimSpace(provider))
	model = strings.TrimSpace(model)
	switch {
	case s == "":
		return "", "", fmt.Errorf("llm: empty model reference")
	case provider == "":
		return "", "", fmt.Errorf("llm: model reference %q names no provider (want provider/model)", s)
	case model == "" && provider != ProviderEcho:
		return "", "", fmt.Errorf("llm: model reference %q names no model (want provider/model)", s)
	}
	return provider, model, nil
}
