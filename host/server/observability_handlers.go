package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Mastra's observability routes over the stored traces (host/observe
// writes them to mastra_ai_spans). A trace belongs to the resource of its
// spans: a request bound to a resource reads and deletes only its own; an
// admin token, or any request while auth is off, reads every resource's or
// the one it names with resourceId (scope.go, anyWithoutAuth).

// obsResource is the resource an observability request acts for ("" =
// every one).
func (s *Server) obsResource(r *http.Request) (string, error) {
	return s.resource(r, queryClaim(r), anyWithoutAuth)
}

// spanJSON is a stored span as Mastra answers it: the record plus, for a
// root, the trace's derived status.
type spanJSON struct {
	memory.Span
	Status string `json:"status,omitempty"`
}

func spansJSON(spans []memory.Span, status bool) []spanJSON {
	out := make([]spanJSON, len(spans))
	for i := range spans {
		out[i].Span = spans[i]
		if status {
			out[i].Status = spans[i].Status()
		}
	}
	return out
}

// entityTypes are Mastra's EntityType values.
var entityTypes = []string{"agent", "scorer", "rag_ingestion", "trajectory", "input_processor", "input_step_processor",
	"output_processor", "output_step_processor", "tool_result_processor", "workflow_step", "tool", "mcp_server",
	"workflow_run", "memory"}

// traceStatuses are the statuses a listing may filter on.
var traceStatuses = []string{"success", "error", "running"}

// unsupportedTraceFilters are Mastra's trace filters this store cannot
// apply: refused, never ignored.
var unsupportedTraceFilters = []string{"metadata", "tags", "hasChildError", "scope", "entityVersionId",
	"parentEntityType", "parentEntityName", "rootEntityType", "rootEntityName", "experimentId"}

// dateRangeJSON is Mastra's DateRange.
type dateRangeJSON struct {
	Start          *time.Time `json:"start"`
	End            *time.Time `json:"end"`
	StartExclusive bool       `json:"startExclusive"`
	EndExclusive   bool       `json:"endExclusive"`
}

func (d dateRangeJSON) timeRange() memory.TimeRange {
	var tr memory.TimeRange
	if d.Start != nil {
		tr.Start = *d.Start
	}
	if d.End != nil {
		tr.End = *d.End
	}
	tr.StartExclusive, tr.EndExclusive = d.StartExclusive, d.EndExclusive
	return tr
}

func queryDateRange(q url.Values, key string) (memory.TimeRange, error) {
	raw := q.Get(key)
	if raw == "" {
		return memory.TimeRange{}, nil
	}
	var d dateRangeJSON
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return memory.TimeRange{}, transport.Invalid("Invalid query parameters", key,
			`expected a JSON date range such as {"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}`)
	}
	return d.timeRange(), nil
}

// traceQuery reads the filters, page and order of a trace listing: the
// flat query string Mastra's client sends, legacy aliases included.
func traceQuery(r *http.Request, res string) (memory.TraceQuery, error) {
	q := r.URL.Query()
	bad := func(field, msg string) error { return transport.Invalid("Invalid query parameters", field, msg) }
	page, perPage, err := listPage(r, unsupportedTraceFilters...)
	if err != nil {
		return memory.TraceQuery{}, err
	}
	tq := memory.TraceQuery{ResourceID: res, Page: page, PerPage: perPage, OrderBy: "startedAt", Desc: true, Equal: map[string]string{}}
	for _, col := range memory.SpanFilterColumns {
		if col == "resourceId" {
			continue // the scope's, above
		}
		if v := q.Get(col); v != "" {
			if msg := badText(v); msg != "" {
				return tq, bad(col, msg)
			}
			tq.Equal[col] = v
		}
	}
	// Mastra's legacy forms: entityType "workflow", a name that spells the
	// entity, and dateRange for startedAt.
	if tq.Equal["entityType"] == "workflow" {
		tq.Equal["entityType"] = "workflow_run"
	}
	if name := tq.Equal["name"]; name != "" {
		for prefix, typ := range map[string]string{"agent run: '": "agent", "workflow run: '": "workflow_run"} {
			if id, ok := strings.CutPrefix(name, prefix); ok && strings.HasSuffix(id, "'") {
				delete(tq.Equal, "name")
				tq.Equal["entityId"], tq.Equal["entityType"] = strings.TrimSuffix(id, "'"), typ
			}
		}
	}
	if err := checkEntityType("Invalid query parameters", "entityType", tq.Equal["entityType"]); err != nil {
		return tq, err
	}
	if st := q.Get("status"); st != "" {
		if !slices.Contains(traceStatuses, st) {
			return tq, bad("status", "expected success, error or running")
		}
		tq.Status = st
	}
	key := "startedAt"
	if !q.Has(key) && q.Has("dateRange") {
		key = "dateRange"
	}
	if tq.StartedAt, err = queryDateRange(q, key); err != nil {
		return tq, err
	}
	if tq.EndedAt, err = queryDateRange(q, "endedAt"); err != nil {
		return tq, err
	}
	field, dir := q.Get("field"), q.Get("direction")
	if raw := q.Get("orderBy"); raw != "" {
		var o struct{ Field, Direction string }
		if json.Unmarshal([]byte(raw), &o) != nil {
			return tq, bad("orderBy", `expected {"field": "startedAt"|"endedAt", "direction": "ASC"|"DESC"}`)
		}
		field, dir = o.Field, o.Direction
	}
	switch field {
	case "", "startedAt", "endedAt":
		if field != "" {
			tq.OrderBy = field
		}
	default:
		return tq, bad("field", "expected startedAt or endedAt")
	}
	if tq.Desc, err = listOrder(dir); err != nil {
		return tq, err
	}
	return tq, nil
}

