package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// mastraBody is the body of Mastra's /api/agents/:agentId/generate|stream
// (agentExecutionBodySchema). Each of its fields is honoured or refused
// (body_options.go); keys outside it are accepted and ignored, as Mastra
// does.
type mastraBody struct {
	Messages         json.RawMessage            `json:"messages"`
	Memory           *mastraMemory              `json:"memory"`
	RequestContext   map[string]json.RawMessage `json:"requestContext"`
	RunID            string                     `json:"runId"`
	MaxSteps         int                        `json:"maxSteps"`
	Instructions     json.RawMessage            `json:"instructions"`
	System           json.RawMessage            `json:"system"`
	ClientTools      map[string]clientTool      `json:"clientTools"`
	ModelSettings    *modelSettings             `json:"modelSettings"`
	StructuredOutput *structuredOutputBody      `json:"structuredOutput"`
	// RequireToolApproval makes every tool call of the turn wait for a
	// human's approval.
	RequireToolApproval bool `json:"requireToolApproval"`
	// Resumable is ours: see rootBody.
	Resumable bool `json:"resumable"`
	// The rest of Mastra's fields: honoured (body_options.go) or refused.
	turnOptions
	unsupported
}

type mastraMemory struct {
	Thread   json.RawMessage `json:"thread"` // "id" or {"id": …}
	Resource string          `json:"resource"`
	ReadOnly bool            `json:"readOnly"`
	refusedMemory
}

type clientTool struct {
	ID              string          `json:"id"`
	Description     string          `json:"description"`
	InputSchema     json.RawMessage `json:"inputSchema"`
	RequireApproval bool            `json:"requireApproval"`
}

// apiTurn decodes a Mastra turn; resumable, when not nil, gets the body's
// resumable.
func (s *Server) apiTurn(w http.ResponseWriter, r *http.Request, resumable *bool) (agent.Input, error) {
	var b mastraBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return agent.Input{}, err
	}
	if resumable != nil {
		*resumable = b.Resumable
	}
	return s.mastraInput(r, &b)
}

// mastraInput checks a decoded Mastra body and makes its turn (the stream
// and generate routes', and the network route's: network_handlers.go).
func (s *Server) mastraInput(r *http.Request, b *mastraBody) (agent.Input, error) {
	if err := b.unsupported.check(); err != nil {
		return agent.Input{}, err
	}
	if b.Memory != nil {
		if err := b.Memory.check(); err != nil {
			return agent.Input{}, err
		}
	}
	if err := outputAlias(b); err != nil {
		return agent.Input{}, err
	}
	msgs, err := s.parseMessages(b.Messages)
	if err != nil {
		return agent.Input{}, err
	}
	if err := checkIDs("Invalid request body", "runId", b.RunID); err != nil {
		return agent.Input{}, err
	}
	in := agent.Input{
		AgentID:        httprouter.ParamsFromContext(r.Context()).ByName("agentId"),
		IdempotencyKey: clientMessageKey(b.Messages),
		Messages:       msgs,
		RunID:          b.RunID,
		MaxSteps:       b.MaxSteps,
		RequestContext: requestValues(r, b.RequestContext),
		// Only true switches approval on: an agent's require_approval is
		// the operator's, and a request cannot turn it off.
		RequireToolApproval: b.RequireToolApproval,
	}
	if b.MaxSteps < 0 {
		return in, transport.Invalid("Invalid request body", "maxSteps", "expected a positive number")
	}
	in.Instructions = systemText(b.Instructions) + systemText(b.System)
	if in.ModelSettings, err = b.ModelSettings.settings(); err != nil {
		return in, err
	}
	if in.StructuredOutput, err = s.structuredOutput(b.StructuredOutput); err != nil {
		return in, err
	}
	if err := s.applyOptions(&b.turnOptions, &in); err != nil {
		return in, err
	}
	for name, t := range b.ClientTools {
		if t.ID != "" {
			name = t.ID
		}
		schema := t.InputSchema
		if len(schema) == 0 || string(schema) == "null" {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		in.ClientTools = append(in.ClientTools, llm.Tool{Name: name, Description: t.Description, Parameters: schema})
		if t.RequireApproval {
			if in.ClientToolApproval == nil {
				in.ClientToolApproval = map[string]bool{}
			}
			in.ClientToolApproval[name] = true
		}
	}
	if b.Memory != nil {
		thread, err := threadRef(b.Memory.Thread)
		if err != nil {
			return in, err
		}
		in.ThreadID = thread
		in.ReadOnly = b.Memory.ReadOnly
		// Mastra requires memory.resource; a token's resource stands in.
		in.ResourceID, err = s.resource(r, bodyClaim(b.Memory.Resource, "memory.resource"), mustNameAlways)
		if err != nil {
			return in, err
		}
	} else {
		// No memory: the turn is answered and not remembered.
		in.ResourceID, err = s.resource(r, claim{}, useDefault)
		if err != nil {
			return in, err
		}
		in.Ephemeral = true
	}
	in, err = s.checkAgent(in)
	if in.Ephemeral {
		in.ThreadID = ""
	}
	return in, err
}

// clientMessageKey is the idempotency key of a body whose last user message
// carries an id (UI messages do): a retry resends the same id. "" when
// there is none; an Idempotency-Key header wins over it.
func clientMessageKey(raw json.RawMessage) string {
	// Only an array has messages with ids: a string (the common body) is
	// not unmarshalled to fail (an error value, and its text).
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		return ""
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return ""
	}
	for i := len(items) - 1; i >= 0; i-- {
		var m struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		}
		if json.Unmarshal(items[i], &m) == nil && m.Role == "user" {
			if m.ID == "" {
				return ""
			}
			return "message:" + m.ID
		}
	}
	return ""
}

