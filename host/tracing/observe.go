package tracing

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/metrics"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// Start options made once: a variadic slice built at each call is an
// allocation.
var (
	serverKind   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	clientKind   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	internalKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

// attrs collects a span's attributes for one SetAttributes call at its
// end, rather than some at its start and more at its end: each call grows
// the span's own slice, and the variadic slice of a call through an
// interface is a heap allocation. The common spans fit in buf.
type attrs struct {
	buf [14]attribute.KeyValue
	kv  []attribute.KeyValue
}

func (a *attrs) add(kvs ...attribute.KeyValue) {
	if a.kv == nil {
		a.kv = a.buf[:0]
	}
	a.kv = append(a.kv, kvs...)
}

// fail marks the span failed, its error type and message among a's
// attributes.
func (a *attrs) fail(span trace.Span, typ, msg string) {
	span.SetStatus(codes.Error, clip(msg, 500))
	a.add(attribute.String("error.type", typ))
	if msg != "" {
		a.add(attribute.String("error.message", clip(msg, 500)))
	}
}

// HTTP returns the observer that makes the HTTP server span of each
// request, a child of the request's traceparent when it has one.
func (t *Tracing) HTTP() transport.Observer { return httpObserver{t} }

type httpObserver struct{ t *Tracing }

// Start begins the span as the request comes in (Entry calls it at once,
// so its start is the request's, within microseconds).
func (o httpObserver) Start(r *http.Request, info *transport.Info) context.Context {
	ctx := o.t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := o.t.tracer.Start(ctx, info.Method, serverKind...)
	if span.IsRecording() {
		// The one attribute End cannot get from info.
		span.SetAttributes(attribute.String("url.path", clip(r.URL.Path, 512)))
	}
	return ctx
}

func (o httpObserver) StreamStarted(*transport.Info) {}

func (o httpObserver) End(ctx context.Context, info *transport.Info) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		span.End()
		return
	}
	kv := make([]attribute.KeyValue, 0, 7)
	kv = append(kv, attribute.String("http.request.method", info.Method), attribute.String("mastra.request_id", info.ID),
		attribute.Int("http.response.status_code", info.Status))
	if info.Route != "" && info.Route != transport.RouteUnmatched {
		byRoute := o.t.routeNames.get(info.Method, func(string) *cache[string] { return &cache[string]{} })
		span.SetName(byRoute.get(info.Route, func(r string) string { return info.Method + " " + r }))
		kv = append(kv, attribute.String("http.route", info.Route))
	}
	if info.Agent != "" {
		kv = append(kv, attribute.String("gen_ai.agent.id", clip(info.Agent, 128)))
	}
	if info.Status >= 500 {
		span.SetStatus(codes.Error, "")
		kv = append(kv, attribute.String("error.type", http.StatusText(info.Status)))
	}
	span.SetAttributes(kv...)
	span.End()
}

// Agents returns the observer that makes the invoke_agent, chat and
// execute_tool spans.
func (t *Tracing) Agents() agent.Observer { return agentObserver{t} }

type agentObserver struct{ t *Tracing }

func agentName(a *agent.Agent) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// turnSpan is an invoke_agent span in progress.
type turnSpan struct {
	span    trace.Span
	capture bool
	db      dbTime
	attrs
}

// dbTime sums the database statements made inside a turn: their number
// and their time, which the turn's span carries (mastra.db.statements,
// mastra.db.duration_ms) instead of a span per statement. A turn makes
// two or three statements; as spans they were two fifths of its spans,
// and of what tracing cost it. Statements outside a turn (other routes,
// workflow steps) are spans still (pg.go, DBHook).
type dbTime struct {
	base  time.Time // the turn's start: times are sums of offsets from it
	n     atomic.Int64
	nanos atomic.Int64 // the sum of ends minus the sum of starts
}

type dbTimeKey struct{}

// dbTimeOf is the statement sums of the turn ctx is in, or nil.
func dbTimeOf(ctx context.Context) *dbTime {
	d, _ := ctx.Value(dbTimeKey{}).(*dbTime)
	return d
}

