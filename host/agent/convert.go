package agent

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// This file turns stored v2 messages into model messages (history) and a
// turn's messages into v2 messages (persistence). It is the one place that
// knows both shapes.

// prompt builds the model's messages: the system prompt, the history and
// the new input. Tool calls in the history are replayed as an assistant
// message with ToolCalls followed by one tool message per call, so the
// sequence is valid for OpenAI: a call without a result anywhere is dropped,
// and a result sent in this turn's input (a client tool's) is placed right
// after its call. A tool message in the input whose call is nowhere in the
// prompt gets a synthetic assistant call before it.
func prompt(system string, history []memory.Message, input []llm.Message) []llm.Message {
	var out []llm.Message
	if system != "" {
		out = append(out, llm.Message{Role: llm.RoleSystem, Content: system})
	}
	answered := make(map[string]llm.Message)
	for _, m := range input {
		if m.Role == llm.RoleTool {
			answered[m.ToolCallID] = m
		}
	}
	placed := make(map[string]bool) // input tool messages already in out
	known := make(map[string]bool)  // call ids present in out
	results := make(map[string]json.RawMessage)
	contents := make([]memory.Content, len(history))
	ok := make([]bool, len(history))
	for i := range history {
		c, err := history[i].ParsedContent() // parsed once, when the store read it
		if err != nil {
			continue
		}
		contents[i], ok[i] = c, true
		for _, p := range c.Parts {
			if ti := p.ToolInvocation; p.Type == "tool-invocation" && ti != nil && ti.State == "result" {
				if _, dup := results[ti.ToolCallID]; !dup {
					results[ti.ToolCallID] = ti.Result
				}
			}
		}
	}

	for i, m := range history {
		if !ok[i] {
			continue
		}
		c := contents[i]
		switch m.Role {
		case llm.RoleUser, llm.RoleSystem:
			if text := c.Text(); text != "" {
				out = append(out, llm.Message{Role: m.Role, Content: text})
			}
		default: // assistant, and tool rows written by other servers
			var (
				text      strings.Builder
				calls     []llm.ToolCall
				tools     []llm.Message
				reasoning []llm.Reasoning
			)
			flush := func() {
				if text.Len() > 0 || len(calls) > 0 {
					out = append(out, llm.Message{Role: llm.RoleAssistant, Content: text.String(), ToolCalls: calls, Reasoning: reasoning})
					out = append(out, tools...)
				}
				text.Reset()
				calls, tools, reasoning = nil, nil, nil
			}
			hasText := false
			for _, p := range c.Parts {
				switch p.Type {
				case "step-start":
					if len(calls) > 0 {
						flush()
					}
				case "reasoning":
					if len(calls) > 0 {
						flush()
					}
					if rs, ok := replayReasoning(p); ok {
						reasoning = append(reasoning, rs)
					}
				case "text":
					hasText = true
					if len(calls) > 0 {
						flush()
					}
					text.WriteString(p.Text)
				case "tool-invocation":
					ti := p.ToolInvocation
					if ti == nil || ti.ToolCallID == "" || known[ti.ToolCallID] {
						continue
					}
					var result string
					if r, done := results[ti.ToolCallID]; done {
						result = resultText(r)
					} else if am, ok := answered[ti.ToolCallID]; ok {
						result = am.Content
						placed[ti.ToolCallID] = true
					} else {
						continue // never answered: replaying it would be invalid
					}
					known[ti.ToolCallID] = true
					calls = append(calls, llm.ToolCall{ID: ti.ToolCallID, Name: ti.ToolName, Arguments: replayArgs(ti.Args)})
					tools = append(tools, llm.Message{Role: llm.RoleTool, ToolCallID: ti.ToolCallID, Content: result})
				}
			}
			if !hasText && len(calls) == 0 && c.Content != "" {
				text.WriteString(c.Content)
			}
			flush()
		}
	}

	for _, m := range input {
		switch {
		case m.Role == llm.RoleTool && placed[m.ToolCallID]:
			continue
		case m.Role == llm.RoleTool && !known[m.ToolCallID]:
			out = append(out, llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{
				ID: m.ToolCallID, Name: m.Name, Arguments: json.RawMessage("{}"),
			}}})
			known[m.ToolCallID] = true
		case m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0:
			// Keep only the calls this input answers: a call without a
			// result would make the sequence invalid.
			var calls []llm.ToolCall
			for _, tc := range m.ToolCalls {
				if _, ok := answered[tc.ID]; ok && !known[tc.ID] {
					calls = append(calls, tc)
					known[tc.ID] = true
				}
			}
			m.ToolCalls = calls
			if m.Content == "" && len(calls) == 0 {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// anthropicMeta is the provider metadata of an Anthropic reasoning part, as
// the AI SDK writes it.
type anthropicMeta struct {
	Anthropic struct {
		Signature    string `json:"signature,omitempty"`
		RedactedData string `json:"redactedData,omitempty"`
	} `json:"anthropic"`
}

// reasoningPart is the stored form of a block of thinking, as Mastra
// stores what the AI SDK's Anthropic provider returns.
func reasoningPart(rs llm.Reasoning, at int64) memory.Part {
	empty := ""
	p := memory.Part{Type: "reasoning", Reasoning: &empty, CreatedAt: at}
	var meta anthropicMeta
	if rs.Redacted != "" {
		p.Details = []memory.ReasoningDetail{{Type: "redacted", Data: rs.Redacted}}
		meta.Anthropic.RedactedData = rs.Redacted
	} else {
		p.Details = []memory.ReasoningDetail{{Type: "text", Text: rs.Text, Signature: rs.Signature}}
		meta.Anthropic.Signature = rs.Signature
	}
	if meta.Anthropic.Signature != "" || meta.Anthropic.RedactedData != "" {
		p.ProviderMetadata, _ = json.Marshal(meta) // plain strings: cannot fail
	}
	return p
}

// replayReasoning turns a stored reasoning part back into a block a model
// can be sent: only signed or redacted thinking is worth sending back
// (Anthropic wants it in a tool loop; other providers ignore it).
func replayReasoning(p memory.Part) (llm.Reasoning, bool) {
	var rs llm.Reasoning
	var meta anthropicMeta
	if len(p.ProviderMetadata) > 0 && json.Unmarshal(p.ProviderMetadata, &meta) == nil {
		rs.Signature, rs.Redacted = meta.Anthropic.Signature, meta.Anthropic.RedactedData
	}
	var text strings.Builder
	for _, d := range p.Details {
		switch d.Type {
		case "text":
			text.WriteString(d.Text)
			if rs.Signature == "" {
				rs.Signature = d.Signature
			}
		case "redacted":
			if rs.Redacted == "" {
				rs.Redacted = d.Data
			}
		}
	}
	rs.Text = text.String()
	if rs.Text == "" && p.Reasoning != nil {
		rs.Text = *p.Reasoning
	}
	return rs, rs.Signature != "" || rs.Redacted != ""
}

// resultText is a stored tool result as the text of a tool message.
func resultText(r json.RawMessage) string {
	if len(r) == 0 {
		return "null"
	}
	return string(r)
}

// replayArgs turns stored arguments back into the text a model produced:
// arguments that were not valid JSON are stored as a JSON string.
func replayArgs(a json.RawMessage) json.RawMessage {
	if len(a) > 0 && a[0] == '"' {
		var s string
		if json.Unmarshal(a, &s) == nil {
			return json.RawMessage(s)
		}
	}
	if len(a) == 0 || string(a) == "null" {
		return json.RawMessage("{}")
	}
	return a
}

// resultJSON makes a tool message's content storable as JSON: valid JSON
// as is, anything else as a JSON string.
func resultJSON(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// clock hands out strictly increasing millisecond timestamps, so the
// messages of a turn keep their order in the thread.
type clock struct{ last time.Time }

func (c *clock) next() time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(c.last) {
		t = c.last.Add(time.Millisecond)
	}
	c.last = t
	return t
}

// inputMessages turns the turn's input into v2 messages. User and system
// messages become text. An assistant message keeps its tool calls as
// tool-invocation parts, in state "result" when a tool message of the same
// input answers them. Any other tool message (a client tool's result for a
// call saved in an earlier turn) becomes an assistant message with one
// tool-invocation part in state "result"; its name and arguments come from
// the pending call in history when it is there.
func inputMessages(input []llm.Message, history []memory.Message, clk *clock) []memory.Message {
	answers := make(map[string]llm.Message)
	for _, m := range input {
		if m.Role == llm.RoleTool {
			answers[m.ToolCallID] = m
		}
	}
	var pending map[string]*memory.ToolInvocation
	if len(answers) > 0 { // only a client tool's result needs the history's calls
		pending = pendingCalls(history)
	}
	absorbed := make(map[string]bool)
	var out []memory.Message
	for _, m := range input {
		at := clk.next()
		var c memory.Content
		role := m.Role
		switch m.Role {
		case llm.RoleAssistant:
			c = memory.Content{Format: 2, Content: m.Content}
			if m.Content != "" {
				c.Parts = append(c.Parts, memory.Part{Type: "text", Text: m.Content, CreatedAt: at.UnixMilli()})
			}
			for _, tc := range m.ToolCalls {
				ti := &memory.ToolInvocation{State: "call", ToolCallID: tc.ID, ToolName: tc.Name, Args: argsJSON(tc.Arguments)}
				if a, ok := answers[tc.ID]; ok {
					ti.State, ti.Result = "result", resultJSON(a.Content)
					absorbed[tc.ID] = true
				}
				c.Parts = append(c.Parts, memory.Part{Type: "tool-invocation", ToolInvocation: ti})
			}
		case llm.RoleTool:
			if absorbed[m.ToolCallID] {
				continue
			}
			ti := &memory.ToolInvocation{State: "result", ToolCallID: m.ToolCallID, ToolName: m.Name,
				Args: json.RawMessage("{}"), Result: resultJSON(m.Content)}
			if p, ok := pending[m.ToolCallID]; ok {
				if ti.ToolName == "" {
					ti.ToolName = p.ToolName
				}
				if len(p.Args) > 0 {
					ti.Args = p.Args
				}
			}
			role = llm.RoleAssistant
			c = memory.Content{Format: 2, Parts: []memory.Part{{Type: "tool-invocation", ToolInvocation: ti}}}
		default:
			c = memory.Content{Format: 2, Parts: []memory.Part{{Type: "text", Text: m.Content, CreatedAt: at.UnixMilli()}}, Content: m.Content}
		}
		// Handed to the store parsed, so its save need not parse it.
		msg, _ := memory.NewMessage(memory.Message{ID: uuid.NewString(), Role: role, Type: "v2", CreatedAt: at}, c) // plain types and valid raw JSON: cannot fail
		out = append(out, msg)
	}
	return out
}

// pendingCalls returns the tool invocations in history, by call id.
func pendingCalls(history []memory.Message) map[string]*memory.ToolInvocation {
	out := make(map[string]*memory.ToolInvocation)
	for i := range history {
		c, err := history[i].ParsedContent()
		if err != nil {
			continue
		}
		for _, p := range c.Parts {
			if p.Type == "tool-invocation" && p.ToolInvocation != nil {
				out[p.ToolInvocation.ToolCallID] = p.ToolInvocation
			}
		}
	}
	return out
}
