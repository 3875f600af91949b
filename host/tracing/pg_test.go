package tracing

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mastra-server/mastra-server/host/agent"
)

// A statement inside a traced request is a CLIENT child span named after
// its operation, carrying the statement with placeholders and not its
// arguments; outside a trace, or when its end comes without a start, the
// tracer does nothing (and never ends the request's own span).
func TestPGTracerSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := (&Tracing{tp: tp}).PGTracer()
	bt := tr.(pgx.BatchTracer)

	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	qctx := tr.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: "UPDATE mastra_workflow_snapshot SET snapshot = $1 WHERE run_id = $2",
		Args: []any{"secret text", "r1"}})
	tr.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{Err: errors.New("boom")})
	b := &pgx.Batch{}
	b.Queue("INSERT INTO x VALUES ($1)", "secret text")
	bctx := bt.TraceBatchStart(ctx, nil, pgx.TraceBatchStartData{Batch: b})
	bt.TraceBatchEnd(bctx, nil, pgx.TraceBatchEndData{})
	// Outside a trace: nothing.
	octx := tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
	tr.TraceQueryEnd(octx, nil, pgx.TraceQueryEndData{})
	// An end whose start made no span must not end the request's span.
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	if !trace.SpanFromContext(ctx).IsRecording() {
		t.Fatal("the request's span was ended by a statement's end")
	}
	req.End()

	ended := rec.Ended()
	if len(ended) != 3 {
		t.Fatalf("%d spans ended; want the UPDATE, the BATCH and the request", len(ended))
	}
	want := []struct{ name, stmt string }{
		{"UPDATE", "UPDATE mastra_workflow_snapshot SET snapshot = $1 WHERE run_id = $2"},
		{"BATCH", "INSERT INTO x VALUES ($1)"},
	}
	for i, w := range want {
		sp := ended[i]
		if sp.Name() != w.name || sp.SpanKind() != trace.SpanKindClient || sp.Parent().SpanID() != req.SpanContext().SpanID() {
			t.Errorf("span %d = %q kind %v parent %v; want a CLIENT child %q of the request", i, sp.Name(), sp.SpanKind(), sp.Parent().SpanID(), w.name)
		}
		attrs := map[string]string{}
		for _, a := range sp.Attributes() {
			attrs[string(a.Key)] = a.Value.Emit()
		}
		if attrs["db.system"] != "postgresql" || attrs["db.statement"] != w.stmt {
			t.Errorf("span %q attributes %v; want db.system postgresql and the statement %q", sp.Name(), attrs, w.stmt)
		}
		for _, a := range sp.Attributes() {
			if a.Value.Emit() == "secret text" {
				t.Errorf("span %q carries an argument: %v", sp.Name(), a)
			}
		}
	}
	if ended[0].Status().Code.String() != "Error" {
		t.Errorf("failed statement's span status = %v; want Error", ended[0].Status())
	}
}

// Inside an agent turn a statement makes no span: the turn's span counts
// the statements and their time.
func TestPGTracerInTurn(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := &Tracing{tp: tp, tracer: tp.Tracer("test")}
	pg, hook := tr.PGTracer(), tr.DBHook()
	ctx, end := tr.Agents().StartTurn(context.Background(), agent.TurnInfo{Agent: &agent.Agent{ID: "a"}, ThreadID: "t"})
	for range 2 {
		qctx := pg.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
		pg.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
	}
	bctx := hook.BeforeQuery(ctx, &bun.QueryEvent{Query: "SELECT 2"})
	hook.AfterQuery(bctx, &bun.QueryEvent{Query: "SELECT 2"})
	end(agent.TurnEnd{Outcome: agent.OutcomeOK})

	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans ended; want the turn's alone", len(ended))
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, a := range ended[0].Attributes() {
		attrs[a.Key] = a.Value
	}
	if n := attrs["mastra.db.statements"].AsInt64(); n != 3 {
		t.Errorf("mastra.db.statements = %d; want 3", n)
	}
	if ms := attrs["mastra.db.duration_ms"].AsFloat64(); ms <= 0 {
		t.Errorf("mastra.db.duration_ms = %v; want the statements' time", ms)
	}
}
