package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Mastra's tool routes (reference §1.4 and §1.1):
//
//	GET  /api/tools                                   {toolId: tool}
//	GET  /api/tools/:toolId                           tool
//	POST /api/tools/:toolId/execute                   {data, requestContext?} → raw result
//	GET  /api/agents/:agentId/tools/:toolId           tool
//	POST /api/agents/:agentId/tools/:toolId/execute   {data, requestContext?} → raw result
//
// A tool is {id, description, inputSchema, requireApproval}, inputSchema a
// string holding superjson's {"json": <JSON Schema>}. The tools are
// Options.Tools plus every agent's tools (the first of a name wins). data is
// validated against the input schema before the tool runs; invalid data is
// answered as Mastra's Tool.execute returns it, 200 {error: true, message,
// validationErrors}, so client-js hands it back instead of throwing. The tool
// runs with the request's RequestContext, merged with the body's
// requestContext. A tool that answers 4xx passes its answer on; a trap is
// 500 {"error":"Tool execution failed"}, a timeout 504.

// indexTools returns the server's tools by name: Options.Tools, then every
// agent's tools. Built once in New; the set never changes while serving.
func (s *Server) indexTools() map[string]agent.Tool {
	out := make(map[string]agent.Tool)
	add := func(ts []agent.Tool) {
		for _, t := range ts {
			if t == nil {
				continue
			}
			if _, dup := out[t.Name()]; !dup {
				out[t.Name()] = t
			}
		}
	}
	add(s.tools)
	if s.agents != nil {
		for _, a := range s.agents.Agents() {
			add(a.Tools)
		}
	}
	return out
}

