package observe

import (
	"github.com/mastra-server/mastra-server/host/memory"
)

// Mastra's metric names, derived from ended spans as Mastra's exporter
// derives them: a duration per agent run, model call and tool call, and a
// model call's token counts. A workflow run's root span is rewritten by
// each step (see Workflows), so no single row of it holds the run's
// duration: mastra_workflow_duration_ms comes from the run's end instead
// (RunEnded), from its creation, suspensions included.
const (
	MetricAgentDuration    = "mastra_agent_duration_ms"
	MetricWorkflowDuration = "mastra_workflow_duration_ms"
	MetricModelDuration    = "mastra_model_duration_ms"
	MetricToolDuration     = "mastra_tool_duration_ms"
	MetricInputTokens      = "mastra_model_total_input_tokens"
	MetricOutputTokens     = "mastra_model_total_output_tokens"
)

var durationMetric = map[string]string{
	"agent_run":        MetricAgentDuration,
	"model_generation": MetricModelDuration,
	"tool_call":        MetricToolDuration,
	"workflow_run":     MetricWorkflowDuration,
}

// appendMetrics appends the metric events of an ended span to ms.
func appendMetrics(ms []memory.MetricEvent, p *pending) []memory.MetricEvent {
	sp := &p.Span
	name, ok := durationMetric[sp.SpanType]
	if !ok || sp.EndedAt == nil || (sp.SpanType == "workflow_run" && !p.metricOnly) {
		return ms
	}
	labels := labelsOK
	if len(sp.Error) > 0 {
		labels = labelsError
	}
	base := memory.MetricEvent{Timestamp: *sp.EndedAt, EventContext: memory.EventContext{
		TraceID: &sp.TraceID, SpanID: &sp.SpanID, EntityType: sp.EntityType, EntityID: sp.EntityID, EntityName: sp.EntityName,
		ResourceID: sp.ResourceID, ThreadID: sp.ThreadID, RunID: sp.RunID, ServiceName: sp.ServiceName, Environment: sp.Environment,
	}, Labels: labels}
	if p.provider != "" {
		base.Provider, base.Model = &p.provider, &p.model
	}
	// The events' ids, spanId:metric, cut from one string.
	ids := sp.SpanID + ":" + name
	if p.usage != nil {
		ids += sp.SpanID + ":" + MetricInputTokens + sp.SpanID + ":" + MetricOutputTokens
	}
	mk := func(metric string, v float64) memory.MetricEvent {
		m := base
		n := len(sp.SpanID) + 1 + len(metric)
		m.MetricID, m.Name, m.Value = ids[:n], metric, v
		ids = ids[n:]
		return m
	}
	ms = append(ms, mk(name, float64(sp.EndedAt.Sub(sp.StartedAt.Time).Microseconds())/1000))
	if u := p.usage; u != nil {
		ms = append(ms, mk(MetricInputTokens, float64(u.InputTokens)), mk(MetricOutputTokens, float64(u.OutputTokens)))
	}
	return ms
}

var (
	labelsOK    = memory.SpanJSON(`{"status":"ok"}`)
	labelsError = memory.SpanJSON(`{"status":"error"}`)
)
