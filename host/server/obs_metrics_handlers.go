package server

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Mastra's metric routes over the metric events host/observe derives from
// stored spans (mastra_agent_duration_ms, mastra_model_total_input_tokens,
// …). The events a query selects are read (at most maxMetricRows) and
// aggregated here, the same on both databases.

const maxMetricRows = 200_000

var metricAggregations = []string{"sum", "avg", "min", "max", "count", "count_distinct", "last"}

var metricIntervals = map[string]time.Duration{"1m": time.Minute, "5m": 5 * time.Minute, "15m": 15 * time.Minute,
	"1h": time.Hour, "1d": 24 * time.Hour}

// metricFilters are Mastra's metric filters: a timestamp range, equality
// on context columns, and labels.
type metricFilters struct {
	timestamp memory.TimeRange
	equal     map[string]string
	labels    map[string]string
}

func parseMetricFilters(raw json.RawMessage) (metricFilters, error) {
	f := metricFilters{equal: map[string]string{}}
	if len(raw) == 0 || string(raw) == "null" {
		return f, nil
	}
	bad := func(field, msg string) error { return transport.Invalid("Invalid request body", "filters."+field, msg) }
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return f, transport.Invalid("Invalid request body", "filters", "expected an object")
	}
	for k, v := range m {
		switch {
		case k == "timestamp":
			var d dateRangeJSON
			if json.Unmarshal(v, &d) != nil {
				return f, bad(k, "expected a date range {start, end}")
			}
			f.timestamp = d.timeRange()
		case k == "labels":
			if json.Unmarshal(v, &f.labels) != nil {
				return f, bad(k, "expected an object of strings")
			}
		case slices.Contains(memory.MetricFilterColumns, k):
			var s string
			if json.Unmarshal(v, &s) != nil || badText(s) != "" {
				return f, bad(k, "expected a string")
			}
			f.equal[k] = s
		default:
			return f, bad(k, "unknown or unsupported filter; expected timestamp, labels or one of "+strings.Join(memory.MetricFilterColumns, ", "))
		}
	}
	return f, checkEntityType("Invalid request body", "filters.entityType", f.equal["entityType"])
}

// metricBody is the body of the metric routes; each reads its fields.
type metricBody struct {
	Name           json.RawMessage `json:"name"`
	Aggregation    *string         `json:"aggregation"`
	DistinctColumn *string         `json:"distinctColumn"`
	Filters        json.RawMessage `json:"filters"`
	ComparePeriod  *string         `json:"comparePeriod"`
	GroupBy        []string        `json:"groupBy"`
	Limit          *int            `json:"limit"`
	OrderDirection *string         `json:"orderDirection"`
	Interval       *string         `json:"interval"`
	Percentiles    []float64       `json:"percentiles"`
}

// metricRequest is a checked metric query.
type metricRequest struct {
	names   []string
	agg     string
	col     string // distinctColumn
	filters metricFilters
	groupBy []string
	every   time.Duration
}

func invalidBody(field, msg string) error {
	return transport.Invalid("Invalid request body", field, msg)
}

// readMetricBody decodes and checks the fields common to the routes:
// single: name is one string (percentiles), else an array.
func (s *Server) readMetricBody(w http.ResponseWriter, r *http.Request, single, needAgg, needInterval bool) (metricBody, metricRequest, error) {
	var b metricBody
	var m metricRequest
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return b, m, err
	}
	if single {
		var n string
		if len(b.Name) == 0 || json.Unmarshal(b.Name, &n) != nil || n == "" {
			return b, m, invalidBody("name", "name is required: one metric name")
		}
		m.names = []string{n}
	} else if len(b.Name) == 0 || json.Unmarshal(b.Name, &m.names) != nil || len(m.names) == 0 {
		return b, m, invalidBody("name", "name is required: an array of at least one metric name")
	}
	for _, n := range m.names {
		if badText(n) != "" || n == "" || len(n) > 256 {
			return b, m, invalidBody("name", "metric names are non-empty text")
		}
	}
	if needAgg {
		if b.Aggregation == nil || !slices.Contains(metricAggregations, *b.Aggregation) {
			return b, m, invalidBody("aggregation", "aggregation is required: one of "+strings.Join(metricAggregations, ", "))
		}
		m.agg = *b.Aggregation
		if m.agg == "count_distinct" {
			if b.DistinctColumn == nil || !slices.Contains(memory.MetricFilterColumns, *b.DistinctColumn) {
				return b, m, invalidBody("distinctColumn", "count_distinct needs distinctColumn: one of "+strings.Join(memory.MetricFilterColumns, ", "))
			}
			m.col = *b.DistinctColumn
		}
	}
	if needInterval {
		every, ok := time.Duration(0), false
		if b.Interval != nil {
			every, ok = metricIntervals[*b.Interval]
		}
		if !ok {
			return b, m, invalidBody("interval", "interval is required: 1m, 5m, 15m, 1h or 1d")
		}
		m.every = every
	}
	for _, g := range b.GroupBy {
		if !slices.Contains(memory.MetricFilterColumns, g) && g != "name" && g != "status" {
			return b, m, invalidBody("groupBy", "expected name, status or one of "+strings.Join(memory.MetricFilterColumns, ", "))
		}
	}
	m.groupBy = b.GroupBy
	var err error
	m.filters, err = parseMetricFilters(b.Filters)
	return b, m, err
}

