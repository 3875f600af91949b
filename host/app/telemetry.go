package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/metrics"
	"github.com/mastra-server/mastra-server/host/observe"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/scorejobs"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/tracing"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// telemetry is what watches the server: Prometheus metrics
// ([server.metrics]) and OpenTelemetry traces ([telemetry] or OTEL_*).
// Either may be nil (off).
type telemetry struct {
	metrics *metrics.Metrics
	tracing *tracing.Tracing
	// spans stores traces ([observability]); nil when off. It starts
	// once the store is open (startSpans).
	spans *observe.Recorder
	// scoreJobs grades scores as River jobs (Postgres); nil: in process.
	scoreJobs *scorejobs.Jobs
}

// newTelemetry starts what the configuration turns on.
func newTelemetry(ctx context.Context, cfg *config.Config, log *slog.Logger) (*telemetry, error) {
	t := &telemetry{}
	if cfg.Server.Metrics.Enabled {
		t.metrics = metrics.New()
	}
	if tracing.Enabled(cfg.Telemetry.Endpoint, nil) {
		tr, err := tracing.New(ctx, tracing.Options{Endpoint: cfg.Telemetry.Endpoint, ServiceName: cfg.Telemetry.ServiceName,
			CaptureContent: cfg.Telemetry.CaptureContent})
		if err != nil {
			return nil, err
		}
		t.tracing = tr
		log.Info("tracing on: exporting spans over OTLP/HTTP", "capture_content", cfg.Telemetry.CaptureContent)
	}
	return t, nil
}

// startSpans starts storing traces in store when [observability] is on.
func (t *telemetry) startSpans(ctx context.Context, cfg *config.Config, store *memory.Store, log *slog.Logger) error {
	o := cfg.Observability
	if !o.Enabled {
		return nil
	}
	scorers, err := buildScorers(cfg, t.modelClient())
	if err != nil {
		return err
	}
	t.spans = observe.New(observe.Options{Store: store, CaptureContent: o.CaptureContent,
		QueueSize: o.QueueSize, BatchSize: o.BatchSize, FlushInterval: o.FlushInterval, Retention: o.Retention,
		ServiceName: cfg.Telemetry.ServiceName, OTelIDs: t.tracing != nil,
		Scorers: scorers.agents, WorkflowScorers: scorers.workflows, AllScorers: scorers.all, Logger: log})
	t.spans.Start(ctx)
	if t.metrics != nil {
		t.metrics.WatchSpans(t.spans.Written, t.spans.Dropped, t.spans.Failed, t.spans.LogsDropped)
		t.metrics.WatchScores(t.spans.Scored, t.spans.ScoresDropped, t.spans.ScoresFailed, t.spans.JudgeFailed)
	}
	return nil
}

// scorers are [scorers.*] compiled: every one, and each agent's and
// workflow's, by id.
type scorers struct {
	all               []*observe.Scorer
	agents, workflows map[string][]*observe.Scorer
}

// buildScorers compiles [scorers.*]; an llm scorer's judge is a client of
// the provider registry, as an agent's model is.
func buildScorers(cfg *config.Config, client *http.Client) (scorers, error) {
	out := scorers{agents: map[string][]*observe.Scorer{}, workflows: map[string][]*observe.Scorer{}}
	byID := map[string]*observe.Scorer{}
	clients := map[string]llm.Model{}
	for _, id := range slices.Sorted(maps.Keys(cfg.Scorers)) {
		sc := cfg.Scorers[id]
		rate := 1.0
		if sc.SamplingRate != nil {
			rate = *sc.SamplingRate
		}
		var s *observe.Scorer
		var err error
		if sc.Kind == "llm" {
			var c agent.Choice
			if c, err = choice(cfg, clients, "", config.Agent{}, sc.Model, client); err != nil {
				return out, fmt.Errorf("scorers.%s.model = %q: %w", id, sc.Model, err)
			}
			s, err = observe.NewJudgeScorer(id, sc.Name, sc.Description, observe.Judge{Model: c.Model, Provider: c.Provider,
				ModelID: c.ModelID, Prompt: sc.Prompt, NoJSONSchema: c.NoJSONSchema}, rate)
		} else {
			s, err = observe.NewRuleScorer(id, sc.Name, sc.Description, observe.Rule{Kind: sc.Kind, Text: sc.Text, Pattern: sc.Pattern,
				Schema: sc.Schema, Tool: sc.Tool, Negate: sc.Negate, MaxMS: sc.MaxMS, MaxTokens: sc.MaxTokens}, rate)
		}
		if err != nil {
			return out, err
		}
		byID[id] = s
		out.all = append(out.all, s)
		for _, w := range sc.Workflows {
			out.workflows[w] = append(out.workflows[w], s)
		}
	}
	for agentID, a := range cfg.Agents {
		for _, id := range a.Scorers {
			out.agents[agentID] = append(out.agents[agentID], byID[id])
		}
	}
	return out, nil
}

