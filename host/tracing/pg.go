package tracing

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// PGTracer makes one client span per statement sent on the shared pool by
// pgx directly (the workflow engine's, River's), as DBHook does for Bun's:
// only inside a traced request or job, named after the operation, with
// db.system and the statement with its $n placeholders, never its
// arguments. A batch (a step's commit) is one span.
func (t *Tracing) PGTracer() pgx.QueryTracer {
	return pgTracer{t.tp.Tracer("github.com/mastra-server/mastra-server/db")}
}

type pgTracer struct{ tracer trace.Tracer }

// pgSpan holds the span a statement started, so that its end finds it
// (and never ends the request's span when none was started).
type pgSpan struct{}

func (p pgTracer) start(ctx context.Context, name, stmt string) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	ctx, span := p.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.statement", clip(stmt, 4096))))
	return context.WithValue(ctx, pgSpan{}, span)
}

func (p pgTracer) end(ctx context.Context, err error) {
	span, ok := ctx.Value(pgSpan{}).(trace.Span)
	if !ok {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, clip(err.Error(), 256))
	}
	span.End()
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
