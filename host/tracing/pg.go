package tracing

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// PGTracer makes one client span per statement sent on the shared pool by
// pgx directly (the workflow engine's, River's), as DBHook does for Bun's:
// only inside a traced request or job, named after the operation, with
// db.system and the statement with its $n placeholders, never its
// arguments. A batch (a step's commit) is one span. Inside an agent turn,
// statements are counted and timed on the turn's span instead (dbTime).
func (t *Tracing) PGTracer() pgx.QueryTracer {
	return pgTracer{t.tp.Tracer(dbScope)}
}

// dbScope is the instrumentation scope of statement spans: how a
// statement's end tells its own span from the request's.
const dbScope = "github.com/mastra-server/mastra-server/db"

type pgTracer struct{ tracer trace.Tracer }

func (p pgTracer) start(ctx context.Context, name, stmt string) context.Context {
	if d := dbTimeOf(ctx); d != nil {
		d.start() // summed on the turn's span
		return ctx
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	ctx, span := p.tracer.Start(ctx, name, clientKind...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.statement", clip(stmt, 4096)))
	}
	return ctx
}

// end ends the statement's span: the context's span when it is one of
// ours (a statement has no children). When start made none, the
// context's span is the request's or the turn's, which must go on.
func (p pgTracer) end(ctx context.Context, err error) {
	if d := dbTimeOf(ctx); d != nil {
		d.end()
		return
	}
	span, ok := trace.SpanFromContext(ctx).(sdktrace.ReadOnlySpan)
	if !ok || span.InstrumentationScope().Name != dbScope || !span.EndTime().IsZero() {
		return
	}
	s := span.(trace.Span)
	if err != nil {
		s.RecordError(err)
		s.SetStatus(codes.Error, clip(err.Error(), 256))
	}
	s.End()
}

func (p pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return p.start(ctx, operation(d.SQL), d.SQL)
}

func (p pgTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	p.end(ctx, d.Err)
}

func (p pgTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var stmts []string
	if d.Batch != nil {
		for _, q := range d.Batch.QueuedQueries {
			stmts = append(stmts, q.SQL)
		}
	}
	return p.start(ctx, "BATCH", strings.Join(stmts, ";\n"))
}

func (pgTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (p pgTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	p.end(ctx, d.Err)
}

// operation is a statement's first word in upper case (SELECT, INSERT, …).
func operation(stmt string) string {
	stmt = strings.TrimSpace(stmt)
	if i := strings.IndexAny(stmt, " \t\n("); i > 0 {
		stmt = stmt[:i]
	}
	if stmt == "" {
		return "STATEMENT"
	}
	return strings.ToUpper(clip(stmt, 32))
}