// metricEvents reads the events a checked query selects in the caller's
// scope (res, which a comparison period reads again).
func (s *Server) metricEvents(r *http.Request, m metricRequest) (res string, rows []memory.MetricEvent, err error) {
	if res, err = s.obsResource(r); err != nil {
		return "", nil, err
	}
	rows, err = s.metricRows(r, res, m, m.filters.timestamp)
	return res, rows, err
}

// metricRows reads the events of a query in res, for the time range tr.
func (s *Server) metricRows(r *http.Request, res string, m metricRequest, tr memory.TimeRange) ([]memory.MetricEvent, error) {
	mq := memory.MetricQuery{ResourceID: res, Names: m.names, Equal: m.filters.equal, Timestamp: tr, Limit: maxMetricRows + 1}
	if res != "" {
		delete(mq.Equal, "resourceId") // the scope's, whatever the filter says
	}
	rows, err := s.store.Metrics(r.Context(), mq)
	if err != nil {
		return nil, err
	}
	if len(rows) > maxMetricRows {
		return nil, invalidBody("filters.timestamp", fmt.Sprintf("the query matches more than %d metric events: narrow the time range", maxMetricRows))
	}
	if len(m.filters.labels) == 0 {
		return rows, nil
	}
	out := rows[:0]
	for _, ev := range rows {
		var l map[string]string
		_ = json.Unmarshal(ev.Labels, &l)
		keep := true
		for k, v := range m.filters.labels {
			keep = keep && l[k] == v
		}
		if keep {
			out = append(out, ev)
		}
	}
	return out, nil
}

// dimension is an event's value of a groupBy or distinct column.
func dimension(ev *memory.MetricEvent, col string) *string {
	switch col {
	case "name":
		return &ev.Name
	case "status":
		var l map[string]string
		_ = json.Unmarshal(ev.Labels, &l)
		if v, ok := l["status"]; ok {
			return &v
		}
		return nil
	case "provider":
		return ev.Provider
	case "model":
		return ev.Model
	}
	c := &ev.EventContext
	return map[string]*string{"traceId": c.TraceID, "spanId": c.SpanID, "entityType": c.EntityType, "entityId": c.EntityID,
		"entityName": c.EntityName, "userId": c.UserID, "organizationId": c.OrganizationID, "resourceId": c.ResourceID,
		"runId": c.RunID, "sessionId": c.SessionID, "threadId": c.ThreadID, "requestId": c.RequestID,
		"environment": c.Environment, "executionSource": c.ExecutionSource, "serviceName": c.ServiceName,
		"experimentId": c.ExperimentID, "source": c.Source}[col]
}

// aggregate folds events into one value (null when there are none, but
// for the counts, which are 0).
func aggregate(evs []memory.MetricEvent, agg, col string) *float64 {
	var v float64
	switch agg {
	case "count":
		v = float64(len(evs))
		return &v
	case "count_distinct":
		seen := map[string]bool{}
		for i := range evs {
			if d := dimension(&evs[i], col); d != nil {
				seen[*d] = true
			}
		}
		v = float64(len(seen))
		return &v
	}
	if len(evs) == 0 {
		return nil
	}
	switch agg {
	case "sum", "avg":
		for _, e := range evs {
			v += e.Value
		}
		if agg == "avg" {
			v /= float64(len(evs))
		}
	case "min":
		v = math.Inf(1)
		for _, e := range evs {
			v = min(v, e.Value)
		}
	case "max":
		v = math.Inf(-1)
		for _, e := range evs {
			v = max(v, e.Value)
		}
	case "last":
		v = evs[len(evs)-1].Value
	}
	return &v
}