// traceRoots reads a trace listing's query and the root spans of the page
// it asks for, with Mastra's pagination answer.
func (s *Server) traceRoots(r *http.Request, res string) ([]memory.Span, paginationJSON, error) {
	tq, err := traceQuery(r, res)
	if err != nil {
		return nil, paginationJSON{}, err
	}
	roots, total, err := s.store.ListTraces(r.Context(), tq)
	if err != nil {
		return nil, paginationJSON{}, err
	}
	return roots, pageJSON(tq.Page, tq.PerPage, total), nil
}

// listTraces: GET /api/observability/traces → {pagination, spans}: the
// root span of each trace, newest first.
func (s *Server) listTraces(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	roots, page, err := s.traceRoots(r, res)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": page, "spans": spansJSON(roots, true)})
	return nil
}

// lightSpanJSON is Mastra's light span: what a list needs, without
// attributes, input and output.
type lightSpanJSON struct {
	TraceID      string           `json:"traceId"`
	SpanID       string           `json:"spanId"`
	Name         string           `json:"name"`
	SpanType     string           `json:"spanType"`
	IsEvent      bool             `json:"isEvent"`
	StartedAt    memory.SpanTime  `json:"startedAt"`
	ParentSpanID *string          `json:"parentSpanId"`
	EndedAt      *memory.SpanTime `json:"endedAt"`
	Error        memory.SpanJSON  `json:"error"`
	Status       string           `json:"status"`
	EntityType   *string          `json:"entityType"`
	EntityID     *string          `json:"entityId"`
	EntityName   *string          `json:"entityName"`
	Metadata     memory.SpanJSON  `json:"metadata"`
	InputPreview *string          `json:"inputPreview"`
	CreatedAt    memory.SpanTime  `json:"createdAt"`
	UpdatedAt    *memory.SpanTime `json:"updatedAt"`
}

func lightSpans(spans []memory.Span) []lightSpanJSON {
	out := make([]lightSpanJSON, len(spans))
	for i := range spans {
		sp := &spans[i]
		out[i] = lightSpanJSON{TraceID: sp.TraceID, SpanID: sp.SpanID, Name: sp.Name, SpanType: sp.SpanType, IsEvent: sp.IsEvent,
			StartedAt: sp.StartedAt, ParentSpanID: sp.ParentSpanID, EndedAt: sp.EndedAt, Error: sp.Error, Status: sp.Status(),
			EntityType: sp.EntityType, EntityID: sp.EntityID, EntityName: sp.EntityName, Metadata: sp.Metadata,
			InputPreview: inputPreview(sp.Input), CreatedAt: sp.CreatedAt, UpdatedAt: sp.UpdatedAt}
	}
	return out
}

// inputPreview is the start of a span's input text (its last message's
// content), or nil when none was captured.
func inputPreview(in memory.SpanJSON) *string {
	if len(in) == 0 {
		return nil
	}
	var msgs []struct{ Content string }
	text := ""
	if json.Unmarshal(in, &msgs) == nil && len(msgs) > 0 {
		text = msgs[len(msgs)-1].Content
	} else {
		text = string(in)
	}
	const n = 200
	if len(text) > n {
		cut := n
		for cut > 0 && text[cut]&0xC0 == 0x80 {
			cut--
		}
		text = text[:cut] + "…"
	}
	return &text
}

