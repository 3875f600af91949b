package memory

import (
	"bytes"
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

// The stored observability rows (spans, metric events, log lines) are
// written on Postgres by hand, as the turn's save is (appendTurnSQL):
// one INSERT of the whole batch, its values inlined exactly as Bun's
// formatting inlined them (quoting, NULL for a JSON column left empty,
// DEFAULT for a nil pointer, as Bun writes), sent straight on a pool
// connection (simple protocol, as database/sql sent Bun's statement).
// Bun built these statements by reflection over every field of every row,
// a twentieth of a turn's CPU. FuzzObservabilitySQL holds the two
// writings equal. Nothing is read back: the rows' pointers are shared
// with the recorder (see SaveLogs).

// sqlWriter appends a statement's parts to one buffer.
type sqlWriter struct {
	d schema.Dialect
	b []byte
}

func (w *sqlWriter) lit(s string) { w.b = append(w.b, s...) }

// str appends s quoted by the dialect's AppendString. Plain ASCII (no
// quote, no NUL), which most of it is, is copied between quotes at once,
// as AppendString writes it a rune at a time; other text goes to it.
func (w *sqlWriter) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\'' || c >= utf8.RuneSelf {
			w.b = w.d.AppendString(w.b, s)
			return
		}
	}
	w.b = append(w.b, '\'')
	w.b = append(w.b, s...)
	w.b = append(w.b, '\'')
}

func (w *sqlWriter) strPtr(s *string) {
	if s == nil {
		w.lit("DEFAULT")
		return
	}
	w.str(*s)
}

// time writes t as AppendString quotes its text (which holds no quote or
// backslash), without time.Format's layout interpreter.
func (w *sqlWriter) time(t SpanTime) {
	w.b = append(w.b, '\'')
	w.b = jsonenc.ISOTime(w.b, t.Time)
	w.b = append(w.b, '\'')
}

func (w *sqlWriter) timePtr(t *SpanTime) {
	if t == nil {
		w.lit("DEFAULT")
		return
	}
	w.time(*t)
}

func (w *sqlWriter) json(j SpanJSON) {
	if len(j) == 0 {
		w.lit("NULL")
		return
	}
	w.quoted(j)
}

// quoted appends s as the dialect's AppendString does (a quote doubles),
// without first copying it into a string: JSON columns (a span's input,
// the whole prompt) are the bulk of the statement. Text AppendString would
// change (a NUL, invalid UTF-8) goes through it.
func (w *sqlWriter) quoted(s []byte) {
	if bytes.IndexByte(s, 0) >= 0 || !utf8.Valid(s) {
		w.str(string(s))
		return
	}
	w.b = append(w.b, '\'')
	for {
		i := bytes.IndexByte(s, '\'')
		if i < 0 {
			break
		}
		w.b = append(w.b, s[:i+1]...)
		w.b = append(w.b, '\'')
		s = s[i+1:]
	}
	w.b = append(w.b, s...)
	w.b = append(w.b, '\'')
}

// context appends an event's context columns, in EventContext's order.
func (w *sqlWriter) context(c *EventContext) {
	for i, p := range [...]*string{c.TraceID, c.SpanID, c.EntityType, c.EntityID, c.EntityName, c.UserID,
		c.OrganizationID, c.ResourceID, c.RunID, c.SessionID, c.ThreadID, c.RequestID, c.Environment,
		c.ExecutionSource, c.ServiceName, c.ExperimentID, c.Source} {
		if i > 0 {
			w.lit(", ")
		}
		w.strPtr(p)
	}
}

const spanColumns = `INSERT INTO "mastra_ai_spans" AS "span" ("traceId", "spanId", "parentSpanId", "name", "spanType", "isEvent", "startedAt", "endedAt", "entityType", "entityId", "entityName", "userId", "organizationId", "resourceId", "runId", "sessionId", "threadId", "requestId", "environment", "serviceName", "source", "attributes", "metadata", "tags", "links", "input", "output", "error", "createdAt", "updatedAt", "startedAtZ", "endedAtZ", "createdAtZ", "updatedAtZ") VALUES `

