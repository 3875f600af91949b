package server

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

// The two-token cases of the stored-trace routes
// (observability_handlers.go). A, B and Carol each have a trace of an
// agent turn; A's names "alice" in its entity and thread, so the leak
// check catches any of it in B's answers. Its ids do not, since B may send
// them and see them echoed in a 404.

const (
	traceA = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
	traceB = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
	traceC = "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
)

func init() {
	for k, v := range map[string]func(t *testing.T, e *isoEnv){
		"GET /api/observability/traces":                        caseListTraces,
		"POST /api/observability/traces/query":                 caseQueryTraces,
		"POST /api/observability/traces/delete":                caseDeleteTraces,
		"GET /api/observability/traces/:traceId":               caseTraceByID,
		"GET /api/observability/traces/:traceId/:part":         caseTraceParts,
		"GET /api/observability/traces/:traceId/:part/:spanId": caseSpanByID,
		"GET /api/observability/discovery/entity-types":        caseDiscovery("/api/observability/discovery/entity-types", "entityTypes", "agent"),
		"GET /api/observability/discovery/entity-names":        caseDiscovery("/api/observability/discovery/entity-names", "names", "bob-agent"),
		"GET /api/observability/discovery/environments":        caseDiscovery("/api/observability/discovery/environments", "environments", "bob-env"),
		"GET /api/observability/discovery/service-names":       caseDiscovery("/api/observability/discovery/service-names", "serviceNames", "bob-svc"),
	} {
		isolationCases[k] = v
	}
}

func strRef(s string) *string { return &s }

// childSpan is the id of the model_generation span of a seeded trace.
func childSpan(trace string) string { return trace[:15] + "1" }

// seedTraces stores (again: the store merges) each tenant's trace: a root
// agent_run and a model_generation child.
func seedTraces(t *testing.T, e *isoEnv) {
	t.Helper()
	at := time.Now().Add(-time.Minute).UTC()
	var spans []memory.Span
	for _, x := range []struct{ trace, res, who string }{{traceA, "res-alice", "alice"}, {traceB, "res-bob", "bob"}, {traceC, "res-carol", "carol"}} {
		end := memory.SpanTime{Time: at.Add(time.Second)}
		spans = append(spans,
			memory.Span{TraceID: x.trace, SpanID: x.trace[:16], Name: "agent run: '" + x.who + "-agent'", SpanType: "agent_run",
				StartedAt: memory.SpanTime{Time: at}, EndedAt: &end, EntityType: strRef("agent"), EntityID: strRef(x.who + "-agent"),
				EntityName: strRef(x.who + "-agent"), ResourceID: strRef(x.res), ThreadID: strRef(x.who + "-thread"),
				Environment: strRef(x.who + "-env"), ServiceName: strRef(x.who + "-svc"),
				Input: memory.SpanJSON(`[{"role":"user","content":"secret of ` + x.who + `"}]`), CreatedAt: end},
			memory.Span{TraceID: x.trace, SpanID: childSpan(x.trace), ParentSpanID: strRef(x.trace[:16]), Name: "llm: 'echo'",
				SpanType: "model_generation", StartedAt: memory.SpanTime{Time: at}, EndedAt: &end, ResourceID: strRef(x.res),
				Output: memory.SpanJSON(`{"text":"reply to ` + x.who + `"}`), CreatedAt: end})
		at = at.Add(time.Second)
	}
	if err := e.store.SaveSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
}

// traceIDsOf lists the traceIds of an answer's list under key.
func traceIDsOf(r response, key string) []string {
	var ids []string
	list, _ := r.body[key].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			id, _ := m["traceId"].(string)
			ids = append(ids, id)
		}
	}
	return ids
}

