package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/mcp"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/toolschema"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// Mastra's MCP routes (reference mcp.md §1), for the servers of
// Options.MCPServers:
//
//	GET  /api/mcp/v0/servers                          {servers, total_count, next}
//	GET  /api/mcp/v0/servers/:id                      ServerDetail
//	GET  /api/mcp/:serverId/tools                     {tools: ToolInfo[]}
//	GET  /api/mcp/:serverId/tools/:toolId             ToolInfo
//	POST /api/mcp/:serverId/tools/:toolId/execute     {data} → {result}
//	POST /api/mcp/:serverId/mcp                       streamable HTTP (stateless)
//
// Every call acts for the resource the scoping function gives (scope.go):
// the token's, or with auth off the query's resourceId, else
// memory.default_resource_id, as a turn does. ask_<agent> runs the turn of
// generate; run_<workflow> starts a run of the caller's resource and waits
// for its result.

// MCPServer is one server to expose ([mcp_servers.<id>]): the agents,
// workflows and tools it offers, by id.
type MCPServer struct {
	ID, Name, Version, Description string
	Agents, Workflows, Tools       []string
	// Static content besides the tools, the same for every caller.
	Resources         []mcp.Resource
	ResourceTemplates []mcp.ResourceTemplate
	Prompts           []mcp.Prompt
}

// mcpResourceKey carries the resource an MCP call acts for, set by the
// route after the scoping function.
type mcpResourceKey struct{}

// askArgs are the arguments of ask_<agent>: Mastra's {message}, plus an
// optional threadId of the caller's to continue.
type askArgs struct {
	Message  string `json:"message"`
	ThreadID string `json:"threadId"`
}

const askSchema = `{"type":"object","properties":{` +
	`"message":{"type":"string","description":"The question or input for the agent."},` +
	`"threadId":{"type":"string","description":"A conversation thread of yours to continue; omit for a one-off question that is not remembered."}},` +
	`"required":["message"],"additionalProperties":false}`

// buildMCP makes the configured MCP servers, refusing at start an agent,
// workflow or tool that does not exist.
func (s *Server) buildMCP(defs []MCPServer) error {
	s.mcpByID = map[string]*mcp.Server{}
	for _, d := range defs {
		var tools []mcp.Tool
		for _, id := range d.Tools {
			t, ok := s.toolsByName[id]
			if !ok {
				return fmt.Errorf("mcp_servers.%s.tools: no tool %q", d.ID, id)
			}
			tools = append(tools, mcp.Tool{Name: id, Description: t.Description(), InputSchema: t.InputSchema(), Call: s.mcpTool(t)})
		}
		for _, id := range d.Agents {
			a, ok := s.findAgentOK(id)
			if !ok {
				return fmt.Errorf("mcp_servers.%s.agents: no agent %q", d.ID, id)
			}
			name := a.Name
			if name == "" {
				name = a.ID
			}
			tools = append(tools, mcp.Tool{Name: "ask_" + id, Type: "agent", InputSchema: json.RawMessage(askSchema),
				Description: fmt.Sprintf("Ask agent '%s' a question. Agent description: %s", name, a.Description), Call: s.mcpAsk(id)})
		}
		for _, id := range d.Workflows {
			var wf workflow.Info
			ok := false
			if s.workflows != nil {
				wf, ok = s.workflows.Workflow(id)
			}
			if !ok {
				return fmt.Errorf("mcp_servers.%s.workflows: no workflow %q", d.ID, id)
			}
			tools = append(tools, mcp.Tool{Name: "run_" + id, Type: "workflow", InputSchema: wf.InputSchema,
				Description: fmt.Sprintf("Run workflow '%s'. Workflow description: %s", id, wf.Description), Call: s.mcpRun(id),
				Resume: s.mcpResume(id)})
		}
		name := d.Name
		if name == "" {
			name = d.ID
		}
		srv, err := mcp.NewServer(mcp.Info{ID: d.ID, Name: name, Version: d.Version, Description: d.Description}, tools,
			mcp.Options{MaxBody: s.cfg.BodyLimit, TrustedOrigins: s.cfg.CORS.Origins, Logger: s.log})
		if err != nil {
			return err
		}
		if err := srv.AddContent(d.Resources, d.ResourceTemplates, d.Prompts); err != nil {
			return err
		}
		s.mcpServers = append(s.mcpServers, srv)
		s.mcpByID[d.ID] = srv
	}
	return nil
}

func (s *Server) findAgentOK(id string) (*agent.Agent, bool) {
	if s.agents == nil {
		return nil, false
	}
	return s.agents.Agent(id)
}

