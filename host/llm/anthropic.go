package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// AnthropicConfig configures a client of Anthropic's Messages API. There
// are no defaults: Name, BaseURL, Version, MaxTokens and Timeout are
// required, and a zero MaxRetries means none.
type AnthropicConfig struct {
	// Name labels the provider in errors, e.g. "anthropic".
	Name string
	// APIKey is sent as "x-api-key"; empty sends none (for a gateway that
	// adds it).
	APIKey string
	// BaseURL is the API root, e.g. "https://api.anthropic.com", to which
	// "/v1/messages" is appended ("/messages" when it already ends in /v1,
	// as Anthropic-compatible providers often publish it).
	BaseURL string
	// Version is sent as the anthropic-version header, e.g. "2023-06-01".
	Version string
	// HTTPClient, Timeout and MaxRetries: as for OpenAIConfig. Retries
	// cover 429, 5xx and 529 (overloaded) before any of the reply was read,
	// and an overloaded or api error event that arrives before the first
	// piece of the reply.
	HTTPClient *http.Client
	Timeout    time.Duration
	MaxRetries int
	// Headers are sent with every request (e.g. anthropic-beta).
	Headers map[string]string
	// MaxTokens is max_tokens for a request that sets none; Anthropic
	// requires the field.
	MaxTokens int
	// Cache sets prompt-cache breakpoints (cache_control) on the system
	// prompt (or the tools) and on the conversation's last messages.
	Cache bool
	// ThinkingBudget enables extended thinking with this many tokens
	// (Anthropic's minimum is 1024), on top of the reply's max_tokens; 0
	// disables it. The thinking is streamed as Delta.Reasoning and returned
	// in Response.Reasoning.
	ThinkingBudget int
}

// Anthropic is a client for Anthropic's Messages API. It is safe for
// concurrent use.
type Anthropic struct {
	c    chatClient // the transport: headers, retries, timeouts, errors
	url  string
	opts antOptions
}

// NewAnthropic returns a client for cfg, or an error naming what cfg lacks.
func NewAnthropic(cfg AnthropicConfig) (*Anthropic, error) {
	rc := retryConfig{cfg.HTTPClient, cfg.Timeout, cfg.MaxRetries}
	err := rc.check(cfg.Name)
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		err = errors.Join(err, errors.New("BaseURL is required"))
	}
	if cfg.Version == "" {
		err = errors.Join(err, errors.New("Version (anthropic-version) is required"))
	}
	if cfg.MaxTokens < 1 {
		err = errors.Join(err, fmt.Errorf("MaxTokens = %d: expected at least 1 (Anthropic requires max_tokens)", cfg.MaxTokens))
	}
	if cfg.ThinkingBudget != 0 && cfg.ThinkingBudget < 1024 {
		err = errors.Join(err, fmt.Errorf("ThinkingBudget = %d: expected 0 (off) or at least 1024", cfg.ThinkingBudget))
	}
	if err != nil {
		return nil, fmt.Errorf("llm: anthropic provider %q: %w", cfg.Name, err)
	}
	url := base + "/v1/messages"
	if strings.HasSuffix(base, "/v1") {
		url = base + "/messages"
	}
	a := &Anthropic{
		c:    chatClient{provider: cfg.Name, header: fixedHeaders(cfg.Headers), secret: cfg.APIKey},
		url:  url,
		opts: antOptions{maxTokens: cfg.MaxTokens, cache: cfg.Cache, thinkingBudget: cfg.ThinkingBudget},
	}
	a.c.header.Set("anthropic-version", cfg.Version)
	if cfg.APIKey != "" {
		a.c.header.Set("x-api-key", cfg.APIKey)
	}
	a.c.apply(rc)
	return a, nil
}

// Generate asks for the whole reply; see Model.
func (a *Anthropic) Generate(ctx context.Context, req Request) (*Response, error) {
	body, err := a.body(req, false)
	if err != nil {
		return nil, err
	}
	cl, err := a.c.send(ctx, a.url, body, false, a.c.retries(req))
	if err != nil {
		return nil, err
	}
	defer cl.close(nil)
	return a.whole(ctx, cl, jsonToolOf(req))
}

// jsonToolOf reports whether req's structured reply comes as the json
// tool's call.
func jsonToolOf(req Request) bool {
	return req.ResponseFormat != nil && antJSONTool(req.Model)
}

// Stream asks for a streamed reply; see Model.
func (a *Anthropic) Stream(ctx context.Context, req Request, onDelta func(Delta) error) (*Response, error) {
	body, err := a.body(req, true)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		r, started, err := a.stream(ctx, body, jsonToolOf(req), a.c.retries(req), onDelta)
		if err == nil || started || attempt >= a.c.retries(req) || !retriableEvent(err) {
			return r, err
		}
		// An overloaded (or api) error event before the first piece of the
		// reply: nothing reached the caller, so it is safe to ask again.
		if err := a.c.sleep(ctx, min(a.c.backoff<<attempt, a.c.maxRetryWait)); err != nil {
			return nil, fmt.Errorf("llm: %s: waiting to retry: %w", a.c.provider, err)
		}
	}
}

