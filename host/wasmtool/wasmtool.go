package wasmtool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/plugin"
)

// Tool is a Wasm plugin loaded as an agent tool. It is safe for concurrent
// use.
type Tool struct {
	name, description string
	schema            json.RawMessage
	p                 *plugin.Plugin
	// NeedsApproval makes every call wait for a human's approval
	// (require_approval); set it before the tool is used.
	NeedsApproval bool
	// Resume is the JSON Schema of the resume data of a call that
	// suspended (resume_schema); nil accepts any. Set it before use.
	Resume json.RawMessage
}

// New returns the tool name served by p. schema is the JSON Schema of the
// arguments; nil means any object.
func New(name, description string, schema json.RawMessage, p *plugin.Plugin) *Tool {
	if len(bytes.TrimSpace(schema)) == 0 {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	return &Tool{name: name, description: description, schema: schema, p: p}
}

// Name is the tool's name, as the model calls it.
func (t *Tool) Name() string { return t.name }

// Description tells the model what the tool does.
func (t *Tool) Description() string { return t.description }

// InputSchema is the JSON Schema of the arguments object.
func (t *Tool) InputSchema() json.RawMessage { return t.schema }

// RequireApproval reports whether a call waits for a human's approval.
func (t *Tool) RequireApproval() bool { return t.NeedsApproval }

// ResumeSchema is the JSON Schema of a suspended call's resume data.
func (t *Tool) ResumeSchema() json.RawMessage { return t.Resume }

// StatusError is a guest's answer with a status outside 2xx: the tool
// refused the call (4xx) or failed (5xx). Body is what the guest wrote.
type StatusError struct {
	Tool   string
	Status int
	Body   []byte
}

func (e *StatusError) Error() string {
	msg := strings.TrimSpace(string(e.Body))
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return fmt.Sprintf("tool %s answered status %d: %s", e.Tool, e.Status, msg)
}

// ToolResponse returns the guest's status and body, for an HTTP layer that
// wants to pass a refusal on as it is.
func (e *StatusError) ToolResponse() (int, []byte) { return e.Status, e.Body }

// Execute calls the guest with args as the request body. A 202 suspends
// the call (*agent.ToolSuspend, its body the suspend payload): the agent's
// turn waits for resume data, then calls again with it under "resumeData"
// in the arguments. Another 2xx response is the result: JSON as it is,
// other text as a JSON string, an empty body as null. Another status is a
// *StatusError; a trap, a timeout or a busy pool are the plugin's errors
// (plugin.ErrTrap, plugin.ErrTimeout, …).
func (t *Tool) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	status, body, err := t.p.Call(ctx, args)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return nil, &StatusError{Tool: t.name, Status: status, Body: body}
	}
	body = bytes.TrimSpace(body)
	if status == http.StatusAccepted {
		return nil, &agent.ToolSuspend{Payload: body}
	}
	switch {
	case len(body) == 0:
		return json.RawMessage("null"), nil
	case !json.Valid(body):
		s, _ := json.Marshal(string(body)) // a string always marshals
		return s, nil
	}
	return body, nil
}
