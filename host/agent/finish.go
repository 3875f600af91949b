package agent

import (
	"encoding/json"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
)

// The stream's finish payload carries the turn's conversation and steps
// as Mastra's does: messages {all, user, nonUser} as AI SDK model messages
// (the whole conversation the model saw plus its reply, the turn's input,
// and the reply: assistant and tool messages), and output.steps.

type finishMessages struct {
	All     []modelMessage `json:"all"`
	User    []modelMessage `json:"user"`
	NonUser []modelMessage `json:"nonUser"`
}

// modelMessage is an AI SDK (v5) ModelMessage, content always as parts.
type modelMessage struct {
	Role    string      `json:"role"`
	Content []modelPart `json:"content"`
}

type modelPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text,omitempty"`
	ToolCallID string          `json:"toolCallId,omitempty"`
	ToolName   string          `json:"toolName,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     *partOutput     `json:"output,omitempty"`
}

// partOutput is a tool-result part's output: {type: "json"|"text"|"error-text", value}.
type partOutput struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// textValue is s as a JSON string.
func textValue(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// finishMessages builds the finish payload's messages: the prompt of the
// turn's first model call (or, resumed, of the step it waited in), without
// its system messages, then what the steps since added.
func (r *run) finishMessages() *finishMessages {
	fm := &finishMessages{User: modelMessages(r.in.Messages), NonUser: stepMessages(r.res.StepResults)}
	if r.prompt == nil {
		fm.All = append(append([]modelMessage{}, fm.User...), fm.NonUser...)
		return fm
	}
	from := min(r.promptSteps, len(r.res.StepResults))
	fm.All = append(modelMessages(r.prompt), stepMessages(r.res.StepResults[from:])...)
	return fm
}

// modelMessages converts model messages, leaving system messages out (the
// AI SDK keeps them apart) and grouping consecutive tool results as the
// AI SDK's one tool message per step.
func modelMessages(msgs []llm.Message) []modelMessage {
	out := make([]modelMessage, 0, len(msgs))
	n := 0
	for _, m := range msgs {
		n += 1 + len(m.ToolCalls)
	}
	// One array holds every message's parts: a message's parts are a
	// slice of it, appended to in place.
	parts := make([]modelPart, 0, n)
	for _, m := range msgs {
		switch m.Role {
		case llm.RoleSystem:
			continue
		case llm.RoleTool:
			part := modelPart{Type: "tool-result", ToolCallID: m.ToolCallID, ToolName: m.Name, Output: outputOf(m.Content)}
			if n := len(out); n > 0 && out[n-1].Role == llm.RoleTool {
				out[n-1].Content = append(out[n-1].Content, part)
				continue
			}
			out = append(out, modelMessage{Role: llm.RoleTool, Content: []modelPart{part}})
			continue
		}
		from := len(parts)
		if m.Content != "" {
			parts = append(parts, modelPart{Type: "text", Text: m.Content})
		}
		for _, tc := range m.ToolCalls {
			parts = append(parts, modelPart{Type: "tool-call", ToolCallID: tc.ID, ToolName: tc.Name, Input: argsJSON(tc.Arguments)})
		}
		out = append(out, modelMessage{Role: m.Role, Content: parts[from:len(parts):len(parts)]})
	}
	return out
}

// outputOf is a tool result's output part: JSON when it is JSON.
func outputOf(content string) *partOutput {
	if json.Valid([]byte(content)) {
		return &partOutput{Type: "json", Value: json.RawMessage(content)}
	}
	return &partOutput{Type: "text", Value: textValue(content)}
}

// stepMessages are the response messages of steps: each step's
// assistant message (its text and calls), then a tool message with the
// results it got.
func stepMessages(steps []Step) []modelMessage {
	out := make([]modelMessage, 0, 2*len(steps))
	for _, st := range steps {
		a := modelMessage{Role: llm.RoleAssistant, Content: []modelPart{}}
		if st.Text != "" {
			a.Content = append(a.Content, modelPart{Type: "text", Text: st.Text})
		}
		for _, c := range st.ToolCalls {
			if p, ok := c.Payload.(ToolCallPayload); ok {
				a.Content = append(a.Content, modelPart{Type: "tool-call", ToolCallID: p.ToolCallID, ToolName: p.ToolName, Input: p.Args})
			}
		}
		out = append(out, a)
		var results []modelPart
		for _, c := range st.ToolResults {
			switch p := c.Payload.(type) {
			case toolResultPayload:
				results = append(results, modelPart{Type: "tool-result", ToolCallID: p.ToolCallID, ToolName: p.ToolName,
					Output: &partOutput{Type: "json", Value: orNullJSON(p.Result)}})
			case toolErrorPayload:
				results = append(results, modelPart{Type: "tool-result", ToolCallID: p.ToolCallID, ToolName: p.ToolName,
					Output: &partOutput{Type: "error-text", Value: textValue(p.Error.Message)}})
			case deniedPayload:
				results = append(results, modelPart{Type: "tool-result", ToolCallID: p.ToolCallID, ToolName: p.ToolName,
					Output: &partOutput{Type: "text", Value: textValue(p.Approval.Reason)}})
			}
		}
		if len(results) > 0 {
			out = append(out, modelMessage{Role: llm.RoleTool, Content: results})
		}
	}
	return out
}

// stepValue is one of the finish payload's output.steps: the fields of
// Mastra's step result that describe the model call (generate's steps[]
// carries the rest).
type stepValue struct {
	StepType         string         `json:"stepType"`
	Text             string         `json:"text"`
	ToolCalls        []Chunk        `json:"toolCalls"`
	ToolResults      []Chunk        `json:"toolResults"`
	FinishReason     string         `json:"finishReason"`
	Usage            usagePayload   `json:"usage"`
	Warnings         []any          `json:"warnings"`
	Request          struct{}       `json:"request"`
	Response         stepResponse   `json:"response"`
	ProviderMetadata map[string]any `json:"providerMetadata,omitempty"`
}

type stepResponse struct {
	ID            string        `json:"id"`
	Timestamp     string        `json:"timestamp"`
	ModelID       string        `json:"modelId"`
	ModelMetadata ModelMetadata `json:"modelMetadata"`
}

func stepValues(steps []Step) []stepValue {
	out := make([]stepValue, len(steps))
	for i, st := range steps {
		out[i] = stepValue{StepType: "initial", Text: st.Text, ToolCalls: nonNil(st.ToolCalls), ToolResults: nonNil(st.ToolResults),
			FinishReason: st.FinishReason, Usage: usageOf(st.Usage), Warnings: []any{},
			Response: stepResponse{ID: st.ResponseID, Timestamp: st.Finished.Format(time.RFC3339Nano), ModelID: st.ReportedModel(),
				ModelMetadata: st.Metadata()},
			ProviderMetadata: ProviderMetadata(st.Provider, st.Usage)}
		if i > 0 {
			out[i].StepType = "tool-result"
		}
	}
	return out
}
