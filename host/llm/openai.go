package llm

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// DefaultOpenAIBaseURL is the base URL of the OpenAI API.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1"

// OpenAIConfig configures an OpenAI chat completions client. The zero value
// of each field selects its default. The same client serves any server that
// speaks the protocol (Ollama, vLLM, LM Studio, OpenRouter, Groq, …) through
// BaseURL.
type OpenAIConfig struct {
	// Name labels the provider in errors; default "openai".
	Name string
	// APIKey is sent as "Authorization: Bearer <key>"; empty sends no
	// Authorization header (e.g. for a local Ollama).
	APIKey string
	// BaseURL is the API root, to which "/chat/completions" is appended;
	// default DefaultOpenAIBaseURL.
	BaseURL string
	// HTTPClient sends the requests; default a client without a Timeout
	// (which would cut streams). Its Transport may add proxies or TLS.
	HTTPClient *http.Client
	// Timeout bounds the wait for the response headers and, after them, any
	// stall between two reads of the body; default DefaultTimeout, negative
	// for none (the caller's ctx still applies). For Generate the headers
	// usually come only once the whole reply is ready.
	Timeout time.Duration
	// MaxRetries is how many times a request that failed before any of the
	// reply was read (connection error, 408, 409, 429, 5xx) is retried;
	// default DefaultMaxRetries, negative for none.
	MaxRetries int
	// RetryBackoff is the first wait between retries, doubling on each;
	// default DefaultRetryBackoff. A Retry-After from the provider wins.
	RetryBackoff time.Duration
	// MaxRetryWait caps each wait between retries; default
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Headers are sent with every request (e.g. OpenAI-Organization or
	// OpenRouter's HTTP-Referer).
	Headers map[string]string
	// MaxCompletionTokens sends Request.MaxTokens as max_completion_tokens,
	// which OpenAI's reasoning models require, instead of max_tokens, which
	// every compatible server understands.
	MaxCompletionTokens bool
}

// OpenAI is a client for OpenAI chat completions and compatible servers. It
// is safe for concurrent use.
type OpenAI struct {
	c chatClient
}

// NewOpenAI returns a client for cfg, with defaults applied.
func NewOpenAI(cfg OpenAIConfig) *OpenAI {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultOpenAIBaseURL
	}
	name := cfg.Name
	if name == "" {
		name = ProviderOpenAI
	}
	o := &OpenAI{c: chatClient{
		provider:            name,
		url:                 func(string) string { return base + "/chat/completions" },
		header:              fixedHeaders(cfg.Headers),
		secret:              cfg.APIKey,
		sendModel:           true,
		maxCompletionTokens: cfg.MaxCompletionTokens,
	}}
	if cfg.APIKey != "" {
		o.c.header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	o.c.apply(retryConfig{cfg.HTTPClient, cfg.Timeout, cfg.MaxRetries, cfg.RetryBackoff, cfg.MaxRetryWait})
	return o
}

// Generate asks for the whole reply; see Model.
func (o *OpenAI) Generate(ctx context.Context, req Request) (*Response, error) {
	return o.c.generate(ctx, req)
}

// Stream asks for a streamed reply; see Model.
func (o *OpenAI) Stream(ctx context.Context, req Request, onDelta func(Delta) error) (*Response, error) {
	return o.c.stream(ctx, req, onDelta)
}

// fixedHeaders builds the headers sent with every request.
func fixedHeaders(extra map[string]string) http.Header {
	h := http.Header{}
	h.Set("User-Agent", userAgent)
	for k, v := range extra {
		h.Set(k, v)
	}
	return h
}
