package metrics

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// HTTP returns the observer of HTTP requests, for server.Options.Observers.
func (m *Metrics) HTTP() transport.Observer { return httpObserver{m} }

type httpObserver struct{ m *Metrics }

func (o httpObserver) Start(r *http.Request, info *transport.Info) context.Context {
	o.m.httpInFlight.WithLabelValues(info.Method).Inc()
	return r.Context()
}

func (o httpObserver) StreamStarted(*transport.Info) { o.m.streamsOpen.Inc() }

func (o httpObserver) End(_ context.Context, info *transport.Info) {
	if info.Stream {
		o.m.streamsOpen.Dec()
	}
	o.m.httpInFlight.WithLabelValues(info.Method).Dec()
	route, status := info.RouteLabel(), statusLabel(info.Status)
	o.m.httpRequests.WithLabelValues(info.Method, route, status).Inc()
	o.m.httpDuration.WithLabelValues(info.Method, route, status).Observe(info.Duration.Seconds())
	// Overhead only for requests that called a model or a tool: for the
	// others it would be their whole duration, already above.
	if wait, n := info.Wait(); n > 0 {
		o.m.overhead.WithLabelValues(route).Observe(max(info.Duration-wait, 0).Seconds())
	}
}

// Agents returns the observer of turns, model and tool calls, for
// agent.Service.SetObserver.
func (m *Metrics) Agents() agent.Observer { return agentObserver{m} }

type agentObserver struct{ m *Metrics }

func (o agentObserver) StartTurn(ctx context.Context, t agent.TurnInfo) (context.Context, func(agent.TurnEnd)) {
	start := time.Now()
	id := t.Agent.ID
	return ctx, func(e agent.TurnEnd) {
		o.m.turns.WithLabelValues(id, e.Outcome).Inc()
		o.m.turnDuration.WithLabelValues(id, e.Outcome).Observe(since(start))
	}
}

func (o agentObserver) StartModelCall(ctx context.Context, c agent.ModelCallInfo) (context.Context, agent.ModelCallObserver) {
	model := c.Model
	if model == "" {
		model = c.Provider // the echo model has no name
	}
	transport.BeginWait(ctx)
	return ctx, &modelCall{m: o.m, ctx: ctx, start: time.Now(), provider: ProviderName(c.Provider), model: model}
}

type modelCall struct {
	m               *Metrics
	ctx             context.Context // the request's, for its wait (transport.EndWait)
	start           time.Time
	provider, model string
	first           sync.Once
}

func (c *modelCall) FirstChunk() {
	c.first.Do(func() {
		c.m.firstChunk.WithLabelValues("chat", c.provider, c.model).Observe(since(c.start))
	})
}

func (c *modelCall) End(resp *llm.Response, err error) {
	transport.EndWait(c.ctx)
	c.m.opDuration.WithLabelValues("chat", c.provider, c.model, ErrorType(err)).Observe(since(c.start))
	if resp == nil {
		return
	}
	c.m.tokenUsage.WithLabelValues("chat", c.provider, c.model, "input").Observe(float64(resp.Usage.InputTokens))
	c.m.tokenUsage.WithLabelValues("chat", c.provider, c.model, "output").Observe(float64(resp.Usage.OutputTokens))
}

// Fallback counts one fallback, for agent.Agent.OnFallback. The agent and
// both models come from the configuration, so the series stay bounded.
func (m *Metrics) Fallback(ev agent.FallbackEvent) {
	m.fallbacks.WithLabelValues(ev.AgentID, ev.From, ev.To).Inc()
}

// Recall counts one semantic recall operation, for
// agent.Service.SetRecallObserver.
func (m *Metrics) Recall(ev agent.RecallEvent) {
	m.recall.WithLabelValues(ev.AgentID, ev.Op, ev.Outcome).Inc()
}