// mcpCallError turns an error of the turn or run path into what an MCP
// caller may read: a client mistake's message (4xx) as a ToolError, else
// the error as it is (logged, shown as a generic failure).
func mcpCallError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		te = domainError(err)
	}
	if te == nil || te.Status >= 500 {
		return err
	}
	msg := te.Message
	for _, is := range te.Issues {
		msg += "; " + is.Field + ": " + is.Message
	}
	return &mcp.ToolError{Message: msg, Status: te.Status}
}

func mcpResource(ctx context.Context) string {
	res, _ := ctx.Value(mcpResourceKey{}).(string)
	return res
}

// mcpAsk is ask_<agent>: the turn of generate, for the caller's resource.
// Without threadId it is Mastra's generate without memory (nothing saved);
// with one, the turn reads and extends that thread of the caller's.
func (s *Server) mcpAsk(agentID string) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var a askArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, &mcp.ToolError{Message: "invalid arguments: " + err.Error()}
		}
		if strings.TrimSpace(a.Message) == "" {
			return nil, &mcp.ToolError{Message: "message must not be empty"}
		}
		if msg := badText(a.Message); msg != "" {
			return nil, &mcp.ToolError{Message: "message " + msg}
		}
		if msg := badThreadID(a.ThreadID); a.ThreadID != "" && msg != "" {
			return nil, &mcp.ToolError{Message: "threadId " + msg}
		}
		transport.SetAgent(ctx, agentID) // for the access log, as a turn's route does
		in := agent.Input{AgentID: agentID, ThreadID: a.ThreadID, ResourceID: mcpResource(ctx),
			Messages: []llm.Message{{Role: llm.RoleUser, Content: a.Message}}, RequestContext: reqctx.From(ctx),
			Ephemeral: a.ThreadID == ""}
		res, err := s.agents.Generate(ctx, in)
		if err != nil {
			return nil, mcpCallError(threadTaken(err))
		}
		return appendGenerate(make([]byte, 0, generateSize(res)), res)
	}
}

// mcpRun is run_<workflow>: a run of the caller's resource, started with
// the arguments as its input; the answer is its result once it finishes or
// suspends (a suspended run resumes through the workflow routes, on any
// instance).
func (s *Server) mcpRun(wfID string) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var input any
		if err := json.Unmarshal(raw, &input); err != nil {
			return nil, &mcp.ToolError{Message: "invalid arguments: " + err.Error()}
		}
		if err := s.workflows.CheckStart(wfID, input); err != nil {
			return nil, mcpCallError(err)
		}
		res := mcpResource(ctx)
		run, err := s.workflows.CreateRun(ctx, wfID, "", res)
		if err != nil {
			return nil, mcpCallError(err)
		}
		if err := s.workflows.StartRun(ctx, workflow.StartParams{Workflow: wfID, RunID: run.RunID, ResourceID: res, Input: input}); err != nil {
			return nil, mcpCallError(err)
		}
		done, err := s.workflows.Wait(ctx, wfID, run.RunID, res)
		if err != nil {
			return nil, mcpCallError(err)
		}
		return s.mcpRunResult(wfID, run.RunID, done)
	}
}

// mcpRunState is the requestState of a run_<workflow> call that waits
// for input: the run and the suspended step. The client may change it;
// Resume checks the run against the caller's resource, as the resume
// route does, so another tenant's run is a not-found.
type mcpRunState struct {
	RunID string   `json:"runId"`
	Path  []string `json:"path"`
}

// mcpRunResult answers a finished or suspended run: a run suspended at one
// step asks for its resume data (the step's resume schema as the form),
// for clients that answer input requests; others read the suspended
// result (runId, suspended, suspendPayload) and resume through the
// workflow routes.
func (s *Server) mcpRunResult(wfID, runID string, done *workflow.Run) (json.RawMessage, error) {
	out := workflow.ResultOf(done)
	out["runId"] = runID
	raw, err := json.Marshal(out)
	if err != nil || done.Snapshot.Status != workflow.StatusSuspended {
		return raw, err
	}
	paths, _ := out["suspended"].([][]string)
	if len(paths) != 1 || len(paths[0]) != 1 {
		return raw, nil // a nested or parallel suspension: the routes say which to resume
	}
	schema := json.RawMessage(`{"type":"object","properties":{}}`)
	var desc string
	if wf, ok := s.workflows.Workflow(wfID); ok {
		for _, st := range wf.Steps {
			if st.ID == paths[0][0] && len(st.ResumeSchema) > 0 {
				schema = st.ResumeSchema
			}
		}
	}
	var d struct {
		Description string `json:"description"`
	}
	if json.Unmarshal(schema, &d) == nil {
		desc = d.Description
	}
	// Mastra's message: the payload's message, else the resume schema's
	// description, else a generic line.
	msg := fmt.Sprintf("\"run_%s\" needs more input", wfID)
	var p struct {
		Message any `json:"message"`
	}
	if b, err := json.Marshal(out["suspendPayload"]); err == nil && json.Unmarshal(b, &p) == nil {
		if m, ok := p.Message.(string); ok && m != "" {
			msg = m
		} else if desc != "" {
			msg = desc
		}
	}
	state, err := json.Marshal(mcpRunState{RunID: runID, Path: paths[0]})
	if err != nil {
		return raw, nil
	}
	return nil, &mcp.NeedsInput{Message: msg, Schema: schema, State: string(state), Result: raw}
}