// startScoreJobs grades scores by River jobs on Postgres (any instance
// runs them; one queued before an instance dies is not lost), and charges
// judges' tokens to the budgets of the turn's principal and the scored
// resource, as embedding calls are charged. On SQLite, or when River
// cannot start, scores are graded by the recorder's in-process queue.
func (t *telemetry) startScoreJobs(ctx context.Context, store *memory.Store, limiter *limits.Limiter, budgets limits.Budgets, log *slog.Logger) {
	if t.spans == nil || !t.spans.HasScorers() {
		return
	}
	if b := limiter.Embeddings(budgets); b != nil {
		t.spans.SetTokenBudget(b)
	}
	if store == nil || store.Kind() != "postgres" {
		log.Info("scorers: graded by an in-process queue (single node)")
		return
	}
	jobs, err := scorejobs.Open(store.DB(), t.spans.RunScore, log)
	if err == nil {
		if err = jobs.Start(ctx); err != nil {
			_ = jobs.Close(ctx)
		}
	}
	if err != nil {
		log.Warn("scorers: graded by an in-process queue: River could not start", "error", err.Error())
		return
	}
	t.spans.SetScoreQueue(jobs)
	t.scoreJobs = jobs
	log.Info("scorers: graded by River jobs (queue " + scorejobs.Queue + ")")
}

// The observers run in order: the trace first (its span is the context of
// the others), then the stored spans (which reuse its ids), then metrics.

func (t *telemetry) agents() agent.Observer {
	var m, tr, sp agent.Observer
	if t.metrics != nil {
		m = t.metrics.Agents()
	}
	if t.tracing != nil {
		tr = t.tracing.Agents()
	}
	if t.spans != nil {
		sp = t.spans.Agents()
	}
	return agent.Observers(tr, sp, m)
}

func (t *telemetry) plugins() plugin.Observer {
	var m, tr, sp plugin.Observer
	if t.metrics != nil {
		m = t.metrics.Plugins()
	}
	if t.tracing != nil {
		tr = t.tracing.Plugins()
	}
	if t.spans != nil {
		sp = t.spans.Plugins()
	}
	return plugin.Observers(tr, sp, m)
}

func (t *telemetry) workflows() workflow.Observer {
	var m, tr, sp workflow.Observer
	if t.metrics != nil {
		m = t.metrics.Workflows()
	}
	if t.tracing != nil {
		tr = t.tracing.Workflows()
	}
	if t.spans != nil {
		sp = t.spans.Workflows()
	}
	return workflow.Observers(tr, sp, m)
}

// http lists the request observers: the trace first, so the metrics'
// work is inside the server span.
func (t *telemetry) http() []transport.Observer {
	var obs []transport.Observer
	if t.tracing != nil {
		obs = append(obs, t.tracing.HTTP())
	}
	if t.metrics != nil {
		obs = append(obs, t.metrics.HTTP())
	}
	return obs
}

// fallback is what notes an agent's fallback besides the log line: the
// metrics' counter, or nothing.
func (t *telemetry) fallback(ev agent.FallbackEvent) {
	if t.metrics != nil {
		t.metrics.Fallback(ev)
	}
}

// recall notes a semantic recall operation: the metrics' counter, or
// nothing.
func (t *telemetry) recall(ev agent.RecallEvent) {
	if t.metrics != nil {
		t.metrics.Recall(ev)
	}
}

// modelClient is the HTTP client of model providers: nil (the client's
// own) unless traces are on, when each request carries traceparent.
func (t *telemetry) modelClient() *http.Client {
	if t.tracing == nil {
		return nil
	}
	return &http.Client{Transport: t.tracing.Transport(llm.DefaultTransport())}
}

// close flushes the last spans: the stored ones (before the store
// closes) and the exported ones.
func (t *telemetry) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if t.spans != nil {
		t.spans.Close(ctx) // queues the last score jobs
	}
	if t.scoreJobs != nil {
		_ = t.scoreJobs.Close(ctx) // jobs cut short run again, here or elsewhere
	}
	if t.tracing == nil {
		return nil
	}
	return t.tracing.Shutdown(ctx)
}

// serveMetrics serves the metrics alone on addr ([server.metrics].listen)
// until ctx is done.
func serveMetrics(ctx context.Context, addr, path string, h http.Handler, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET "+path, h)
	return serveAside(ctx, "metrics", addr, mux, log, "path", path)
}

// serveAside serves h on a listener of its own at addr, apart from the
// API's (its middleware, auth and limits), until ctx is done. It returns
// once it listens, so a taken address is a start error.
func serveAside(ctx context.Context, name, addr string, h http.Handler, log *slog.Logger, attrs ...any) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info(name+" listening", append([]any{"addr", ln.Addr().String()}, attrs...)...)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" server stopped", "err", err)
		}
	}()
	return nil
}