// Statements of a turn may run side by side (its tools): the sum is of
// their times, not of the wall time they covered.
func (d *dbTime) start() {
	d.n.Add(1)
	d.nanos.Add(-int64(time.Since(d.base)))
}

func (d *dbTime) end() { d.nanos.Add(int64(time.Since(d.base))) }

func (o agentObserver) StartTurn(ctx context.Context, ti agent.TurnInfo) (context.Context, func(agent.TurnEnd)) {
	a := ti.Agent
	name := o.t.invokeNames.get(agentName(a), func(n string) string { return "invoke_agent " + n })
	ctx, span := o.t.tracer.Start(ctx, name, internalKind...)
	if !span.IsRecording() {
		return ctx, func(agent.TurnEnd) { span.End() }
	}
	ts := &turnSpan{span: span, capture: o.t.capture}
	ts.db.base = time.Now()
	ctx = context.WithValue(ctx, dbTimeKey{}, &ts.db)
	ts.add(
		attribute.String("gen_ai.operation.name", "invoke_agent"),
		attribute.String("mastra.span.type", "agent_run"),
		attribute.String("gen_ai.agent.id", a.ID),
		attribute.String("gen_ai.agent.name", agentName(a)),
		attribute.String("gen_ai.conversation.id", ti.ThreadID),
		attribute.String("gen_ai.provider.name", metrics.ProviderName(a.Provider)),
		attribute.String("gen_ai.request.model", metrics.ModelName(a)),
		attribute.String("mastra.run_id", ti.RunID),
		attribute.String("mastra.resource_id", ti.ResourceID),
	)
	if o.t.capture {
		if a.Instructions != "" {
			ts.add(attribute.String("gen_ai.system_instructions", clip(a.Instructions, maxContent)))
		}
		ts.add(attribute.String("gen_ai.input.messages", messagesJSON(ti.Messages)))
	}
	return ctx, ts.end
}

func (ts *turnSpan) end(e agent.TurnEnd) {
	ts.add(attribute.String("mastra.outcome", e.Outcome))
	if r := e.Result; r != nil {
		ts.add(
			attribute.Int("gen_ai.usage.input_tokens", r.Usage.InputTokens),
			attribute.Int("gen_ai.usage.output_tokens", r.Usage.OutputTokens),
			finishReasons(r.FinishReason),
		)
		if ts.capture {
			ts.add(attribute.String("gen_ai.output.messages", outputJSON(r.Text, nil)))
		}
	}
	if n := ts.db.n.Load(); n > 0 {
		// A statement still running (work the turn left behind) counts
		// from its start only: never a negative sum.
		ms := float64(max(0, ts.db.nanos.Load())) / 1e6
		ts.add(attribute.Int64("mastra.db.statements", n), attribute.Float64("mastra.db.duration_ms", ms))
	}
	if e.Err != nil {
		ts.fail(ts.span, metrics.ErrorType(e.Err), e.Err.Error())
	}
	ts.span.SetAttributes(ts.kv...)
	ts.span.End()
}

func (o agentObserver) StartModelCall(ctx context.Context, c agent.ModelCallInfo) (context.Context, agent.ModelCallObserver) {
	a, req := c.Agent, c.Request
	model := c.Model
	if model == "" {
		model = c.Provider // the echo model has no name
	}
	ctx, span := o.t.tracer.Start(ctx, o.t.chatNames.get(model, func(m string) string { return "chat " + m }), clientKind...)
	mc := &modelCall{span: span, capture: o.t.capture}
	if !span.IsRecording() {
		return ctx, mc
	}
	mc.add(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("mastra.span.type", "model_generation"),
		attribute.String("gen_ai.provider.name", metrics.ProviderName(c.Provider)),
		attribute.String("gen_ai.request.model", model),
		attribute.String("gen_ai.agent.id", a.ID),
		attribute.String("gen_ai.agent.name", agentName(a)),
		attribute.Bool("mastra.stream", c.Stream),
	)
	if req.Temperature != nil {
		mc.add(attribute.Float64("gen_ai.request.temperature", *req.Temperature))
	}
	if req.MaxTokens != nil {
		mc.add(attribute.Int("gen_ai.request.max_tokens", *req.MaxTokens))
	}
	if req.TopP != nil {
		mc.add(attribute.Float64("gen_ai.request.top_p", *req.TopP))
	}
	if o.t.capture {
		mc.add(attribute.String("gen_ai.input.messages", messagesJSON(req.Messages)))
	}
	return ctx, mc
}

