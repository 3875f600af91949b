package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// turnHooks runs what the tracing observers see of a plain generate turn:
// the server span, invoke_agent, one chat call whose request goes out
// through Transport, and the turn's two database round trips (its history
// read and its save).
func turnHooks(t *Tracing, rt http.RoundTripper) func() {
	a := &agent.Agent{ID: "a", Name: "Helper", Provider: "openai", ModelID: "m1"}
	hobs, aobs, pg := t.HTTP(), t.Agents(), t.PGTracer()
	req := httptest.NewRequest("POST", "/api/agents/a/generate", nil)
	out, _ := http.NewRequest("POST", "http://model/v1/chat/completions", nil)
	lreq := &llm.Request{}
	resp := &llm.Response{ID: "chatcmpl-1", Model: "m1", FinishReason: "stop", Usage: llm.Usage{InputTokens: 10, OutputTokens: 2}}
	res := &agent.Result{FinishReason: "stop", Usage: llm.Usage{InputTokens: 10, OutputTokens: 2}}
	return func() {
		info := &transport.Info{ID: "req-1", Method: "POST", Start: time.Now()}
		ctx := hobs.Start(req, info)
		tctx, end := aobs.StartTurn(ctx, agent.TurnInfo{Agent: a, RunID: "run-1", ThreadID: "t1", ResourceID: "r"})
		qctx := pg.TraceQueryStart(tctx, nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
		pg.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
		mctx, mc := aobs.StartModelCall(tctx, agent.ModelCallInfo{Agent: a, Provider: "openai", Model: "m1", Request: lreq})
		if r, err := rt.RoundTrip(out.WithContext(mctx)); err == nil {
			r.Body.Close()
		}
		mc.End(resp, nil)
		qctx = pg.TraceQueryStart(tctx, nil, pgx.TraceQueryStartData{SQL: "INSERT INTO x VALUES ($1)"})
		pg.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
		end(agent.TurnEnd{Outcome: agent.OutcomeOK, Result: res})
		info.Route, info.Status, info.Agent = "/api/agents/:agentId/generate", 200, "a"
		hobs.End(ctx, info)
	}
}

// okTransport answers every request at once, for Transport to wrap.
type okTransport struct{}

func (okTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

func benchTracing(exp sdktrace.SpanExporter) *Tracing {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	return &Tracing{tp: tp, tracer: tp.Tracer("test"),
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
}

// BenchmarkTurnHooks is the tracing work of one turn, spans made and
// batched (the export itself is BenchmarkExport's).
func BenchmarkTurnHooks(b *testing.B) {
	t := benchTracing(tracetest.NewNoopExporter())
	defer t.Shutdown(context.Background())
	turn := turnHooks(t, t.Transport(okTransport{}))
	b.ReportAllocs()
	for b.Loop() {
		turn()
	}
}

// turnHooksAllocs is what the tracing of a plain generate turn allocates
// (turnHooks: three spans, the turn's two statements summed on it,
// traceparent on the model request), measured 2026-12-07 with Go 1.26 and
// OpenTelemetry 1.47: 35. Before (the SDK's exporter aside): 81. Most of
// what is left is the SDK's per span (the span, its attribute slice, the
// map it deduplicates them with, its snapshot, its context).
const turnHooksAllocs = 35

// TestTurnHooksAllocs fails when a turn's tracing allocates more than 20 %
// over turnHooksAllocs: issue 26's guard on tracing's share of a turn (at
// most +10 % CPU), as an allocation count is stable where times are not.
// The export's share is TestExporterEncodeAllocs's.
func TestTurnHooksAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	tr := benchTracing(tracetest.NewNoopExporter())
	defer tr.Shutdown(context.Background())
	turn := turnHooks(tr, tr.Transport(okTransport{}))
	turn()
	got := testing.AllocsPerRun(100, turn)
	t.Logf("%.0f allocs/turn (baseline %d)", got, turnHooksAllocs)
	if got > turnHooksAllocs*1.2 {
		t.Errorf("a turn's tracing allocates %.0f times, more than 20 %% over the baseline %d: find the new allocations (go test -bench TurnHooks -benchmem -memprofile) or, if they are right, raise turnHooksAllocs", got, turnHooksAllocs)
	}
}