// caseListTraces: B lists only his trace whatever resource he names; the
// admin lists all, or one resource's when naming it.
func caseListTraces(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/traces?"+q, "")
		if ids := traceIDsOf(r, "spans"); r.status != 200 || !slices.Equal(ids, []string{traceB}) {
			t.Errorf("B GET traces?%s = %d %s; want only his trace", q, r.status, r.raw)
		}
	}
	r := e.b("GET", "/api/observability/traces/light?resourceId=res-alice", "")
	if ids := traceIDsOf(r, "spans"); r.status != 200 || !slices.Equal(ids, []string{traceB}) {
		t.Errorf("B GET traces/light = %d %s; want only his trace", r.status, r.raw)
	}
	r = e.admin("GET", "/api/observability/traces", "")
	if ids := traceIDsOf(r, "spans"); !slices.Contains(ids, traceA) || !slices.Contains(ids, traceB) || !slices.Contains(ids, traceC) {
		t.Errorf("admin GET traces = %v; want every resource's", ids)
	}
	r = e.admin("GET", "/api/observability/traces?resourceId=res-alice", "")
	if ids := traceIDsOf(r, "spans"); !slices.Equal(ids, []string{traceA}) {
		t.Errorf("admin GET traces naming res-alice = %v; want A's", ids)
	}
}

// caseQueryTraces: Studio's query answers B his trace only.
func caseQueryTraces(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	body := `{"timeRange":{"from":"2020-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z"},"page":{"limit":25}}`
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/traces/query?"+q, body)
		if ids := traceIDsOf(r, "traces"); r.status != 200 || !slices.Equal(ids, []string{traceB}) {
			t.Errorf("B POST traces/query?%s = %d %s; want only his trace", q, r.status, r.raw)
		}
	}
	r := e.admin("POST", "/api/observability/traces/query", body)
	if ids := traceIDsOf(r, "traces"); len(ids) < 3 {
		t.Errorf("admin POST traces/query = %v; want every resource's", ids)
	}
}

// caseTraceByID: A's trace is B's 404, the same as a trace nobody has.
func caseTraceByID(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	nobody := e.b("GET", "/api/observability/traces/ffffffffffffffffffffffffffffffff", "")
	wantStatus(t, nobody, 404, "B GET a missing trace")
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/traces/"+traceA+"?"+q, "")
		if r.status != 404 {
			t.Errorf("B GET A's trace?%s = %d %s; want 404", q, r.status, r.raw)
		}
	}
	if r := e.b("GET", "/api/observability/traces/"+traceB, ""); r.status != 200 || len(r.body["spans"].([]any)) != 2 {
		t.Errorf("B GET his trace = %d %s", r.status, r.raw)
	}
	if r := e.as(aliceToken, "GET", "/api/observability/traces/"+traceA, ""); r.status != 200 || len(r.body["spans"].([]any)) != 2 {
		t.Errorf("A GET her trace = %d %s", r.status, r.raw)
	}
	if r := e.admin("GET", "/api/observability/traces/"+traceC, ""); r.status != 200 {
		t.Errorf("admin GET Carol's trace = %d %s", r.status, r.raw)
	}
}

// caseTraceParts: A's light trace and trajectory are B's 404; his own
// trajectory is his agent run's model step, the run's duration its total.
func caseTraceParts(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	for _, q := range e.probes() {
		if r := e.b("GET", "/api/observability/traces/"+traceA+"/light?"+q, ""); r.status != 404 {
			t.Errorf("B GET A's light trace?%s = %d %s; want 404", q, r.status, r.raw)
		}
		if r := e.b("GET", "/api/observability/traces/"+traceA+"/trajectory?"+q, ""); r.status != 404 || strings.Contains(r.raw, "alice") {
			t.Errorf("B GET A's trajectory?%s = %d %s; want 404", q, r.status, r.raw)
		}
	}
	if r := e.b("GET", "/api/observability/traces/"+traceB+"/light", ""); r.status != 200 || len(r.body["spans"].([]any)) != 2 {
		t.Errorf("B GET his light trace = %d %s", r.status, r.raw)
	}
	r := e.b("GET", "/api/observability/traces/"+traceB+"/trajectory", "")
	steps, _ := r.body["steps"].([]any)
	// The seeded run and its model call share their times.
	if total, _ := r.body["totalDurationMs"].(float64); r.status != 200 || len(steps) != 1 || total <= 0 ||
		steps[0].(map[string]any)["stepType"] != "model_generation" || steps[0].(map[string]any)["name"] != "llm: 'echo'" ||
		steps[0].(map[string]any)["durationMs"] != total {
		t.Errorf("B GET his trajectory = %d %s; want one model_generation step as long as the run", r.status, r.raw)
	}
	if r := e.b("GET", "/api/observability/traces/"+traceB+"/nothing", ""); r.status != 404 {
		t.Errorf("an unknown part = %d %s; want 404", r.status, r.raw)
	}
	if r := e.admin("GET", "/api/observability/traces/"+traceA+"/trajectory", ""); r.status != 200 {
		t.Errorf("admin GET A's trajectory = %d %s", r.status, r.raw)
	}
}

