package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, to lock a table
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

const obsTOML = `
[server.metrics]
enabled = true
[observability]
enabled = true
capture_content = true
flush_interval = "20ms"
queue_size = %QUEUE%
batch_size = %BATCH%
[agents.assistant]
name = "Assistant"
instructions = "Be brief."
model = "echo"
`

func obsConfig(queue, batch int) string {
	return strings.NewReplacer("%QUEUE%", strconv.Itoa(queue), "%BATCH%", strconv.Itoa(batch)).Replace(obsTOML)
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func generate(t *testing.T, base, msg string) map[string]any {
	t.Helper()
	resp, err := http.Post(base+"/api/agents/assistant/generate", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"`+msg+`"}],"memory":{"thread":"t-obs","resource":"res-obs"}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("generate = %d %s", resp.StatusCode, b)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// A turn through generate is stored as a trace, readable through Mastra's
// routes: listed (and queried as Studio does) with its agent as entity,
// and read whole with its model span under the agent's, with the captured
// input and output.
func TestGenerateStoresTrace(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var env []string
			if db == "postgres" {
				env = append(env, "MASTRA_MEMORY__DATABASE_URL="+pgtest.NewDatabase(t))
			}
			a, ts := build(t, obsConfig(100, 50), env...)
			t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
			generate(t, ts.URL, "hello traces")

			var roots []any
			for deadline := time.Now().Add(10 * time.Second); len(roots) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				_, body := getJSON(t, ts.URL+"/api/observability/traces?entityType=agent")
				roots, _ = body["spans"].([]any)
			}
			if len(roots) != 1 {
				t.Fatalf("listed traces = %v; want the turn's", roots)
			}
			root := roots[0].(map[string]any)
			if root["spanType"] != "agent_run" || root["entityId"] != "assistant" || root["name"] != "agent run: 'assistant'" ||
				root["resourceId"] != "res-obs" || root["threadId"] != "t-obs" || root["status"] != "success" {
				t.Errorf("root = %v", root)
			}
			traceID := root["traceId"].(string)

			resp, err := http.Post(ts.URL+"/api/observability/traces/query", "application/json",
				strings.NewReader(`{"timeRange":{"from":"2020-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z"},"page":{"limit":25}}`))
			if err != nil {
				t.Fatal(err)
			}
			var q struct {
				Traces []map[string]any
				Page   map[string]any
			}
			_ = json.NewDecoder(resp.Body).Decode(&q)
			resp.Body.Close()
			if len(q.Traces) != 1 || q.Traces[0]["traceId"] != traceID || q.Traces[0]["entityName"] != "Assistant" ||
				q.Traces[0]["inputPreview"] != "hello traces" || q.Page == nil {
				t.Errorf("traces/query = %+v", q)
			}

			// The model span ends before the turn's, so it is written in
			// the same or an earlier batch.
			status, tr := getJSON(t, ts.URL+"/api/observability/traces/"+traceID)
			spans, _ := tr["spans"].([]any)
			if status != 200 || len(spans) != 2 {
				t.Fatalf("trace = %d %v; want the agent and model spans", status, tr)
			}
			byType := map[string]map[string]any{}
			for _, s := range spans {
				m := s.(map[string]any)
				byType[m["spanType"].(string)] = m
			}
			agentSpan, model := byType["agent_run"], byType["model_generation"]
			if agentSpan == nil || model == nil || model["parentSpanId"] != agentSpan["spanId"] || model["resourceId"] != "res-obs" {
				t.Fatalf("spans = %v", spans)
			}
			if out, _ := agentSpan["output"].(map[string]any); !strings.Contains(out["text"].(string), "hello traces") {
				t.Errorf("agent output = %v; want the echo of the message", agentSpan["output"])
			}
			if attrs, _ := model["attributes"].(map[string]any); attrs["provider"] != "echo" || attrs["usage"] == nil {
				t.Errorf("model attributes = %v", model["attributes"])
			}
			status, sp := getJSON(t, ts.URL+"/api/observability/traces/"+traceID+"/spans/"+model["spanId"].(string))
			if span, _ := sp["span"].(map[string]any); status != 200 || span["name"] != model["name"] {
				t.Errorf("span = %d %v", status, sp)
			}
			if status, _ := getJSON(t, ts.URL+"/api/observability/traces/ffffffffffffffffffffffffffffffff"); status != 404 {
				t.Errorf("missing trace = %d; want 404", status)
			}

			// The turn's metrics, derived from its spans, and what Studio
			// checks before showing its Metrics page.
			// They are written right after the spans' statement.
			var agg map[string]any
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				resp, err = http.Post(ts.URL+"/api/observability/metrics/aggregate", "application/json",
					strings.NewReader(`{"name":["mastra_model_total_output_tokens"],"aggregation":"sum"}`))
				if err != nil {
					t.Fatal(err)
				}
				agg = nil
				_ = json.NewDecoder(resp.Body).Decode(&agg)
				resp.Body.Close()
				if v, _ := agg["value"].(float64); v > 0 {
					break
				}
			}
			if v, _ := agg["value"].(float64); v <= 0 {
				t.Errorf("output tokens = %v; want the turn's", agg)
			}
			_, pk := getJSON(t, ts.URL+"/api/system/packages")
			if caps, _ := pk["observabilityStorageCapabilities"].(map[string]any); pk["observabilityEnabled"] != true || caps["metrics"] != true {
				t.Errorf("system packages = %v; want observability with metrics", pk)
			}
		})
	}
}