// traceByID: GET /api/observability/traces/:traceId → {traceId, spans};
// "light" as the id is the light listing (httprouter cannot hold the
// static segment beside the parameter).
func (s *Server) traceByID(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	id := httprouter.ParamsFromContext(r.Context()).ByName("traceId")
	if id == "light" {
		roots, page, err := s.traceRoots(r, res)
		if err != nil {
			return err
		}
		transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": page, "spans": lightSpans(roots)})
		return nil
	}
	spans, err := s.trace(r, res, id)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"traceId": id, "spans": spansJSON(spans, true)})
	return nil
}

// trace reads one trace of res, 404 when it is not there (or not res's).
func (s *Server) trace(r *http.Request, res, id string) ([]memory.Span, error) {
	if msg := badID(id); msg != "" {
		return nil, transport.Invalid("Invalid path parameters", "traceId", msg)
	}
	spans, err := s.store.TraceSpans(r.Context(), res, id)
	if errors.Is(err, memory.ErrSpanNotFound) {
		return nil, &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("Trace with ID '%s' not found", id)}
	}
	return spans, err
}

// traceSub: GET /api/observability/traces/:traceId/:part → light or
// trajectory (observability_trajectory.go).
func (s *Server) traceSub(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	p := httprouter.ParamsFromContext(r.Context())
	id := p.ByName("traceId")
	switch p.ByName("part") {
	case "light":
		spans, err := s.trace(r, res, id)
		if err != nil {
			return err
		}
		transport.WriteJSON(w, http.StatusOK, map[string]any{"traceId": id, "spans": lightSpans(spans)})
		return nil
	case "trajectory":
		return s.traceTrajectory(w, r, res, id)
	}
	return &transport.Error{Status: http.StatusNotFound, Message: "Not found"}
}

// spanByID: GET /api/observability/traces/:traceId/spans/:spanId → {span}.
func (s *Server) spanByID(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	p := httprouter.ParamsFromContext(r.Context())
	if p.ByName("spanId") == "scores" {
		return s.spanScores(w, r, res, p.ByName("traceId"), p.ByName("part"))
	}
	if p.ByName("part") == "branches" {
		return s.branch(w, r, res, p.ByName("traceId"), p.ByName("spanId"))
	}
	if p.ByName("part") != "spans" {
		return &transport.Error{Status: http.StatusNotFound, Message: "Not found"}
	}
	traceID, spanID := p.ByName("traceId"), p.ByName("spanId")
	if err := checkIDs("Invalid path parameters", "traceId", traceID, "spanId", spanID); err != nil {
		return err
	}
	sp, err := s.store.SpanByID(r.Context(), res, traceID, spanID)
	if errors.Is(err, memory.ErrSpanNotFound) {
		return &transport.Error{Status: http.StatusNotFound, Message: "Span not found"}
	}
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"span": spanJSON{Span: sp}})
	return nil
}

// deleteTraces: POST /api/observability/traces/delete {traceIds} →
// {success}. A tenant deletes only its own traces' spans.
func (s *Server) deleteTraces(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		TraceIDs *[]string `json:"traceIds"`
	}
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if b.TraceIDs == nil {
		return transport.Invalid("Invalid request body", "traceIds", "traceIds is required")
	}
	if len(*b.TraceIDs) > 1000 {
		return transport.Invalid("Invalid request body", "traceIds", "at most 1000 trace ids")
	}
	for _, id := range *b.TraceIDs {
		if msg := badID(id); msg != "" {
			return transport.Invalid("Invalid request body", "traceIds", msg)
		}
	}
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	if _, err := s.store.DeleteTraces(r.Context(), res, *b.TraceIDs); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// traceQueryInvalid is Mastra's 422 for a trace query it cannot run.
func traceQueryInvalid(field, msg string) error {
	return &transport.Error{Status: http.StatusUnprocessableEntity, Code: "TRACE_QUERY_INVALID",
		Message: "The trace query is invalid", Issues: []transport.Issue{{Field: field, Message: msg}}}
}

