// Package metrics holds the server's Prometheus instruments and serves them
// in the text format. The packages it watches know nothing of Prometheus:
// each defines a small observer interface (transport.Observer,
// agent.Observer, plugin.Observer) that this package implements, and the
// composition root hands them over.
//
// Cardinality is bounded by construction: labels take only values fixed by
// the configuration (agent ids, tool and plugin names, route templates,
// model names) or by this package (methods, outcomes, status codes). A
// request's raw path, a thread, run or resource id never becomes a label;
// a tool name the model made up becomes "unknown".
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry with every instrument. Make it with New.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight *prometheus.GaugeVec
	streamsOpen  prometheus.Gauge
	overhead     *prometheus.HistogramVec

	turns        *prometheus.CounterVec
	turnDuration *prometheus.HistogramVec

	opDuration *prometheus.HistogramVec
	tokenUsage *prometheus.HistogramVec
	firstChunk *prometheus.HistogramVec

	fallbacks    *prometheus.CounterVec
	recall       *prometheus.CounterVec
	toolCalls    *prometheus.CounterVec
	toolDuration *prometheus.HistogramVec

	pluginCalls    *prometheus.CounterVec
	pluginDuration *prometheus.HistogramVec
	pluginTraps    *prometheus.CounterVec
	pluginTimeouts *prometheus.CounterVec

	workflowRunsStarted  *prometheus.CounterVec
	workflowRunsFinished *prometheus.CounterVec
	workflowStepDuration *prometheus.HistogramVec
}

// Buckets of the OpenTelemetry GenAI semantic conventions.
var (
	// tokenBuckets: gen_ai.client.token.usage, powers of 4.
	tokenBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	// durationBuckets: gen_ai.client.operation.duration, seconds.
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	// firstChunkBuckets: gen_ai.client.operation.time_to_first_chunk.
	firstChunkBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	// httpBuckets reach minutes: a stream is one request.
	httpBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	// overheadBuckets: the server's own time per request, from a tenth of a
	// millisecond (a gateway's budget) up to a slow database.
	overheadBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
	// pluginBuckets: guest calls are bounded by a timeout of 100 ms by default.
	pluginBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// GenAI label names: the semconv attribute names with dots as underscores.
const (
	lOperation = "gen_ai_operation_name"
	lProvider  = "gen_ai_provider_name"
	lModel     = "gen_ai_request_model"
	lTokenType = "gen_ai_token_type"
	lErrorType = "error_type"
)

// New makes a registry with the Go and process collectors and every
// instrument of the server.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{m.reg}

	m.httpRequests = f.counter("mastra_http_requests_total",
		"HTTP requests answered, by method, route template and status.", "method", "route", "status")
	m.httpDuration = f.histogram("mastra_http_request_duration_seconds",
		"Time from a request's arrival to the end of its response (a whole stream included).", httpBuckets, "method", "route", "status")
	m.httpInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mastra_http_requests_in_flight",
		Help: "HTTP requests being served, by method."}, []string{"method"})
	m.streamsOpen = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mastra_streams_open",
		Help: "Event streams (SSE responses) open now."})
	m.reg.MustRegister(m.httpInFlight, m.streamsOpen)
	m.overhead = f.histogram("mastra_server_overhead_seconds",
		"Time the server spent on a request that called a model or a tool, minus the time it waited on model providers and tools "+
			"(overlapping waits count once), by route template.", overheadBuckets, "route")

	m.turns = f.counter("mastra_agent_turns_total",
		"Agent turns, by agent and outcome (ok, error, canceled, replayed).", "agent", "outcome")
	m.turnDuration = f.histogram("gen_ai_invoke_agent_duration_seconds",
		"Duration of agent turns (gen_ai.invoke_agent.duration), by agent and outcome.", durationBuckets, "agent", "outcome")

	m.opDuration = f.histogram("gen_ai_client_operation_duration_seconds",
		"Duration of model calls (gen_ai.client.operation.duration).", durationBuckets, lOperation, lProvider, lModel, lErrorType)
	m.tokenUsage = f.histogram("gen_ai_client_token_usage",
		"Tokens per model call (gen_ai.client.token.usage), by token type (input, output).", tokenBuckets, lOperation, lProvider, lModel, lTokenType)
	m.firstChunk = f.histogram("gen_ai_client_operation_time_to_first_chunk_seconds",
		"Time from a streamed model call's start to its first chunk (gen_ai.client.operation.time_to_first_chunk).", firstChunkBuckets, lOperation, lProvider, lModel)

	m.fallbacks = f.counter("mastra_model_fallbacks_total",
		"Moves of a turn from a model that failed before its first token to the agent's next model, by agent and models (\"provider/model\").", "agent", "from", "to")
	m.recall = f.counter("mastra_semantic_recall_total",
		"Semantic recall operations, by agent, op (query: a turn's recall; embed: an attempt to embed a saved turn) and outcome (ok, error, over_budget: refused by a token budget). "+
			"A failed recall never fails the turn.", "agent", "op", "outcome")
	m.toolCalls = f.counter("mastra_tool_calls_total",
		"Server-side tool calls made by agents, by tool and outcome (ok, error, canceled).", "tool", "outcome")
	m.toolDuration = f.histogram("gen_ai_execute_tool_duration_seconds",
		"Duration of server-side tool calls (gen_ai.execute_tool.duration).", durationBuckets, "tool", "outcome")

	m.pluginCalls = f.counter("mastra_plugin_calls_total",
		"Wasm plugin calls, by plugin, kind and outcome (ok, trap, timeout, busy, canceled, too_large, over_cap, closed).", "plugin", "kind", "outcome")
	m.pluginDuration = f.histogram("mastra_plugin_call_duration_seconds",
		"Duration of Wasm plugin calls; a middleware's includes the handlers after it.", pluginBuckets, "plugin", "kind")
	m.pluginTraps = f.counter("mastra_plugin_traps_total", "Wasm plugin calls that trapped.", "plugin")
	m.pluginTimeouts = f.counter("mastra_plugin_timeouts_total", "Wasm plugin calls that ran past their timeout.", "plugin")

	// Workflow and step ids come from the configuration: bounded.
	m.workflowRunsStarted = f.counter("mastra_workflow_runs_started_total", "Workflow runs started, by workflow.", "workflow")
	m.workflowRunsFinished = f.counter("mastra_workflow_runs_finished_total",
		"Workflow runs ended, by workflow and final status (success, failed, canceled).", "workflow", "status")
	m.workflowStepDuration = f.histogram("mastra_workflow_step_duration_seconds",
		"Duration of workflow step executions on this instance, by workflow, step, kind (agent, tool, map, sleep, suspend, …) and outcome (ok, error, timeout, canceled).",
		httpBuckets, "workflow", "step", "kind", "outcome")
	return m
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

