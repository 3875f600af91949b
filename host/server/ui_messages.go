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

// replyUIMessages turns the assistant messages a turn saved (Mastra's v2
// content) into UI messages; the user's message is not part of the reply.
// The turn built them with their parsed form (memory.Message.WithParsed),
// so their content is not decoded again; others (a replayed turn's) are.
func replyUIMessages(msgs []memory.Message) []uiMessage {
	out := []uiMessage{}
	for i := range msgs {
		m := &msgs[i]
		if m.Role != "assistant" {
			continue
		}
		c, ok := m.Parsed()
		if !ok {
			var err error
			if c, err = memory.ParseContent(m.Content); err != nil {
				continue
			}
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
