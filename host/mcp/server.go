package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Tool is one tool a Server exposes.
type Tool struct {
	Name        string
	Description string
	// InputSchema is the JSON Schema of the arguments: an object schema
	// ("type": "object"); nil means any object.
	InputSchema json.RawMessage
	// Type is "agent" or "workflow" for the converted entries, "" for a
	// tool (Mastra's toolType).
	Type string
	// Call runs the tool with arguments valid against InputSchema. An
	// error whose text may be shown to the caller is a *ToolError; any
	// other error is logged and the caller sees only that the tool failed.
	Call func(ctx context.Context, args json.RawMessage) (json.RawMessage, error)

	// Resume, when set, continues a call that Call answered with a
	// *NeedsInput, with the client's answer to it (state is the
	// NeedsInput's, as the client echoed it back).
	Resume func(ctx context.Context, state string, answer Answer) (json.RawMessage, error)

	schema     *toolschema.Schema
	headerArgs bool
}

// NeedsInput is what Call returns for a call that waits for input (a
// workflow run that suspended). A client of protocol 2026-07-28 or later
// gets an input-required result (SEP-2322's multi-round trip: the
// elicitation travels in the result, the answer in the client's retry of
// the call, so that any instance may serve either); an older client gets
// Result as the tool's output.
type NeedsInput struct {
	Message string
	// Schema is the form the client fills in: a flat object schema of
	// strings, numbers, booleans and enums (ElicitSchema tells).
	Schema json.RawMessage
	// State comes back with the answer, to Resume. The client can read and
	// change it: Resume must check what it names against the caller.
	State  string
	Result json.RawMessage
}

func (e *NeedsInput) Error() string { return "input needed: " + e.Message }

// Answer is a client's answer to a NeedsInput: Action "accept" with
// Content, or "decline" or "cancel".
type Answer struct {
	Action  string
	Content map[string]any
}

// ElicitSchema reports whether schema can be asked for as an elicitation
// form: an object whose properties are strings, numbers, integers,
// booleans or enums (MCP's restricted elicitation schema).
func ElicitSchema(schema json.RawMessage) bool {
	var top struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(schema, &top) != nil || top.Type != "object" {
		return false
	}
	for _, raw := range top.Properties {
		var p struct {
			Type string `json:"type"`
			Enum []any  `json:"enum"`
		}
		if json.Unmarshal(raw, &p) != nil {
			return false
		}
		switch p.Type {
		case "string", "number", "integer", "boolean":
		case "":
			if len(p.Enum) == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// needsInput is err's *NeedsInput, if it is one (nil err costs nothing:
// the fast path's calls go through here).
func needsInput(err error) *NeedsInput {
	if err == nil {
		return nil
	}
	var ni *NeedsInput
	if errors.As(err, &ni) {
		return ni
	}
	return nil
}

// multiRoundTrip is the first protocol version whose clients answer
// input requests in a retry of the call.
const multiRoundTrip = "2026-07-28"

// ToolError is a tool's failure the caller may read: bad input the schema
// did not catch, a refusal, a thread of another resource.
type ToolError struct {
	Message string
	// Status is the HTTP status the REST route answers with (4xx), 0 for
	// 400.
	Status int
}

func (e *ToolError) Error() string { return e.Message }

// Info describes a Server as Mastra's registry routes show it.
type Info struct {
	ID, Name, Version, Description string
	// ReleaseDate defaults to the time the server was built (Mastra's
	// default).
	ReleaseDate time.Time
}

// Options tune the HTTP transport of a Server.
type Options struct {
	// MaxBody caps a JSON-RPC request body (413 past it).
	MaxBody int64
	// TrustedOrigins are the origins whose cross-origin POSTs are allowed
	// (the server's CORS origins); others are refused with 403. "*" trusts
	// every origin.
	TrustedOrigins []string
	Logger         *slog.Logger
}

// Server exposes tools over MCP. It is safe for concurrent use.
type Server struct {
	Info
	tools  []*Tool
	byName map[string]*Tool
	sdk    *sdk.Server
	impl   *sdk.Implementation
	http   http.Handler
	log    *slog.Logger
	// viaSDK is the transport without the fast path, and fastCalls counts
	// the calls the fast path answered (both for the tests).
	viaSDK    http.Handler
	fastCalls atomic.Int64
	// resources and templates are the static content (content.go), for
	// the REST routes.
	resources []Resource
	templates []func(uri string) (Resource, bool)
}

// NewServer builds a server of tools, checked here so that a bad entry is
// an error at start: a name used twice, a schema that is not an object
// schema or does not compile.
func NewServer(info Info, tools []Tool, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if info.ReleaseDate.IsZero() {
		info.ReleaseDate = time.Now().UTC()
	}
	if info.Version == "" {
		info.Version = "1.0.0"
	}
	s := &Server{Info: info, byName: map[string]*Tool{}, log: opts.Logger}
	s.impl = &sdk.Implementation{Name: info.Name, Version: info.Version, Description: info.Description}
	s.sdk = sdk.NewServer(s.impl, &sdk.ServerOptions{Logger: opts.Logger, HasTools: true})
	for i := range tools {
		t := tools[i]
		if _, dup := s.byName[t.Name]; dup {
			return nil, fmt.Errorf("mcp server %s: two tools are named %q", info.ID, t.Name)
		}
		if len(bytes.TrimSpace(t.InputSchema)) == 0 || string(bytes.TrimSpace(t.InputSchema)) == "null" {
			t.InputSchema = json.RawMessage(`{"type":"object"}`)
		}
		var top struct {
			Type any `json:"type"`
		}
		if err := json.Unmarshal(t.InputSchema, &top); err != nil || top.Type != "object" {
			return nil, fmt.Errorf("mcp server %s: tool %s: the input schema must be an object schema ({\"type\": \"object\", …})", info.ID, t.Name)
		}
		sc, err := toolschema.Compile(t.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("mcp server %s: tool %s: %w", info.ID, t.Name, err)
		}
		t.schema = sc
		// Arguments mirrored in headers (SEP-2575's x-mcp-header) are
		// checked by the SDK only.
		t.headerArgs = bytes.Contains(t.InputSchema, []byte("x-mcp-header"))
		tp := &t
		s.tools = append(s.tools, tp)
		s.byName[t.Name] = tp
		s.sdk.AddTool(&sdk.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema}, s.handler(tp))
	}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.sdk }, &sdk.StreamableHTTPOptions{
		// Stateless: no session lives in one process, so any instance
		// answers any request; a server→client request (elicitation,
		// sampling) is then impossible, and no tool here needs one.
		Stateless:    true,
		JSONResponse: true,
		Logger:       opts.Logger,
		// A client that goes away cancels its turn, as on /generate.
		PropagateRequestCancellation: true,
		MaxRequestBodyBytes:          opts.MaxBody,
	})
	s.http = crossOrigin(fastHandler{s: s, sdk: h, max: opts.MaxBody}, opts.TrustedOrigins)
	s.viaSDK = crossOrigin(h, opts.TrustedOrigins)
	return s, nil
}

