package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/wire"
)

// The root routes (/agent/generate, /agent/stream) and Mastra's
// (/api/agents/:agentId/generate|stream) decode different bodies into one
// turn, then share runGenerate and runStream.

// rootBody is the body of /agent/generate and /agent/stream.
type rootBody struct {
	Message        *string                    `json:"message"`
	ThreadID       string                     `json:"threadId"`
	ResourceID     string                     `json:"resourceId"`
	AgentID        string                     `json:"agentId"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
	ModelSettings  *modelSettings             `json:"modelSettings"`
	// StructuredOutput is Mastra's option, on the root routes too.
	StructuredOutput *structuredOutputBody `json:"structuredOutput"`
	// Resumable logs the stream and keeps the turn running when the
	// client goes away (runs.go).
	Resumable bool `json:"resumable"`
}

// rootTurn decodes a root turn; resumable, when not nil, gets the body's
// resumable.
func (s *Server) rootTurn(w http.ResponseWriter, r *http.Request, resumable *bool) (agent.Input, error) {
	var b rootBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return agent.Input{}, err
	}
	if resumable != nil {
		*resumable = b.Resumable
	}
	if b.Message == nil {
		return agent.Input{}, transport.Invalid("Invalid request body", "message", "message is required")
	}
	if strings.TrimSpace(*b.Message) == "" {
		return agent.Input{}, transport.Invalid("Invalid request body", "message", "message must not be empty")
	}
	if msg := badText(*b.Message); msg != "" {
		return agent.Input{}, transport.Invalid("Invalid request body", "message", msg)
	}
	if msg := badThreadID(b.ThreadID); msg != "" {
		return agent.Input{}, transport.Invalid("Invalid request body", "threadId", msg)
	}
	if err := checkIDs("Invalid request body", "agentId", b.AgentID); err != nil {
		return agent.Input{}, err
	}
	res, err := s.resource(r, bodyClaim(b.ResourceID, "resourceId"), useDefault)
	if err != nil {
		return agent.Input{}, err
	}
	vals := requestValues(r, b.RequestContext)
	in := agent.Input{
		AgentID:        b.AgentID,
		ThreadID:       b.ThreadID,
		ResourceID:     res,
		Messages:       []llm.Message{{Role: llm.RoleUser, Content: *b.Message}},
		RequestContext: vals,
	}
	if in.ModelSettings, err = b.ModelSettings.settings(); err != nil {
		return in, err
	}
	if in.StructuredOutput, err = s.structuredOutput(b.StructuredOutput); err != nil {
		return in, err
	}
	return s.checkAgent(in)
}

// findAgent returns the agent with id, or Mastra's 404.
func (s *Server) findAgent(id string) (*agent.Agent, error) {
	if s.agents != nil {
		if a, ok := s.agents.Agent(id); ok {
			return a, nil
		}
	}
	return nil, &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("Agent with id %s not found", id)}
}

func (s *Server) checkAgent(in agent.Input) (agent.Input, error) {
	id := in.AgentID
	if id == "" {
		id = s.agents.DefaultID()
	}
	if _, err := s.findAgent(id); err != nil {
		return in, err
	}
	in.AgentID = id
	if in.ThreadID == "" {
		in.ThreadID, in.ThreadMade = uuid.NewString(), true
	}
	return in, nil
}

// requestValues merges a client's requestContext into the request's map.
func requestValues(r *http.Request, client map[string]json.RawMessage) *reqctx.Values {
	v := reqctx.From(r.Context())
	if v == nil {
		v = reqctx.New()
	}
	v.MergeClient(client)
	return v
}

func (s *Server) rootGenerate(w http.ResponseWriter, r *http.Request) error {
	in, err := s.rootTurn(w, r, nil)
	if err != nil {
		return err
	}
	return s.runGenerate(w, r, in)
}

func (s *Server) rootStream(w http.ResponseWriter, r *http.Request) error {
	var resumable bool
	in, err := s.rootTurn(w, r, &resumable)
	if err != nil {
		return err
	}
	return s.runStream(w, r, in, resumable)
}

// generateJSON is the whole reply: the root route's fields plus Mastra's
// FullOutput fields, so either client reads it.
type generateJSON struct {
	Text               string          `json:"text"`
	ThreadID           string          `json:"threadId"`
	ResourceID         string          `json:"resourceId"`
	RunID              string          `json:"runId"`
	FinishReason       string          `json:"finishReason"`
	Usage              usageJSON       `json:"usage"`
	TotalUsage         usageJSON       `json:"totalUsage"`
	ToolCalls          []agent.Chunk   `json:"toolCalls"`
	ToolResults        []agent.Chunk   `json:"toolResults"`
	Steps              []stepJSON      `json:"steps"`
	Warnings           []any           `json:"warnings"`
	Reasoning          []any           `json:"reasoning"`
	Sources            []any           `json:"sources"`
	Files              []any           `json:"files"`
	Request            map[string]any  `json:"request"`
	ProviderMetadata   map[string]any  `json:"providerMetadata"`
	Response           responseJSON    `json:"response"`
	Object             json.RawMessage `json:"object,omitempty"`
	UsedFallbackValue  bool            `json:"usedFallbackValue"`
	Messages           []wire.Message  `json:"messages"`
	RememberedMessages []wire.Message  `json:"rememberedMessages"`
	// SuspendPayload and ResumeSchema: what a suspended turn (finishReason
	// "suspended") waits for, as Mastra answers it.
	SuspendPayload any    `json:"suspendPayload,omitempty"`
	ResumeSchema   string `json:"resumeSchema,omitempty"`
}

// usageJSON is the AI SDK's usage, as Mastra answers it.
type usageJSON struct {
	InputTokens       int `json:"inputTokens"`
	OutputTokens      int `json:"outputTokens"`
	TotalTokens       int `json:"totalTokens"`
	ReasoningTokens   int `json:"reasoningTokens"`
	CachedInputTokens int `json:"cachedInputTokens"`
}

func toUsageJSON(u llm.Usage) usageJSON {
	return usageJSON{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens,
		ReasoningTokens: u.ReasoningTokens, CachedInputTokens: u.CacheReadTokens}
}

// responseJSON is generate's response: modelId as the provider reported
// it, modelMetadata the configured model.
type responseJSON struct {
	ID            string              `json:"id"`
	ModelID       string              `json:"modelId"`
	Timestamp     string              `json:"timestamp,omitempty"`
	Headers       map[string]string   `json:"headers"`
	ModelMetadata agent.ModelMetadata `json:"modelMetadata"`
	Messages      []modelMessage      `json:"messages"`
	// UIMessages are the reply as AI SDK UI messages, which Studio's
	// Generate mode shows.
	UIMessages []uiMessage `json:"uiMessages"`
}

// modelMessage is an AI-SDK ModelMessage, which client-js resends after a
// client-tool round trip.
type modelMessage struct {
	Role    string `json:"role"`
	Content []any  `json:"content"`
}

// idempotencyKey reads the Idempotency-Key header into in; a key there
// wins over one taken from the body (a client message id).
func idempotencyKey(r *http.Request, in *agent.Input) error {
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		in.IdempotencyKey = k
	}
	if len(in.IdempotencyKey) > agent.MaxIdempotencyKey {
		return &transport.Error{Status: http.StatusBadRequest, Message: "Invalid request headers",
			Issues: []transport.Issue{{Field: "Idempotency-Key", Message: fmt.Sprintf("at most %d bytes", agent.MaxIdempotencyKey)}}}
	}
	return nil
}

// threadTaken is the answer to a turn on a thread id that exists under
// another resource. Thread ids are global (Mastra's schema), so the turn
// cannot go on, and saying so is unavoidable; the answer is exactly the one
// a creation of an id already taken gets, whoever holds it, and says
// nothing more about that thread (F12).
func threadTaken(err error) error {
	if errors.Is(err, memory.ErrNotFound) {
		return threadExists(err)
	}
	return err
}

// noteTurn names the turn's agent and resource for the access log.
func (s *Server) noteTurn(r *http.Request, in agent.Input) {
	id := in.AgentID
	if id == "" {
		id = s.agents.DefaultID()
	}
	transport.SetAgent(r.Context(), id)
	transport.SetResource(r.Context(), in.ResourceID)
}

func (s *Server) runGenerate(w http.ResponseWriter, r *http.Request, in agent.Input) error {
	s.noteTurn(r, in)
	if err := idempotencyKey(r, &in); err != nil {
		return err
	}
	res, err := s.agents.Generate(r.Context(), in)
	if err != nil {
		return threadTaken(err)
	}
	writeGenerate(w, res)
	return nil
}

// toGenerateJSON is the reply's shape, for the OpenAPI document and as
// the reference appendGenerate is tested against (it writes the same
// bytes, faster).
func toGenerateJSON(res *agent.Result) generateJSON {
	u := toUsageJSON(res.Usage)
	last := agent.Step{ModelID: res.Model} // a replayed turn has no steps
	if n := len(res.StepResults); n > 0 {
		last = res.StepResults[n-1]
		u = toUsageJSON(last.Usage) // usage is the last step's, totalUsage the sum
	}
	out := generateJSON{
		Text: res.Text, ThreadID: res.ThreadID, ResourceID: res.ResourceID, RunID: res.RunID,
		FinishReason: res.FinishReason, Usage: u, TotalUsage: toUsageJSON(res.Usage),
		ToolCalls: nonNilChunks(res.ToolCalls), ToolResults: nonNilChunks(res.ToolResults),
		Steps: stepsJSON(res.StepResults), Warnings: []any{}, Reasoning: []any{}, Sources: []any{}, Files: []any{},
		ProviderMetadata:   agent.ProviderMetadata(last.Provider, res.Usage),
		Request:            map[string]any{},
		Object:             res.Object,
		UsedFallbackValue:  res.UsedFallbackValue,
		Messages:           wire.Messages(res.Messages),
		RememberedMessages: wire.Messages(res.Remembered),
	}
	if w := res.Suspension; w != nil {
		out.SuspendPayload, out.ResumeSchema = w.ChunkPayload(), w.ResumeSchema
	}
	content := []any{}
	if res.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": res.Text})
	}
	for _, c := range res.ToolCalls {
		if p, ok := c.Payload.(agent.ToolCallPayload); ok {
			content = append(content, map[string]any{"type": "tool-call", "toolCallId": p.ToolCallID, "toolName": p.ToolName, "input": p.Args})
		}
	}

	out.Response = responseJSON{ID: res.MessageID, ModelID: last.ReportedModel(), Headers: map[string]string{},
		ModelMetadata: last.Metadata(), Messages: []modelMessage{{Role: "assistant", Content: content}}, UIMessages: replyUIMessages(res.Messages)}
	if !last.Finished.IsZero() {
		out.Response.Timestamp = last.Finished.Format(time.RFC3339Nano)
	}
	return out
}

// stepJSON is one entry of generate's steps[] (Mastra's LLMStepResult):
// one per model call.
type stepJSON struct {
	StepType           string          `json:"stepType"`
	Text               string          `json:"text"`
	Reasoning          []reasoningJSON `json:"reasoning"`
	ReasoningText      *string         `json:"reasoningText,omitempty"`
	ToolCalls          []agent.Chunk   `json:"toolCalls"`
	ToolResults        []agent.Chunk   `json:"toolResults"`
	StaticToolCalls    []agent.Chunk   `json:"staticToolCalls"`
	StaticToolResults  []agent.Chunk   `json:"staticToolResults"`
	DynamicToolCalls   []agent.Chunk   `json:"dynamicToolCalls"`
	DynamicToolResults []agent.Chunk   `json:"dynamicToolResults"`
	Files              []any           `json:"files"`
	Sources            []any           `json:"sources"`
	Content            []any           `json:"content"`
	FinishReason       string          `json:"finishReason"`
	Usage              usageJSON       `json:"usage"`
	Warnings           []any           `json:"warnings"`
	Request            map[string]any  `json:"request"`
	Response           stepRespJSON    `json:"response"`
	ProviderMetadata   map[string]any  `json:"providerMetadata"`
}

type reasoningJSON struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type stepRespJSON struct {
	ID            string              `json:"id"`
	Timestamp     string              `json:"timestamp"`
	ModelID       string              `json:"modelId"`
	Headers       map[string]string   `json:"headers"`
	ModelMetadata agent.ModelMetadata `json:"modelMetadata"`
}

func stepsJSON(steps []agent.Step) []stepJSON {
	out := make([]stepJSON, 0, len(steps))
	for i, st := range steps {
		j := stepJSON{StepType: "initial", Text: st.Text, Reasoning: []reasoningJSON{},
			ToolCalls: nonNilChunks(st.ToolCalls), ToolResults: nonNilChunks(st.ToolResults),
			DynamicToolCalls: []agent.Chunk{}, DynamicToolResults: []agent.Chunk{}, Files: []any{}, Sources: []any{},
			FinishReason: st.FinishReason, Usage: toUsageJSON(st.Usage), Warnings: []any{}, Request: map[string]any{},
			Response: stepRespJSON{ID: st.ResponseID, Timestamp: st.Finished.Format(time.RFC3339Nano), ModelID: st.ReportedModel(),
				Headers: map[string]string{}, ModelMetadata: st.Metadata()},
			ProviderMetadata: agent.ProviderMetadata(st.Provider, st.Usage)}
		if i > 0 {
			j.StepType = "tool-result"
		}
		j.StaticToolCalls, j.StaticToolResults = j.ToolCalls, j.ToolResults
		var thought strings.Builder
		content := []any{}
		for _, rs := range st.Reasoning {
			j.Reasoning = append(j.Reasoning, reasoningJSON{Type: "reasoning", Text: rs.Text})
			thought.WriteString(rs.Text)
			content = append(content, map[string]any{"type": "reasoning", "text": rs.Text})
		}
		if len(st.Reasoning) > 0 {
			t := thought.String()
			j.ReasoningText = &t
		}
		if st.Text != "" {
			content = append(content, map[string]any{"type": "text", "text": st.Text})
		}
		for _, c := range st.ToolCalls {
			if p, ok := c.Payload.(agent.ToolCallPayload); ok {
				content = append(content, map[string]any{"type": "tool-call", "toolCallId": p.ToolCallID, "toolName": p.ToolName, "input": p.Args})
			}
		}
		for _, c := range st.ToolResults {
			f := c.Fields()
			part := map[string]any{"type": "tool-result", "toolCallId": f.ToolCallID, "toolName": f.ToolName, "input": f.Args, "output": f.Result}
			if c.Type == agent.ChunkToolError {
				part["type"], part["error"] = "tool-error", f.ErrorMessage
				delete(part, "output")
			}
			content = append(content, part)
		}
		j.Content = content
		out = append(out, j)
	}
	return out
}

func nonNilChunks(c []agent.Chunk) []agent.Chunk {
	if c == nil {
		return []agent.Chunk{}
	}
	return c
}

// runStream answers with Server-Sent Events. Headers go out with the first
// chunk, which the agent emits only once the model has answered: a failure
// before that is still a JSON error with a status.
//
// A shutdown whose drain time is nearly over cancels the turn (nothing is
// saved) with an agent.EndCause, so the agent ends the stream as it does a
// failure: an error chunk, finish with reason "error"; then [DONE]. The
// handler tracks no chunk and writes no end of its own.
func (s *Server) runStream(w http.ResponseWriter, r *http.Request, in agent.Input, resumable bool) error {
	return s.streamAs(w, r, in, &mastraFace{}, resumable)
}

// streamFace is how a stream route writes the agent's chunks: Mastra's
// chunks as they are, or the AI SDK's UI message chunks (chat_handlers.go).
type streamFace interface {
	// headers are set on the response besides the SSE ones.
	headers(in agent.Input) map[string]string
	// send writes the events of one agent chunk: seq is its sequence
	// number (the SSE id; 0 for none), c the chunk and raw its JSON. hold
	// allows leaving a chunk unflushed when another follows at once.
	send(sse *transport.SSE, seq int64, c agent.Chunk, raw []byte, hold bool) error
}

// mastraFace writes Mastra's chunks unchanged.
type mastraFace struct{}

func (f *mastraFace) headers(in agent.Input) map[string]string {
	return map[string]string{"X-Thread-Id": in.ThreadID, "X-Resource-Id": in.ResourceID, "X-Run-Id": in.RunID}
}

// send writes the id in an event of its own before the chunk's: Mastra's
// client reads only events that begin with "data: ".
func (f *mastraFace) send(sse *transport.SSE, seq int64, c agent.Chunk, raw []byte, hold bool) error {
	return sse.SendIDApart(seq, raw, !hold || !agent.Holdable(c.Type))
}

// streamAs runs a streamed turn and writes it through face. Every event
// carries its sequence number as its SSE id. A resumable turn is logged
// (runs.go) and, once its stream has started, runs on when its client
// goes away.
func (s *Server) streamAs(w http.ResponseWriter, r *http.Request, in agent.Input, face streamFace, resumable bool) error {
	return s.streamTurn(w, r, in, face, resumable || s.cfg.Streams.Resumable, func(ctx context.Context, in agent.Input, emit func(agent.Chunk) error) error {
		_, err := s.agents.Stream(ctx, in, emit)
		return err
	}, threadTaken)
}

// streamTurn streams the turn that run runs (a new one, or a resumed one:
// approval_handlers.go); early maps its error when no chunk went out.
func (s *Server) streamTurn(w http.ResponseWriter, r *http.Request, in agent.Input, face streamFace, resumable bool,
	run func(ctx context.Context, in agent.Input, emit func(agent.Chunk) error) error, early func(error) error) error {
	s.noteTurn(r, in)
	if err := idempotencyKey(r, &in); err != nil {
		return err
	}
	release, err := s.holdStream(r) // [server.limits] max_streams
	if err != nil {
		return err
	}
	defer release()
	if in.RunID == "" {
		in.RunID = uuid.NewString()
	}
	wr, err := s.startRun(r, in, resumable)
	if err != nil {
		return err
	}
	var (
		ctx     context.Context
		cancel  context.CancelCauseFunc
		started atomic.Bool // the stream's first chunk went out
	)
	if wr != nil {
		ctx, cancel = s.detach(r, wr, &started)
		s.detached.Add(1)
		defer s.detached.Done()
	} else {
		ctx, cancel = context.WithCancelCause(r.Context())
	}
	defer cancel(nil)
	unwatch := context.AfterFunc(s.stopping, func() { cancel(errShuttingDown) })
	defer unwatch()

	// Chunks of provider events that arrived together go out in one
	// write: deltas are held, and flushed before the model's stream
	// reads the network again (llm.WithBeforeRead) or when a chunk that
	// is not held follows. The hook may run on a sub-agent's goroutine.
	var live atomic.Pointer[transport.SSE]
	ctx = llm.WithBeforeRead(ctx, func() {
		if l := live.Load(); l != nil {
			l.FlushHeld()
		}
	})
	var (
		sse        *transport.SSE
		seq        int64
		clientGone bool
		enc        []byte // the chunk being written; reused, emit is never called concurrently
	)
	emit := func(c agent.Chunk) error {
		var err error
		if enc, err = agent.AppendChunk(enc[:0], c); err != nil {
			return err
		}
		raw := enc
		if wr != nil && errors.Is(context.Cause(ctx), errRunLost) {
			// The end of a run another instance took over: the log has
			// it, written by that instance; the client still connected
			// gets it here, without ids.
			if sse != nil && !clientGone {
				_ = face.send(sse, 0, c, raw, false)
			}
			return nil
		}
		if wr != nil {
			raw = bytes.Clone(enc) // the run log keeps it
			seq = wr.Append(raw)
		} else {
			seq++
		}
		if sse == nil {
			sse = transport.StartSSE(w, s.cfg.KeepAlive, face.headers(in))
			started.Store(true)
			live.Store(sse)
		}
		if clientGone {
			return nil
		}
		if err := face.send(sse, seq, c, raw, true); err != nil {
			if wr == nil {
				return err // the turn is cancelled
			}
			clientGone = true // the turn goes on; the client may come back
		}
		return nil
	}
	err = run(ctx, in, emit)
	cause := context.Cause(ctx)
	stopped := errors.Is(cause, errShuttingDown) && (wr != nil || r.Context().Err() == nil)
	if sse == nil {
		if wr != nil {
			if aerr := wr.Abort(r.Context()); aerr != nil {
				s.log.WarnContext(r.Context(), "could not delete a stream run that sent nothing", "run", in.RunID, "err", aerr)
			}
		}
		if stopped {
			return &transport.Error{Status: http.StatusServiceUnavailable, Message: "Server is shutting down", Err: err}
		}
		return early(err) // nothing sent yet: a JSON error
	}
	if err != nil {
		s.log.WarnContext(r.Context(), "stream ended with an error", "request_id", transport.RequestID(r.Context()), "err", transport.ClipErr(err))
	}
	if wr == nil {
		// Nothing is left to wait for: the response's end sends the held
		// finish, [DONE] and the terminator together.
		sse.DoneAtReturn()
		return nil
	}
	sse.Done()
	// After [DONE]: the end goes with the instance's next batch.
	if eerr := wr.End(err != nil); eerr != nil {
		s.log.WarnContext(r.Context(), "stream run could not be ended in the log", "run", in.RunID, "err", eerr)
	}
	return nil
}

// errShuttingDown cancels the turns of streams still running near the end
// of a shutdown's drain time.
var errShuttingDown error = &agent.EndCause{Reason: "server: shutting down", Message: "server is shutting down"}

// agentJSON is an agent as Mastra's GET /api/agents/:id returns it.
type agentJSON struct {
	ID                           string              `json:"id,omitempty"`
	Name                         string              `json:"name"`
	Description                  string              `json:"description"`
	Instructions                 string              `json:"instructions"`
	Tools                        map[string]toolJSON `json:"tools"`
	Agents                       map[string]any      `json:"agents"`
	Workflows                    map[string]any      `json:"workflows"`
	Skills                       []any               `json:"skills"`
	WorkspaceTools               []any               `json:"workspaceTools"`
	BrowserTools                 []any               `json:"browserTools"`
	HasBrowser                   bool                `json:"hasBrowser"`
	InputProcessors              []any               `json:"inputProcessors"`
	OutputProcessors             []any               `json:"outputProcessors"`
	Provider                     string              `json:"provider"`
	ModelID                      string              `json:"modelId"`
	ModelVersion                 string              `json:"modelVersion"`
	SupportsMemory               bool                `json:"supportsMemory"`
	DefaultOptions               map[string]any      `json:"defaultOptions"`
	DefaultGenerateOptionsLegacy map[string]any      `json:"defaultGenerateOptionsLegacy"`
	DefaultStreamOptionsLegacy   map[string]any      `json:"defaultStreamOptionsLegacy"`
	Source                       string              `json:"source"`
	HasDraft                     *bool               `json:"hasDraft,omitempty"`
}

type toolJSON struct {
	ID              string `json:"id"`
	Description     string `json:"description"`
	InputSchema     string `json:"inputSchema"` // superjson-style {"json": schema}, as a string
	RequireApproval bool   `json:"requireApproval"`
}

// workflowTool is a tool that runs a workflow (an agent's workflow-<id>):
// listed under the agent's workflows, as Mastra lists them, not its tools.
type workflowTool interface {
	WorkflowID() string
}

func (s *Server) toAgentJSON(a *agent.Agent) agentJSON {
	tools := map[string]toolJSON{}
	workflows := map[string]any{}
	for _, t := range a.Tools {
		if wt, ok := t.(workflowTool); ok {
			workflows[wt.WorkflowID()] = map[string]string{"name": wt.WorkflowID(), "description": t.Description()}
			continue
		}
		tools[t.Name()] = toToolJSON(t)
	}
	subs := map[string]any{}
	for _, sub := range a.SubAgents {
		name := sub.ID
		if sa, ok := s.agents.Agent(sub.ID); ok && sa.Name != "" {
			name = sa.Name
		}
		subs[sub.ID] = map[string]string{"id": sub.ID, "name": name}
	}
	defaults := map[string]any{}
	if a.RequireApproval {
		defaults["requireToolApproval"] = true
	}
	desc := a.Description
	if a.Provider == llm.ProviderEcho && desc == "" {
		desc = "Answers with the offline echo model (development only, not a real model)."
	}
	return agentJSON{
		Name: a.Name, Description: desc, Instructions: a.Instructions, Tools: tools,
		Agents: subs, Workflows: workflows, Skills: []any{}, WorkspaceTools: []any{},
		BrowserTools: []any{}, InputProcessors: []any{}, OutputProcessors: []any{},
		Provider: a.Provider, ModelID: a.ModelID, ModelVersion: "v2", SupportsMemory: s.agents.HasMemory(),
		DefaultOptions: defaults, DefaultGenerateOptionsLegacy: map[string]any{},
		DefaultStreamOptionsLegacy: map[string]any{}, Source: "code",
	}
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	out := map[string]agentJSON{}
	no := false
	for _, a := range s.agents.Agents() {
		j := s.toAgentJSON(a)
		j.ID, j.HasDraft = a.ID, &no
		out[a.ID] = j
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) error {
	// GET /api/agents/providers lands here: httprouter v1.3.0 cannot hold a
	// static segment beside :agentId. As in Mastra, the static path wins
	// over an agent of that id.
	if httprouter.ParamsFromContext(r.Context()).ByName("agentId") == "providers" {
		transport.WriteJSON(w, http.StatusOK, s.providersList(false))
		return nil
	}
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	a, err := s.findAgent(httprouter.ParamsFromContext(r.Context()).ByName("agentId"))
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, s.toAgentJSON(a))
	return nil
}