func caseSpanByID(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/traces/"+traceA+"/spans/"+childSpan(traceA)+"?"+q, "")
		if r.status != 404 || r.body["error"] != "Span not found" {
			t.Errorf("B GET A's span?%s = %d %s; want 404 Span not found", q, r.status, r.raw)
		}
	}
	// A span's scores: B sees none of A's.
	seedScores(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/traces/"+traceA+"/"+traceA[:16]+"/scores?"+q, "")
		if ids := listedIDs(r, "scores", "scoreId"); r.status != 200 || len(ids) != 0 {
			t.Errorf("B GET A's span scores?%s = %d %s; want none", q, r.status, r.raw)
		}
	}
	r0 := e.as(aliceToken, "GET", "/api/observability/traces/"+traceA+"/"+traceA[:16]+"/scores", "")
	if !slices.Equal(listedIDs(r0, "scores", "scoreId"), []string{"score-a"}) {
		t.Errorf("A GET her span's scores = %s", r0.raw)
	} else if row := r0.body["scores"].([]any)[0].(map[string]any); row["id"] != "score-a" || row["createdAt"] == nil || row["createdAt"] != row["timestamp"] {
		// Studio's trace Scores tab reads a mastra_scorers row's createdAt.
		t.Errorf("A's span score = %v; want id and createdAt as a mastra_scorers row has", row)
	}
	r := e.b("GET", "/api/observability/traces/"+traceB+"/spans/"+childSpan(traceB), "")
	if sp, _ := r.body["span"].(map[string]any); r.status != 200 || sp["spanType"] != "model_generation" {
		t.Errorf("B GET his span = %d %s", r.status, r.raw)
	}
}

// caseDeleteTraces: B deleting A's trace deletes nothing of hers; his own
// goes; the admin deletes Carol's.
func caseDeleteTraces(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/traces/delete?"+q, `{"traceIds":["`+traceA+`"],"resourceId":"res-alice"}`)
		wantStatus(t, r, 200, "B deleting A's trace")
	}
	if r := e.as(aliceToken, "GET", "/api/observability/traces/"+traceA, ""); r.status != 200 {
		t.Errorf("A's trace after B's delete = %d %s; want it kept", r.status, r.raw)
	}
	e.b("POST", "/api/observability/traces/delete", `{"traceIds":["`+traceB+`"]}`)
	if r := e.b("GET", "/api/observability/traces/"+traceB, ""); r.status != 404 {
		t.Errorf("B's trace after his delete = %d; want 404", r.status)
	}
	e.admin("POST", "/api/observability/traces/delete", `{"traceIds":["`+traceC+`"]}`)
	if r := e.admin("GET", "/api/observability/traces/"+traceC, ""); r.status != 404 {
		t.Errorf("Carol's trace after the admin's delete = %d; want 404", r.status)
	}
	wantStatus(t, e.b("POST", "/api/observability/traces/delete", `{}`), 400, "delete without traceIds")
	seedTraces(t, e) // for the cases after this one
}

// caseDiscovery: B discovers the values of his traces only.
func caseDiscovery(path, key, want string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		seedTraces(t, e)
		for _, q := range e.probes() {
			r := e.b("GET", path+"?"+q, "")
			list, _ := r.body[key].([]any)
			if r.status != 200 || len(list) != 1 || list[0] != want {
				t.Errorf("B GET %s?%s = %d %s; want [%s]", path, q, r.status, r.raw, want)
			}
		}
	}
}

func init() {
	for k, v := range map[string]func(t *testing.T, e *isoEnv){
		"GET /api/observability/scores":          caseListScores,
		"POST /api/observability/scores":         caseCreateScore,
		"GET /api/observability/scores/:scoreId": caseScoreByID,
		"GET /api/observability/feedback":        caseListFeedback,
		"POST /api/observability/feedback":       caseCreateFeedback,
	} {
		isolationCases[k] = v
	}
}