// traceQueryBody is POST /api/observability/traces/query.
type traceQueryBody struct {
	TimeRange *struct {
		From *time.Time `json:"from"`
		To   *time.Time `json:"to"`
	} `json:"timeRange"`
	Where   json.RawMessage `json:"where"`
	Group   json.RawMessage `json:"group"`
	OrderBy []struct {
		Field     string `json:"field"`
		Direction string `json:"direction"`
	} `json:"orderBy"`
	Page *struct {
		Limit *int    `json:"limit"`
		After *string `json:"after"`
	} `json:"page"`
	Pagination *struct {
		Page    int `json:"page"`
		PerPage int `json:"perPage"`
	} `json:"pagination"`
	Mode string `json:"mode"`
}

// traceSummaryJSON is one trace of a trace query's answer.
type traceSummaryJSON struct {
	TraceID      string           `json:"traceId"`
	RootSpanID   string           `json:"rootSpanId"`
	Name         string           `json:"name"`
	EntityID     *string          `json:"entityId"`
	EntityName   *string          `json:"entityName"`
	EntityType   *string          `json:"entityType"`
	ParentSpanID *string          `json:"parentSpanId"`
	CreatedAt    memory.SpanTime  `json:"createdAt"`
	StartedAt    memory.SpanTime  `json:"startedAt"`
	EndedAt      *memory.SpanTime `json:"endedAt"`
	Metadata     memory.SpanJSON  `json:"metadata"`
	InputPreview *string          `json:"inputPreview"`
	ThreadID     *string          `json:"threadId"`
	ResourceID   *string          `json:"resourceId"`
	Environment  *string          `json:"environment"`
	Status       string           `json:"status"`
}

func traceSummaries(roots []memory.Span) []traceSummaryJSON {
	out := make([]traceSummaryJSON, len(roots))
	for i := range roots {
		sp := &roots[i]
		out[i] = traceSummaryJSON{TraceID: sp.TraceID, RootSpanID: sp.SpanID, Name: sp.Name, EntityID: sp.EntityID,
			EntityName: sp.EntityName, EntityType: sp.EntityType, ParentSpanID: sp.ParentSpanID, CreatedAt: sp.CreatedAt,
			StartedAt: sp.StartedAt, EndedAt: sp.EndedAt, Metadata: sp.Metadata, InputPreview: inputPreview(sp.Input),
			ThreadID: sp.ThreadID, ResourceID: sp.ResourceID, Environment: sp.Environment, Status: sp.Status()}
	}
	return out
}

// traceCursor is the opaque keyset cursor of a trace query.
type traceCursor struct {
	At    time.Time `json:"t"`
	Trace string    `json:"id"`
	Order string    `json:"o"`
}

func (c traceCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// emptyWhere reports whether a predicate tree has no predicates: null, {}
// or only empty lists (what a query with no filters sends).
func emptyWhere(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for _, v := range m {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) != nil || len(list) > 0 {
			return false
		}
	}
	return true
}

