package observe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// scope is the stored span an operation runs in: its children take their
// trace, parent and resource from it.
type scope struct {
	traceID, spanID             string
	resourceID, threadID, runID string
}

type scopeKey struct{}

func scopeFrom(ctx context.Context) *scope {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// child opens the scope of an operation starting under ctx.
func (r *Recorder) child(ctx context.Context) (*scope, *scope) {
	parent := scopeFrom(ctx)
	s := &scope{}
	if parent != nil {
		*s = *parent
	}
	s.spanID = ""
	if r.o.OTelIDs {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && (parent == nil || sc.SpanID().String() != parent.spanID) {
			s.spanID = sc.SpanID().String()
			if parent == nil {
				s.traceID = sc.TraceID().String()
			}
		}
	}
	if s.spanID == "" {
		s.spanID = hex64(rand.Uint64())
	}
	if s.traceID == "" {
		s.traceID = hex64(rand.Uint64()) + hex64(rand.Uint64())
	}
	return s, parent
}

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ref is strp for a string that stays as it is (a field of a scope, which
// is not changed once its span starts, or of the Recorder's options): the
// span points at it rather than at a copy of its own, one allocation less
// per field and span.
func ref(s *string) *string {
	if *s == "" {
		return nil
	}
	return s
}

// sourceCloud is every span's source; entityAgent an agent_run's entity
// type.
var sourceCloud, entityAgent = "cloud", "agent"

// jsonOf encodes v; nil when v is nil.
func jsonOf(v any) memory.SpanJSON {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// maxContent bounds a captured text (message, argument, result).
const maxContent = 16 << 10

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// rawOrText is a captured JSON payload as JSON when it is, else as text,
// clipped.
func rawOrText(b json.RawMessage) any {
	if len(b) > maxContent || !json.Valid(b) {
		return clip(string(b), maxContent)
	}
	return b
}

// pending is an ended span on its way to the store, with what its
// metrics need besides the row (so the writer need not decode it).
type pending struct {
	memory.Span
	usage           *llm.Usage
	provider, model string
	// metricOnly: no span to store, only its metrics (a workflow run's
	// end).
	metricOnly bool
}

// span is the common part of a stored span.
func (r *Recorder) span(s, parent *scope, name, typ string, start, end time.Time) *pending {
	e := memory.SpanTime{Time: end}
	sp := &pending{Span: memory.Span{
		TraceID:     s.traceID,
		SpanID:      s.spanID,
		Name:        clip(name, 256),
		SpanType:    typ,
		StartedAt:   memory.SpanTime{Time: start},
		EndedAt:     &e,
		ResourceID:  ref(&s.resourceID),
		ThreadID:    ref(&s.threadID),
		RunID:       ref(&s.runID),
		ServiceName: ref(&r.o.ServiceName),
		Source:      &sourceCloud,
		CreatedAt:   e,
		UpdatedAt:   &e,
	}}
	if parent != nil {
		sp.ParentSpanID = ref(&parent.spanID)
	}
	return sp
}

// The attributes and metadata of spans, as structs: encoding one is a
// fraction of a map's cost, and it runs on the turn's goroutine.
type (
	usageJSON struct {
		InputTokens  int `json:"inputTokens"`
		OutputTokens int `json:"outputTokens"`
	}
	agentAttrs struct {
		ConversationID string     `json:"conversationId"`
		Instructions   string     `json:"instructions,omitempty"`
		AvailableTools []string   `json:"availableTools,omitempty"`
		MaxSteps       int        `json:"maxSteps"`
		Streaming      bool       `json:"streaming"`
		Usage          *usageJSON `json:"usage,omitempty"`
		FinishReason   string     `json:"finishReason,omitempty"`
		Steps          int        `json:"steps,omitempty"`
	}
	agentOutput struct {
		Text  string `json:"text"`
		Files []any  `json:"files"`
	}
	modelParams struct {
		Temperature     *float64 `json:"temperature,omitempty"`
		MaxOutputTokens *int     `json:"maxOutputTokens,omitempty"`
		TopP            *float64 `json:"topP,omitempty"`
	}
	modelAttrs struct {
		Model               string           `json:"model"`
		Provider            string           `json:"provider"`
		Streaming           bool             `json:"streaming"`
		Parameters          modelParams      `json:"parameters"`
		Usage               *usageJSON       `json:"usage,omitempty"`
		FinishReason        string           `json:"finishReason,omitempty"`
		ResponseModel       string           `json:"responseModel,omitempty"`
		ResponseID          string           `json:"responseId,omitempty"`
		CompletionStartTime *memory.SpanTime `json:"completionStartTime,omitempty"`
	}
	toolAttrs struct {
		ToolCallID string `json:"toolCallId"`
		ToolType   string `json:"toolType"`
		Success    bool   `json:"success"`
	}
	metadataJSON struct {
		RunID      string `json:"runId,omitempty"`
		ResourceID string `json:"resourceId,omitempty"`
		ThreadID   string `json:"threadId,omitempty"`
		Outcome    string `json:"outcome,omitempty"`
	}
)

// errorInfo is Mastra's span error: {message, id, category}.
func errorInfo(id, msg string) memory.SpanJSON {
	return jsonOf(map[string]string{"id": id, "message": clip(msg, 2000), "category": "SYSTEM"})
}

// Agents is the observer of turns, model calls and tool calls.
func (r *Recorder) Agents() agent.Observer { return agentObserver{r} }

type agentObserver struct{ r *Recorder }

// messagesOf spells messages as Mastra's inputs: [{role, content}].
func messagesOf(ms []llm.Message) []map[string]any {
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		x := map[string]any{"role": m.Role, "content": clip(m.Content, maxContent)}
		if m.ToolCallID != "" {
			x["toolCallId"] = m.ToolCallID
		}
		if len(m.ToolCalls) > 0 {
			x["toolCalls"] = toolCallsOf(m.ToolCalls)
		}
		out = append(out, x)
	}
	return out
}

func toolCallsOf(calls []llm.ToolCall) []map[string]any {
	out := make([]map[string]any, len(calls))
	for i, c := range calls {
		out[i] = map[string]any{"toolCallId": c.ID, "toolName": c.Name, "args": rawOrText(json.RawMessage(c.Arguments))}
	}
	return out
}

func (o agentObserver) StartTurn(ctx context.Context, ti agent.TurnInfo) (context.Context, func(agent.TurnEnd)) {
	r := o.r
	s, parent := r.child(ctx)
	s.resourceID, s.threadID, s.runID = ti.ResourceID, ti.ThreadID, ti.RunID
	start := time.Now()
	var principal string
	if len(r.o.Scorers[ti.Agent.ID]) > 0 {
		principal = r.principal(ctx)
	}
	return context.WithValue(ctx, scopeKey{}, s), func(e agent.TurnEnd) {
		a := ti.Agent
		sp := r.span(s, parent, "agent run: '"+a.ID+"'", "agent_run", start, time.Now())
		// Its name, else its id. The agent's fields are not changed once
		// it is configured (see ref).
		name := &a.Name
		if a.Name == "" {
			name = &a.ID
		}
		sp.EntityType, sp.EntityID, sp.EntityName = &entityAgent, ref(&a.ID), ref(name)
		attrs := agentAttrs{ConversationID: ti.ThreadID, MaxSteps: a.MaxSteps, Streaming: ti.Stream}
		if len(a.Tools) > 0 {
			attrs.AvailableTools = make([]string, len(a.Tools))
			for i, t := range a.Tools {
				attrs.AvailableTools[i] = t.Name()
			}
		}
		if e.Result != nil {
			attrs.Usage = &usageJSON{InputTokens: e.Result.Usage.InputTokens, OutputTokens: e.Result.Usage.OutputTokens}
			attrs.FinishReason, attrs.Steps = e.Result.FinishReason, e.Result.Steps
		}
		if r.o.CaptureContent {
			attrs.Instructions = clip(a.Instructions, maxContent)
			sp.Input = jsonOf(messagesOf(ti.Messages))
			if e.Result != nil {
				sp.Output = jsonOf(agentOutput{Text: clip(e.Result.Text, maxContent), Files: []any{}})
			}
		}
		sp.Attributes, sp.Metadata = attrsAndMetadata(&attrs, &metadataJSON{RunID: ti.RunID, ResourceID: ti.ResourceID, ThreadID: ti.ThreadID, Outcome: e.Outcome})
		if e.Err != nil {
			sp.Error = errorInfo("AGENT_"+e.Outcome, e.Err.Error())
		}
		r.enqueue(sp)
		if e.Err == nil && e.Result != nil && e.Outcome == agent.OutcomeOK {
			for _, sc := range r.o.Scorers[a.ID] {
				if sc.Samples(sp.TraceID) {
					j := jobOf(sc, &sp.Span, "live", principal, lastUser(ti.Messages), e.Result.Text)
					tokens := e.Result.Usage.InputTokens + e.Result.Usage.OutputTokens
					j.Tools, j.ToolsKnown, j.Tokens = toolNames(e.Result.ToolCalls), true, &tokens
					j.DurationMS = sp.EndedAt.Sub(start).Milliseconds()
					r.enqueueScore(j)
				}
			}
		}
	}
}

func (o agentObserver) StartModelCall(ctx context.Context, c agent.ModelCallInfo) (context.Context, agent.ModelCallObserver) {
	s, parent := o.r.child(ctx)
	return context.WithValue(ctx, scopeKey{}, s), &modelCall{r: o.r, s: s, parent: parent, info: c, start: time.Now()}
}

type modelCall struct {
	r         *Recorder
	s, parent *scope
	info      agent.ModelCallInfo
	start     time.Time
	first     time.Time
}

func (c *modelCall) FirstChunk() {
	if c.first.IsZero() {
		c.first = time.Now()
	}
}

func (c *modelCall) End(resp *llm.Response, err error) {
	model := c.info.Model
	if model == "" {
		model = c.info.Provider // the echo model has no name
	}
	sp := c.r.span(c.s, c.parent, "llm: '"+model+"'", "model_generation", c.start, time.Now())
	req := c.info.Request
	attrs := modelAttrs{Model: model, Provider: c.info.Provider, Streaming: c.info.Stream,
		Parameters: modelParams{Temperature: req.Temperature, MaxOutputTokens: req.MaxTokens, TopP: req.TopP}}
	if !c.first.IsZero() {
		attrs.CompletionStartTime = &memory.SpanTime{Time: c.first}
	}
	sp.provider, sp.model = c.info.Provider, model
	if resp != nil {
		attrs.Usage = &usageJSON{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens}
		attrs.FinishReason, attrs.ResponseModel, attrs.ResponseID = resp.FinishReason, resp.Model, resp.ID
		u := resp.Usage
		sp.usage = &u
	}
	if c.r.o.CaptureContent {
		sp.Input = jsonOf(map[string]any{"messages": messagesOf(req.Messages)})
		if resp != nil {
			out := map[string]any{"text": clip(resp.Text, maxContent)}
			if len(resp.ToolCalls) > 0 {
				out["toolCalls"] = toolCallsOf(resp.ToolCalls)
			}
			sp.Output = jsonOf(out)
		}
	}
	sp.Attributes, sp.Metadata = attrsAndMetadata(&attrs, &metadataJSON{RunID: c.s.runID, ResourceID: c.s.resourceID, ThreadID: c.s.threadID})
	if err != nil {
		sp.Error = errorInfo("MODEL_CALL_FAILED", err.Error())
	}
	c.r.enqueue(sp)
}

func (o agentObserver) StartToolCall(ctx context.Context, c agent.ToolCallInfo) (context.Context, func(agent.ToolCallEnd)) {
	r := o.r
	s, parent := r.child(ctx)
	start := time.Now()
	return context.WithValue(ctx, scopeKey{}, s), func(e agent.ToolCallEnd) {
		name := clip(c.Tool, 128)
		sp := r.span(s, parent, "tool: '"+name+"'", "tool_call", start, time.Now())
		if c.Known {
			sp.EntityType, sp.EntityID, sp.EntityName = strp("tool"), strp(name), strp(name)
		}
		sp.Attributes = jsonOf(toolAttrs{ToolCallID: clip(c.ToolCallID, 128), ToolType: "tool", Success: e.Outcome == agent.ToolOK})
		if r.o.CaptureContent {
			sp.Input = jsonOf(rawOrText(c.Args))
			if e.Result != nil {
				sp.Output = jsonOf(rawOrText(e.Result))
			}
		}
		if e.Outcome != agent.ToolOK {
			sp.Error = errorInfo("TOOL_EXECUTION_FAILED", e.Failure)
		}
		r.enqueue(sp)
	}
}

// lastUser is the turn's last user message (what a judge reads as the
// input).
func lastUser(ms []llm.Message) string {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Role == llm.RoleUser {
			return ms[i].Content
		}
	}
	return ""
}

// Plugins is the observer of plugin calls. Only calls made inside a stored
// span (a tool's plugin, a workflow step's) are stored: a middleware call
// per request would be a trace of one span each.
func (r *Recorder) Plugins() plugin.Observer { return pluginObserver{r} }

type pluginObserver struct{ r *Recorder }

func (o pluginObserver) StartCall(ctx context.Context, name string, kind plugin.Kind, _ http.Header) (context.Context, func(string)) {
	if scopeFrom(ctx) == nil {
		return ctx, func(string) {}
	}
	r := o.r
	s, parent := r.child(ctx)
	start := time.Now()
	return context.WithValue(ctx, scopeKey{}, s), func(outcome string) {
		sp := r.span(s, parent, "plugin: '"+name+"'", "generic", start, time.Now())
		sp.Attributes = jsonOf(map[string]any{"plugin": name, "kind": kind.String(), "outcome": outcome})
		if outcome != plugin.OutcomeOK {
			sp.Error = errorInfo("PLUGIN_"+outcome, "plugin call ended: "+outcome)
		}
		r.enqueue(sp)
	}
}

// Workflows is the observer of workflow steps. A run's steps are separate
// jobs, maybe on different instances, so each step ends with two rows: its
// workflow_step span and the run's workflow_run root, whose trace and span
// ids derive from the run id. The store merges the root's rows (earliest
// start, latest end, any error), so the root spans the run's steps.
func (r *Recorder) Workflows() workflow.Observer { return workflowObserver{r} }

type workflowObserver struct{ r *Recorder }

func (workflowObserver) RunStarted(string)          {}
func (workflowObserver) RunFinished(string, string) {}

// RunEnded records the run's duration (mastra_workflow_duration_ms) and
// queues the gradings of a successful run's result by the workflow's
// scorers, under the run's trace and its workflow_run span.
func (o workflowObserver) RunEnded(end workflow.RunEnd) {
	r := o.r
	if !end.Created.IsZero() {
		// The run's duration, as a metric of its workflow_run span.
		now := time.Now()
		p := &pending{metricOnly: true}
		p.Span = memory.Span{TraceID: derivedID("trace", end.RunID, 16), SpanID: derivedID("run", end.RunID, 8), SpanType: "workflow_run",
			EntityType: strp("workflow_run"), EntityID: strp(end.Workflow), EntityName: strp(end.Workflow),
			ResourceID: strp(end.ResourceID), RunID: strp(end.RunID), ServiceName: strp(r.o.ServiceName),
			StartedAt: memory.SpanTime{Time: end.Created}, EndedAt: &memory.SpanTime{Time: now}}
		if end.Status != workflow.StatusSuccess {
			p.Span.Error = errorInfo("WORKFLOW_"+end.Status, "workflow run ended: "+end.Status)
		}
		r.enqueue(p)
	}
	list := r.o.WorkflowScorers[end.Workflow]
	if len(list) == 0 || end.Status != workflow.StatusSuccess {
		return
	}
	traceID := derivedID("trace", end.RunID, 16)
	sp := memory.Span{TraceID: traceID, SpanID: derivedID("run", end.RunID, 8), EntityType: strp("workflow_run"),
		EntityID: strp(end.Workflow), EntityName: strp(end.Workflow), ResourceID: strp(end.ResourceID), RunID: strp(end.RunID),
		ServiceName: strp(r.o.ServiceName)}
	var input, output string
	for _, sc := range list {
		if !sc.Samples(traceID) {
			continue
		}
		if output == "" {
			output = textOf(end.Result)
			input = textOf(end.Input)
		}
		j := jobOf(sc, &sp, "live", end.Principal, input, output)
		if !end.Created.IsZero() {
			j.DurationMS = time.Since(end.Created).Milliseconds()
		}
		r.enqueueScore(j)
	}
}

// toolNames are the names of a turn's tool-call chunks, in order.
func toolNames(calls []agent.Chunk) []string {
	out := make([]string, 0, len(calls))
	for _, c := range calls {
		switch p := c.Payload.(type) {
		case agent.ToolCallPayload:
			out = append(out, p.ToolName)
		case *agent.ToolCallPayload:
			out = append(out, p.ToolName)
		}
	}
	return out
}

// textOf is a run's value as a scorer reads it: a string as is, anything
// else as JSON.
func textOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func derivedID(kind, runID string, n int) string {
	h := sha256.Sum256([]byte(kind + "\x00" + runID))
	return hex.EncodeToString(h[:n])
}

func (o workflowObserver) StartStep(ctx context.Context, st workflow.StepRun) (context.Context, func(string)) {
	r := o.r
	root := &scope{traceID: derivedID("trace", st.RunID, 16), spanID: derivedID("run", st.RunID, 8), runID: st.RunID, resourceID: st.ResourceID}
	s := &scope{traceID: root.traceID, spanID: hex64(rand.Uint64()), runID: st.RunID, resourceID: st.ResourceID}
	start := time.Now()
	return context.WithValue(ctx, scopeKey{}, s), func(outcome string) {
		end := time.Now()
		name := st.Step
		if st.Iter > 0 {
			name += "[" + strconv.Itoa(st.Iter) + "]"
		}
		sp := r.span(s, root, name, "workflow_step", start, end)
		sp.EntityType, sp.EntityID, sp.EntityName = strp("workflow_step"), strp(st.Step), strp(st.Step)
		sp.Attributes = jsonOf(map[string]any{"status": stepStatus(outcome), "kind": st.Kind, "iteration": st.Iter})
		run := r.span(root, nil, "workflow run: '"+st.Workflow+"'", "workflow_run", start, end)
		run.EntityType, run.EntityID, run.EntityName = strp("workflow_run"), strp(st.Workflow), strp(st.Workflow)
		run.Metadata = jsonOf(map[string]any{"runId": st.RunID})
		if outcome != workflow.StepOK && outcome != workflow.StepSuspend {
			sp.Error = errorInfo("WORKFLOW_STEP_"+outcome, "step "+st.Step+" ended: "+outcome)
			run.Error = sp.Error
		}
		r.enqueue(sp)
		r.enqueue(run)
	}
}

// stepStatus is Mastra's step status for an outcome.
func stepStatus(outcome string) string {
	switch outcome {
	case workflow.StepOK:
		return "success"
	case workflow.StepSuspend:
		return "suspended"
	case workflow.StepCanceled:
		return "canceled"
	}
	return "failed"
}