// seedScores has A, B and Carol each score and give feedback on their own
// trace, once.
func seedScores(t *testing.T, e *isoEnv) {
	t.Helper()
	seedTraces(t, e)
	if _, err := e.store.ScoreByID(context.Background(), "", "score-a"); err == nil {
		return
	}
	for _, x := range []struct{ tok, trace, who, id string }{{aliceToken, traceA, "alice", "a"}, {bobToken, traceB, "bob", "b"}, {adminToken, traceC, "carol", "c"}} {
		res := ""
		if x.tok == adminToken {
			res = `,"resourceId":"res-carol"`
		}
		r := e.as(x.tok, "POST", "/api/observability/scores",
			`{"score":{"scoreId":"score-`+x.id+`","scorerId":"tone","score":0.5,"reason":"`+x.who+` reason","traceId":"`+x.trace+`","spanId":"`+x.trace[:16]+`"`+res+`}}`)
		wantStatus(t, r, 200, x.who+" scoring")
		r = e.as(x.tok, "POST", "/api/observability/feedback",
			`{"feedback":{"feedbackId":"fb-`+x.id+`","feedbackType":"thumbs","value":1,"comment":"`+x.who+` liked it","traceId":"`+x.trace+`"`+res+`}}`)
		wantStatus(t, r, 200, x.who+" giving feedback")
	}
}

func listedIDs(r response, key, idKey string) []string {
	var ids []string
	list, _ := r.body[key].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			id, _ := m[idKey].(string)
			ids = append(ids, id)
		}
	}
	return ids
}

func caseListScores(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/scores?"+q, "")
		if ids := listedIDs(r, "scores", "scoreId"); r.status != 200 || !slices.Equal(ids, []string{"score-b"}) {
			t.Errorf("B GET scores?%s = %d %s; want only his", q, r.status, r.raw)
		}
	}
	r := e.admin("GET", "/api/observability/scores?scorerId=tone", "")
	if ids := listedIDs(r, "scores", "scoreId"); len(ids) != 3 {
		t.Errorf("admin GET scores = %v; want every resource's", ids)
	}
}

// caseCreateScore: B cannot attach a score to A's trace, and a score he
// stores naming A's resource is his.
func caseCreateScore(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	nobody := e.b("POST", "/api/observability/scores", `{"score":{"scorerId":"x","score":1,"traceId":"ffffffffffffffffffffffffffffffff"}}`)
	wantStatus(t, nobody, 404, "B scoring a missing trace")
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/scores?"+q, `{"score":{"scorerId":"x","score":1,"traceId":"`+traceA+`","resourceId":"res-alice"}}`)
		wantStatus(t, r, 404, "B scoring A's trace")
	}
	id := e.fresh("score-b")
	wantStatus(t, e.b("POST", "/api/observability/scores", `{"score":{"scoreId":"`+id+`","scorerId":"x","score":1,"resourceId":"res-alice"}}`), 200, "B scoring naming A")
	if r := e.as(aliceToken, "GET", "/api/observability/scores?scorerId=x", ""); len(listedIDs(r, "scores", "scoreId")) != 0 {
		t.Errorf("A lists B's score: %s", r.raw)
	}
	if r := e.b("GET", "/api/observability/scores/"+id, ""); r.body["score"] == nil {
		t.Errorf("B's own score = %s", r.raw)
	}
	wantStatus(t, e.b("POST", "/api/observability/scores", `{"traceId":"`+traceB+`","name":"accuracy","value":0.95}`), 400, "a score without its wrapper")
}

func caseScoreByID(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/scores/score-a?"+q, "")
		if r.status != 200 || strings.TrimSpace(r.raw) != `{"score":null}` {
			t.Errorf("B GET A's score?%s = %d %s; want {\"score\":null}", q, r.status, r.raw)
		}
	}
	if r := e.as(aliceToken, "GET", "/api/observability/scores/score-a", ""); r.body["score"] == nil {
		t.Errorf("A GET her score = %s", r.raw)
	}
}

