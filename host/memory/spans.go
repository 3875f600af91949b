package memory

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

// Stored traces: Mastra's mastra_ai_spans (see the migration
// 20261210000401). host/observe writes ended spans in batches; the
// observability routes read them. Every read and delete takes the resource
// it acts for ("" = every resource, for callers the scoping rules allow it).

// ErrSpanNotFound is a trace or span that does not exist or belongs to
// another resource.
var ErrSpanNotFound = errors.New("memory: trace or span not found")

// Span is one row of mastra_ai_spans, spelled as Mastra's span records
// are in its API answers (nullable fields are pointers: null, not "").
type Span struct {
	bun.BaseModel `bun:"table:mastra_ai_spans"`

	TraceID        string    `bun:"traceId,notnull" json:"traceId"`
	SpanID         string    `bun:"spanId,notnull" json:"spanId"`
	ParentSpanID   *string   `bun:"parentSpanId" json:"parentSpanId"`
	Name           string    `bun:"name,notnull" json:"name"`
	SpanType       string    `bun:"spanType,notnull" json:"spanType"`
	IsEvent        bool      `bun:"isEvent,notnull" json:"isEvent"`
	StartedAt      SpanTime  `bun:"startedAt,notnull" json:"startedAt"`
	EndedAt        *SpanTime `bun:"endedAt" json:"endedAt"`
	EntityType     *string   `bun:"entityType" json:"entityType"`
	EntityID       *string   `bun:"entityId" json:"entityId"`
	EntityName     *string   `bun:"entityName" json:"entityName"`
	UserID         *string   `bun:"userId" json:"userId"`
	OrganizationID *string   `bun:"organizationId" json:"organizationId"`
	ResourceID     *string   `bun:"resourceId" json:"resourceId"`
	RunID          *string   `bun:"runId" json:"runId"`
	SessionID      *string   `bun:"sessionId" json:"sessionId"`
	ThreadID       *string   `bun:"threadId" json:"threadId"`
	RequestID      *string   `bun:"requestId" json:"requestId"`
	Environment    *string   `bun:"environment" json:"environment"`
	ServiceName    *string   `bun:"serviceName" json:"serviceName"`
	Source         *string   `bun:"source" json:"source"`
	Attributes     SpanJSON  `bun:"attributes,type:jsonb" json:"attributes"`
	Metadata       SpanJSON  `bun:"metadata,type:jsonb" json:"metadata"`
	Tags           SpanJSON  `bun:"tags,type:jsonb" json:"tags"`
	Links          SpanJSON  `bun:"links,type:jsonb" json:"links"`
	Input          SpanJSON  `bun:"input,type:jsonb" json:"input"`
	Output         SpanJSON  `bun:"output,type:jsonb" json:"output"`
	Error          SpanJSON  `bun:"error,type:jsonb" json:"error"`
	CreatedAt      SpanTime  `bun:"createdAt,notnull" json:"createdAt"`
	UpdatedAt      *SpanTime `bun:"updatedAt" json:"updatedAt"`

	// Postgres keeps a timezone-aware copy of each time, as @mastra/pg
	// does; SQLite has none.
	StartedAtZ *SpanTime `bun:"startedAtZ" json:"-"`
	EndedAtZ   *SpanTime `bun:"endedAtZ" json:"-"`
	CreatedAtZ *SpanTime `bun:"createdAtZ" json:"-"`
	UpdatedAtZ *SpanTime `bun:"updatedAtZ" json:"-"`
}

// zColumns are the Postgres-only columns.
var zColumns = []string{"startedAtZ", "endedAtZ", "createdAtZ", "updatedAtZ"}

// Status is Mastra's derived trace status of a root span: error when it
// has one, running while it has not ended, else success.
func (s *Span) Status() string {
	switch {
	case len(s.Error) > 0:
		return "error"
	case s.EndedAt == nil:
		return "running"
	}
	return "success"
}

// SpanTime is a span's time: ISO-8601 in UTC with milliseconds, as
// Mastra's LibSQL store writes it and its API answers it. Postgres reads
// the text into its timestamp columns.
type SpanTime struct{ time.Time }

const spanTimeLayout = "2006-01-02T15:04:05.000Z"

// Value implements driver.Valuer.
func (t SpanTime) Value() (driver.Value, error) {
	return string(jsonenc.ISOTime(make([]byte, 0, len(spanTimeLayout)), t.Time)), nil
}

