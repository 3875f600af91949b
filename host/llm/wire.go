package llm

import (
	"encoding/json"
	"fmt"
	"strings"
)

// This file holds the OpenAI chat completions wire format, which Azure
// OpenAI shares, and the conversions to and from this package's types.

type wireRequest struct {
	Model               string         `json:"model,omitempty"` // Azure takes it from the URL
	Messages            []wireMessage  `json:"messages"`
	Tools               []wireTool     `json:"tools,omitempty"`
	ToolChoice          any            `json:"tool_choice,omitempty"`
	Temperature         *float64       `json:"temperature,omitempty"`
	MaxTokens           *int           `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	TopP                *float64       `json:"top_p,omitempty"`
	Stop                []string       `json:"stop,omitempty"`
	Seed                *int           `json:"seed,omitempty"`
	PresencePenalty     *float64       `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64       `json:"frequency_penalty,omitempty"`
	ResponseFormat      *wireFormat    `json:"response_format,omitempty"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options,omitempty"`
}

// wireFormat is response_format: {"type":"json_schema","json_schema":{…}}.
type wireFormat struct {
	Type       string          `json:"type"`
	JSONSchema *wireJSONSchema `json:"json_schema,omitempty"`
}

type wireJSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict bool            `json:"strict"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"` // null for an assistant message that only calls tools
	Name       string         `json:"name,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

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

type wireTool struct {
	Type     string          `json:"type"`
	Function wireFunctionDef `json:"function"`
}

type wireFunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

type wireNamedToolChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// PromptTokensDetails says how much of the prompt OpenAI's automatic
	// prompt cache served.
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details,omitempty"`
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
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content   *string        `json:"content"`
			Refusal   *string        `json:"refusal"`
			ToolCalls []wireToolCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
	Error *wireError `json:"error"`
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

// toWire builds the request body. sendModel is false for Azure, which names
// the deployment in the URL; maxCompletionTokens selects the newer field name.
func toWire(req Request, sendModel, maxCompletionTokens, stream bool) wireRequest {
	w := wireRequest{
		Messages:         make([]wireMessage, 0, len(req.Messages)),
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		Stop:             req.Stop,
		Seed:             req.Seed,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
		Stream:           stream,
	}
	if sendModel {
		w.Model = req.Model
	}
	if maxCompletionTokens {
		w.MaxCompletionTokens = req.MaxTokens
	} else {
		w.MaxTokens = req.MaxTokens
	}
	if stream {
		w.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if f := req.ResponseFormat; f != nil {
		// strict: true, as the AI SDK's providers send by default.
		w.ResponseFormat = &wireFormat{Type: "json_schema", JSONSchema: &wireJSONSchema{Name: f.name(), Schema: f.Schema, Strict: true}}
	}
	for _, m := range req.Messages {
		content := m.Content
		wm := wireMessage{Role: m.Role, Content: &content, Name: m.Name, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			args := string(tc.Arguments)
			if strings.TrimSpace(args) == "" {
				args = "{}"
			}
			wm.ToolCalls = append(wm.ToolCalls, wireToolCall{
				ID: tc.ID, Type: "function",
				Function: wireFunction{Name: tc.Name, Arguments: args},
			})
		}
		if m.Role == RoleAssistant && len(m.ToolCalls) > 0 && m.Content == "" {
			wm.Content = nil
		}
		w.Messages = append(w.Messages, wm)
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = emptyObjectSchema
		}
		w.Tools = append(w.Tools, wireTool{
			Type:     "function",
			Function: wireFunctionDef{Name: t.Name, Description: t.Description, Parameters: params},
		})
	}
	if len(req.Tools) > 0 && req.ToolChoice != "" {
		switch req.ToolChoice {
		case "auto", "none", "required":
			w.ToolChoice = req.ToolChoice
		default:
			var named wireNamedToolChoice
			named.Type = "function"
			named.Function.Name = req.ToolChoice
			w.ToolChoice = named
		}
	}
	return w
}

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