func caseListFeedback(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/feedback?"+q, "")
		if ids := listedIDs(r, "feedback", "feedbackId"); r.status != 200 || !slices.Equal(ids, []string{"fb-b"}) {
			t.Errorf("B GET feedback?%s = %d %s; want only his", q, r.status, r.raw)
		}
	}
	r := e.as(aliceToken, "GET", "/api/observability/feedback?feedbackType=thumbs", "")
	if list, _ := r.body["feedback"].([]any); len(list) != 1 || list[0].(map[string]any)["value"] != 1.0 ||
		list[0].(map[string]any)["feedbackUserId"] != "alice" {
		t.Errorf("A GET feedback = %s; want hers, value 1, by alice", r.raw)
	}
}

func caseCreateFeedback(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/feedback?"+q, `{"feedback":{"feedbackType":"x","value":"meh","traceId":"`+traceA+`","resourceId":"res-alice"}}`)
		wantStatus(t, r, 404, "B giving feedback on A's trace")
	}
	wantStatus(t, e.b("POST", "/api/observability/feedback", `{"traceId":"`+traceB+`","score":1,"comment":"x"}`), 400, "feedback without its wrapper")
	if r := e.as(aliceToken, "GET", "/api/observability/feedback?feedbackType=x", ""); len(listedIDs(r, "feedback", "feedbackId")) != 0 {
		t.Errorf("A lists feedback B gave: %s", r.raw)
	}
}

func init() {
	for k, v := range map[string]func(t *testing.T, e *isoEnv){
		"POST /api/observability/metrics/aggregate":     caseMetricAggregate,
		"POST /api/observability/metrics/breakdown":     caseMetricBreakdown,
		"POST /api/observability/metrics/timeseries":    caseMetricTimeSeries,
		"POST /api/observability/metrics/percentiles":   caseMetricPercentiles,
		"GET /api/observability/discovery/metric-names": caseMetricNames,
	} {
		isolationCases[k] = v
	}
}

// seedMetrics gives A, B and Carol an agent run each (100, 200 and 300
// ms), and A a metric of her own name.
func seedMetrics(t *testing.T, e *isoEnv) {
	t.Helper()
	// One fixed time, so seeding again stores nothing twice.
	at := memory.SpanTime{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var ms []memory.MetricEvent
	for i, who := range []string{"alice", "bob", "carol"} {
		res, name := "res-"+who, who+"-agent"
		ms = append(ms, memory.MetricEvent{MetricID: who + ":d", Timestamp: at, Name: "mastra_agent_duration_ms", Value: float64(100 * (i + 1)),
			EventContext: memory.EventContext{ResourceID: &res, EntityName: &name, EntityType: strRef("agent")}, Labels: memory.SpanJSON(`{"status":"ok"}`)})
	}
	aliceRes := "res-alice"
	ms = append(ms, memory.MetricEvent{MetricID: "alice:x", Timestamp: at, Name: "mastra_alice_metric", Value: 1,
		EventContext: memory.EventContext{ResourceID: &aliceRes}})
	if err := e.store.SaveMetrics(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
}

const metricFiltersNamingA = `"filters":{"resourceId":"res-alice","timestamp":{"start":"2020-01-01T00:00:00Z","end":"2100-01-01T00:00:00Z"}}`

func caseMetricAggregate(t *testing.T, e *isoEnv) {
	seedMetrics(t, e)
	path := "/api/observability/metrics/aggregate"
	for _, q := range e.probes() {
		r := e.b("POST", path+"?"+q, `{"name":["mastra_agent_duration_ms"],"aggregation":"sum",`+metricFiltersNamingA+`}`)
		if r.status != 200 || r.body["value"] != 200.0 {
			t.Errorf("B POST aggregate?%s = %d %s; want his 200 ms only", q, r.status, r.raw)
		}
	}
	if r := e.admin("POST", path, `{"name":["mastra_agent_duration_ms"],"aggregation":"count"}`); r.body["value"] != 3.0 {
		t.Errorf("admin count = %s; want every resource's 3", r.raw)
	}
	// Mastra's validation: name is a required array.
	wantStatus(t, e.b("POST", path, `{"metricName":"latency","aggregation":"avg"}`), 400, "aggregate without name")
	wantStatus(t, e.b("POST", path, `{"name":["x"]}`), 400, "aggregate without aggregation")
}

func caseMetricBreakdown(t *testing.T, e *isoEnv) {
	seedMetrics(t, e)
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/metrics/breakdown?"+q,
			`{"name":["mastra_agent_duration_ms"],"groupBy":["entityName"],"aggregation":"avg",`+metricFiltersNamingA+`}`)
		groups, _ := r.body["groups"].([]any)
		if r.status != 200 || len(groups) != 1 || groups[0].(map[string]any)["dimensions"].(map[string]any)["entityName"] != "bob-agent" {
			t.Errorf("B POST breakdown?%s = %d %s; want his agent only", q, r.status, r.raw)
		}
	}
	r := e.admin("POST", "/api/observability/metrics/breakdown", `{"name":["mastra_agent_duration_ms"],"groupBy":["entityName"],"aggregation":"max"}`)
	if groups, _ := r.body["groups"].([]any); len(groups) != 3 || groups[0].(map[string]any)["value"] != 300.0 {
		t.Errorf("admin breakdown = %s; want 3 groups, largest first", r.raw)
	}
}