// Scan implements sql.Scanner for a time, or its text.
func (t *SpanTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		t.Time = time.Time{}
		return nil
	}
	return fmt.Errorf("memory: span time from %T", src)
}

func (t *SpanTime) parse(s string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("memory: span time %q", s)
}

// MarshalJSON spells the time as Mastra's answers do.
func (t SpanTime) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(make([]byte, 0, len(spanTimeLayout)+2)), nil
}

// AppendJSON appends the JSON MarshalJSON returns.
func (t SpanTime) AppendJSON(b []byte) []byte {
	b = append(b, '"')
	b = jsonenc.ISOTime(b, t.Time)
	return append(b, '"')
}

// SpanJSON is a JSON column: nil is SQL NULL (and JSON null). It goes in
// as quoted text, byte for byte (see metadataColumn).
type SpanJSON json.RawMessage

// Value implements driver.Valuer.
func (j SpanJSON) Value() (driver.Value, error) {
	if len(j) == 0 {
		return nil, nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *SpanJSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case string:
		*j = SpanJSON(v)
	case []byte:
		*j = append(SpanJSON(nil), v...)
	default:
		return fmt.Errorf("memory: span JSON from %T", src)
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (j SpanJSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (j *SpanJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*j = nil
		return nil
	}
	*j = append(SpanJSON(nil), b...)
	return nil
}

// SaveSpans writes ended spans in one statement. Rows of one span (same
// trace and span id, in the batch or stored before) merge into one that
// runs from the earliest start to the latest end and keeps an error any of
// them had: a workflow run's root is written again by each of its steps,
// and a batch retried after a timeout stores nothing twice.
func (s *Store) SaveSpans(ctx context.Context, spans []Span) error {
	spans = mergeSpans(spans)
	if len(spans) == 0 {
		return nil
	}
	for i := range spans {
		sp := &spans[i]
		for _, j := range []*SpanJSON{&sp.Attributes, &sp.Metadata, &sp.Tags, &sp.Links, &sp.Input, &sp.Output, &sp.Error} {
			*j = withoutNUL(*j)
		}
	}
	if s.kind == "postgres" {
		if err := s.execPostgres(ctx, spansSQL(s.db.Dialect(), spans, spansConflictPostgres)); err != nil {
			return classify(fmt.Errorf("memory: save %d spans: %w", len(spans), err))
		}
		return nil
	}
	// Bun names the table by the model's alias (span) in the statement.
	// Returning("NULL"): nothing is read back into the spans, whose string
	// pointers are shared with the recorder's scopes and log events.
	q := s.db.NewInsert().Model(&spans).Returning("NULL").ExcludeColumn(zColumns...).
		On(`CONFLICT ("traceId", "spanId") DO UPDATE SET
			"startedAt" = MIN(span."startedAt", EXCLUDED."startedAt"),
			"endedAt" = MAX(COALESCE(span."endedAt", ''), COALESCE(EXCLUDED."endedAt", '')),
			"error" = COALESCE(span."error", EXCLUDED."error")`)
	if _, err := q.Exec(ctx); err != nil {
		return classify(fmt.Errorf("memory: save %d spans: %w", len(spans), err))
	}
	return nil
}

// spansConflictPostgres merges a span's rows on Postgres (see SaveSpans);
// spansSQL writes the timezone-aware copies of the times as well.
const spansConflictPostgres = `CONFLICT ("traceId", "spanId") DO UPDATE SET
			"startedAt" = LEAST(span."startedAt", EXCLUDED."startedAt"),
			"startedAtZ" = LEAST(span."startedAtZ", EXCLUDED."startedAtZ"),
			"endedAt" = GREATEST(span."endedAt", EXCLUDED."endedAt"),
			"endedAtZ" = GREATEST(span."endedAtZ", EXCLUDED."endedAtZ"),
			"error" = COALESCE(span."error", EXCLUDED."error")`

// mergeSpans merges the rows of one span in a batch (see SaveSpans): one
// statement may not update a row twice.
func mergeSpans(spans []Span) []Span {
	type key struct{ trace, span string }
	var seen map[key]int
	out := spans[:0:0]
	for _, sp := range spans {
		k := key{sp.TraceID, sp.SpanID}
		i, dup := seen[k]
		if !dup {
			if seen == nil {
				seen = make(map[key]int, len(spans))
			}
			seen[k] = len(out)
			out = append(out, sp)
			continue
		}
		m := &out[i]
		if sp.StartedAt.Before(m.StartedAt.Time) {
			m.StartedAt = sp.StartedAt
		}
		if sp.EndedAt != nil && (m.EndedAt == nil || sp.EndedAt.After(m.EndedAt.Time)) {
			m.EndedAt = sp.EndedAt
		}
		if len(m.Error) == 0 {
			m.Error = sp.Error
		}
	}
	return out
}

// withoutNUL replaces NUL characters in j's strings with U+FFFD: Postgres
// refuses \u0000 in jsonb, and a model or tool may well produce one. Both
// stores get the same text.
func withoutNUL(j SpanJSON) SpanJSON {
	if !bytes.Contains(j, []byte(`\u0000`)) {
		return j
	}
	var v any
	if json.Unmarshal(j, &v) != nil {
		return j
	}
	b, err := json.Marshal(replaceNUL(v))
	if err != nil {
		return j
	}
	return b
}

func replaceNUL(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "\x00", "\uFFFD")
	case []any:
		for i := range x {
			x[i] = replaceNUL(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ReplaceAll(k, "\x00", "\uFFFD")] = replaceNUL(e)
		}
		return out
	}
	return v
}