// modelCall is a chat span in progress.
type modelCall struct {
	span    trace.Span
	capture bool
	first   bool
	attrs
}

func (c *modelCall) FirstChunk() {
	if !c.first {
		c.first = true
		c.span.AddEvent("gen_ai.first_chunk")
	}
}

func (c *modelCall) End(resp *llm.Response, err error) {
	if !c.span.IsRecording() {
		c.span.End()
		return
	}
	if resp != nil {
		c.add(
			attribute.String("gen_ai.response.id", resp.ID),
			attribute.String("gen_ai.response.model", resp.Model),
			finishReasons(resp.FinishReason),
			attribute.Int("gen_ai.usage.input_tokens", resp.Usage.InputTokens),
			attribute.Int("gen_ai.usage.output_tokens", resp.Usage.OutputTokens),
		)
		if c.capture {
			c.add(attribute.String("gen_ai.output.messages", outputJSON(resp.Text, resp.ToolCalls)))
		}
	}
	if err != nil {
		c.fail(c.span, metrics.ErrorType(err), err.Error())
	}
	c.span.SetAttributes(c.kv...)
	c.span.End()
}

// toolSpan is an execute_tool span in progress.
type toolSpan struct {
	span    trace.Span
	capture bool
	attrs
}

func (o agentObserver) StartToolCall(ctx context.Context, c agent.ToolCallInfo) (context.Context, func(agent.ToolCallEnd)) {
	name := clip(c.Tool, 128)
	ctx, span := o.t.tracer.Start(ctx, "execute_tool "+name, internalKind...)
	if !span.IsRecording() {
		return ctx, func(agent.ToolCallEnd) { span.End() }
	}
	ts := &toolSpan{span: span, capture: o.t.capture}
	ts.add(
		attribute.String("gen_ai.operation.name", "execute_tool"),
		attribute.String("mastra.span.type", "tool_call"),
		attribute.String("gen_ai.tool.name", name),
		attribute.String("gen_ai.tool.call.id", clip(c.ToolCallID, 128)),
		attribute.String("gen_ai.agent.id", c.Agent.ID),
	)
	if o.t.capture {
		ts.add(attribute.String("gen_ai.tool.call.arguments", clip(string(c.Args), maxContent)))
	}
	return ctx, ts.end
}

func (ts *toolSpan) end(e agent.ToolCallEnd) {
	if ts.capture && e.Result != nil {
		ts.add(attribute.String("gen_ai.tool.call.result", clip(string(e.Result), maxContent)))
	}
	if e.Outcome != agent.ToolOK {
		ts.fail(ts.span, "tool_"+e.Outcome, clip(e.Failure, 500))
	}
	ts.span.SetAttributes(ts.kv...)
	ts.span.End()
}

// finishReasons is gen_ai.response.finish_reasons of one reason. A string
// slice attribute is built by reflection (several allocations), and the
// reasons are a handful: each is built once.
func finishReasons(reason string) attribute.KeyValue {
	return attribute.KeyValue{Key: "gen_ai.response.finish_reasons",
		Value: reasonValues.get(reason, func(r string) attribute.Value { return attribute.StringSliceValue([]string{r}) })}
}

var reasonValues cache[attribute.Value]

// cache maps a few strings that repeat (agent names, models, routes,
// finish reasons) to what is built from them, so that a turn does not
// build them anew. It stops growing at maxCached entries: the keys come
// from configuration and providers, but a misbehaving provider must not
// grow it without bound.
type cache[V any] struct {
	mu sync.RWMutex // guards m
	m  map[string]V
}

const maxCached = 256

func (c *cache[V]) get(k string, build func(string) V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = build(k)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]V{}
	}
	if len(c.m) < maxCached {
		c.m[k] = v
	}
	c.mu.Unlock()
	return v
}