func threadRef(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var id string
	var obj struct {
		ID string `json:"id"`
	}
	switch {
	case json.Unmarshal(raw, &id) == nil:
	case json.Unmarshal(raw, &obj) == nil && obj.ID != "":
		id = obj.ID
	default:
		return "", transport.Invalid("Invalid request body", "memory.thread", "expected a thread id or {\"id\": …}")
	}
	if msg := badThreadID(id); msg != "" {
		return "", transport.Invalid("Invalid request body", "memory.thread", msg)
	}
	return id, nil
}

func systemText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var b strings.Builder
		for _, item := range list {
			b.WriteString(systemText(item))
			b.WriteString("\n")
		}
		return b.String()
	}
	var m struct {
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &m) == nil {
		return systemText(m.Content)
	}
	return ""
}

// inMessage is any message shape Mastra accepts: AI-SDK ModelMessages, UI
// messages with parts, and stored v2 messages.
type inMessage struct {
	Role            string          `json:"role"`
	Content         json.RawMessage `json:"content"`
	Parts           []inPart        `json:"parts"`
	ToolInvocations []inInvocation  `json:"toolInvocations"`
}

type inPart struct {
	Type           string          `json:"type"`
	Text           string          `json:"text"`
	ToolCallID     string          `json:"toolCallId"`
	ToolName       string          `json:"toolName"`
	Input          json.RawMessage `json:"input"`
	Args           json.RawMessage `json:"args"`
	Result         json.RawMessage `json:"result"`
	Output         json.RawMessage `json:"output"`
	ToolInvocation *inInvocation   `json:"toolInvocation"`
}

type inInvocation struct {
	State      string          `json:"state"`
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"`
	Args       json.RawMessage `json:"args"`
	Result     json.RawMessage `json:"result"`
}

// parseMessages turns Mastra's `messages` into model messages; an array
// longer than messageCap allows is refused before any is converted.
func (s *Server) parseMessages(raw json.RawMessage) ([]llm.Message, error) {
	bad := func(msg string) error { return transport.Invalid("Invalid request body", "messages", msg) }
	if len(raw) == 0 || string(raw) == "null" {
		return nil, bad("messages is required")
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		if strings.TrimSpace(text) == "" {
			return nil, bad("messages must not be empty")
		}
		if msg := badText(text); msg != "" {
			return nil, bad(msg)
		}
		return []llm.Message{{Role: llm.RoleUser, Content: text}}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, bad("expected a string or an array of messages")
	}
	if err := s.messageCap(len(items)); err != nil {
		return nil, err
	}
	var out []llm.Message
	for i, item := range items {
		if json.Unmarshal(item, &text) == nil {
			out = append(out, llm.Message{Role: llm.RoleUser, Content: text})
			continue
		}
		var m inMessage
		if err := json.Unmarshal(item, &m); err != nil {
			return nil, transport.Invalid("Invalid request body", fmt.Sprintf("messages[%d]", i), "expected a string or a message object")
		}
		msgs, err := m.toLLM()
		if err != nil {
			return nil, transport.Invalid("Invalid request body", fmt.Sprintf("messages[%d]", i), err.Error())
		}
		out = append(out, msgs...)
	}
	if len(out) == 0 {
		return nil, bad("messages must not be empty")
	}
	for _, m := range out {
		for _, s := range []string{m.Content, m.Name, m.ToolCallID} {
			if msg := badText(s); msg != "" {
				return nil, bad(msg)
			}
		}
	}
	return out, nil
}