// retriableEvent reports whether err is an error event worth another try.
func retriableEvent(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.StatusCode == 0 && (se.Type == "overloaded_error" || se.Type == "api_error")
}

// body checks the settings Anthropic has no field for and encodes req.
func (a *Anthropic) body(req Request, stream bool) ([]byte, error) {
	if req.Model == "" {
		return nil, fmt.Errorf("llm: %s: request names no model", a.c.provider)
	}
	switch {
	case req.Seed != nil:
		return nil, &UnsupportedSettingError{Provider: a.c.provider, Setting: "Seed"}
	case req.PresencePenalty != nil:
		return nil, &UnsupportedSettingError{Provider: a.c.provider, Setting: "PresencePenalty"}
	case req.FrequencyPenalty != nil:
		return nil, &UnsupportedSettingError{Provider: a.c.provider, Setting: "FrequencyPenalty"}
	case a.opts.thinkingBudget > 0 && req.Temperature != nil && *req.Temperature != 1:
		return nil, &UnsupportedSettingError{Provider: a.c.provider, Setting: "Temperature", Reason: "with extended thinking (only 1)"}
	}
	body, err := json.Marshal(toAnthropic(req, a.opts, stream))
	if err != nil {
		return nil, fmt.Errorf("llm: %s: encoding request: %w", a.c.provider, err)
	}
	return body, nil
}

// whole reads and decodes a whole response.
func (a *Anthropic) whole(ctx context.Context, cl *call, jsonTool bool) (*Response, error) {
	raw, err := io.ReadAll(io.LimitReader(cl.body, maxResponseBody))
	if err != nil {
		return nil, a.c.readError(ctx, cl, err, "reading response")
	}
	var w antResponse
	if err := decodeAntResponse(raw, &w); err != nil {
		return nil, fmt.Errorf("llm: %s: decoding response: %w", a.c.provider, err)
	}
	if w.Error != nil {
		return nil, a.c.bodyError(w.Error)
	}
	return fromAnthropic(&w, jsonTool), nil
}

// stream runs one streamed request. started reports whether onDelta was
// called, after which the request may not be retried.
func (a *Anthropic) stream(ctx context.Context, body []byte, jsonTool bool, retries int, onDelta func(Delta) error) (r *Response, started bool, err error) {
	cl, err := a.c.send(ctx, a.url, body, true, retries)
	if err != nil {
		return nil, false, err
	}
	if ct := cl.resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		r, err := a.whole(ctx, cl, jsonTool)
		if err != nil {
			cl.close(nil)
			return nil, false, err
		}
		for _, d := range deltas(r) {
			if err := onDelta(d); err != nil {
				cl.close(errAborted)
				return nil, true, err
			}
		}
		cl.close(nil)
		return r, true, nil
	}
	acc := antAccumulator{blocks: make(map[int]antOpen), jsonTool: jsonTool}
	sse := newSSEReader(streamSource(ctx, cl.body))
	defer streamEnded(ctx)
	for !acc.stopped {
		ev, err := sse.Next()
		if err == io.EOF {
			cl.close(nil)
			return nil, acc.started, fmt.Errorf("llm: %s: stream ended before message_stop: %w", a.c.provider, io.ErrUnexpectedEOF)
		}
		if err != nil {
			defer cl.close(nil)
			return nil, acc.started, a.c.readError(ctx, cl, err, "reading stream")
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 {
			continue
		}
		var e antEvent
		if err := decodeAntEvent(data, &e); err != nil {
			cl.close(nil)
			return nil, acc.started, fmt.Errorf("llm: %s: decoding stream event %q: %w", a.c.provider, a.c.safe(ev.Name, 40), err)
		}
		if e.Type == "error" || ev.Name == "error" {
			cl.close(nil)
			if e.Error == nil {
				e.Error = &wireError{Message: string(data)}
			}
			return nil, acc.started, a.c.bodyError(e.Error)
		}
		for _, d := range acc.add(&e) {
			acc.started = true
			if err := onDelta(d); err != nil {
				cl.close(errAborted)
				return nil, true, err
			}
		}
	}
	cl.close(nil)
	return acc.response(), acc.started, nil
}

// antOpen is a content block being streamed: what it is and where its
// pieces go.
type antOpen struct {
	kind string // text, tool_use, thinking, redacted_thinking, or another type, ignored
	pos  int    // index in calls (tool_use) or reasoning (thinking)
}

