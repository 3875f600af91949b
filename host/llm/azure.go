package llm

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultAzureAPIVersion is the Azure OpenAI data-plane API version used
// when none is configured: a GA version that supports tools and
// stream_options.
const DefaultAzureAPIVersion = "2024-10-21"

// AzureConfig configures an Azure OpenAI client. The zero value of each
// field selects its default.
type AzureConfig struct {
	// ResourceName is the Azure OpenAI resource; requests go to
	// https://{ResourceName}.openai.azure.com unless Endpoint is set.
	ResourceName string
	// APIKey is sent in the api-key header.
	APIKey string
	// APIVersion is the api-version query parameter; default
	// DefaultAzureAPIVersion.
	APIVersion string
	// Endpoint overrides the base URL (scheme and host, no "/openai"), e.g.
	// a custom domain or "http://127.0.0.1:1234" in tests.
	Endpoint string
	// HTTPClient, Timeout, MaxRetries, RetryBackoff, MaxRetryWait, Headers
	// and MaxCompletionTokens mean what they mean in OpenAIConfig.
	HTTPClient          *http.Client
	Timeout             time.Duration
	MaxRetries          int
	RetryBackoff        time.Duration
	MaxRetryWait        time.Duration
	Headers             map[string]string
	MaxCompletionTokens bool
}

// Azure is a client for Azure OpenAI chat completions. Request.Model names
// the deployment. It is safe for concurrent use.
type Azure struct {
	c chatClient
}

// NewAzure returns a client for cfg, with defaults applied. Requests go to
// {endpoint}/openai/deployments/{Request.Model}/chat/completions?api-version=….
func NewAzure(cfg AzureConfig) *Azure {
	base := strings.TrimRight(cfg.Endpoint, "/")
	if base == "" {
		base = "https://" + cfg.ResourceName + ".openai.azure.com"
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAzureAPIVersion
	}
	query := url.Values{"api-version": {version}}.Encode()
	a := &Azure{c: chatClient{
		provider: ProviderAzure,
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
	a.c.apply(retryConfig{cfg.HTTPClient, cfg.Timeout, cfg.MaxRetries, cfg.RetryBackoff, cfg.MaxRetryWait})
	return a
}

// Generate asks deployment req.Model for the whole reply; see Model.
func (a *Azure) Generate(ctx context.Context, req Request) (*Response, error) {
	return a.c.generate(ctx, req)
}

// Stream asks deployment req.Model for a streamed reply; see Model.
func (a *Azure) Stream(ctx context.Context, req Request, onDelta func(Delta) error) (*Response, error) {
	return a.c.stream(ctx, req, onDelta)
}