// Plugins returns the observer that makes a span per guest call and hands
// the guest its traceparent.
func (t *Tracing) Plugins() plugin.Observer { return pluginObserver{t} }

type pluginObserver struct{ t *Tracing }

func (o pluginObserver) StartCall(ctx context.Context, name string, kind plugin.Kind, h http.Header) (context.Context, func(string)) {
	ctx, span := o.t.tracer.Start(ctx, "plugin "+name, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("mastra.plugin.name", name), attribute.String("mastra.plugin.kind", kind.String())))
	if h != nil {
		o.t.prop.Inject(ctx, propagation.HeaderCarrier(h))
	}
	return ctx, func(outcome string) {
		span.SetAttributes(attribute.String("mastra.plugin.outcome", outcome))
		if outcome != plugin.OutcomeOK {
			fail(span, "plugin_"+outcome, "")
		}
		span.End()
	}
}

// Workflows returns the observer that makes an invoke_workflow span per
// step execution. A run's steps are separate jobs, run at different times
// and maybe on different instances, so each is its own span (a trace's
// root), named as Mastra names a workflow's span; an agent step's turn is
// its child.
func (t *Tracing) Workflows() workflow.Observer { return workflowObserver{t} }

type workflowObserver struct{ t *Tracing }

func (workflowObserver) RunStarted(string)          {}
func (workflowObserver) RunFinished(string, string) {}

func (o workflowObserver) StartStep(ctx context.Context, s workflow.StepRun) (context.Context, func(string)) {
	ctx, span := o.t.tracer.Start(ctx, "invoke_workflow "+s.Workflow, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "invoke_workflow"),
			attribute.String("mastra.span.type", "workflow_step"),
			attribute.String("mastra.workflow.id", s.Workflow),
			attribute.String("mastra.workflow.run_id", s.RunID),
			attribute.String("mastra.workflow.step.id", s.Step),
			attribute.String("mastra.workflow.step.kind", s.Kind),
			attribute.Int("mastra.workflow.step.iteration", s.Iter),
		))
	return ctx, func(outcome string) {
		span.SetAttributes(attribute.String("mastra.outcome", outcome))
		if outcome != workflow.StepOK {
			fail(span, "step_"+outcome, "")
		}
		span.End()
	}
}

// fail marks a span failed, with its error type and message.
func fail(span trace.Span, typ, msg string) {
	span.SetStatus(codes.Error, clip(msg, 500))
	span.SetAttributes(attribute.String("error.type", typ))
	if msg != "" {
		span.SetAttributes(attribute.String("error.message", clip(msg, 500)))
	}
}

// messagesJSON spells messages as the conventions' gen_ai.input.messages:
// [{role, parts:[{type:"text", content}]}].
func messagesJSON(ms []llm.Message) string {
	type part struct {
		Type    string `json:"type"`
		Content string `json:"content,omitempty"`
		ID      string `json:"id,omitempty"`
		Name    string `json:"name,omitempty"`
	}
	type msg struct {
		Role  string `json:"role"`
		Parts []part `json:"parts"`
	}
	out := make([]msg, 0, len(ms))
	for _, m := range ms {
		x := msg{Role: m.Role}
		switch {
		case m.Role == llm.RoleTool:
			x.Parts = append(x.Parts, part{Type: "tool_call_response", ID: m.ToolCallID, Content: m.Content})
		case m.Content != "":
			x.Parts = append(x.Parts, part{Type: "text", Content: m.Content})
		}
		for _, tc := range m.ToolCalls {
			x.Parts = append(x.Parts, part{Type: "tool_call", ID: tc.ID, Name: tc.Name})
		}
		out = append(out, x)
	}
	b, _ := json.Marshal(out) // strings only
	return clip(string(b), maxContent)
}

// outputJSON is gen_ai.output.messages: the reply as one assistant message.
func outputJSON(text string, calls []llm.ToolCall) string {
	return messagesJSON([]llm.Message{{Role: llm.RoleAssistant, Content: text, ToolCalls: calls}})
}