// PruneSpans deletes the spans of traces started before cutoff and
// reports how many rows went. It deletes at most limit rows, so one call
// never holds the table long; callers repeat while it returns limit.
func (s *Store) PruneSpans(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := s.db.NewRaw(`DELETE FROM mastra_ai_spans WHERE ("traceId", "spanId") IN
		(SELECT "traceId", "spanId" FROM mastra_ai_spans WHERE "startedAt" < ? LIMIT ?)`, SpanTime{cutoff}, limit).Exec(ctx)
	if err != nil {
		return 0, classify(fmt.Errorf("memory: prune spans: %w", err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// TimeRange bounds a time; a zero end is open.
type TimeRange struct {
	Start, End                   time.Time
	StartExclusive, EndExclusive bool
}

// TraceQuery selects root spans (one per trace).
type TraceQuery struct {
	// ResourceID confines the query to one resource; "" reads every one.
	ResourceID string
	// Equal are column = value filters, by Mastra's column name (the
	// caller checks names against SpanFilterColumns).
	Equal map[string]string
	// Status is "", "success", "error" or "running".
	Status             string
	StartedAt, EndedAt TimeRange
	// OrderBy is "startedAt" or "endedAt"; Desc orders newest first.
	OrderBy string
	Desc    bool
	// Page and PerPage page the answer (PerPage > 0).
	Page, PerPage int
	// After continues a keyset listing after this root (its order time
	// and trace id); Limit then caps the answer and Page is unused.
	After *TraceCursor
	// SpanTypes, when set, lists the spans of these types anywhere in
	// their traces (Mastra's branches) instead of the roots.
	SpanTypes []string
}

// TraceCursor is where a keyset listing of traces stopped.
type TraceCursor struct {
	At      time.Time
	TraceID string
}

// SpanFilterColumns are the text columns a trace listing may filter on
// with plain equality.
var SpanFilterColumns = []string{"traceId", "spanType", "name", "entityType", "entityId", "entityName",
	"userId", "organizationId", "resourceId", "runId", "sessionId", "threadId", "requestId",
	"environment", "serviceName", "source"}

func (s *Store) whereTraces(q *bun.SelectQuery, tq TraceQuery) *bun.SelectQuery {
	if len(tq.SpanTypes) > 0 {
		q = q.Where(`"spanType" IN (?)`, bun.In(tq.SpanTypes))
	} else {
		q = q.Where(`"parentSpanId" IS NULL`)
	}
	if tq.ResourceID != "" {
		q = q.Where(`"resourceId" = ?`, tq.ResourceID)
	}
	for col, v := range tq.Equal {
		q = q.Where("? = ?", bun.Ident(col), v)
	}
	switch tq.Status {
	case "error":
		q = q.Where(`"error" IS NOT NULL`)
	case "running":
		q = q.Where(`"error" IS NULL AND "endedAt" IS NULL`)
	case "success":
		q = q.Where(`"error" IS NULL AND "endedAt" IS NOT NULL`)
	}
	q = whereRange(q, "startedAt", tq.StartedAt)
	q = whereRange(q, "endedAt", tq.EndedAt)
	return q
}

func whereRange(q *bun.SelectQuery, col string, r TimeRange) *bun.SelectQuery {
	if !r.Start.IsZero() {
		op := ">="
		if r.StartExclusive {
			op = ">"
		}
		q = q.Where("? "+op+" ?", bun.Ident(col), SpanTime{r.Start})
	}
	if !r.End.IsZero() {
		op := "<="
		if r.EndExclusive {
			op = "<"
		}
		q = q.Where("? "+op+" ?", bun.Ident(col), SpanTime{r.End})
	}
	return q
}

func (s *Store) spanSelect(dst any) *bun.SelectQuery {
	return s.db.NewSelect().Model(dst).ExcludeColumn(zColumns...)
}

// ListTraces returns one page of root spans and the number of matching
// traces. With tq.After set it returns up to tq.PerPage roots after the
// cursor and a total of -1 (not counted).
func (s *Store) ListTraces(ctx context.Context, tq TraceQuery) ([]Span, int, error) {
	order := "startedAt"
	if tq.OrderBy == "endedAt" {
		order = "endedAt"
	}
	dir := "ASC"
	if tq.Desc {
		dir = "DESC"
	}
	var spans []Span
	q := s.whereTraces(s.spanSelect(&spans), tq).
		OrderExpr("? "+dir+", ? "+dir, bun.Ident(order), bun.Ident("traceId")).
		Limit(int64(tq.PerPage))
	if c := tq.After; c != nil {
		cmp := ">"
		if tq.Desc {
			cmp = "<"
		}
		q = q.Where("(?, ?) "+cmp+" (?, ?)", bun.Ident(order), bun.Ident("traceId"), SpanTime{c.At}, c.TraceID)
		if err := q.Scan(ctx); err != nil {
			return nil, 0, classify(fmt.Errorf("memory: list traces: %w", err))
		}
		return spans, -1, nil
	}
	total, err := q.Offset(int64(tq.Page * tq.PerPage)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("memory: list traces: %w", err))
	}
	return spans, int(total), nil
}

// TraceSpans returns the spans of one trace, oldest first, or
// ErrSpanNotFound when its root is not resourceID's (a trace belongs to
// the resource of its root span).
func (s *Store) TraceSpans(ctx context.Context, resourceID, traceID string) ([]Span, error) {
	var spans []Span
	q := s.spanSelect(&spans).Where(`"traceId" = ?`, traceID).OrderExpr(`"startedAt" ASC, "spanId" ASC`)
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, classify(fmt.Errorf("memory: trace %s: %w", traceID, err))
	}
	if len(spans) == 0 {
		return nil, ErrSpanNotFound
	}
	return spans, nil
}

// SpanByID returns one span of resourceID's.
func (s *Store) SpanByID(ctx context.Context, resourceID, traceID, spanID string) (Span, error) {
	var sp Span
	q := s.spanSelect(&sp).Where(`"traceId" = ? AND "spanId" = ?`, traceID, spanID)
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	if err := q.Limit(1).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Span{}, ErrSpanNotFound
		}
		return Span{}, classify(fmt.Errorf("memory: span %s/%s: %w", traceID, spanID, err))
	}
	return sp, nil
}