// queryTraces: POST /api/observability/traces/query, what Studio's Traces
// page calls: the traces started in timeRange, newest first, by keyset
// pages ({traces, page:{next}}) or numbered ones ({traces, pagination}).
// Predicates (where) and grouping are refused with Mastra's 422 rather
// than ignored.
func (s *Server) queryTraces(w http.ResponseWriter, r *http.Request) error {
	var b traceQueryBody
	if err := transport.DecodeJSON(w, r, min(s.cfg.BodyLimit, 256<<10), &b); err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.Status == http.StatusBadRequest {
			field := "body"
			if len(te.Issues) > 0 {
				field = te.Issues[0].Field
			}
			return traceQueryInvalid(field, strings.TrimPrefix(te.Error(), "Invalid request body"))
		}
		return err
	}
	if b.TimeRange == nil || b.TimeRange.From == nil || b.TimeRange.To == nil {
		return traceQueryInvalid("timeRange", "timeRange {from, to} (ISO date-times) is required")
	}
	if !emptyWhere(b.Where) {
		return traceQueryInvalid("where", "trace predicates are not supported by this server; filter with GET /api/observability/traces")
	}
	if len(b.Group) > 0 && string(b.Group) != "null" {
		return traceQueryInvalid("group", "grouping traces is not supported by this server")
	}
	if b.Mode == "delta" {
		return &transport.Error{Status: http.StatusNotImplemented, Code: "TRACE_QUERY_UNSUPPORTED",
			Message: "Delta polling is not supported by this server's observability store"}
	}
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	tq := memory.TraceQuery{ResourceID: res, OrderBy: "startedAt", Desc: true,
		StartedAt: memory.TimeRange{Start: *b.TimeRange.From, End: *b.TimeRange.To}}
	if len(b.OrderBy) > 1 {
		return traceQueryInvalid("orderBy", "at most one order")
	}
	if len(b.OrderBy) == 1 {
		o := b.OrderBy[0]
		if o.Field != "startedAt" && o.Field != "endedAt" {
			return traceQueryInvalid("orderBy.0.field", "expected startedAt or endedAt")
		}
		switch strings.ToLower(o.Direction) {
		case "asc":
			tq.Desc = false
		case "desc", "":
		default:
			return traceQueryInvalid("orderBy.0.direction", "expected asc or desc")
		}
		tq.OrderBy = o.Field
	}
	if p := b.Pagination; p != nil {
		if b.Page != nil {
			return traceQueryInvalid("pagination", "page and pagination cannot be combined")
		}
		if p.Page < 0 || p.PerPage < 1 || p.PerPage > 100 || p.Page > MaxOffset/p.PerPage {
			return traceQueryInvalid("pagination", "expected page ≥ 0 and perPage from 1 to 100")
		}
		tq.Page, tq.PerPage = p.Page, p.PerPage
		roots, total, err := s.store.ListTraces(r.Context(), tq)
		if err != nil {
			return err
		}
		transport.WriteJSON(w, http.StatusOK, map[string]any{"traces": traceSummaries(roots),
			"pagination": paginationJSON{Total: total, Page: tq.Page, PerPage: tq.PerPage, HasMore: (tq.Page+1)*tq.PerPage < total}})
		return nil
	}
	tq.PerPage = 100
	order := tq.OrderBy + map[bool]string{true: ":desc", false: ":asc"}[tq.Desc]
	if p := b.Page; p != nil {
		if p.Limit != nil {
			if *p.Limit < 1 || *p.Limit > 1000 {
				return traceQueryInvalid("page.limit", "expected an integer from 1 to 1000")
			}
			tq.PerPage = *p.Limit
		}
		if p.After != nil && *p.After != "" {
			var c traceCursor
			raw, err := base64.RawURLEncoding.DecodeString(*p.After)
			if err != nil || json.Unmarshal(raw, &c) != nil || c.Trace == "" {
				return &transport.Error{Status: http.StatusBadRequest, Code: "TRACE_QUERY_CURSOR_MALFORMED", Message: "The trace query cursor is malformed"}
			}
			if c.Order != order {
				return &transport.Error{Status: http.StatusConflict, Code: "TRACE_QUERY_CURSOR_CONFLICT", Message: "The cursor belongs to a query with another order"}
			}
			tq.After = &memory.TraceCursor{At: c.At, TraceID: c.Trace}
		}
	}
	// One more than the page tells whether there is a next one.
	tq.PerPage++
	if tq.After == nil {
		tq.After = &memory.TraceCursor{At: farEnd(tq.Desc), TraceID: ""}
	}
	roots, _, err := s.store.ListTraces(r.Context(), tq)
	if err != nil {
		return err
	}
	var next *string
	if len(roots) == tq.PerPage {
		roots = roots[:len(roots)-1]
		last := roots[len(roots)-1]
		at := last.StartedAt.Time
		if tq.OrderBy == "endedAt" && last.EndedAt != nil {
			at = last.EndedAt.Time
		}
		c := traceCursor{At: at, Trace: last.TraceID, Order: order}.encode()
		next = &c
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"traces": traceSummaries(roots), "page": map[string]any{"next": next}})
	return nil
}

