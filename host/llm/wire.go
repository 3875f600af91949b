package llm

import (
	"encoding/json"
	"fmt"
	"strings"
)

// This file holds the OpenAI chat completions wire format, which Azure
// OpenAI shares, and the conversions to and from this package's types.

type wireToolCall struct {
	Index    *int         `json:"index,omitempty"` // streamed deltas only
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// PromptTokensDetails says how much of the prompt OpenAI's automatic
	// prompt cache served.
	PromptTokensDetails     *wireCachedTokens    `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *wireReasoningTokens `json:"completion_tokens_details,omitempty"`
}

type wireCachedTokens struct {
	CachedTokens int `json:"cached_tokens"`
}

type wireReasoningTokens struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// wireError is the error object of an error response body, also sent by some
// providers inside a stream. Code is a string on OpenAI and Azure but a
// number on some compatible servers, hence json.RawMessage.
type wireError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

type wireResponse struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Choices []wireChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	Error   *wireError   `json:"error"`
}

type wireChoice struct {
	Index        int               `json:"index"`
	Message      wireChoiceMessage `json:"message"`
	FinishReason string            `json:"finish_reason"`
}

type wireChoiceMessage struct {
	Content   *string        `json:"content"`
	Refusal   *string        `json:"refusal"`
	ToolCalls []wireToolCall `json:"tool_calls"`
}

type wireChunk struct {
	ID      string            `json:"id"`
	Model   string            `json:"model"`
	Choices []wireChunkChoice `json:"choices"` // empty in the final usage chunk
	Usage   *wireUsage        `json:"usage"`
	Error   *wireError        `json:"error"`
}

type wireChunkChoice struct {
	Index        int       `json:"index"`
	Delta        wireDelta `json:"delta"`
	FinishReason *string   `json:"finish_reason"`
}

type wireDelta struct {
	Content   *string        `json:"content"`
	Refusal   *string        `json:"refusal"`
	ToolCalls []wireToolCall `json:"tool_calls"`
}

// emptyObjectSchema is sent for a tool without a parameters schema; OpenAI
// rejects a null schema.
var emptyObjectSchema = json.RawMessage(`{"type":"object","properties":{}}`)

// fromWire converts a whole (non-streamed) response.
func fromWire(w *wireResponse) *Response {
	r := &Response{ID: w.ID, Model: w.Model}
	if w.Usage != nil {
		r.Usage = w.Usage.usage()
	}
	for _, c := range w.Choices {
		if c.Index != 0 {
			continue // only one choice is ever asked for
		}
		switch {
		case c.Message.Content != nil:
			r.Text = *c.Message.Content
		case c.Message.Refusal != nil:
			r.Text = *c.Message.Refusal
		}
		for i, tc := range c.Message.ToolCalls {
			id := tc.ID
			if id == "" {
				id = fmt.Sprintf("call_%d", i) // the tool loop needs an id to answer
			}
			r.ToolCalls = append(r.ToolCalls, ToolCall{
				ID: id, Name: tc.Function.Name, Arguments: argsJSON(tc.Function.Arguments),
			})
		}
		r.FinishReason = finishReason(c.FinishReason, len(r.ToolCalls) > 0)
		break
	}
	return r
}

func (u *wireUsage) usage() Usage {
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	out := Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: total}
	if u.PromptTokensDetails != nil {
		out.CacheReadTokens = u.PromptTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		out.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	return out
}

// argsJSON turns the wire's arguments string into the JSON text, "{}" when
// the model sent none.
func argsJSON(s string) json.RawMessage {
	if strings.TrimSpace(s) == "" {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

// finishReason maps a provider's finish_reason to Mastra's spelling. A
// missing reason (some compatible servers send none) is inferred from
// whether the reply called tools.
func finishReason(s string, hasToolCalls bool) string {
	switch s {
	case "stop", "eos", "end_turn":
		return FinishStop
	case "length", "max_tokens":
		return FinishLength
	case "tool_calls", "function_call":
		return FinishToolCalls
	case "content_filter":
		return FinishContentFilter
	case "":
		if hasToolCalls {
			return FinishToolCalls
		}
		return FinishStop
	default:
		return FinishOther
	}
}

// errorType returns the most specific name the provider gave an error.
func (e *wireError) errorType() string {
	if len(e.Code) > 0 && string(e.Code) != "null" {
		var s string
		if json.Unmarshal(e.Code, &s) == nil {
			if s != "" {
				return s
			}
		} else {
			return string(e.Code)
		}
	}
	return e.Type
}