// mcpResume resumes a run_<workflow> call's run with the client's answer
// to its input request, then waits for it as the call did.
func (s *Server) mcpResume(wfID string) func(context.Context, string, mcp.Answer) (json.RawMessage, error) {
	return func(ctx context.Context, state string, ans mcp.Answer) (json.RawMessage, error) {
		var st mcpRunState
		if err := json.Unmarshal([]byte(state), &st); err != nil || st.RunID == "" || len(st.Path) == 0 {
			return nil, &mcp.ToolError{Message: "invalid requestState"}
		}
		data := any(ans.Content)
		if ans.Content == nil {
			data = map[string]any{}
		}
		res := mcpResource(ctx)
		if err := s.workflows.Resume(ctx, wfID, st.RunID, res, st.Path, data); err != nil {
			return nil, mcpCallError(err)
		}
		done, err := s.workflows.Wait(ctx, wfID, st.RunID, res)
		if err != nil {
			return nil, mcpCallError(err)
		}
		return s.mcpRunResult(wfID, st.RunID, done)
	}
}

// mcpTool runs one of the server's tools with the request's context.
func (s *Server) mcpTool(t agent.Tool) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	return func(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
		out, err := t.Execute(ctx, args)
		if err != nil {
			var tr toolResponder
			if errors.As(err, &tr) {
				if status, body := tr.ToolResponse(); status >= 400 && status < 500 {
					return nil, &mcp.ToolError{Message: strings.TrimSpace(string(body)), Status: status}
				}
			}
			return nil, err
		}
		return out, nil
	}
}

// mcpServer finds the server of the path, or Mastra's 404.
func (s *Server) mcpServer(r *http.Request) (*mcp.Server, error) {
	id := httprouter.ParamsFromContext(r.Context()).ByName("serverId")
	if srv, ok := s.mcpByID[id]; ok {
		return srv, nil
	}
	return nil, &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("MCP server '%s' not found", clipID(id))}
}

func clipID(id string) string {
	if len(id) > 64 {
		return id[:64] + "…"
	}
	return id
}

// mcpContext binds an MCP call to its resource through the one scoping
// function, with the request's RequestContext for the tools.
func (s *Server) mcpContext(r *http.Request) (context.Context, error) {
	res, err := s.resource(r, queryClaim(r), useDefault)
	if err != nil {
		return nil, err
	}
	ctx := context.WithValue(r.Context(), mcpResourceKey{}, res)
	return reqctx.With(ctx, requestValues(r, nil)), nil
}

// serveMCP is the streamable HTTP transport of one server.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) error {
	srv, err := s.mcpServer(r)
	if err != nil {
		return err
	}
	ctx, err := s.mcpContext(r)
	if err != nil {
		return err
	}
	pw := &plainErrors{ResponseWriter: w}
	srv.ServeHTTP(pw, r.WithContext(ctx))
	return pw.err()
}

// serverInfoJSON is Mastra's ServerInfo.
type serverInfoJSON struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	VersionDetail versionDetailJSON `json:"version_detail"`
}

type versionDetailJSON struct {
	Version     string `json:"version"`
	ReleaseDate string `json:"release_date"`
	IsLatest    bool   `json:"is_latest"`
}

// serverDetailJSON is Mastra's ServerDetail.
type serverDetailJSON struct {
	serverInfoJSON
	PackageCanonical string `json:"package_canonical,omitempty"`
	Packages         []any  `json:"packages"`
	Remotes          []any  `json:"remotes"`
}

type mcpServerListJSON struct {
	Servers    []serverInfoJSON `json:"servers"`
	TotalCount int              `json:"total_count"`
	Next       *string          `json:"next"`
}

// mcpToolJSON is Mastra's ToolInfo.
type mcpToolJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
	ToolType    string          `json:"toolType,omitempty"`
}

