package memory

import (
	"encoding/json"
	"strings"
	"time"
)

// Content is Mastra's v2 message content (MastraMessageContentV2). Only the
// fields this server reads and writes are typed; stored JSON is returned to
// clients as it is, so other fields survive.
type Content struct {
	Format          int               `json:"format"`
	Parts           []Part            `json:"parts"`
	Content         string            `json:"content,omitempty"`
	Metadata        map[string]any    `json:"metadata,omitempty"`
	ToolInvocations []*ToolInvocation `json:"toolInvocations,omitempty"`
}

// Part is one element of Content.Parts.
type Part struct {
	Type           string          `json:"type"` // text, tool-invocation, step-start, reasoning, …
	Text           string          `json:"text,omitempty"`
	ToolInvocation *ToolInvocation `json:"toolInvocation,omitempty"`
	Model          string          `json:"model,omitempty"` // on step-start
	CreatedAt      int64           `json:"createdAt,omitempty"`
	// Reasoning, Details and ProviderMetadata are a reasoning part's, as
	// Mastra writes them: reasoning "" with the text in details, and the
	// provider's signature in providerMetadata ({"anthropic":{"signature"}}).
	Reasoning        *string           `json:"reasoning,omitempty"`
	Details          []ReasoningDetail `json:"details,omitempty"`
	ProviderMetadata json.RawMessage   `json:"providerMetadata,omitempty"`
}

// ReasoningDetail is one piece of a reasoning part: {type:"text", text,
// signature?} or {type:"redacted", data}.
type ReasoningDetail struct {
	Type      string `json:"type"`
	Text      string `json:"text,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
}

// ToolInvocation is a tool call and, once it ran, its result.
type ToolInvocation struct {
	State      string          `json:"state"` // call, partial-call or result
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"`
	Args       json.RawMessage `json:"args"`
	Result     json.RawMessage `json:"result,omitempty"`
	Step       *int            `json:"step,omitempty"`
}

// TextContent is the v2 content of a plain text message.
func TextContent(text string, at time.Time) json.RawMessage {
	c := Content{
		Format:  2,
		Parts:   []Part{{Type: "text", Text: text, CreatedAt: at.UnixMilli()}},
		Content: text,
	}
	b, _ := json.Marshal(c) // only plain types: cannot fail
	return b
}

// ParseContent decodes stored content. Content that is a bare JSON string
// (Mastra v1 rows) becomes one text part.
func ParseContent(raw json.RawMessage) (Content, error) {
	var c Content
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return c, err
		}
		return Content{Format: 2, Parts: []Part{{Type: "text", Text: s}}, Content: s}, nil
	}
	err := json.Unmarshal(raw, &c)
	return c, err
}

// Text returns the message text: the text parts joined, or the content field.
func (c Content) Text() string {
	// Most messages have one text part: its text is the answer as it is,
	// without a copy (prompt asks this of every message of the history).
	n, only := 0, ""
	for _, p := range c.Parts {
		if p.Type == "text" {
			n++
			only = p.Text
		}
	}
	switch {
	case n == 1 && only != "":
		return only
	case n <= 1:
		return c.Content
	}
	var b strings.Builder
	for _, p := range c.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	if b.Len() == 0 {
		return c.Content
	}
	return b.String()
}