// spansSQL is SaveSpans's statement on Postgres; conflict is its ON
// CONFLICT clause, from "CONFLICT" on.
func spansSQL(d schema.Dialect, spans []Span, conflict string) string {
	w := sqlWriter{d: d, b: make([]byte, 0, len(spanColumns)+len(conflict)+len(spans)*1024)}
	w.lit(spanColumns)
	for i := range spans {
		sp := &spans[i]
		if i > 0 {
			w.lit(", ")
		}
		w.lit("(")
		w.str(sp.TraceID)
		w.lit(", ")
		w.str(sp.SpanID)
		w.lit(", ")
		w.strPtr(sp.ParentSpanID)
		w.lit(", ")
		w.str(sp.Name)
		w.lit(", ")
		w.str(sp.SpanType)
		w.lit(", ")
		w.b = dialect.AppendBool(w.b, sp.IsEvent)
		w.lit(", ")
		w.time(sp.StartedAt)
		w.lit(", ")
		w.timePtr(sp.EndedAt)
		for _, p := range [...]*string{sp.EntityType, sp.EntityID, sp.EntityName, sp.UserID, sp.OrganizationID,
			sp.ResourceID, sp.RunID, sp.SessionID, sp.ThreadID, sp.RequestID, sp.Environment, sp.ServiceName, sp.Source} {
			w.lit(", ")
			w.strPtr(p)
		}
		for _, j := range [...]SpanJSON{sp.Attributes, sp.Metadata, sp.Tags, sp.Links, sp.Input, sp.Output, sp.Error} {
			w.lit(", ")
			w.json(j)
		}
		w.lit(", ")
		w.time(sp.CreatedAt)
		w.lit(", ")
		w.timePtr(sp.UpdatedAt)
		// The timezone-aware copies (see SaveSpans).
		w.lit(", ")
		w.time(sp.StartedAt)
		w.lit(", ")
		w.timePtr(sp.EndedAt)
		w.lit(", ")
		w.time(sp.CreatedAt)
		w.lit(", ")
		w.timePtr(sp.UpdatedAt)
		w.lit(")")
	}
	w.lit(" ON ")
	w.lit(conflict)
	return string(w.b)
}

const metricColumns = `INSERT INTO "mastra_metric_events" AS "metric_event" ("metricId", "timestamp", "name", "value", "traceId", "spanId", "entityType", "entityId", "entityName", "userId", "organizationId", "resourceId", "runId", "sessionId", "threadId", "requestId", "environment", "executionSource", "serviceName", "experimentId", "source", "provider", "model", "labels") VALUES `

// metricsSQL is SaveMetrics's statement on Postgres.
func metricsSQL(d schema.Dialect, ms []MetricEvent, conflict string) string {
	w := sqlWriter{d: d, b: make([]byte, 0, len(metricColumns)+len(conflict)+len(ms)*384)}
	w.lit(metricColumns)
	for i := range ms {
		m := &ms[i]
		if i > 0 {
			w.lit(", ")
		}
		w.lit("(")
		w.str(m.MetricID)
		w.lit(", ")
		w.time(m.Timestamp)
		w.lit(", ")
		w.str(m.Name)
		w.lit(", ")
		w.b = dialect.AppendFloat64(w.b, m.Value)
		w.lit(", ")
		w.context(&m.EventContext)
		w.lit(", ")
		w.strPtr(m.Provider)
		w.lit(", ")
		w.strPtr(m.Model)
		w.lit(", ")
		w.json(m.Labels)
		w.lit(")")
	}
	w.lit(" ON ")
	w.lit(conflict)
	return string(w.b)
}

const logColumns = `INSERT INTO "mastra_log_events" AS "log_event" ("logId", "timestamp", "level", "message", "data", "traceId", "spanId", "entityType", "entityId", "entityName", "userId", "organizationId", "resourceId", "runId", "sessionId", "threadId", "requestId", "environment", "executionSource", "serviceName", "experimentId", "source", "tags", "metadata") VALUES `

// logsSQL is SaveLogs's statement on Postgres.
func logsSQL(d schema.Dialect, logs []LogEvent, conflict string) string {
	size := len(logColumns) + len(conflict)
	for i := range logs {
		size += 384 + len(logs[i].Message) + len(logs[i].Data)
	}
	w := sqlWriter{d: d, b: make([]byte, 0, size)}
	w.lit(logColumns)
	for i := range logs {
		l := &logs[i]
		if i > 0 {
			w.lit(", ")
		}
		w.lit("(")
		w.str(l.LogID)
		w.lit(", ")
		w.time(l.Timestamp)
		w.lit(", ")
		w.str(l.Level)
		w.lit(", ")
		w.str(l.Message)
		w.lit(", ")
		w.json(l.Data)
		w.lit(", ")
		w.context(&l.EventContext)
		w.lit(", ")
		w.json(l.Tags)
		w.lit(", ")
		w.json(l.Metadata)
		w.lit(")")
	}
	w.lit(" ON ")
	w.lit(conflict)
	return string(w.b)
}

// execPostgres runs one statement that returns no rows on a pool
// connection, through the simple protocol.
func (s *Store) execPostgres(ctx context.Context, text string) error {
	conn, err := s.sdb.Pool().Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	defer conn.Release()
	return conn.Conn().PgConn().Exec(ctx, text).Close()
}