func (m inMessage) toLLM() ([]llm.Message, error) {
	switch m.Role {
	case "user", "assistant", "system", "tool":
	default:
		return nil, fmt.Errorf("role must be user, assistant, system or tool, got %q", m.Role)
	}
	parts := m.Parts
	var text string
	if len(m.Content) > 0 && json.Unmarshal(m.Content, &text) != nil {
		// content is parts, or a stored v2 content object
		var ps []inPart
		if json.Unmarshal(m.Content, &ps) == nil {
			parts = append(ps, parts...)
		} else {
			var v2 struct {
				Parts   []inPart `json:"parts"`
				Content string   `json:"content"`
			}
			if json.Unmarshal(m.Content, &v2) != nil {
				return nil, fmt.Errorf("content must be a string or an array of parts")
			}
			parts = append(v2.Parts, parts...)
			if len(parts) == 0 {
				text = v2.Content
			}
		}
	}
	msg := llm.Message{Role: m.Role, Content: text}
	var results []llm.Message
	calls := map[string]bool{}
	addCall := func(id, name string, args json.RawMessage) {
		if calls[id] {
			return
		}
		calls[id] = true
		if len(args) == 0 {
			args = json.RawMessage("{}")
		}
		msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: id, Name: name, Arguments: args})
	}
	addResult := func(id, name string, result json.RawMessage) {
		results = append(results, llm.Message{Role: llm.RoleTool, ToolCallID: id, Name: name, Content: string(orNull(result))})
	}
	for _, p := range parts {
		switch {
		case p.Type == "text":
			msg.Content += p.Text
		case p.Type == "tool-call":
			addCall(p.ToolCallID, p.ToolName, first(p.Input, p.Args))
		case p.Type == "tool-result":
			addResult(p.ToolCallID, p.ToolName, toolOutput(p.Result, p.Output))
		case p.Type == "tool-invocation" && p.ToolInvocation != nil:
			inv := p.ToolInvocation
			addCall(inv.ToolCallID, inv.ToolName, inv.Args)
			if inv.State == "result" {
				addResult(inv.ToolCallID, inv.ToolName, inv.Result)
			}
		}
	}
	for _, inv := range m.ToolInvocations {
		addCall(inv.ToolCallID, inv.ToolName, inv.Args)
		if inv.State == "result" {
			addResult(inv.ToolCallID, inv.ToolName, inv.Result)
		}
	}
	if m.Role == "tool" {
		return results, nil
	}
	out := []llm.Message{msg}
	if m.Role != "assistant" {
		msg.ToolCalls = nil
		out = []llm.Message{msg}
	}
	return append(out, results...), nil
}

// toolOutput reads a tool result: Mastra's `result`, or AI SDK v5's
// `output` ({"type":"json","value":…} or {"type":"text","value":"…"}).
func toolOutput(result, output json.RawMessage) json.RawMessage {
	if len(result) > 0 {
		return result
	}
	var o struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(output, &o) == nil && o.Type != "" && len(o.Value) > 0 {
		return o.Value
	}
	return output
}

func first(a, b json.RawMessage) json.RawMessage {
	if len(a) > 0 {
		return a
	}
	return b
}

func orNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

func (s *Server) apiGenerate(w http.ResponseWriter, r *http.Request) error {
	in, err := s.apiTurn(w, r, nil)
	if err != nil {
		return err
	}
	return s.runGenerate(w, r, in)
}

func (s *Server) apiStream(w http.ResponseWriter, r *http.Request) error {
	var resumable bool
	in, err := s.apiTurn(w, r, &resumable)
	if err != nil {
		return err
	}
	return s.runStream(w, r, in, resumable)
}