func toToolJSON(t agent.Tool) toolJSON {
	schema := bytes.TrimSpace(t.InputSchema())
	if len(schema) == 0 || !json.Valid(schema) {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	b, _ := json.Marshal(map[string]json.RawMessage{"json": schema}) // valid raw JSON: cannot fail
	at, ok := t.(agent.ApprovalTool)
	return toolJSON{ID: t.Name(), Description: t.Description(), InputSchema: string(b), RequireApproval: ok && at.RequireApproval()}
}

func toolNotFound(id string) error {
	return &transport.Error{Status: http.StatusNotFound, Message: "Tool not found", Err: fmt.Errorf("tool %q", id)}
}

func (s *Server) listTools(w http.ResponseWriter, r *http.Request) error {
	out := make(map[string]toolJSON, len(s.toolsByName))
	for n, t := range s.toolsByName {
		out[n] = toToolJSON(t)
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getTool(w http.ResponseWriter, r *http.Request) error {
	id := httprouter.ParamsFromContext(r.Context()).ByName("toolId")
	t, ok := s.toolsByName[id]
	if !ok {
		return toolNotFound(id)
	}
	transport.WriteJSON(w, http.StatusOK, toToolJSON(t))
	return nil
}

func (s *Server) executeTool(w http.ResponseWriter, r *http.Request) error {
	id := httprouter.ParamsFromContext(r.Context()).ByName("toolId")
	t, ok := s.toolsByName[id]
	if !ok {
		return toolNotFound(id)
	}
	return s.runTool(w, r, t)
}

// agentTool finds a tool of the agent named in the path.
func (s *Server) agentTool(r *http.Request) (agent.Tool, error) {
	p := httprouter.ParamsFromContext(r.Context())
	a, err := s.findAgent(p.ByName("agentId"))
	if err != nil {
		return nil, err
	}
	for _, t := range a.Tools {
		if t != nil && t.Name() == p.ByName("toolId") {
			return t, nil
		}
	}
	return nil, toolNotFound(p.ByName("toolId"))
}

func (s *Server) getAgentTool(w http.ResponseWriter, r *http.Request) error {
	t, err := s.agentTool(r)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, toToolJSON(t))
	return nil
}

func (s *Server) executeAgentTool(w http.ResponseWriter, r *http.Request) error {
	t, err := s.agentTool(r)
	if err != nil {
		return err
	}
	return s.runTool(w, r, t)
}

// executeBody is the body of the execute routes.
type executeBody struct {
	Data           json.RawMessage            `json:"data"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
}

// toolResponder is an error carrying a tool's own HTTP answer
// (wasmtool.StatusError).
type toolResponder interface {
	ToolResponse() (status int, body []byte)
}

func (s *Server) runTool(w http.ResponseWriter, r *http.Request, t agent.Tool) error {
	var b executeBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	data := bytes.TrimSpace(b.Data)
	if len(data) == 0 || string(data) == "null" {
		return transport.Invalid("Invalid request body", "data", "data is required")
	}
	schema, err := toolschema.For(t.InputSchema())
	if err != nil {
		return &transport.Error{Status: http.StatusInternalServerError, Message: "Internal Server Error", Err: err}
	}
	if err := schema.Validate(data); err != nil {
		transport.WriteJSON(w, http.StatusOK, validationFailure(t.Name(), data, err))
		return nil
	}
	vals := requestValues(r, b.RequestContext)
	ctx := reqctx.With(r.Context(), vals)
	out, err := t.Execute(ctx, json.RawMessage(data))
	if err != nil {
		return s.toolFailure(w, r, t, err)
	}
	out = bytes.TrimSpace(out)
	switch {
	case len(out) == 0:
		out = json.RawMessage("null")
	case !json.Valid(out):
		out, _ = json.Marshal(string(out)) // a string always marshals
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(append(out, '\n'))
	return nil
}

// toolValidation is Mastra's ValidationError, which Tool.execute returns
// (not throws) for input that does not match the schema.
type toolValidation struct {
	Error            bool           `json:"error"`
	Message          string         `json:"message"`
	ValidationErrors validationNode `json:"validationErrors"`
}

// validationNode is one level of validationErrors: the messages about this
// value and, by key, about its parts.
type validationNode struct {
	Errors []string                   `json:"errors"`
	Fields map[string]*validationNode `json:"fields"`
}

// maxArgsShown is how much of the arguments Mastra quotes in the message.
const maxArgsShown = 200

func validationFailure(tool string, data json.RawMessage, err error) toolValidation {
	root := &validationNode{Errors: []string{}, Fields: map[string]*validationNode{}}
	var lines []string
	add := func(path, msg string) {
		n := root
		shown := "root"
		if path != "" {
			segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
			for _, seg := range segs {
				seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
				next, ok := n.Fields[seg]
				if !ok {
					next = &validationNode{Errors: []string{}, Fields: map[string]*validationNode{}}
					n.Fields[seg] = next
				}
				n = next
			}
			shown = strings.Join(segs, ".")
		}
		n.Errors = append(n.Errors, msg)
		lines = append(lines, "- "+shown+": "+msg)
	}
	var ae *toolschema.ArgsError
	if errors.As(err, &ae) {
		for _, is := range ae.Issues {
			add(is.Path, is.Message)
		}
	} else {
		add("", err.Error())
	}
	args := string(data)
	if r := []rune(args); len(r) > maxArgsShown {
		args = string(r[:maxArgsShown]) + "..."
	}
	return toolValidation{Error: true, ValidationErrors: *root,
		Message: "Tool input validation failed for " + tool + ". Please fix the following errors and try again:\n" +
			strings.Join(lines, "\n") + "\n\nProvided arguments: " + args}
}

// toolFailure maps a tool's error: its own 4xx answer goes to the client as
// it is (the call was refused, retrying will not help), as does a suspend's
// 202; a timeout is 504;
// a response over the plugin's max_response is 502; anything else (a trap, a
// crash, a 5xx) is a generic 500.
func (s *Server) toolFailure(w http.ResponseWriter, r *http.Request, t agent.Tool, err error) error {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return err // the client left
	}
	var tr toolResponder
	if errors.As(err, &tr) {
		// A 202 is a tool that suspended (agent.ToolSuspend): its payload
		// is the answer, as a refusal's body is.
		if status, body := tr.ToolResponse(); (status >= 400 && status < 500) || status == http.StatusAccepted {
			body = bytes.TrimSpace(body)
			var obj map[string]json.RawMessage
			if json.Unmarshal(body, &obj) != nil {
				msg := string(body)
				if msg == "" {
					msg = http.StatusText(status)
				}
				transport.WriteJSON(w, status, map[string]string{"error": msg})
				return nil
			}
			h := w.Header()
			h.Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			w.Write(append(body, '\n'))
			return nil
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &transport.Error{Status: http.StatusGatewayTimeout, Message: "Tool timed out", Err: fmt.Errorf("tool %s: %w", t.Name(), err)}
	}
	var big interface{ ResponseTooLarge() bool } // plugin.ErrResponseTooLarge
	if errors.As(err, &big) && big.ResponseTooLarge() {
		return &transport.Error{Status: http.StatusBadGateway, Message: "Tool response too large", Err: fmt.Errorf("tool %s: %w", t.Name(), err)}
	}
	return &transport.Error{Status: http.StatusInternalServerError, Message: "Tool execution failed", Err: fmt.Errorf("tool %s: %w", t.Name(), err)}
}
