package server

import (
	"encoding/json"

	"github.com/mastra-server/mastra-server/host/memory"
)

// uiMessage is an AI SDK (v5) UI message: what Mastra's generate returns
// as response.uiMessages and Studio renders.
type uiMessage struct {
	ID    string   `json:"id"`
	Role  string   `json:"role"`
	Parts []uiPart `json:"parts"`
}

// uiPart is one part of a uiMessage: text, reasoning, step-start, or a
// tool part (type "tool-<name>") with its input and output.
type uiPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text,omitempty"`
	ToolCallID string          `json:"toolCallId,omitempty"`
	State      string          `json:"state,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
}

// replyContent is the part of a saved message's content (memory.Content,
// same names) that replyUIMessages reads: decoding only it skips the
// metadata map and the toolInvocations copy of the parts, most of the
// cost of decoding the reply the turn has just encoded.
type replyContent struct {
	Parts []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Details []struct {
			Text string `json:"text"`
		} `json:"details"`
		ToolInvocation *struct {
			State      string          `json:"state"`
			ToolCallID string          `json:"toolCallId"`
			ToolName   string          `json:"toolName"`
			Args       json.RawMessage `json:"args"`
			Result     json.RawMessage `json:"result"`
		} `json:"toolInvocation"`
	} `json:"parts"`
}

// replyUIMessages turns the assistant messages a turn saved (Mastra's v2
// content) into UI messages; the user's message is not part of the reply.
func replyUIMessages(msgs []memory.Message) []uiMessage {
	out := []uiMessage{}
	for _, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		var c replyContent
		if json.Unmarshal(m.Content, &c) != nil {
			continue
		}
		ui := uiMessage{ID: m.ID, Role: "assistant", Parts: []uiPart{}}
		for _, p := range c.Parts {
			switch p.Type {
			case "text":
				ui.Parts = append(ui.Parts, uiPart{Type: "text", Text: p.Text})
			case "step-start":
				ui.Parts = append(ui.Parts, uiPart{Type: "step-start"})
			case "reasoning":
				text := ""
				for _, d := range p.Details {
					text += d.Text
				}
				ui.Parts = append(ui.Parts, uiPart{Type: "reasoning", Text: text})
			case "tool-invocation":
				ti := p.ToolInvocation
				if ti == nil {
					continue
				}
				part := uiPart{Type: "tool-" + ti.ToolName, ToolCallID: ti.ToolCallID, State: "input-available", Input: orEmptyObject(ti.Args)}
				if ti.State == "result" {
					part.State, part.Output = "output-available", orNull(ti.Result)
				}
				ui.Parts = append(ui.Parts, part)
			}
		}
		out = append(out, ui)
	}
	return out
}

func orEmptyObject(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}
