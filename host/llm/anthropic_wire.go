package llm

import (
	"bytes"
	"encoding/json"
	"strings"
)

// This file holds Anthropic's Messages API wire format and the conversions
// to and from this package's types.

type antRequest struct {
	Model         string         `json:"model"`
	MaxTokens     int            `json:"max_tokens"`
	System        []antBlock     `json:"system,omitempty"`
	Messages      []antMessage   `json:"messages"`
	Tools         []antTool      `json:"tools,omitempty"`
	ToolChoice    *antToolChoice `json:"tool_choice,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	TopK          *int           `json:"top_k,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Thinking      *antThinking   `json:"thinking,omitempty"`
	OutputConfig  *antOutput     `json:"output_config,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
}

// antOutput is output_config: {"format": {"type": "json_schema", "schema": …}}.
type antOutput struct {
	Format antFormat `json:"format"`
}

type antFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

// jsonToolName is the forced tool that carries a structured reply for the
// models without output_config (the AI SDK's name and description).
const jsonToolName = "json"

// antJSONTool reports whether model gets a structured reply through the
// forced json tool rather than output_config: Claude 3, the first Claude 4
// releases (sonnet/opus 4.0), and models of other makers behind
// Anthropic's API, which may not know output_config.
func antJSONTool(model string) bool {
	if !strings.HasPrefix(model, "claude-") {
		return true
	}
	for _, p := range []string{"claude-3", "claude-sonnet-4-0", "claude-sonnet-4-2025", "claude-opus-4-0", "claude-opus-4-2025"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

type antMessage struct {
	Role    string     `json:"role"`
	Content []antBlock `json:"content"`
}

// antBlock is a content block of a request: text, tool_use, tool_result,
// thinking or redacted_thinking. Fields that do not apply to the type are
// left out; Thinking is a pointer because a thinking block always carries
// it.
type antBlock struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      string          `json:"content,omitempty"`
	Thinking     *string         `json:"thinking,omitempty"`
	Signature    string          `json:"signature,omitempty"`
	Data         string          `json:"data,omitempty"`
	CacheControl *antCache       `json:"cache_control,omitempty"`
}

type antCache struct {
	Type string `json:"type"` // "ephemeral"
}

type antTool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	CacheControl *antCache       `json:"cache_control,omitempty"`
}

type antToolChoice struct {
	Type string `json:"type"` // auto, any, tool, none
	Name string `json:"name,omitempty"`
	// DisableParallelToolUse is set with the forced json tool: one call.
	DisableParallelToolUse bool `json:"disable_parallel_tool_use,omitempty"`
}

type antThinking struct {
	Type         string `json:"type"` // "enabled"
	BudgetTokens int    `json:"budget_tokens"`
}

type antUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// antContent is a content block of a response, or the block a stream's
// content_block_start opens.
type antContent struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
}

type antResponse struct {
	ID         string       `json:"id"`
	Model      string       `json:"model"`
	Content    []antContent `json:"content"`
	StopReason string       `json:"stop_reason"`
	Usage      *antUsage    `json:"usage"`
	Error      *wireError   `json:"error"`
}

// antEvent is one event of a stream. Which fields are set depends on Type:
// message_start (Message), content_block_start (Index, ContentBlock),
// content_block_delta (Index, Delta), content_block_stop (Index),
// message_delta (Delta, Usage), message_stop, ping, error (Error).
type antEvent struct {
	Type         string       `json:"type"`
	Message      *antResponse `json:"message"`
	Index        int          `json:"index"`
	ContentBlock *antContent  `json:"content_block"`
	Delta        *antDelta    `json:"delta"`
	Usage        *antUsage    `json:"usage"`
	Error        *wireError   `json:"error"`
}

type antDelta struct {
	Type        string `json:"type"` // text_delta, input_json_delta, thinking_delta, signature_delta
	Text        string `json:"text"`
	PartialJSON string `json:"partial_json"`
	Thinking    string `json:"thinking"`
	Signature   string `json:"signature"`
	StopReason  string `json:"stop_reason"` // message_delta
}

var ephemeral = &antCache{Type: "ephemeral"}

// antOptions are the client settings that shape a request body.
type antOptions struct {
	maxTokens      int
	cache          bool
	thinkingBudget int
}

// toAnthropic builds the request body. System messages, wherever they are,
// become the system prompt; tool results become tool_result blocks of a user
// message; consecutive messages of one role are merged, as the API wants
// user and assistant to alternate. Leading assistant messages (a history
// window that starts mid-conversation) are dropped with the results of
// their calls, as the first message must be the user's.
func toAnthropic(req Request, o antOptions, stream bool) antRequest {
	w := antRequest{
		Model:         req.Model,
		MaxTokens:     o.maxTokens,
		Messages:      make([]antMessage, 0, len(req.Messages)),
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		TopK:          req.TopK,
		StopSequences: req.Stop,
		Stream:        stream,
	}
	if req.MaxTokens != nil {
		w.MaxTokens = *req.MaxTokens
	}
	if o.thinkingBudget > 0 {
		// As the AI SDK does: max_tokens bounds the answer, and the
		// thinking budget comes on top (Anthropic counts both in it).
		w.Thinking = &antThinking{Type: "enabled", BudgetTokens: o.thinkingBudget}
		w.MaxTokens += o.thinkingBudget
	}
	known := make(map[string]bool) // tool_use ids sent so far
	add := func(role string, blocks []antBlock) {
		if len(blocks) == 0 {
			return
		}
		if role == RoleAssistant && len(w.Messages) == 0 {
			return
		}
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			w.Messages[n-1].Content = append(w.Messages[n-1].Content, blocks...)
			return
		}
		w.Messages = append(w.Messages, antMessage{Role: role, Content: blocks})
	}
	for _, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			if m.Content != "" {
				w.System = append(w.System, antBlock{Type: "text", Text: m.Content})
			}
		case RoleTool:
			if !known[m.ToolCallID] {
				continue // its call was dropped: a result without it is invalid
			}
			add(RoleUser, []antBlock{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Content}})
		case RoleAssistant:
			var blocks []antBlock
			if o.thinkingBudget > 0 {
				for _, r := range m.Reasoning {
					switch {
					case r.Redacted != "":
						blocks = append(blocks, antBlock{Type: "redacted_thinking", Data: r.Redacted})
					case r.Signature != "":
						text := r.Text
						blocks = append(blocks, antBlock{Type: "thinking", Thinking: &text, Signature: r.Signature})
					}
				}
			}
			if m.Content != "" {
				blocks = append(blocks, antBlock{Type: "text", Text: m.Content})
			}
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, antBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: toolInput(tc.Arguments)})
			}
			if len(w.Messages) == 0 {
				continue // see above; its calls stay unknown
			}
			for _, tc := range m.ToolCalls {
				known[tc.ID] = true
			}
			add(RoleAssistant, blocks)
		default: // user, and any other role as the user's
			if m.Content != "" {
				add(RoleUser, []antBlock{{Type: "text", Text: m.Content}})
			}
		}
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = emptyObjectSchema
		}
		w.Tools = append(w.Tools, antTool{Name: t.Name, Description: t.Description, InputSchema: params})
	}
	if len(req.Tools) > 0 && req.ToolChoice != "" {
		switch req.ToolChoice {
		case "auto", "none":
			w.ToolChoice = &antToolChoice{Type: req.ToolChoice}
		case "required":
			w.ToolChoice = &antToolChoice{Type: "any"}
		default:
			w.ToolChoice = &antToolChoice{Type: "tool", Name: req.ToolChoice}
		}
	}
	if f := req.ResponseFormat; f != nil {
		if antJSONTool(req.Model) {
			w.Tools = append(w.Tools, antTool{Name: jsonToolName, Description: "Respond with a JSON object.", InputSchema: f.Schema})
			w.ToolChoice = &antToolChoice{Type: "tool", Name: jsonToolName, DisableParallelToolUse: true}
			if o.thinkingBudget > 0 {
				// Extended thinking refuses a forced tool: the model is
				// offered the json tool, and a text answer is read as well.
				w.ToolChoice = &antToolChoice{Type: "auto"}
			}
		} else {
			w.OutputConfig = &antOutput{Format: antFormat{Type: "json_schema", Schema: f.Schema}}
		}
	}
	if o.cache {
		w.markCache()
	}
	return w
}

// markCache sets the prompt-cache breakpoints (at most 4 are allowed; this
// sets up to 3). The cached prefix runs tools → system → messages, so one
// breakpoint on the system prompt (or on the last tool when there is none)
// covers the instructions and tools; one on the last message covers the
// whole conversation, which the next step of a tool loop or the next turn
// reads back; one on the user message before it keeps a hit when the last
// message changed, as the API looks back only 20 blocks from a breakpoint.
func (w *antRequest) markCache() {
	switch {
	case len(w.System) > 0:
		w.System[len(w.System)-1].CacheControl = ephemeral
	case len(w.Tools) > 0:
		w.Tools[len(w.Tools)-1].CacheControl = ephemeral
	}
	marked := 0
	for i := len(w.Messages) - 1; i >= 0 && marked < 2; i-- {
		if marked == 1 && w.Messages[i].Role != RoleUser {
			continue
		}
		if markLast(w.Messages[i].Content) {
			marked++
		}
	}
}

// markLast sets a breakpoint on the last block that may carry one (thinking
// blocks may not).
func markLast(blocks []antBlock) bool {
	for j := len(blocks) - 1; j >= 0; j-- {
		if t := blocks[j].Type; t != "thinking" && t != "redacted_thinking" {
			blocks[j].CacheControl = ephemeral
			return true
		}
	}
	return false
}

// toolInput is a tool call's arguments as the JSON object tool_use.input
// must be: arguments that are not an object (a model's broken output,
// replayed) become {}.
func toolInput(args json.RawMessage) json.RawMessage {
	a := bytes.TrimSpace(args)
	if len(a) > 0 && a[0] == '{' && json.Valid(a) {
		return a
	}
	return json.RawMessage("{}")
}

func (u *antUsage) usage() Usage {
	in := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	return Usage{InputTokens: in, OutputTokens: u.OutputTokens, TotalTokens: in + u.OutputTokens,
		CacheReadTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheCreationInputTokens}
}

// merge takes in a later usage report (message_delta), whose non-zero
// fields are the newer counts.
func (u *antUsage) merge(v *antUsage) {
	if v.InputTokens > 0 {
		u.InputTokens = v.InputTokens
	}
	if v.OutputTokens > 0 {
		u.OutputTokens = v.OutputTokens
	}
	if v.CacheCreationInputTokens > 0 {
		u.CacheCreationInputTokens = v.CacheCreationInputTokens
	}
	if v.CacheReadInputTokens > 0 {
		u.CacheReadInputTokens = v.CacheReadInputTokens
	}
}

// fromAnthropic converts a whole (non-streamed) response. jsonTool: the
// request forced the json tool, whose input is the reply's text.
func fromAnthropic(w *antResponse, jsonTool bool) *Response {
	r := &Response{ID: w.ID, Model: w.Model}
	if w.Usage != nil {
		r.Usage = w.Usage.usage()
	}
	var text strings.Builder
	for _, c := range w.Content {
		switch c.Type {
		case "text":
			text.WriteString(c.Text)
		case "tool_use":
			if jsonTool && c.Name == jsonToolName {
				text.Write(bytes.TrimSpace(c.Input))
				continue
			}
			args := json.RawMessage(bytes.TrimSpace(c.Input))
			if len(args) == 0 || string(args) == "null" {
				args = json.RawMessage("{}")
			}
			r.ToolCalls = append(r.ToolCalls, ToolCall{ID: c.ID, Name: c.Name, Arguments: args})
		case "thinking":
			r.Reasoning = append(r.Reasoning, Reasoning{Text: c.Thinking, Signature: c.Signature})
		case "redacted_thinking":
			r.Reasoning = append(r.Reasoning, Reasoning{Redacted: c.Data})
		}
	}
	r.Text = text.String()
	r.FinishReason = antFinish(w.StopReason, len(r.ToolCalls) > 0)
	if jsonTool && r.FinishReason == FinishToolCalls && len(r.ToolCalls) == 0 {
		r.FinishReason = FinishStop // the json tool's call is the answer
	}
	return r
}

// antFinish maps Anthropic's stop_reason to Mastra's spelling.
func antFinish(s string, hasToolCalls bool) string {
	switch s {
	case "end_turn", "stop_sequence":
		return FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return FinishLength
	case "tool_use":
		return FinishToolCalls
	case "refusal":
		return FinishContentFilter
	case "":
		if hasToolCalls {
			return FinishToolCalls
		}
		return FinishStop
	}
	return FinishOther // pause_turn and any newer reason
}