// crossOrigin refuses a browser's cross-origin POST from an origin the
// server does not trust (CSRF against a local or intranet MCP endpoint);
// the SDK itself refuses a non-loopback Host on a loopback listener (DNS
// rebinding).
func crossOrigin(h http.Handler, trusted []string) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range trusted {
		if o == "*" {
			return h
		}
		if err := cop.AddTrustedOrigin(o); err != nil {
			continue // not a scheme://host origin: config validation says so
		}
	}
	return cop.Handler(h)
}

// ServeHTTP serves the streamable HTTP transport (POST; GET and DELETE are
// 405 in stateless mode).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.http.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), httpContextKey{}, r.Context())))
}

// httpContextKey carries the HTTP request's context to the tool handlers,
// whose own context the SDK detaches from it for protocol versions before
// 2026-07-28.
type httpContextKey struct{}

// tieToRequest cancels ctx when the HTTP request that carries the call
// ends, so that a client that goes away cancels its turn (and its model
// call), as on /generate.
func tieToRequest(ctx context.Context) (context.Context, func()) {
	hc, ok := ctx.Value(httpContextKey{}).(context.Context)
	if !ok {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(hc, func() { cancel(context.Cause(hc)) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// Tools lists the server's tools in the order given.
func (s *Server) Tools() []*Tool { return s.tools }

// Tool finds a tool by name.
func (s *Server) Tool(name string) (*Tool, bool) {
	t, ok := s.byName[name]
	return t, ok
}

// Validate checks arguments against the tool's input schema; the error is
// a *toolschema.ArgsError naming each problem.
func (t *Tool) Validate(args json.RawMessage) error { return t.schema.Validate(args) }

// handler answers tools/call for t: arguments checked against the schema,
// the result as text (a JSON string as its text, other JSON as it is), a
// failure as an isError result the model can read.
func (s *Server) handler(t *Tool) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		ctx, done := tieToRequest(ctx)
		defer done()
		mrtr := false
		if t.Resume != nil && req.Session != nil {
			if ip := req.Session.InitializeParams(); ip != nil {
				mrtr = ip.ProtocolVersion >= multiRoundTrip
			}
		}
		if t.Resume != nil && req.Params.RequestState != "" {
			return s.resume(ctx, t, req.Params, mrtr), nil
		}
		return s.call(ctx, t, req.Params.Arguments, mrtr), nil
	}
}

// resume answers a client's retry of a call that needed input: its answer
// to the elicitation goes to t.Resume with the state it echoed.
func (s *Server) resume(ctx context.Context, t *Tool, p *sdk.CallToolParamsRaw, mrtr bool) *sdk.CallToolResult {
	er, ok := p.InputResponses["input"].(*sdk.ElicitResult)
	if !ok || er == nil {
		return errorResult("tool " + t.Name + ": the retry carries no answer to its input request \"input\"")
	}
	switch er.Action {
	case "accept":
	case "decline", "cancel":
		// Mastra's words; the run stays suspended, resumable through the
		// workflow routes.
		return errorResult(fmt.Sprintf("Tool '%s' was %s", t.Name, map[string]string{"decline": "declined", "cancel": "cancelled"}[er.Action]))
	default:
		return errorResult("tool " + t.Name + ": unknown answer action " + er.Action)
	}
	out, err := t.Resume(ctx, p.RequestState, Answer{Action: er.Action, Content: er.Content})
	return s.result(ctx, t, out, err, mrtr)
}

// call runs t with args, for the SDK's handler and the fast path alike;
// mrtr says the client answers input requests (a NeedsInput).
func (s *Server) call(ctx context.Context, t *Tool, args json.RawMessage, mrtr bool) *sdk.CallToolResult {
	args = bytes.TrimSpace(args)
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage(`{}`)
	}
	if err := t.Validate(args); err != nil {
		return errorResult("invalid arguments for " + t.Name + ": " + err.Error())
	}
	out, err := t.Call(ctx, args)
	return s.result(ctx, t, out, err, mrtr)
}

// result is the MCP result of a tool's output or error.
func (s *Server) result(ctx context.Context, t *Tool, out json.RawMessage, err error, mrtr bool) *sdk.CallToolResult {
	if ni := needsInput(err); ni != nil {
		if mrtr && ElicitSchema(ni.Schema) {
			return &sdk.CallToolResult{InputRequests: sdk.InputRequestMap{"input": &sdk.ElicitParams{
				Mode: "form", Message: ni.Message, RequestedSchema: ni.Schema}}, RequestState: ni.State}
		}
		out, err = ni.Result, nil
	}
	if err != nil {
		return errorResult(s.CallError(ctx, t, err))
	}
	if res, ok := contentResult(out); ok {
		return res
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: ResultText(out)}}}
}