// A full queue drops spans and counts them; the turns do not wait for the
// database. The spans table is locked, so the writer hangs on its first
// batch: the queue of 2 fills, every later span is dropped, and every
// turn still answers.
func TestFullSpanQueueDropsAndTurnsSucceed(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, ts := build(t, obsConfig(2, 1), "MASTRA_MEMORY__DATABASE_URL="+url)
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `LOCK TABLE mastra_ai_spans IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if out := generate(t, ts.URL, "turn "+strconv.Itoa(i)); out["text"] == "" {
			t.Fatalf("turn %d = %v", i, out)
		}
	}
	// 10 spans: one in the writer's hands, 2 queued, 7 dropped.
	if got := scrape(t, ts.URL, "mastra_observability_spans_dropped_total"); got < 7 {
		t.Errorf("dropped = %v; want at least 7 of the 10 spans", got)
	}
	_ = tx.Rollback()
	// Once the table is free, what was kept is written.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if scrape(t, ts.URL, "mastra_observability_spans_written_total") >= 3 {
			return
		}
	}
	t.Errorf("written = %v after the lock; want the 3 kept spans", scrape(t, ts.URL, "mastra_observability_spans_written_total"))
}

// scrape reads one counter from /metrics.
func scrape(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("/metrics has no %s:\n%s", name, b)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// Scorers grade each reply after the turn; their scores are stored with
// the turn's trace and listed by Mastra's routes, and the scorers by
// GET /api/scores/scorers.
func TestScorersGradeReplies(t *testing.T) {
	toml := obsConfig(100, 50) + `scorers = ["says-hello", "is-json", "never"]

[scorers.says-hello]
kind = "contains"
text = "hello"

[scorers.is-json]
name = "Replies in JSON"
kind = "json_schema"
schema = '{"type":"object","required":["answer"]}'

[scorers.never]
kind = "regex"
pattern = "^x"
sampling_rate = 0.0
`
	a, ts := build(t, toml)
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	generate(t, ts.URL, "hello scorers")

	var scores []any
	for deadline := time.Now().Add(10 * time.Second); len(scores) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body := getJSON(t, ts.URL+"/api/observability/scores?entityType=agent")
		scores, _ = body["scores"].([]any)
	}
	got := map[string]float64{}
	var traceID string
	for _, s := range scores {
		m := s.(map[string]any)
		got[m["scorerId"].(string)] = m["score"].(float64)
		traceID, _ = m["traceId"].(string)
		if m["resourceId"] != "res-obs" || m["reason"] == "" || m["scoreSource"] != "live" {
			t.Errorf("score = %v", m)
		}
	}
	if len(got) != 2 || got["says-hello"] != 1 || got["is-json"] != 0 {
		t.Errorf("scores = %v; want says-hello 1, is-json 0, never sampled out", got)
	}
	// The score belongs to the turn's trace.
	if status, _ := getJSON(t, ts.URL+"/api/observability/traces/"+traceID); status != 200 {
		t.Errorf("the scored trace %q = %d", traceID, status)
	}
	// A stored trace graded on request, as Studio's "score" button does.
	resp, err := http.Post(ts.URL+"/api/observability/traces/score", "application/json",
		strings.NewReader(`{"scorerName":"Replies in JSON","targets":[{"traceId":"`+traceID+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var sr map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&sr)
	resp.Body.Close()
	if resp.StatusCode != 200 || sr["traceCount"] != 1.0 {
		t.Errorf("traces/score = %d %v", resp.StatusCode, sr)
	}
	// Graded off the request, as Mastra's is: poll.
	if s := scoresOf(t, ts.URL+"/api/observability/scores?scoreSource=trace", 1); len(s) != 1 || s[0]["scorerId"] != "is-json" {
		t.Errorf("trace scores = %v", s)
	}
	resp, _ = http.Post(ts.URL+"/api/observability/traces/score", "application/json",
		strings.NewReader(`{"scorerName":"nobody","targets":[{"traceId":"`+traceID+`"}]}`))
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("an unknown scorer = %d; want 404", resp.StatusCode)
	}
	_, list := getJSON(t, ts.URL+"/api/scores/scorers")
	e, _ := list["is-json"].(map[string]any)
	cfg, _ := e["scorer"].(map[string]any)["config"].(map[string]any)
	if len(list) != 3 || cfg["name"] != "Replies in JSON" || e["agentIds"].([]any)[0] != "assistant" {
		t.Errorf("scorers = %v", list)
	}
}

// A workflow run is a trace of its tenant's: a workflow_run root over its
// steps, an agent step's turn under its step; another tenant sees none of
// it.
func TestWorkflowRunTrace(t *testing.T) {
	a, ts := build(t, workflowTOML+"\n[observability]\nflush_interval = \"20ms\"\n", "ALICE_TOKEN=alice-token", "BOB_TOKEN=bob-token")
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	alice, bob := wfClient{t, ts.URL, "alice-token"}, wfClient{t, ts.URL, "bob-token"}
	if res := alice.json("POST", "/api/workflows/publish/start-async", `{"inputData":{"topic":"otters"}}`, 200); res["status"] != "suspended" {
		t.Fatalf("start = %v; want suspended at approve", res)
	}
	var roots []any
	for deadline := time.Now().Add(10 * time.Second); len(roots) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		roots, _ = alice.json("GET", "/api/observability/traces?entityType=workflow_run", "", 200)["spans"].([]any)
	}
	if len(roots) != 1 {
		t.Fatalf("alice's workflow traces = %v", roots)
	}
	root := roots[0].(map[string]any)
	if root["name"] != "workflow run: 'publish'" || root["resourceId"] != "alice" {
		t.Errorf("root = %v", root)
	}
	traceID := root["traceId"].(string)
	var spans []any
	types := map[string]map[string]any{}
	for deadline := time.Now().Add(10 * time.Second); types["agent_run"] == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		spans, _ = alice.json("GET", "/api/observability/traces/"+traceID, "", 200)["spans"].([]any)
		for _, s := range spans {
			m := s.(map[string]any)
			types[m["spanType"].(string)+":"+m["name"].(string)] = m
			types[m["spanType"].(string)] = m
		}
	}
	step, turn := types["workflow_step:draft"], types["agent_run"]
	if step == nil || turn == nil || step["parentSpanId"] != root["spanId"] || turn["parentSpanId"] != step["spanId"] {
		t.Fatalf("spans = %v; want draft under the run and the agent's turn under draft", spans)
	}
	if got, _ := bob.json("GET", "/api/observability/traces", "", 200)["spans"].([]any); len(got) != 0 {
		t.Errorf("bob lists %v", got)
	}
	if status, _ := bob.call("GET", "/api/observability/traces/"+traceID, ""); status != 404 {
		t.Errorf("bob reads alice's workflow trace: %d", status)
	}
}