type mcpToolListJSON struct {
	Tools []mcpToolJSON `json:"tools"`
}

// mcpExecuteBody is the body of the REST execute: the tool's arguments.
type mcpExecuteBody struct {
	Data json.RawMessage `json:"data"`
}

type mcpResultJSON struct {
	Result json.RawMessage `json:"result"`
}

func toServerInfo(srv *mcp.Server) serverInfoJSON {
	return serverInfoJSON{ID: srv.ID, Name: srv.Name, Description: srv.Description, VersionDetail: versionDetailJSON{
		Version: srv.Version, ReleaseDate: srv.ReleaseDate.Format("2006-01-02T15:04:05.000Z07:00"), IsLatest: true}}
}

func toMCPTool(t *mcp.Tool) mcpToolJSON {
	return mcpToolJSON{ID: t.Name, Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, ToolType: t.Type}
}

// registryPath: /api/mcp/v0/servers… shares its first segments with
// /api/mcp/:serverId/… on the router, which cannot hold both; anything but
// v0 there is an unknown route.
func registryPath(r *http.Request) error {
	if httprouter.ParamsFromContext(r.Context()).ByName("serverId") != "v0" {
		return transport.NewError(http.StatusNotFound, "Not Found")
	}
	return nil
}

// listMCPServers pages as Mastra does: page/perPage, or the deprecated
// limit/offset; without either, every server and next null.
func (s *Server) listMCPServers(w http.ResponseWriter, r *http.Request) error {
	if err := registryPath(r); err != nil {
		return err
	}
	q := r.URL.Query()
	num := func(name string, min int) (int, bool, error) {
		v := q.Get(name)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > MaxOffset {
			return 0, false, transport.Invalid("Invalid query parameters", name, fmt.Sprintf("expected an integer from %d to %d", min, MaxOffset))
		}
		return n, true, nil
	}
	page, hasPage, err := num("page", 0)
	if err != nil {
		return err
	}
	perPage, hasPer, err := num("perPage", 1)
	if err != nil {
		return err
	}
	limit, hasLimit, err := num("limit", 1)
	if err != nil {
		return err
	}
	offset, hasOffset, err := num("offset", 0)
	if err != nil {
		return err
	}
	total := len(s.mcpServers)
	start, n := 0, total
	var next *string
	switch {
	case !hasPage && !hasPer && (hasLimit || hasOffset):
		if !hasLimit {
			limit = total
		}
		start, n = offset, limit
		if start+n < total {
			v := fmt.Sprintf("/api/mcp/v0/servers?limit=%d&offset=%d", limit, offset+limit)
			next = &v
		}
	case hasPer:
		start, n = page*perPage, perPage
		if start+n < total {
			v := fmt.Sprintf("/api/mcp/v0/servers?perPage=%d&page=%d", perPage, page+1)
			next = &v
		}
	}
	out := mcpServerListJSON{Servers: []serverInfoJSON{}, TotalCount: total, Next: next}
	for i := start; i < total && i < start+n; i++ {
		out.Servers = append(out.Servers, toServerInfo(s.mcpServers[i]))
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getMCPServerDetail(w http.ResponseWriter, r *http.Request) error {
	if err := registryPath(r); err != nil {
		return err
	}
	id := httprouter.ParamsFromContext(r.Context()).ByName("id")
	srv, ok := s.mcpByID[id]
	if !ok {
		return &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("MCP server with ID '%s' not found", clipID(id))}
	}
	if v := r.URL.Query().Get("version"); v != "" && v != srv.Version {
		return &transport.Error{Status: http.StatusNotFound,
			Message: fmt.Sprintf("MCP server with ID '%s' found, but not version '%s'. Available version is '%s'", srv.ID, clipID(v), srv.Version)}
	}
	transport.WriteJSON(w, http.StatusOK, serverDetailJSON{serverInfoJSON: toServerInfo(srv), Packages: []any{}, Remotes: []any{}})
	return nil
}

func (s *Server) listMCPTools(w http.ResponseWriter, r *http.Request) error {
	srv, err := s.mcpServer(r)
	if err != nil {
		return err
	}
	out := mcpToolListJSON{Tools: []mcpToolJSON{}}
	for _, t := range srv.Tools() {
		out.Tools = append(out.Tools, toMCPTool(t))
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// mcpTool finds the server and tool of the path, or 404.
func (s *Server) mcpPathTool(r *http.Request) (*mcp.Server, *mcp.Tool, error) {
	srv, err := s.mcpServer(r)
	if err != nil {
		return nil, nil, err
	}
	id := httprouter.ParamsFromContext(r.Context()).ByName("toolId")
	t, ok := srv.Tool(id)
	if !ok {
		return nil, nil, &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("Tool '%s' not found on MCP server '%s'", clipID(id), srv.ID)}
	}
	return srv, t, nil
}

func (s *Server) getMCPTool(w http.ResponseWriter, r *http.Request) error {
	_, t, err := s.mcpPathTool(r)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, toMCPTool(t))
	return nil
}

// executeMCPTool is Mastra's REST execute: {data} → {result}; arguments
// that do not match the schema are a 400 naming each field.
func (s *Server) executeMCPTool(w http.ResponseWriter, r *http.Request) error {
	srv, t, err := s.mcpPathTool(r)
	if err != nil {
		return err
	}
	var b mcpExecuteBody
	if err := decodeOptional(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	data := b.Data
	if len(data) == 0 || string(data) == "null" {
		data = json.RawMessage(`{}`)
	}
	if err := t.Validate(data); err != nil {
		return argsError(t.Name, err)
	}
	ctx, err := s.mcpContext(r)
	if err != nil {
		return err
	}
	out, err := t.Call(ctx, data)
	var ni *mcp.NeedsInput
	if errors.As(err, &ni) {
		// A suspended run: its result says so (resume through the
		// workflow routes).
		out, err = ni.Result, nil
	}
	if err != nil {
		var te *mcp.ToolError
		if errors.As(err, &te) {
			status := te.Status
			if status == 0 {
				status = http.StatusBadRequest
			}
			return &transport.Error{Status: status, Message: te.Message, Err: err}
		}
		if r.Context().Err() != nil {
			return err
		}
		return &transport.Error{Status: http.StatusInternalServerError, Message: srv.CallError(ctx, t, err), Err: err}
	}
	transport.WriteJSON(w, http.StatusOK, mcpResultJSON{Result: out})
	return nil
}

// argsError is the 400 of arguments that do not match a tool's schema,
// one issue per field, as /api/tools/:toolId/execute answers.
func argsError(tool string, err error) error {
	e := &transport.Error{Status: http.StatusBadRequest, Message: "Tool validation failed for " + tool, Err: err}
	var ae *toolschema.ArgsError
	if errors.As(err, &ae) {
		for _, is := range ae.Issues {
			e.Issues = append(e.Issues, transport.Issue{Field: "data" + is.Path, Message: is.Message})
		}
	}
	return e
}

// mcpResourceJSON is one resource of GET /api/mcp/:serverId/resources.
type mcpResourceJSON struct {
	URI         string `json:"uri"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mimeType,omitempty"`
}

type mcpResourceListJSON struct {
	Resources []mcpResourceJSON `json:"resources"`
}

// mcpReadBody is the body of POST /api/mcp/:serverId/resources/read.
type mcpReadBody struct {
	URI string `json:"uri"`
}

// mcpContentsJSON is one content of a read resource: text, or blob
// (base64).
type mcpContentsJSON struct {
	URI      string `json:"uri"`
	MIMEType string `json:"mimeType,omitempty"`
	Text     string `json:"text,omitempty"`
	Blob     []byte `json:"blob,omitempty"`
}

type mcpReadJSON struct {
	Contents []mcpContentsJSON `json:"contents"`
}

// listMCPResources: GET /api/mcp/:serverId/resources → the server's
// static resources (the same for every caller).
func (s *Server) listMCPResources(w http.ResponseWriter, r *http.Request) error {
	srv, err := s.mcpServer(r)
	if err != nil {
		return err
	}
	out := mcpResourceListJSON{Resources: []mcpResourceJSON{}}
	for _, res := range srv.Resources() {
		out.Resources = append(out.Resources, mcpResourceJSON{URI: res.URI, Name: res.Name, Description: res.Description, MIMEType: res.MIMEType})
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// readMCPResource: POST /api/mcp/:serverId/resources/read {uri} → its
// contents; 404 for a URI no resource or template serves.
func (s *Server) readMCPResource(w http.ResponseWriter, r *http.Request) error {
	srv, err := s.mcpServer(r)
	if err != nil {
		return err
	}
	var b mcpReadBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.URI) == "" {
		return &transport.Error{Status: http.StatusBadRequest, Message: "uri is required"}
	}
	res, ok := srv.ReadResource(b.URI)
	if !ok {
		return &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("Resource '%s' not found on MCP server '%s'", clipID(b.URI), srv.ID)}
	}
	transport.WriteJSON(w, http.StatusOK, mcpReadJSON{Contents: []mcpContentsJSON{{URI: res.URI, MIMEType: res.MIMEType, Text: res.Text, Blob: res.Blob}}})
	return nil
}
