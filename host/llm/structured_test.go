package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/anthropictest"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

const citySchema = `{"type":"object","properties":{"city":{"type":"string"},"tempC":{"type":"number"}},"required":["city","tempC"],"additionalProperties":false}`

func structuredRequest(model string) llm.Request {
	return llm.Request{Model: model, Messages: []llm.Message{{Role: llm.RoleUser, Content: "weather in Oslo as JSON"}},
		ResponseFormat: &llm.ResponseFormat{Schema: json.RawMessage(citySchema)}}
}

// An OpenAI-compatible provider gets a strict json_schema response_format
// named "response", whole and streamed, and the JSON comes back as text.
func TestOpenAIResponseFormat(t *testing.T) {
	const answer = `{"city":"Oslo","tempC":24}`
	f := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: answer}))
	m := f.Model(5 * time.Second)
	for _, stream := range []bool{false, true} {
		var resp *llm.Response
		var err error
		var streamed strings.Builder
		if stream {
			resp, err = m.Stream(context.Background(), structuredRequest("gpt-4o-mini"), func(d llm.Delta) error {
				streamed.WriteString(d.Text)
				return nil
			})
		} else {
			resp, err = m.Generate(context.Background(), structuredRequest("gpt-4o-mini"))
		}
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		if resp.Text != answer || (stream && streamed.String() != answer) {
			t.Errorf("stream=%v: text %q, streamed %q; want %q", stream, resp.Text, streamed.String(), answer)
		}
		reqs := f.Requests()
		var rf struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Name   string          `json:"name"`
				Strict *bool           `json:"strict"`
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		}
		if err := json.Unmarshal(reqs[len(reqs)-1].ResponseFormat, &rf); err != nil {
			t.Fatalf("stream=%v: response_format %s: %v", stream, reqs[len(reqs)-1].ResponseFormat, err)
		}
		if rf.Type != "json_schema" || rf.JSONSchema.Name != "response" || rf.JSONSchema.Strict == nil || !*rf.JSONSchema.Strict ||
			string(rf.JSONSchema.Schema) != citySchema {
			t.Errorf("stream=%v: response_format = %s", stream, reqs[len(reqs)-1].ResponseFormat)
		}
	}
	// Without a format none is sent.
	if _, err := m.Generate(context.Background(), llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}); err != nil {
		t.Fatal(err)
	}
	if reqs := f.Requests(); reqs[len(reqs)-1].ResponseFormat != nil {
		t.Errorf("response_format sent without a format: %s", reqs[len(reqs)-1].ResponseFormat)
	}
}