// antAccumulator assembles a streamed reply from its events and turns each
// event into the Deltas handed to the caller.
type antAccumulator struct {
	id, model string
	text      strings.Builder
	calls     []ToolCall
	args      []*strings.Builder
	reasoning []Reasoning
	thinking  []*strings.Builder
	blocks    map[int]antOpen // wire index → block
	stop      string
	usage     antUsage
	started   bool // a Delta went to the caller
	stopped   bool // message_stop arrived
	jsonTool  bool // the json tool's call is the reply's text
}

// add takes in one event and returns its pieces, in order. Unknown event
// and block types are ignored, as Anthropic's versioning policy asks.
func (a *antAccumulator) add(e *antEvent) []Delta {
	switch e.Type {
	case "message_start":
		if m := e.Message; m != nil {
			a.id, a.model = m.ID, m.Model
			if m.Usage != nil {
				a.usage = *m.Usage
			}
		}
	case "content_block_start":
		b := e.ContentBlock
		if b == nil {
			return nil
		}
		switch b.Type {
		case "text":
			a.blocks[e.Index] = antOpen{kind: b.Type}
			if b.Text != "" {
				a.text.WriteString(b.Text)
				return []Delta{{Text: b.Text}}
			}
		case "tool_use":
			if a.jsonTool && b.Name == jsonToolName {
				a.blocks[e.Index] = antOpen{kind: "json"}
				return nil
			}
			pos := len(a.calls)
			a.blocks[e.Index] = antOpen{kind: b.Type, pos: pos}
			a.calls = append(a.calls, ToolCall{ID: b.ID, Name: b.Name})
			a.args = append(a.args, new(strings.Builder))
			return []Delta{{ToolCallStart: &ToolCall{ID: b.ID, Name: b.Name}, ToolCallIndex: pos}}
		case "thinking":
			a.blocks[e.Index] = antOpen{kind: b.Type, pos: len(a.reasoning)}
			a.reasoning = append(a.reasoning, Reasoning{Signature: b.Signature})
			a.thinking = append(a.thinking, new(strings.Builder))
			if b.Thinking != "" {
				a.thinking[len(a.thinking)-1].WriteString(b.Thinking)
				return []Delta{{Reasoning: b.Thinking}}
			}
		case "redacted_thinking":
			a.blocks[e.Index] = antOpen{kind: b.Type, pos: len(a.reasoning)}
			a.reasoning = append(a.reasoning, Reasoning{Redacted: b.Data})
			a.thinking = append(a.thinking, new(strings.Builder))
		}
	case "content_block_delta":
		d, b := e.Delta, a.blocks[e.Index]
		if d == nil {
			return nil
		}
		switch {
		case d.Type == "text_delta" && b.kind == "text" && d.Text != "":
			a.text.WriteString(d.Text)
			return []Delta{{Text: d.Text}}
		case d.Type == "input_json_delta" && b.kind == "json" && d.PartialJSON != "":
			a.text.WriteString(d.PartialJSON)
			return []Delta{{Text: d.PartialJSON}}
		case d.Type == "input_json_delta" && b.kind == "tool_use" && d.PartialJSON != "":
			a.args[b.pos].WriteString(d.PartialJSON)
			return []Delta{{ToolCallIndex: b.pos, ArgsDelta: d.PartialJSON}}
		case d.Type == "thinking_delta" && b.kind == "thinking" && d.Thinking != "":
			a.thinking[b.pos].WriteString(d.Thinking)
			return []Delta{{Reasoning: d.Thinking}}
		case d.Type == "signature_delta" && b.kind == "thinking":
			a.reasoning[b.pos].Signature += d.Signature
		}
	case "message_delta":
		if e.Delta != nil && e.Delta.StopReason != "" {
			a.stop = e.Delta.StopReason
		}
		if e.Usage != nil {
			a.usage.merge(e.Usage)
		}
	case "message_stop":
		a.stopped = true
	}
	return nil // content_block_stop, ping and the rest carry nothing to hand on
}

// response returns the assembled reply.
func (a *antAccumulator) response() *Response {
	r := &Response{ID: a.id, Model: a.model, Text: a.text.String(), Usage: a.usage.usage()}
	for i, c := range a.calls {
		c.Arguments = argsJSON(a.args[i].String())
		r.ToolCalls = append(r.ToolCalls, c)
	}
	for i, rs := range a.reasoning {
		rs.Text = a.thinking[i].String()
		r.Reasoning = append(r.Reasoning, rs)
	}
	r.FinishReason = antFinish(a.stop, len(r.ToolCalls) > 0)
	if a.jsonTool && r.FinishReason == FinishToolCalls && len(r.ToolCalls) == 0 {
		r.FinishReason = FinishStop // the json tool's call is the answer
	}
	return r
}