// contentTypes are the content blocks a tool result may carry (MCP's
// ContentBlock).
var contentTypes = map[string]bool{"text": true, "image": true, "audio": true, "resource": true, "resource_link": true}

// contentResult reads a tool's output that is itself an MCP tool result,
// {"content": [...], "isError"?, "structuredContent"?} and nothing else,
// every block of a known type: a tool that answers images, audio or
// resources says so this way, and its answer is passed through as it is
// (any other output is text, as Mastra's toCallToolResult makes it).
func contentResult(out json.RawMessage) (*sdk.CallToolResult, bool) {
	if len(out) == 0 || out[0] != '{' || !bytes.Contains(out, []byte(`"content"`)) {
		return nil, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(out, &top) != nil || top["content"] == nil {
		return nil, false
	}
	for k := range top {
		if k != "content" && k != "isError" && k != "structuredContent" {
			return nil, false
		}
	}
	var blocks []struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(top["content"], &blocks) != nil || len(blocks) == 0 {
		return nil, false
	}
	for _, b := range blocks {
		if !contentTypes[b.Type] {
			return nil, false
		}
	}
	var res sdk.CallToolResult
	if json.Unmarshal(out, &res) != nil {
		return nil, false
	}
	return &res, true
}

// CallError is what the caller reads of a tool's failure: a *ToolError's
// message, else a generic line (the error itself is logged, never sent:
// it may hold internal detail).
func (s *Server) CallError(ctx context.Context, t *Tool, err error) string {
	var te *ToolError
	switch {
	case errors.As(err, &te):
		return te.Message
	case errors.Is(err, context.DeadlineExceeded):
		return "tool " + t.Name + " timed out"
	}
	s.log.WarnContext(ctx, "mcp tool failed", "server", s.ID, "tool", t.Name, "err", err.Error())
	return "tool " + t.Name + " failed"
}

func errorResult(msg string) *sdk.CallToolResult {
	return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: msg}}}
}

// ResultText is a tool result as MCP text content: a JSON string is its
// text, other JSON stays JSON (Mastra's toCallToolResult).
func ResultText(out json.RawMessage) string {
	out = bytes.TrimSpace(out)
	if len(out) > 0 && out[0] == '"' {
		var s string
		if json.Unmarshal(out, &s) == nil {
			return s
		}
	}
	if len(out) == 0 {
		return "null"
	}
	return string(out)
}