// Anthropic: a current Claude model gets output_config.format; an older
// one (and a non-Claude model behind the API) a forced "json" tool, whose
// call comes back as the reply's text with reason stop, whole and
// streamed in pieces.
func TestAnthropicResponseFormat(t *testing.T) {
	const answer = `{"city":"Oslo","tempC":24}`
	for _, tc := range []struct {
		model    string
		jsonTool bool
	}{{"claude-sonnet-4-5", false}, {"claude-opus-4-1", false}, {"claude-3-5-haiku-latest", true}, {"claude-sonnet-4-0", true}, {"MiniMax-M2", true}} {
		script := func(r anthropictest.Request) anthropictest.Reply {
			if r.ToolChoice != nil && r.ToolChoice.Name == "json" {
				return anthropictest.Reply{Calls: []anthropictest.Call{{ID: "toolu_j", Name: "json", Args: answer}}, ArgsChunk: 5}
			}
			return anthropictest.Reply{Text: answer}
		}
		f := anthropictest.NewServer(t, script)
		a, _ := newAnthropic(t, f, nil)
		for _, stream := range []bool{false, true} {
			var resp *llm.Response
			var err error
			var streamed strings.Builder
			if stream {
				resp, err = a.Stream(context.Background(), structuredRequest(tc.model), func(d llm.Delta) error {
					if d.ToolCallStart != nil || d.ArgsDelta != "" {
						t.Errorf("%s: the json tool surfaced as a tool call: %+v", tc.model, d)
					}
					streamed.WriteString(d.Text)
					return nil
				})
			} else {
				resp, err = a.Generate(context.Background(), structuredRequest(tc.model))
			}
			if err != nil {
				t.Fatalf("%s stream=%v: %v", tc.model, stream, err)
			}
			if resp.Text != answer || len(resp.ToolCalls) != 0 || resp.FinishReason != llm.FinishStop || (stream && streamed.String() != answer) {
				t.Errorf("%s stream=%v: %+v, streamed %q", tc.model, stream, resp, streamed.String())
			}
			reqs := f.Requests()
			req := reqs[len(reqs)-1]
			if tc.jsonTool {
				if req.OutputConfig != nil || len(req.Tools) != 1 || req.Tools[0].Name != "json" ||
					string(req.Tools[0].InputSchema) != citySchema || req.ToolChoice == nil ||
					req.ToolChoice.Type != "tool" || !req.ToolChoice.DisableParallelToolUse {
					t.Errorf("%s: want the forced json tool:\n%s", tc.model, req.Body)
				}
				continue
			}
			var oc struct {
				Format struct {
					Type   string          `json:"type"`
					Schema json.RawMessage `json:"schema"`
				} `json:"format"`
			}
			if err := json.Unmarshal(req.OutputConfig, &oc); err != nil || oc.Format.Type != "json_schema" ||
				string(oc.Format.Schema) != citySchema || len(req.Tools) != 0 || req.ToolChoice != nil {
				t.Errorf("%s: want output_config.format:\n%s", tc.model, req.Body)
			}
		}
	}
}

// TopK goes to Anthropic as top_k and is refused on the OpenAI wire before
// anything is sent; MaxRetries lowers the configured retries, never
// raises them.
func TestTopKAndMaxRetries(t *testing.T) {
	k, zero, many := 40, 0, 9
	ant := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Status: 529}, anthropictest.Reply{Text: "ok"}))
	a, waits := newAnthropic(t, ant, func(c *llm.AnthropicConfig) { c.MaxRetries = 2 })
	req := llm.Request{Model: "claude-sonnet-4-5", TopK: &k, MaxRetries: &zero, Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
	if _, err := a.Generate(context.Background(), req); err == nil || len(ant.Requests()) != 1 || len(*waits) != 0 {
		t.Fatalf("maxRetries 0: err %v after %d requests; want the 529 at once", err, len(ant.Requests()))
	}
	if !strings.Contains(string(ant.Requests()[0].Body), `"top_k":40`) {
		t.Errorf("body = %s; want top_k", ant.Requests()[0].Body)
	}
	req.MaxRetries = &many // more than configured: the configured 2 apply
	if resp, err := a.Generate(context.Background(), req); err != nil || resp.Text != "ok" {
		t.Fatalf("retried: %v", err)
	}

	f := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "ok"}))
	_, err := f.Model(5*time.Second).Generate(context.Background(), llm.Request{Model: "m", TopK: &k,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
	var ue *llm.UnsupportedSettingError
	if !errors.As(err, &ue) || ue.Setting != "TopK" || len(f.Requests()) != 0 {
		t.Errorf("openai topK: %v, %d requests", err, len(f.Requests()))
	}
}

// With extended thinking, which refuses a forced tool, an older model gets
// the json tool with tool_choice auto.
func TestAnthropicJSONToolWithThinking(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Thinking: "Let me see. ",
		Calls: []anthropictest.Call{{ID: "toolu_j", Name: "json", Args: `{"city":"Oslo","tempC":24}`}}}))
	a, _ := newAnthropic(t, f, func(c *llm.AnthropicConfig) { c.ThinkingBudget = 1024 })
	resp, err := a.Generate(context.Background(), structuredRequest("claude-3-7-sonnet-latest"))
	if err != nil || resp.Text != `{"city":"Oslo","tempC":24}` {
		t.Fatalf("Generate = %+v, %v", resp, err)
	}
	if tc := f.Requests()[0].ToolChoice; tc == nil || tc.Type != "auto" {
		t.Errorf("tool_choice = %+v; want auto with thinking", tc)
	}
}