func caseMetricTimeSeries(t *testing.T, e *isoEnv) {
	seedMetrics(t, e)
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/metrics/timeseries?"+q,
			`{"name":["mastra_agent_duration_ms"],"interval":"1h","aggregation":"sum",`+metricFiltersNamingA+`}`)
		series, _ := r.body["series"].([]any)
		if r.status != 200 || len(series) != 1 {
			t.Errorf("B POST timeseries?%s = %d %s", q, r.status, r.raw)
			continue
		}
		points := series[0].(map[string]any)["points"].([]any)
		if len(points) != 1 || points[0].(map[string]any)["value"] != 200.0 {
			t.Errorf("B POST timeseries?%s = %s; want one point of 200", q, r.raw)
		}
	}
	wantStatus(t, e.b("POST", "/api/observability/metrics/timeseries", `{"name":["x"],"aggregation":"sum","interval":"2h"}`), 400, "timeseries with a bad interval")
}

func caseMetricPercentiles(t *testing.T, e *isoEnv) {
	seedMetrics(t, e)
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/metrics/percentiles?"+q,
			`{"name":"mastra_agent_duration_ms","percentiles":[0.5,0.99],"interval":"1h",`+metricFiltersNamingA+`}`)
		series, _ := r.body["series"].([]any)
		if r.status != 200 || len(series) != 2 {
			t.Errorf("B POST percentiles?%s = %d %s", q, r.status, r.raw)
			continue
		}
		for _, sr := range series {
			points := sr.(map[string]any)["points"].([]any)
			if len(points) != 1 || points[0].(map[string]any)["value"] != 200.0 {
				t.Errorf("B POST percentiles?%s = %s; want his 200 at every percentile", q, r.raw)
			}
		}
	}
	// Mastra's validation: percentiles are fractions.
	r := e.b("POST", "/api/observability/metrics/percentiles", `{"name":"latency","percentiles":[50,90,99],"interval":"1h"}`)
	if r.status != 400 || !strings.Contains(r.raw, "outside 0–1") {
		t.Errorf("percentiles 50,90,99 = %d %s; want 400 naming the range", r.status, r.raw)
	}
}

func caseMetricNames(t *testing.T, e *isoEnv) {
	seedMetrics(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/discovery/metric-names?"+q, "")
		names, _ := r.body["names"].([]any)
		if r.status != 200 || len(names) != 1 || names[0] != "mastra_agent_duration_ms" {
			t.Errorf("B GET metric-names?%s = %d %s; want his one name", q, r.status, r.raw)
		}
	}
}

func init() {
	isolationCases["GET /api/observability/logs"] = caseListLogs
}