// metricAggregate: POST /api/observability/metrics/aggregate →
// {value, previousValue?, changePercent?}.
func (s *Server) metricAggregate(w http.ResponseWriter, r *http.Request) error {
	b, m, err := s.readMetricBody(w, r, false, true, false)
	if err != nil {
		return err
	}
	res, rows, err := s.metricEvents(r, m)
	if err != nil {
		return err
	}
	out := map[string]any{"value": aggregate(rows, m.agg, m.col)}
	if b.ComparePeriod != nil {
		tr := m.filters.timestamp
		var shift time.Duration
		switch *b.ComparePeriod {
		case "previous_period":
			if tr.Start.IsZero() || tr.End.IsZero() {
				return invalidBody("comparePeriod", "previous_period needs filters.timestamp with start and end")
			}
			shift = tr.End.Sub(tr.Start)
		case "previous_day":
			shift = 24 * time.Hour
		case "previous_week":
			shift = 7 * 24 * time.Hour
		default:
			return invalidBody("comparePeriod", "expected previous_period, previous_day or previous_week")
		}
		if tr.Start.IsZero() || tr.End.IsZero() {
			return invalidBody("comparePeriod", "comparing needs filters.timestamp with start and end")
		}
		prevTR := tr
		prevTR.Start, prevTR.End = tr.Start.Add(-shift), tr.End.Add(-shift)
		prev, err := s.metricRows(r, res, m, prevTR)
		if err != nil {
			return err
		}
		pv := aggregate(prev, m.agg, m.col)
		out["previousValue"] = pv
		if v := out["value"].(*float64); v != nil && pv != nil && *pv != 0 {
			out["changePercent"] = (*v - *pv) / *pv * 100
		} else {
			out["changePercent"] = nil
		}
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// groupEvents splits events by the values of cols, in first-seen order.
func groupEvents(evs []memory.MetricEvent, cols []string) (keys []string, dims map[string]map[string]*string, groups map[string][]memory.MetricEvent) {
	dims, groups = map[string]map[string]*string{}, map[string][]memory.MetricEvent{}
	for i := range evs {
		d := map[string]*string{}
		parts := make([]string, len(cols))
		for j, c := range cols {
			d[c] = dimension(&evs[i], c)
			if d[c] != nil {
				parts[j] = *d[c]
			} else {
				parts[j] = "\x00"
			}
		}
		k := strings.Join(parts, "\x1f")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
			dims[k] = d
		}
		groups[k] = append(groups[k], evs[i])
	}
	return keys, dims, groups
}

// metricBreakdown: POST /api/observability/metrics/breakdown →
// {groups: [{dimensions, value}]}, largest first.
func (s *Server) metricBreakdown(w http.ResponseWriter, r *http.Request) error {
	b, m, err := s.readMetricBody(w, r, false, true, false)
	if err != nil {
		return err
	}
	if len(m.groupBy) == 0 {
		return invalidBody("groupBy", "groupBy is required: at least one column")
	}
	limit := 100
	if b.Limit != nil {
		if *b.Limit < 1 || *b.Limit > 1000 {
			return invalidBody("limit", "expected an integer from 1 to 1000")
		}
		limit = *b.Limit
	}
	asc := false
	if b.OrderDirection != nil {
		switch strings.ToUpper(*b.OrderDirection) {
		case "ASC":
			asc = true
		case "DESC":
		default:
			return invalidBody("orderDirection", "expected ASC or DESC")
		}
	}
	_, rows, err := s.metricEvents(r, m)
	if err != nil {
		return err
	}
	type group struct {
		Dimensions map[string]*string `json:"dimensions"`
		Value      *float64           `json:"value"`
	}
	keys, dims, groups := groupEvents(rows, m.groupBy)
	out := make([]group, 0, len(keys))
	for _, k := range keys {
		out = append(out, group{Dimensions: dims[k], Value: aggregate(groups[k], m.agg, m.col)})
	}
	val := func(g group) float64 {
		if g.Value == nil {
			return math.Inf(-1)
		}
		return *g.Value
	}
	sort.SliceStable(out, func(i, j int) bool {
		if asc {
			return val(out[i]) < val(out[j])
		}
		return val(out[i]) > val(out[j])
	})
	if len(out) > limit {
		out = out[:limit]
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"groups": out})
	return nil
}

type pointJSON struct {
	Timestamp memory.SpanTime `json:"timestamp"`
	Value     *float64        `json:"value"`
}

// buckets splits events (oldest first) by interval, in time order.
func buckets(evs []memory.MetricEvent, every time.Duration) ([]time.Time, map[time.Time][]memory.MetricEvent) {
	var order []time.Time
	by := map[time.Time][]memory.MetricEvent{}
	for _, ev := range evs {
		t := ev.Timestamp.Truncate(every)
		if _, ok := by[t]; !ok {
			order = append(order, t)
		}
		by[t] = append(by[t], ev)
	}
	return order, by
}

