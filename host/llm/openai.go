package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// OpenAIConfig configures an OpenAI chat completions client. The same
// client serves any server that speaks the protocol (Ollama, vLLM, LM
// Studio, OpenRouter, Groq, …) through BaseURL. There are no defaults:
// Name, BaseURL and Timeout are required, and a zero MaxRetries means none.
type OpenAIConfig struct {
	// Name labels the provider in errors, e.g. "openai".
	Name string
	// APIKey is sent as "Authorization: Bearer <key>"; empty sends no
	// Authorization header (e.g. for a local Ollama).
	APIKey string
	// BaseURL is the API root, to which "/chat/completions" is appended,
	// e.g. "https://api.openai.com/v1".
	BaseURL string
	// HTTPClient sends the requests; nil means a client without a Timeout
	// (which would cut streams) that keeps many idle connections per host.
	// Its Transport may add proxies or TLS.
	HTTPClient *http.Client
	// Timeout bounds the wait for the response headers and, after them, any
	// stall between two reads of the body; negative for none (the caller's
	// ctx still applies). For Generate the headers usually come only once
	// the whole reply is ready.
	Timeout time.Duration
	// MaxRetries is how many times a request that failed before any of the
	// reply was read (connection error, 408, 409, 429, 5xx) is retried,
	// with a doubling wait from 200 ms (at most 10 s, or the provider's
	// Retry-After within that); 0 for none.
	MaxRetries int
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
	c    chatClient
	base string // the API root, without a trailing slash
}

// NewOpenAI returns a client for cfg, or an error naming what cfg lacks.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	rc := retryConfig{cfg.HTTPClient, cfg.Timeout, cfg.MaxRetries}
	err := rc.check(cfg.Name)
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		err = errors.Join(err, errors.New("BaseURL is required"))
	}
	if err != nil {
		return nil, fmt.Errorf("llm: openai-compatible provider %q: %w", cfg.Name, err)
	}
	o := &OpenAI{base: base, c: chatClient{
		provider:            cfg.Name,
		url:                 func(string) string { return base + "/chat/completions" },
		header:              fixedHeaders(cfg.Headers),
		secret:              cfg.APIKey,
		sendModel:           true,
		maxCompletionTokens: cfg.MaxCompletionTokens,
	}}
	if cfg.APIKey != "" {
		o.c.header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	o.c.apply(rc)
	return o, nil
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
