package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AzureConfig configures an Azure OpenAI client. There are no defaults:
// Name, APIVersion, Timeout and ResourceName or Endpoint are required, and
// a zero MaxRetries means none.
type AzureConfig struct {
	// Name labels the provider in errors, e.g. "azure".
	Name string
	// ResourceName is the Azure OpenAI resource; requests go to
	// https://{ResourceName}.openai.azure.com unless Endpoint is set.
	ResourceName string
	// APIKey is sent in the api-key header.
	APIKey string
	// APIVersion is the api-version query parameter, e.g. "2024-10-21".
	APIVersion string
	// Endpoint overrides the base URL (scheme and host, no "/openai"), e.g.
	// a custom domain or "http://127.0.0.1:1234" in tests.
	Endpoint string
	// HTTPClient, Timeout, MaxRetries, Headers and MaxCompletionTokens mean
	// what they mean in OpenAIConfig.
	HTTPClient          *http.Client
	Timeout             time.Duration
	MaxRetries          int
	Headers             map[string]string
	MaxCompletionTokens bool
}

// Azure is a client for Azure OpenAI chat completions. Request.Model names
// the deployment. It is safe for concurrent use.
type Azure struct {
	c     chatClient
	base  string // scheme and host
	query string // api-version=…
}

// NewAzure returns a client for cfg, or an error naming what cfg lacks.
// Requests go to
// {endpoint}/openai/deployments/{Request.Model}/chat/completions?api-version=….
func NewAzure(cfg AzureConfig) (*Azure, error) {
	rc := retryConfig{cfg.HTTPClient, cfg.Timeout, cfg.MaxRetries}
	err := rc.check(cfg.Name)
	base := strings.TrimRight(cfg.Endpoint, "/")
	if base == "" && cfg.ResourceName != "" {
		base = "https://" + cfg.ResourceName + ".openai.azure.com"
	}
	if base == "" {
		err = errors.Join(err, errors.New("ResourceName or Endpoint is required"))
	}
	if cfg.APIVersion == "" {
		err = errors.Join(err, errors.New("APIVersion is required"))
	}
	if err != nil {
		return nil, fmt.Errorf("llm: azure provider %q: %w", cfg.Name, err)
	}
	query := url.Values{"api-version": {cfg.APIVersion}}.Encode()
	a := &Azure{base: base, query: query, c: chatClient{
		provider: cfg.Name,
		url: func(deployment string) string {
			return base + "/openai/deployments/" + url.PathEscape(deployment) + "/chat/completions?" + query
		},
		header:              fixedHeaders(cfg.Headers),
		secret:              cfg.APIKey,
		maxCompletionTokens: cfg.MaxCompletionTokens,
	}}
	if cfg.APIKey != "" {
		a.c.header.Set("Api-Key", cfg.APIKey)
	}
	a.c.apply(rc)
	return a, nil
}

// Generate asks deployment req.Model for the whole reply; see Model.
func (a *Azure) Generate(ctx context.Context, req Request) (*Response, error) {
	return a.c.generate(ctx, req)
}

// Stream asks deployment req.Model for a streamed reply; see Model.
func (a *Azure) Stream(ctx context.Context, req Request, onDelta func(Delta) error) (*Response, error) {
	return a.c.stream(ctx, req, onDelta)
}