// caseListLogs: B lists the lines of his runs only.
func caseListLogs(t *testing.T, e *isoEnv) {
	at := memory.SpanTime{Time: time.Now().Add(-time.Minute)}
	var logs []memory.LogEvent
	for _, x := range []struct{ trace, res, who string }{{traceA, "res-alice", "alice"}, {traceB, "res-bob", "bob"}} {
		logs = append(logs, memory.LogEvent{LogID: "log-" + x.trace, Timestamp: at, Level: "warn", Message: "tool failed for " + x.who,
			EventContext: memory.EventContext{TraceID: strRef(x.trace), ResourceID: strRef(x.res)}})
	}
	if err := e.store.SaveLogs(context.Background(), logs); err != nil {
		t.Fatal(err)
	}
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/logs?level=warn&"+q, "")
		if ids := listedIDs(r, "logs", "logId"); r.status != 200 || !slices.Equal(ids, []string{"log-" + traceB}) {
			t.Errorf("B GET logs?%s = %d %s; want his line only", q, r.status, r.raw)
		}
	}
	wantStatus(t, e.b("GET", "/api/observability/logs?level=loud", ""), 400, "logs of an unknown level")
	if r := e.admin("GET", "/api/observability/logs", ""); len(listedIDs(r, "logs", "logId")) < 2 {
		t.Errorf("admin GET logs = %s; want every resource's", r.raw)
	}
}

func init() {
	isolationCases["DELETE /api/observability/scores"] = caseDeleteScores
	isolationCases["DELETE /api/observability/feedback"] = caseDeleteFeedback
	isolationCases["PATCH /api/observability/feedback/:feedbackId/review-status"] = caseReviewFeedback
}

// caseDeleteScores: B deleting A's score deletes nothing of hers.
func caseDeleteScores(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	for _, q := range e.probes() {
		wantStatus(t, e.b("DELETE", "/api/observability/scores?"+q, `{"scoreIds":["score-a"],"resourceId":"res-alice"}`), 200, "B deleting A's score")
	}
	if r := e.as(aliceToken, "GET", "/api/observability/scores/score-a", ""); r.body["score"] == nil {
		t.Errorf("A's score after B's delete = %s; want it kept", r.raw)
	}
	wantStatus(t, e.b("DELETE", "/api/observability/scores", `{}`), 400, "delete without scoreIds")
}

func caseDeleteFeedback(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	for _, q := range e.probes() {
		wantStatus(t, e.b("DELETE", "/api/observability/feedback?"+q, `{"feedbackIds":["fb-a"]}`), 200, "B deleting A's feedback")
	}
	if r := e.as(aliceToken, "GET", "/api/observability/feedback", ""); !slices.Contains(listedIDs(r, "feedback", "feedbackId"), "fb-a") {
		t.Errorf("A's feedback after B's delete = %s; want it kept", r.raw)
	}
}

// caseReviewFeedback: A's feedback is B's 404; A reviews her own.
func caseReviewFeedback(t *testing.T, e *isoEnv) {
	seedScores(t, e)
	for _, q := range e.probes() {
		r := e.b("PATCH", "/api/observability/feedback/fb-a/review-status?"+q, `{"reviewStatus":"reviewed"}`)
		wantStatus(t, r, 404, "B reviewing A's feedback")
	}
	r := e.as(aliceToken, "GET", "/api/observability/feedback?reviewStatus=reviewed", "")
	if ids := listedIDs(r, "feedback", "feedbackId"); len(ids) != 0 {
		t.Errorf("A's reviewed feedback after B's attempts = %v; want none", ids)
	}
	r = e.as(aliceToken, "PATCH", "/api/observability/feedback/fb-a/review-status", `{"reviewStatus":"reviewed"}`)
	if r.status != 200 || r.body["reviewStatus"] != "reviewed" || r.body["feedbackId"] != "fb-a" {
		t.Errorf("A reviewing hers = %d %s", r.status, r.raw)
	}
	e.as(aliceToken, "PATCH", "/api/observability/feedback/fb-a/review-status", `{"reviewStatus":"needs-review"}`)
	wantStatus(t, e.b("PATCH", "/api/observability/feedback/fb-b/review-status", `{"reviewStatus":"done"}`), 400, "a bad review status")
}

func init() {
	isolationCases["POST /api/observability/traces/score"] = caseScoreTraces
}

// isoScoreTrace is the suite's one scorer, "tone": it queues nothing.
func isoScoreTrace(id string, target *memory.Span) (bool, bool) {
	return id == "tone", false
}