// DeleteTraces deletes the spans of the traces given that are
// resourceID's, and reports how many spans went.
func (s *Store) DeleteTraces(ctx context.Context, resourceID string, traceIDs []string) (int64, error) {
	if len(traceIDs) == 0 {
		return 0, nil
	}
	q := s.db.NewDelete().TableExpr("mastra_ai_spans").Where(`"traceId" IN (?)`, bun.In(traceIDs))
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, classify(fmt.Errorf("memory: delete traces: %w", err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DistinctSpanValues lists the distinct non-empty values of a column of
// resourceID's root spans (entity names, environments, …), at most limit,
// sorted. col must be one of SpanFilterColumns.
func (s *Store) DistinctSpanValues(ctx context.Context, resourceID, col string, equal map[string]string, limit int) ([]string, error) {
	var vals []string
	q := s.db.NewSelect().TableExpr("mastra_ai_spans").ColumnExpr("DISTINCT ?", bun.Ident(col)).
		Where("? IS NOT NULL AND ? <> ''", bun.Ident(col), bun.Ident(col)).
		OrderExpr("? ASC", bun.Ident(col)).Limit(int64(limit))
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	for c, v := range equal {
		q = q.Where("? = ?", bun.Ident(c), v)
	}
	if err := q.Scan(ctx, &vals); err != nil {
		return nil, classify(fmt.Errorf("memory: distinct %s: %w", strings.ToLower(col), err))
	}
	return vals, nil
}