func (o agentObserver) StartToolCall(ctx context.Context, c agent.ToolCallInfo) (context.Context, func(agent.ToolCallEnd)) {
	start := time.Now()
	name := c.Tool
	if !c.Known {
		name = "unknown" // the model's invention: not a label
	}
	transport.BeginWait(ctx)
	return ctx, func(e agent.ToolCallEnd) {
		transport.EndWait(ctx)
		o.m.toolCalls.WithLabelValues(name, e.Outcome).Inc()
		o.m.toolDuration.WithLabelValues(name, e.Outcome).Observe(since(start))
	}
}

// ProviderName is the provider as the GenAI conventions name it
// (gen_ai.provider.name).
func ProviderName(p string) string {
	switch p {
	case "azure":
		return "azure.ai.openai"
	case "":
		return "unknown"
	}
	return p
}

// ModelName is the agent's model as configured (the echo model has none).
func ModelName(a *agent.Agent) string {
	if a.ModelID == "" {
		return a.Provider
	}
	return a.ModelID
}

// ErrorType is error.type of a failed call: a short class, "" for none.
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	var se *llm.StatusError
	switch {
	case errors.As(err, &se) && se.StatusCode != 0:
		return statusLabel(se.StatusCode)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, llm.ErrUnavailable):
		return "unavailable"
	}
	return "_OTHER" // the conventions' fallback value
}

// Plugins returns the observer of guest calls, for plugin.Config.Observer.
func (m *Metrics) Plugins() plugin.Observer { return pluginObserver{m} }

type pluginObserver struct{ m *Metrics }

func (o pluginObserver) StartCall(ctx context.Context, name string, kind plugin.Kind, _ http.Header) (context.Context, func(string)) {
	start := time.Now()
	return ctx, func(outcome string) {
		k := kind.String()
		o.m.pluginCalls.WithLabelValues(name, k, outcome).Inc()
		o.m.pluginDuration.WithLabelValues(name, k).Observe(since(start))
		switch outcome {
		case plugin.OutcomeTrap:
			o.m.pluginTraps.WithLabelValues(name).Inc()
		case plugin.OutcomeTimeout:
			o.m.pluginTimeouts.WithLabelValues(name).Inc()
		}
	}
}

// WatchPlugins reports the instance pools of plugins, read at each scrape:
// in use, live and capacity, by plugin.
func (m *Metrics) WatchPlugins(plugins func() []*plugin.Plugin) {
	m.reg.MustRegister(poolCollector{plugins})
}

var (
	poolInUse = prometheus.NewDesc("mastra_plugin_instances_in_use", "Wasm instances serving a call, by plugin.", []string{"plugin"}, nil)
	poolLive  = prometheus.NewDesc("mastra_plugin_instances", "Wasm instances alive (idle or in use), by plugin.", []string{"plugin"}, nil)
	poolCap   = prometheus.NewDesc("mastra_plugin_instances_max", "Most Wasm instances a plugin may have (max_instances).", []string{"plugin"}, nil)
)

type poolCollector struct{ plugins func() []*plugin.Plugin }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolInUse
	ch <- poolLive
	ch <- poolCap
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.plugins() {
		s := p.Pool()
		ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(s.InUse), p.Name())
		ch <- prometheus.MustNewConstMetric(poolLive, prometheus.GaugeValue, float64(s.Live), p.Name())
		ch <- prometheus.MustNewConstMetric(poolCap, prometheus.GaugeValue, float64(s.Capacity), p.Name())
	}
}

// Workflows returns the observer of workflow runs and steps, for
// workflow.Options.Observer.
func (m *Metrics) Workflows() workflow.Observer { return workflowObserver{m} }

type workflowObserver struct{ m *Metrics }

func (o workflowObserver) RunStarted(wf string) { o.m.workflowRunsStarted.WithLabelValues(wf).Inc() }

func (o workflowObserver) RunFinished(wf, status string) {
	o.m.workflowRunsFinished.WithLabelValues(wf, status).Inc()
}

func (o workflowObserver) StartStep(ctx context.Context, s workflow.StepRun) (context.Context, func(string)) {
	start := time.Now()
	return ctx, func(outcome string) {
		o.m.workflowStepDuration.WithLabelValues(s.Workflow, s.Step, s.Kind, outcome).Observe(since(start))
	}
}