// Registry is the registry, for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (or OpenMetrics
// when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// WatchDB reports a database connection pool under mastra_db_*, read at
// each scrape.
func (m *Metrics) WatchDB(stats func() sql.DBStats) {
	m.reg.MustRegister(dbCollector{stats})
}

// WatchSpans reports the stored-trace writer (host/observe) under
// mastra_observability_spans_*, read at each scrape.
func (m *Metrics) WatchSpans(written, dropped, failed, logsDropped func() uint64) {
	for _, c := range []struct {
		name, help string
		f          func() uint64
	}{
		{"mastra_observability_spans_written_total", "Spans stored in the database.", written},
		{"mastra_observability_spans_dropped_total", "Spans dropped because the write queue was full ([observability] queue_size).", dropped},
		{"mastra_observability_spans_failed_total", "Spans lost to a failed database write.", failed},
		{"mastra_observability_logs_dropped_total", "Log lines of runs not stored because their queue was full.", logsDropped},
	} {
		f := c.f
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(f()) }))
	}
}

// WatchScores reports the scorers' work (host/observe) under
// mastra_scores_*, read at each scrape.
func (m *Metrics) WatchScores(stored, dropped, failed, judgeFailed func() uint64) {
	for _, c := range []struct {
		name, help string
		f          func() uint64
	}{
		{"mastra_scores_stored_total", "Scores of [scorers] stored.", stored},
		{"mastra_scores_dropped_total", "Replies not scored because the scorer queue was full.", dropped},
		{"mastra_scores_failed_total", "Scores lost to a failed database write.", failed},
		{"mastra_scores_judge_failed_total", "Scores recorded as failed because the scorer's judge model failed.", judgeFailed},
	} {
		f := c.f
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(f()) }))
	}
}

var (
	dbOpen      = prometheus.NewDesc("mastra_db_connections_open", "Open database connections (in use and idle).", nil, nil)
	dbInUse     = prometheus.NewDesc("mastra_db_connections_in_use", "Database connections in use.", nil, nil)
	dbIdle      = prometheus.NewDesc("mastra_db_connections_idle", "Idle database connections.", nil, nil)
	dbMax       = prometheus.NewDesc("mastra_db_connections_max", "Maximum open database connections (0 = unlimited).", nil, nil)
	dbWaits     = prometheus.NewDesc("mastra_db_connection_waits_total", "Times a query waited for a free connection.", nil, nil)
	dbWaitTime  = prometheus.NewDesc("mastra_db_connection_wait_seconds_total", "Time spent waiting for a free connection.", nil, nil)
	dbClosedMax = prometheus.NewDesc("mastra_db_connections_closed_total", "Connections closed, by reason (max_idle, max_idle_time, max_lifetime).", []string{"reason"}, nil)
)

type dbCollector struct{ stats func() sql.DBStats }

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbOpen, dbInUse, dbIdle, dbMax, dbWaits, dbWaitTime, dbClosedMax} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(dbOpen, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(dbInUse, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(dbIdle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(dbMax, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(dbWaits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(dbWaitTime, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(dbClosedMax, prometheus.CounterValue, float64(s.MaxIdleClosed), "max_idle")
	ch <- prometheus.MustNewConstMetric(dbClosedMax, prometheus.CounterValue, float64(s.MaxIdleTimeClosed), "max_idle_time")
	ch <- prometheus.MustNewConstMetric(dbClosedMax, prometheus.CounterValue, float64(s.MaxLifetimeClosed), "max_lifetime")
}

// statusLabel spells common statuses without an allocation.
func statusLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	}
	if code < 100 || code > 599 { // a plugin sets its own status
		return "other"
	}
	return strconv.Itoa(code)
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