// farEnd is a keyset start before every trace in the order's direction.
func farEnd(desc bool) time.Time {
	if desc {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// Discovery: the distinct values of stored root spans, for Studio's
// filter dropdowns.

func (s *Server) discoverValues(col, key string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		res, err := s.obsResource(r)
		if err != nil {
			return err
		}
		var eq map[string]string
		if t := r.URL.Query().Get("entityType"); t != "" && col == "entityName" {
			if !slices.Contains(entityTypes, t) {
				return transport.Invalid("Invalid query parameters", "entityType", "expected one of "+strings.Join(entityTypes, ", "))
			}
			eq = map[string]string{"entityType": t}
		}
		vals, err := s.store.DistinctSpanValues(r.Context(), res, col, eq, 1000)
		if err != nil {
			return err
		}
		if vals == nil {
			vals = []string{}
		}
		transport.WriteJSON(w, http.StatusOK, map[string]any{key: vals})
		return nil
	}
}

// entityTypesRoute: GET /api/observability/discovery/entity-types.
func (s *Server) entityTypesRoute(w http.ResponseWriter, r *http.Request) error {
	return s.discoverValues("entityType", "entityTypes")(w, r)
}

// spanScores: GET /api/observability/traces/:traceId/:spanId/scores →
// {pagination, scores}: the scores of one span (Studio's trace page).
func (s *Server) spanScores(w http.ResponseWriter, r *http.Request, res, traceID, spanID string) error {
	if err := checkIDs("Invalid path parameters", "traceId", traceID, "spanId", spanID); err != nil {
		return err
	}
	page, perPage, err := listPage(r)
	if err != nil {
		return err
	}
	eq := memory.EventQuery{ResourceID: res, Page: page, PerPage: perPage, Desc: true,
		In: map[string][]string{"traceId": {traceID}, "spanId": {spanID}}}
	scores, total, err := s.store.ListScores(r.Context(), eq)
	if err != nil {
		return err
	}
	// Mastra answers this route from its scores domain (mastra_scorers
	// rows): Studio's trace Scores tab reads createdAt, and fails on a
	// page ("Invalid time value") without it. Each row is both shapes.
	rows := make([]spanScoreJSON, len(scores))
	for i, sc := range scores {
		row := scoreRow(sc)
		rows[i] = spanScoreJSON{Score: sc, ID: row.ID, Scorer: row.Scorer, Entity: row.Entity, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": pageOf(eq, total), "scores": rows})
	return nil
}

// spanScoreJSON is a stored score with the fields of a mastra_scorers
// row it lacks.
type spanScoreJSON struct {
	memory.Score
	ID        string          `json:"id"`
	Scorer    map[string]any  `json:"scorer"`
	Entity    map[string]any  `json:"entity"`
	CreatedAt memory.SpanTime `json:"createdAt"`
	UpdatedAt memory.SpanTime `json:"updatedAt"`
}

// branchSpanTypes are Mastra's BRANCH_SPAN_TYPES: the spans that start a
// branch of a trace.
var branchSpanTypes = []string{"agent_run", "workflow_run", "processor_run", "scorer_run", "rag_ingestion", "tool_call",
	"mcp_tool_call", "mcp_server_request", "provider_tool_call"}

// listBranches: GET /api/observability/branches → {pagination, branches}:
// the spans that start a branch (agent runs, tool calls, …) across traces.
func (s *Server) listBranches(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	tq, err := traceQuery(r, res)
	if err != nil {
		return err
	}
	tq.SpanTypes = branchSpanTypes
	if t := tq.Equal["spanType"]; t != "" {
		tq.SpanTypes = []string{t}
	}
	spans, total, err := s.store.ListTraces(r.Context(), tq)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{
		"pagination": paginationJSON{Total: total, Page: tq.Page, PerPage: tq.PerPage, HasMore: (tq.Page+1)*tq.PerPage < total},
		"branches":   spansJSON(spans, true),
	})
	return nil
}

// branch answers GET /api/observability/traces/:traceId/branches/:spanId
// ?depth → {traceId, spans}: the span and its descendants, depth levels
// down (all without depth).
func (s *Server) branch(w http.ResponseWriter, r *http.Request, res, traceID, spanID string) error {
	if err := checkIDs("Invalid path parameters", "traceId", traceID, "spanId", spanID); err != nil {
		return err
	}
	depth := -1
	if d := r.URL.Query().Get("depth"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return transport.Invalid("Invalid query parameters", "depth", "expected a non-negative integer")
		}
		depth = n
	}
	notFound := &transport.Error{Status: http.StatusNotFound,
		Message: fmt.Sprintf("Branch not found for span '%s' in trace '%s'", spanID, traceID)}
	spans, err := s.store.TraceSpans(r.Context(), res, traceID)
	if errors.Is(err, memory.ErrSpanNotFound) {
		return notFound
	} else if err != nil {
		return err
	}
	children := map[string][]int{}
	start := -1
	for i := range spans {
		if spans[i].SpanID == spanID {
			start = i
		}
		if p := spans[i].ParentSpanID; p != nil {
			children[*p] = append(children[*p], i)
		}
	}
	if start < 0 {
		return notFound
	}
	var out []memory.Span
	level := []int{start}
	for d := 0; len(level) > 0 && (depth < 0 || d <= depth); d++ {
		var next []int
		for _, i := range level {
			out = append(out, spans[i])
			next = append(next, children[spans[i].SpanID]...)
		}
		level = next
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"traceId": traceID, "spans": spansJSON(out, true)})
	return nil
}