// caseScoreTraces: B scoring A's trace scores nothing of hers (skipped,
// as a trace nobody has); an unknown scorer is 404; no targets is 400.
func caseScoreTraces(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	before := e.as(aliceToken, "GET", "/api/observability/scores", "").raw
	for _, q := range e.probes() {
		r := e.b("POST", "/api/observability/traces/score?"+q, `{"scorerName":"tone","targets":[{"traceId":"`+traceA+`"}]}`)
		if r.status != 200 || r.body["traceCount"] != 0.0 {
			t.Errorf("B scoring A's trace?%s = %d %s; want nothing scored", q, r.status, r.raw)
		}
	}
	if after := e.as(aliceToken, "GET", "/api/observability/scores", "").raw; after != before {
		t.Errorf("A's scores changed: %s → %s", before, after)
	}
	wantStatus(t, e.b("POST", "/api/observability/traces/score", `{"scorerName":"nobody","targets":[{"traceId":"`+traceB+`"}]}`), 404, "an unknown scorer")
	wantStatus(t, e.b("POST", "/api/observability/traces/score", `{"scorerName":"tone","targets":[]}`), 400, "scoring no targets")
}

func init() {
	isolationCases["GET /api/observability/discovery/metric-label-keys"] = caseNoTenantData("/api/observability/discovery/metric-label-keys?metricName=mastra_agent_duration_ms")
	isolationCases["GET /api/observability/discovery/metric-label-values"] = caseNoTenantData("/api/observability/discovery/metric-label-values?metricName=mastra_agent_duration_ms&labelKey=status")
	isolationCases["GET /api/observability/metrics"] = caseListMetrics
}

// caseListMetrics: B lists his metric events only.
func caseListMetrics(t *testing.T, e *isoEnv) {
	seedMetrics(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/metrics?name=mastra_agent_duration_ms&"+q, "")
		if ids := listedIDs(r, "metrics", "metricId"); r.status != 200 || !slices.Equal(ids, []string{"bob:d"}) {
			t.Errorf("B GET metrics?%s = %d %s; want his event only", q, r.status, r.raw)
		}
	}
}

func init() {
	isolationCases["GET /api/observability/branches"] = caseListBranches
}

// caseListBranches: B lists the branches of his traces only; a branch of
// A's trace is his 404.
func caseListBranches(t *testing.T, e *isoEnv) {
	seedTraces(t, e)
	for _, q := range e.probes() {
		r := e.b("GET", "/api/observability/branches?"+q, "")
		if ids := traceIDsOf(r, "branches"); r.status != 200 || !slices.Equal(ids, []string{traceB}) {
			t.Errorf("B GET branches?%s = %d %s; want his agent run only", q, r.status, r.raw)
		}
		r = e.b("GET", "/api/observability/traces/"+traceA+"/branches/"+traceA[:16]+"?"+q, "")
		wantStatus(t, r, 404, "B reading a branch of A's trace")
	}
	r := e.b("GET", "/api/observability/traces/"+traceB+"/branches/"+traceB[:16], "")
	if spans, _ := r.body["spans"].([]any); r.status != 200 || len(spans) != 2 {
		t.Errorf("B's branch = %d %s; want the run and its model call", r.status, r.raw)
	}
	r = e.b("GET", "/api/observability/traces/"+traceB+"/branches/"+traceB[:16]+"?depth=0", "")
	if spans, _ := r.body["spans"].([]any); len(spans) != 1 {
		t.Errorf("B's branch at depth 0 = %s; want the run alone", r.raw)
	}
}

func init() {
	isolationCases["GET /api/scores/scorer/:scorerId"] = caseScoresBy("/api/scores/scorer/tone")
	isolationCases["GET /api/scores/run/:runId"] = caseScoresBy("/api/scores/run/none")
	isolationCases["GET /api/scores/entity/:entityType/:entityId"] = caseScoresBy("/api/scores/entity/AGENT/bob-agent")
}

// caseScoresBy: B's listing holds none of A's scores.
func caseScoresBy(path string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		seedScores(t, e)
		for _, q := range e.probes() {
			r := e.b("GET", path+"?"+q, "")
			if ids := listedIDs(r, "scores", "id"); r.status != 200 || slices.Contains(ids, "score-a") {
				t.Errorf("B GET %s?%s = %d %s", path, q, r.status, r.raw)
			}
		}
		if r := e.as(aliceToken, "GET", "/api/scores/scorer/tone", ""); !slices.Equal(listedIDs(r, "scores", "id"), []string{"score-a"}) {
			t.Errorf("A GET her scorer's scores = %s", r.raw)
		}
	}
}
