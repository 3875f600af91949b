package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/anthropictest"
)

func newAnthropic(t *testing.T, f *anthropictest.Server, mod func(*llm.AnthropicConfig)) (*llm.Anthropic, *[]time.Duration) {
	t.Helper()
	cfg := f.Config(10 * time.Second)
	if mod != nil {
		mod(&cfg)
	}
	a, err := llm.NewAnthropic(cfg)
	if err != nil {
		t.Fatalf("NewAnthropic: %v", err)
	}
	var waits []time.Duration
	llm.SetSleep(a, func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() })
	return a, &waits
}

func weatherTool() llm.Tool {
	return llm.Tool{Name: "weather", Description: "weather of a city",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}
}

func askWeather() llm.Request {
	return llm.Request{Model: "claude-test", Tools: []llm.Tool{weatherTool()}, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "You are terse."},
		{Role: llm.RoleUser, Content: "weather in Paris?"},
	}}
}

// The stream, cut every 7 bytes (events and lines split mid-way), carries
// thinking, text and a tool call whose arguments come in 3-byte pieces:
// every piece reaches onDelta in order and the response is assembled.
func TestAnthropicStream(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{
		Thinking: "User wants weather. ", Text: "Let me check.",
		Calls:      []anthropictest.Call{{ID: "toolu_1", Name: "weather", Args: `{"city":"Paris"}`}},
		Usage:      &anthropictest.Usage{InputTokens: 5, OutputTokens: 30, CacheReadInputTokens: 2000, CacheCreationInputTokens: 100},
		SplitBytes: 7, ArgsChunk: 3,
	}))
	a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.ThinkingBudget = 2048 })

	var got []string
	resp, err := a.Stream(context.Background(), askWeather(), func(d llm.Delta) error {
		switch {
		case d.Reasoning != "":
			got = append(got, "think:"+d.Reasoning)
		case d.Text != "":
			got = append(got, "text:"+d.Text)
		case d.ToolCallStart != nil:
			got = append(got, "call:"+d.ToolCallStart.ID+" "+d.ToolCallStart.Name)
		case d.ArgsDelta != "":
			got = append(got, "args:"+d.ArgsDelta)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	want := []string{"think:User ", "think:wants ", "think:weather. ", "text:Let ", "text:me ", "text:check.",
		"call:toolu_1 weather", `args:{"c`, `args:ity`, `args:":"`, `args:Par`, `args:is"`, `args:}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deltas:\n got %q\nwant %q", got, want)
	}
	wantResp := &llm.Response{ID: "msg_00", Model: "claude-test", Text: "Let me check.",
		Reasoning:    []llm.Reasoning{{Text: "User wants weather. ", Signature: "sig-User"}},
		ToolCalls:    []llm.ToolCall{{ID: "toolu_1", Name: "weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}},
		FinishReason: llm.FinishToolCalls,
		Usage:        llm.Usage{InputTokens: 2105, OutputTokens: 30, TotalTokens: 2135, CacheReadTokens: 2000, CacheWriteTokens: 100},
	}
	if !reflect.DeepEqual(resp, wantResp) {
		t.Errorf("response:\n got %+v\nwant %+v", resp, wantResp)
	}

	req := f.Requests()[0]
	if k, v := req.Header.Get("x-api-key"), req.Header.Get("anthropic-version"); k != anthropictest.APIKey || v != "2023-06-01" {
		t.Errorf("x-api-key %q, anthropic-version %q", k, v)
	}
	if req.Header.Get("Authorization") != "" {
		t.Errorf("Authorization header sent to Anthropic")
	}
	if !req.Stream || req.Thinking == nil || req.Thinking.Type != "enabled" || req.Thinking.BudgetTokens != 2048 {
		t.Errorf("stream %v, thinking %+v; want stream and thinking enabled with 2048", req.Stream, req.Thinking)
	}
	if *req.MaxTokens != 1024+2048 {
		t.Errorf("max_tokens = %d; want the default 1024 plus the thinking budget", *req.MaxTokens)
	}
	if len(req.System) != 1 || req.System[0].Text != "You are terse." {
		t.Errorf("system = %+v", req.System)
	}
	if got, want := req.Breakpoints(), []string{"system", "message0:text"}; !reflect.DeepEqual(got, want) {
		t.Errorf("cache breakpoints = %v; want %v", got, want)
	}
	if len(req.Tools) != 1 || req.Tools[0].Name != "weather" || !strings.Contains(string(req.Tools[0].InputSchema), `"city"`) {
		t.Errorf("tools = %+v", req.Tools)
	}
}

// Generate reads a whole message: text, thinking, tool use, usage.
func TestAnthropicGenerate(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{
		Thinking: "Easy one.", Text: "Hello world", StopReason: "max_tokens",
		Usage: &anthropictest.Usage{InputTokens: 9, OutputTokens: 2, CacheReadInputTokens: 1},
	}))
	a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.ThinkingBudget = 1024 })
	resp, err := a.Generate(context.Background(), askWeather())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	want := &llm.Response{ID: "msg_00", Model: "claude-test", Text: "Hello world",
		Reasoning: []llm.Reasoning{{Text: "Easy one.", Signature: "sig-Easy"}}, FinishReason: llm.FinishLength,
		Usage: llm.Usage{InputTokens: 10, OutputTokens: 2, TotalTokens: 12, CacheReadTokens: 1}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("Generate:\n got %+v\nwant %+v", resp, want)
	}
	if req := f.Requests()[0]; req.Stream {
		t.Errorf("Generate sent stream: true")
	}
}

// The second step of a tool loop: the assistant's thinking (signed), text
// and tool_use go back, the result is a tool_result block of the next user
// message, system messages join the system prompt, and a history window
// that starts with the assistant loses that message and its results.
func TestAnthropicRequestBody(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "21C."}))
	a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.ThinkingBudget = 1024 })
	temp, top, maxTok := 1.0, 0.9, 300
	req := llm.Request{Model: "claude-test", Tools: []llm.Tool{weatherTool(), {Name: "noargs"}}, ToolChoice: "required",
		Temperature: &temp, TopP: &top, MaxTokens: &maxTok, Stop: []string{"END"},
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "Be brief."},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "old", Name: "weather", Arguments: json.RawMessage(`{}`)}}},
			{Role: llm.RoleTool, ToolCallID: "old", Content: `{"tempC":3}`},
			{Role: llm.RoleUser, Content: "hi"},
			{Role: llm.RoleSystem, Content: "Use Celsius."},
			{Role: llm.RoleUser, Content: "weather in Paris and Rome?"},
			{Role: llm.RoleAssistant, Content: "Checking.",
				Reasoning: []llm.Reasoning{{Text: "two cities", Signature: "s1"}, {Redacted: "enc"}},
				ToolCalls: []llm.ToolCall{{ID: "t1", Name: "weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
					{ID: "t2", Name: "weather", Arguments: json.RawMessage(`{"city":`)}}},
			{Role: llm.RoleTool, ToolCallID: "t1", Content: `{"tempC":21}`},
			{Role: llm.RoleTool, ToolCallID: "t2", Content: `{"error":"invalid arguments"}`},
		}}
	if _, err := a.Generate(context.Background(), req); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	got := f.Requests()[0]
	wantDump := `user:text[hi],text[weather in Paris and Rome?]` +
		` | assistant:thinking[s1],redacted_thinking,text[Checking.],tool_use[t1 weather {"city":"Paris"}],tool_use[t2 weather {}]` +
		` | user:tool_result[t1 "{\"tempC\":21}"],tool_result[t2 "{\"error\":\"invalid arguments\"}"]`
	if d := got.Dump(); d != wantDump {
		t.Errorf("messages:\n got %s\nwant %s", d, wantDump)
	}
	if len(got.System) != 2 || got.System[0].Text != "Be brief." || got.System[1].Text != "Use Celsius." {
		t.Errorf("system = %+v", got.System)
	}
	if bp, want := got.Breakpoints(), []string{"system", "message0:text", "message2:tool_result"}; !reflect.DeepEqual(bp, want) {
		t.Errorf("breakpoints = %v; want %v", bp, want)
	}
	if got.ToolChoice == nil || got.ToolChoice.Type != "any" {
		t.Errorf("tool_choice = %+v; want any", got.ToolChoice)
	}
	if string(got.Tools[1].InputSchema) != `{"type":"object","properties":{}}` {
		t.Errorf("schema of a tool without one = %s", got.Tools[1].InputSchema)
	}
	if *got.Temperature != 1 || *got.TopP != 0.9 || *got.MaxTokens != 300+1024 || !reflect.DeepEqual(got.StopSequences, []string{"END"}) {
		t.Errorf("settings: temperature %v top_p %v max_tokens %v stop %v", *got.Temperature, *got.TopP, *got.MaxTokens, got.StopSequences)
	}
	if strings.Contains(string(got.Body), `"seed"`) || strings.Contains(string(got.Body), `"stop"`) {
		t.Errorf("body has OpenAI fields: %s", got.Body)
	}
}

// Without caching no cache_control is sent; without thinking no thinking
// block goes back.
func TestAnthropicCacheAndThinkingOff(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "ok"}))
	a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.Cache = false })
	req := askWeather()
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Reasoning: []llm.Reasoning{{Text: "x", Signature: "s"}},
			ToolCalls: []llm.ToolCall{{ID: "t1", Name: "weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "t1", Content: "21"})
	if _, err := a.Generate(context.Background(), req); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	got := f.Requests()[0]
	if bp := got.Breakpoints(); len(bp) != 0 || strings.Contains(string(got.Body), "cache_control") {
		t.Errorf("cache off, yet breakpoints %v", bp)
	}
	if got.Thinking != nil || strings.Contains(got.Dump(), "thinking") {
		t.Errorf("thinking off, yet sent: %+v %s", got.Thinking, got.Dump())
	}
}

// A setting Anthropic has no field for is refused before anything is sent.
func TestAnthropicUnsupportedSettings(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "ok"}))
	a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.ThinkingBudget = 1024 })
	seed, pen, temp := 7, 0.5, 0.2
	for _, tt := range []struct {
		setting string
		mod     func(*llm.Request)
	}{
		{"Seed", func(r *llm.Request) { r.Seed = &seed }},
		{"PresencePenalty", func(r *llm.Request) { r.PresencePenalty = &pen }},
		{"FrequencyPenalty", func(r *llm.Request) { r.FrequencyPenalty = &pen }},
		{"Temperature", func(r *llm.Request) { r.Temperature = &temp }}, // with thinking
	} {
		req := askWeather()
		tt.mod(&req)
		_, err := a.Stream(context.Background(), req, func(llm.Delta) error { return nil })
		var ue *llm.UnsupportedSettingError
		if !errors.As(err, &ue) || ue.Setting != tt.setting || ue.Provider != "anthropic" {
			t.Errorf("%s: err = %v; want UnsupportedSettingError for it", tt.setting, err)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent; want none", n)
	}
}

func TestAnthropicErrors(t *testing.T) {
	ctx := context.Background()
	noop := func(llm.Delta) error { return nil }

	t.Run("error body", func(t *testing.T) {
		f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Status: 400, ErrorType: "invalid_request_error"}))
		a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.MaxRetries = 2 })
		_, err := a.Stream(ctx, askWeather(), noop)
		var se *llm.StatusError
		if !errors.As(err, &se) || se.StatusCode != 400 || se.Type != "invalid_request_error" || se.Provider != "anthropic" {
			t.Fatalf("err = %v; want a 400 invalid_request_error StatusError", err)
		}
		if strings.Contains(err.Error(), anthropictest.APIKey) || !strings.Contains(se.Message, "[redacted]") {
			t.Errorf("message %q leaks the key or lost the text", se.Message)
		}
		if errors.Is(err, llm.ErrUnavailable) || len(f.Requests()) != 1 {
			t.Errorf("a 400 was retried (%d requests) or counts as unavailable", len(f.Requests()))
		}
	})

	t.Run("529 and 429 retried with Retry-After", func(t *testing.T) {
		f := anthropictest.NewServer(t, anthropictest.Replies(
			anthropictest.Reply{Status: 529},
			anthropictest.Reply{Status: 429, RetryAfter: "3"},
			anthropictest.Reply{Text: "finally"}))
		a, waits := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.MaxRetries = 2 })
		resp, err := a.Stream(ctx, askWeather(), noop)
		if err != nil || resp.Text != "finally" {
			t.Fatalf("Stream = %+v, %v; want the third answer", resp, err)
		}
		if len(*waits) != 2 || (*waits)[1] != 3*time.Second {
			t.Errorf("waits = %v; want two, the second the 3s Retry-After", *waits)
		}
	})

	t.Run("overloaded after the retries", func(t *testing.T) {
		f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Status: 529}))
		a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.MaxRetries = 1 })
		_, err := a.Generate(ctx, askWeather())
		var se *llm.StatusError
		if !errors.Is(err, llm.ErrUnavailable) || !errors.As(err, &se) || se.Type != "overloaded_error" || len(f.Requests()) != 2 {
			t.Errorf("err = %v after %d requests; want overloaded_error, unavailable, 2 requests", err, len(f.Requests()))
		}
	})

	t.Run("error event before the first token is retried", func(t *testing.T) {
		f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{ErrorEvent: true}, anthropictest.Reply{Text: "ok now"}))
		a, waits := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.MaxRetries = 1 })
		var texts []string
		resp, err := a.Stream(ctx, askWeather(), func(d llm.Delta) error { texts = append(texts, d.Text); return nil })
		if err != nil || resp.Text != "ok now" || strings.Join(texts, "") != "ok now" || len(*waits) != 1 {
			t.Errorf("Stream = %+v, %v, deltas %q, waits %v; want one retry then the answer", resp, err, texts, *waits)
		}
	})

	t.Run("error event mid-stream", func(t *testing.T) {
		f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "half an answer", MidStreamError: true, ErrorType: "overloaded_error"}))
		a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.MaxRetries = 3 })
		var texts []string
		_, err := a.Stream(ctx, askWeather(), func(d llm.Delta) error { texts = append(texts, d.Text); return nil })
		var se *llm.StatusError
		if !errors.As(err, &se) || se.StatusCode != 0 || se.Type != "overloaded_error" || !errors.Is(err, llm.ErrUnavailable) {
			t.Fatalf("err = %v; want an in-stream overloaded_error", err)
		}
		if len(f.Requests()) != 1 || strings.Join(texts, "") != "half an answer" {
			t.Errorf("%d requests, deltas %q; want no retry once text went out", len(f.Requests()), texts)
		}
		if strings.Contains(err.Error(), anthropictest.APIKey) {
			t.Errorf("error leaks the key: %v", err)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "never"}))
		a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.APIKey = "sk-wrong" })
		_, err := a.Generate(ctx, askWeather())
		var se *llm.StatusError
		if !errors.As(err, &se) || se.StatusCode != 401 || se.Type != "authentication_error" {
			t.Errorf("err = %v; want 401 authentication_error", err)
		}
	})
}

func TestNewAnthropicChecksConfig(t *testing.T) {
	_, err := llm.NewAnthropic(llm.AnthropicConfig{ThinkingBudget: 10})
	for _, want := range []string{"Name", "Timeout", "BaseURL", "Version", "MaxTokens", "ThinkingBudget"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewAnthropic({}) = %v; want it to name %s", err, want)
		}
	}
}

// A base URL that already ends in /v1 (as Anthropic-compatible providers
// publish theirs) gets /messages, not /v1/v1/messages.
func TestAnthropicBaseURLWithV1(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "ok"}))
	a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.BaseURL += "/v1/" })
	if r, err := a.Generate(context.Background(), askWeather()); err != nil || r.Text != "ok" {
		t.Errorf("Generate = %+v, %v", r, err)
	}
}