// metricTimeSeries: POST /api/observability/metrics/timeseries →
// {series: [{name, points: [{timestamp, value}]}]}, a series per metric
// name, or per group with groupBy.
func (s *Server) metricTimeSeries(w http.ResponseWriter, r *http.Request) error {
	_, m, err := s.readMetricBody(w, r, false, true, true)
	if err != nil {
		return err
	}
	_, rows, err := s.metricEvents(r, m)
	if err != nil {
		return err
	}
	cols := m.groupBy
	if len(cols) == 0 {
		cols = []string{"name"}
	}
	type series struct {
		Name   string      `json:"name"`
		Points []pointJSON `json:"points"`
	}
	keys, _, groups := groupEvents(rows, cols)
	out := make([]series, 0, len(keys))
	for _, k := range keys {
		order, by := buckets(groups[k], m.every)
		sr := series{Name: strings.ReplaceAll(strings.ReplaceAll(k, "\x1f", "|"), "\x00", "")}
		for _, t := range order {
			sr.Points = append(sr.Points, pointJSON{Timestamp: memory.SpanTime{Time: t}, Value: aggregate(by[t], m.agg, m.col)})
		}
		out = append(out, sr)
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"series": out})
	return nil
}

// metricPercentiles: POST /api/observability/metrics/percentiles →
// {series: [{percentile, points}]}; percentiles are fractions (0–1).
func (s *Server) metricPercentiles(w http.ResponseWriter, r *http.Request) error {
	b, m, err := s.readMetricBody(w, r, true, false, true)
	if err != nil {
		return err
	}
	if len(b.Percentiles) == 0 || len(b.Percentiles) > 20 {
		return invalidBody("percentiles", "percentiles is required: 1 to 20 fractions from 0 to 1")
	}
	for _, p := range b.Percentiles {
		if p < 0 || p > 1 || math.IsNaN(p) {
			return invalidBody("percentiles", fmt.Sprintf("%v is outside 0–1: percentiles are fractions (0.5 for the median)", p))
		}
	}
	_, rows, err := s.metricEvents(r, m)
	if err != nil {
		return err
	}
	order, by := buckets(rows, m.every)
	type series struct {
		Percentile float64     `json:"percentile"`
		Points     []pointJSON `json:"points"`
	}
	out := make([]series, len(b.Percentiles))
	for i, p := range b.Percentiles {
		out[i] = series{Percentile: p, Points: []pointJSON{}}
	}
	for _, t := range order {
		vals := make([]float64, len(by[t]))
		for i, ev := range by[t] {
			vals[i] = ev.Value
		}
		sort.Float64s(vals)
		for i, p := range b.Percentiles {
			// Nearest rank.
			idx := int(math.Ceil(p*float64(len(vals)))) - 1
			v := vals[max(idx, 0)]
			out[i].Points = append(out[i].Points, pointJSON{Timestamp: memory.SpanTime{Time: t}, Value: &v})
		}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"series": out})
	return nil
}

// metricNames: GET /api/observability/discovery/metric-names → {names}.
func (s *Server) metricNames(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	names, err := s.store.MetricNames(r.Context(), res, 1000)
	if err != nil {
		return err
	}
	if p := r.URL.Query().Get("prefix"); p != "" {
		names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, p) })
	}
	if names == nil {
		names = []string{}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"names": names})
	return nil
}

// listMetrics: GET /api/observability/metrics → {pagination, metrics}: the
// metric events, newest first.
func (s *Server) listMetrics(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	eq, err := eventQuery(r, res, []string{"name", "provider", "model"}, []string{"timestamp"}, "traceIds", "labels", "costUnit")
	if err != nil {
		return err
	}
	rows, total, err := s.store.ListMetrics(r.Context(), eq)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []memory.MetricEvent{}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": pageOf(eq, total), "metrics": rows})
	return nil
}

// metricLabelKeys: GET /api/observability/discovery/metric-label-keys →
// {keys}: every derived metric has the label status.
func (s *Server) metricLabelKeys(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("metricName") == "" {
		return transport.Invalid("Invalid query parameters", "metricName", "metricName is required")
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"keys": []string{"status"}})
	return nil
}

// metricLabelValues: GET /api/observability/discovery/metric-label-values
// → {values}.
func (s *Server) metricLabelValues(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("metricName") == "" {
		return transport.Invalid("Invalid query parameters", "metricName", "metricName is required")
	}
	if q.Get("labelKey") == "" {
		return transport.Invalid("Invalid query parameters", "labelKey", "labelKey is required")
	}
	vals := []string{}
	if q.Get("labelKey") == "status" {
		vals = []string{"error", "ok"}
		if p := q.Get("prefix"); p != "" {
			vals = slices.DeleteFunc(vals, func(v string) bool { return !strings.HasPrefix(v, p) })
		}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"values": vals})
	return nil
}
