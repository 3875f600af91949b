package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// scoresOf polls the scores of a listing until there are want of them.
func scoresOf(t *testing.T, url string, want int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body := getJSON(t, url)
		list, _ := body["scores"].([]any)
		out = out[:0]
		for _, s := range list {
			out = append(out, s.(map[string]any))
		}
		if len(out) >= want {
			break
		}
	}
	return out
}

// An LLM-judged scorer asks its judge model (a provider of the registry,
// here the fake OpenAI server) for {score, reason} by a strict json_schema
// response_format, with the rubric, the user's message and the reply, and
// stores what it answers with the judge and its tokens. A judge that
// fails is a failed score; the turn is unaffected either way.
func TestLLMJudgedScorer(t *testing.T) {
	judge := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: `{"score":0.75,"reason":"polite but terse"}`,
		Usage: &llmtest.Usage{PromptTokens: 120, CompletionTokens: 15, TotalTokens: 135}}))
	broken := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Status: 500} })
	toml := "[providers.judge]\nkind = \"openai\"\nbase_url = \"" + judge.URL + "\"\napi_key = \"sk-j\"\nmax_retries = 0\n" +
		"[providers.broken]\nkind = \"openai\"\nbase_url = \"" + broken.URL + "\"\napi_key = \"sk-b\"\nmax_retries = 0\n" +
		obsConfig(100, 50) + `scorers = ["polite", "down"]

[scorers.polite]
kind = "llm"
model = "judge/grader-1"
prompt = "Is the reply to {{input}} polite? Reply: {{output}}"

[scorers.down]
kind = "llm"
model = "broken/grader-2"
prompt = "Is it polite?"
`
	a, ts := build(t, toml)
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	out := generate(t, ts.URL, "hello judge") // 200, or generate fails the test
	if text, _ := out["text"].(string); !strings.Contains(text, "hello judge") {
		t.Fatalf("turn = %v", out)
	}
	scores := scoresOf(t, ts.URL+"/api/observability/scores?entityType=agent", 2)
	if len(scores) != 2 {
		t.Fatalf("scores = %v; want the judged one and the failed one", scores)
	}
	byID := map[string]map[string]any{}
	for _, s := range scores {
		byID[s["scorerId"].(string)] = s
	}
	ok, failed := byID["polite"], byID["down"]
	meta, _ := ok["metadata"].(map[string]any)
	usage, _ := meta["usage"].(map[string]any)
	if ok["score"] != 0.75 || ok["reason"] != "polite but terse" || ok["resourceId"] != "res-obs" || meta["judge"] != "judge/grader-1" ||
		usage["inputTokens"] != 120.0 || usage["outputTokens"] != 15.0 {
		t.Errorf("judged score = %v", ok)
	}
	fmeta, _ := failed["metadata"].(map[string]any)
	if failed["score"] != 0.0 || fmeta["status"] != "failed" || !strings.Contains(failed["reason"].(string), "judge broken/grader-2") {
		t.Errorf("failed score = %v", failed)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "\nmastra_scores_judge_failed_total 1\n") || !strings.Contains(string(m), "\nmastra_scores_stored_total 2\n") {
		t.Errorf("metrics lack judge_failed 1 and stored 2:\n%s", grepLines(string(m), "mastra_scores_"))
	}
	reqs := judge.Requests()
	if len(reqs) != 1 {
		t.Fatalf("judge requests = %d", len(reqs))
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Strict bool           `json:"strict"`
			Schema map[string]any `json:"schema"`
		} `json:"json_schema"`
	}
	_ = json.Unmarshal(reqs[0].ResponseFormat, &rf)
	if reqs[0].Model != "grader-1" || rf.Type != "json_schema" || !rf.JSONSchema.Strict || rf.JSONSchema.Schema["required"] == nil {
		t.Errorf("judge request: model %q, response_format %s", reqs[0].Model, reqs[0].ResponseFormat)
	}
	if u := reqs[0].Last().Text(); !strings.Contains(u, "Is the reply to hello judge polite?") || !strings.Contains(u, "Reply: ") {
		t.Errorf("judge prompt = %q", u)
	}
	// The listing says which scorers are judges.
	_, list := getJSON(t, ts.URL+"/api/scores/scorers")
	cfg, _ := list["polite"].(map[string]any)["scorer"].(map[string]any)["config"].(map[string]any)
	if cfg["type"] != "llm" || cfg["judge"].(map[string]any)["model"] != "judge/grader-1" {
		t.Errorf("scorers = %v", list)
	}
}

// A scorer naming a workflow grades each successful run's result, stored
// under the run's trace (its workflow_run span) and resource, and the
// run's duration is a metric; another tenant sees none of it.
func TestWorkflowScorer(t *testing.T) {
	toml := workflowTOML + `
[observability]
enabled = true
flush_interval = "20ms"

[scorers.published]
kind = "contains"
text = '"published":true'
workflows = ["publish"]
`
	a, ts := build(t, toml, "ALICE_TOKEN=alice-token", "BOB_TOKEN=bob-token")
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	alice, bob := wfClient{t, ts.URL, "alice-token"}, wfClient{t, ts.URL, "bob-token"}
	start := alice.json("POST", "/api/workflows/publish/start-async", `{"inputData":{"topic":"otters"}}`, 200)
	runID, _ := start["runId"].(string)
	if runID == "" {
		// start-async answers the run's state; the run id is in the list.
		runs := alice.json("GET", "/api/workflows/publish/runs", "", 200)["runs"].([]any)
		runID = runs[0].(map[string]any)["runId"].(string)
	}
	res := alice.json("POST", "/api/workflows/publish/resume-async?runId="+runID, `{"step":"approve","resumeData":{"approved":true}}`, 200)
	if res["status"] != "success" {
		t.Fatalf("resume = %v", res)
	}
	var scores []any
	for deadline := time.Now().Add(15 * time.Second); len(scores) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		scores, _ = alice.json("GET", "/api/observability/scores?scorerId=published", "", 200)["scores"].([]any)
	}
	if len(scores) != 1 {
		t.Fatalf("alice's workflow scores = %v", scores)
	}
	s := scores[0].(map[string]any)
	if s["score"] != 1.0 || s["entityType"] != "workflow_run" || s["entityId"] != "publish" || s["runId"] != runID || s["resourceId"] != "alice" {
		t.Errorf("score = %v", s)
	}
	traces, _ := alice.json("GET", "/api/observability/traces?entityType=workflow_run", "", 200)["spans"].([]any)
	if len(traces) != 1 || traces[0].(map[string]any)["traceId"] != s["traceId"] {
		t.Errorf("score's trace %v; runs' traces %v", s["traceId"], traces)
	}
	if got, _ := bob.json("GET", "/api/observability/scores", "", 200)["scores"].([]any); len(got) != 0 {
		t.Errorf("bob lists %v", got)
	}
	// The run's duration is Mastra's mastra_workflow_duration_ms, once per
	// run (its steps are not runs), the run's resource's only.
	agg := `{"name":["mastra_workflow_duration_ms"],"aggregation":"count","filters":{"entityName":"publish"}}`
	var n any
	for deadline := time.Now().Add(10 * time.Second); n != 1.0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n = alice.json("POST", "/api/observability/metrics/aggregate", agg, 200)["value"]
	}
	if n != 1.0 {
		t.Errorf("alice's workflow durations = %v; want 1", n)
	}
	if v := bob.json("POST", "/api/observability/metrics/aggregate", agg, 200)["value"]; v != nil && v != 0.0 {
		t.Errorf("bob counts alice's run: %v", v)
	}
}

// A judge's tokens count against the budget of the resource whose reply
// it graded: with 100 tokens a minute, one turn on the echo model (a few
// tokens) then a judge spending 135 leave none for the next turn.
func TestJudgeTokensCountAgainstBudget(t *testing.T) {
	stopLimitsClock(t)
	judge := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: `{"score":1,"reason":"fine"}`,
		Usage: &llmtest.Usage{PromptTokens: 120, CompletionTokens: 15, TotalTokens: 135}}))
	toml := "[server.limits]\ntokens_per_minute = 100\n" +
		"[providers.judge]\nkind = \"openai\"\nbase_url = \"" + judge.URL + "\"\napi_key = \"sk-j\"\nmax_retries = 0\n" +
		obsConfig(100, 50) + `scorers = ["polite"]

[scorers.polite]
kind = "llm"
model = "judge/grader-1"
prompt = "Is it polite?"
`
	a, ts := build(t, toml)
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	generate(t, ts.URL, "hello budget")
	if s := scoresOf(t, ts.URL+"/api/observability/scores?scorerId=polite", 1); len(s) != 1 {
		t.Fatalf("scores = %v", s)
	}
	resp, err := http.Post(ts.URL+"/api/agents/assistant/generate", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"again"}],"memory":{"thread":"t-obs","resource":"res-obs"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || !strings.Contains(string(b), "tokens per minute") {
		t.Errorf("the turn after the judge = %d %s; want 429: the judge's tokens are the resource's", resp.StatusCode, b)
	}
}

// On Postgres a turn's scores are graded by River jobs (queue
// mastra_scores): the score is there and the job that wrote it is
// completed in river_job.
func TestScorersRunAsRiverJobsOnPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	toml := obsConfig(100, 50) + `scorers = ["says-hello"]

[scorers.says-hello]
kind = "contains"
text = "hello"
`
	a, ts := build(t, toml, "MASTRA_MEMORY__DATABASE_URL="+url)
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	generate(t, ts.URL, "hello river")
	s := scoresOf(t, ts.URL+"/api/observability/scores?scorerId=says-hello", 1)
	if len(s) != 1 || s[0]["score"] != 1.0 {
		t.Fatalf("scores = %v", s)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var state, traceID string
	for deadline := time.Now().Add(10 * time.Second); state != "completed" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_ = db.QueryRow(`SELECT state, args->>'traceId' FROM river_job WHERE queue = 'mastra_scores' AND kind = 'mastra_score'`).Scan(&state, &traceID)
	}
	if state != "completed" || traceID != s[0]["traceId"] {
		t.Errorf("score job: state %q, trace %q; want completed for the score's trace %v", state, traceID, s[0]["traceId"])
	}
}

// A judge is never on the turn's path: with the judge holding its answer,
// three turns answer 200 while the judge has been asked and not yet
// answered; the scores come once it answers.
func TestJudgeIsOffTheTurn(t *testing.T) {
	release := make(chan struct{})
	judge := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply {
		<-release
		return llmtest.Reply{Text: `{"score":1,"reason":"fine"}`}
	})
	toml := "[providers.judge]\nkind = \"openai\"\nbase_url = \"" + judge.URL + "\"\napi_key = \"sk-j\"\nmax_retries = 0\ntimeout = \"60s\"\n" +
		obsConfig(100, 50) + `scorers = ["slow"]

[scorers.slow]
kind = "llm"
model = "judge/grader-1"
prompt = "Is it polite?"
`
	a, ts := build(t, toml)
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	for i := range 3 {
		generate(t, ts.URL, "turn "+strings.Repeat("x", i))
	}
	for deadline := time.Now().Add(10 * time.Second); len(judge.Requests()) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if len(judge.Requests()) == 0 {
		t.Fatal("the judge was never asked")
	}
	if _, body := getJSON(t, ts.URL+"/api/observability/scores?scorerId=slow"); len(body["scores"].([]any)) != 0 {
		t.Fatalf("scores before the judge answered: %v", body)
	}
	close(release)
	if s := scoresOf(t, ts.URL+"/api/observability/scores?scorerId=slow", 3); len(s) != 3 {
		t.Errorf("scores after the judge answered = %d; want 3", len(s))
	}
}

// With a token's own budget (its limits replace the global ones), the
// judge's tokens count against that token's principal too: they are
// carried in the job and charged as the turn's model calls are.
func TestJudgeTokensCountAgainstTheTokensBudget(t *testing.T) {
	stopLimitsClock(t)
	judge := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Text: `{"score":1,"reason":"fine"}`, Usage: &llmtest.Usage{PromptTokens: 120, CompletionTokens: 15, TotalTokens: 135}}
	})
	toml := `[server.auth]
enabled = true
[[server.auth.tokens]]
env = "LIM_TOKEN"
user = "lim"
resource_id = "tenant-l"
[server.auth.tokens.limits]
tokens_per_minute = 100
[[server.auth.tokens]]
env = "FREE_TOKEN"
user = "free"
resource_id = "tenant-f"
` + "[providers.judge]\nkind = \"openai\"\nbase_url = \"" + judge.URL + "\"\napi_key = \"sk-j\"\nmax_retries = 0\n" +
		obsConfig(100, 50) + `scorers = ["polite"]

[scorers.polite]
kind = "llm"
model = "judge/grader-1"
prompt = "Is it polite?"
`
	a, ts := build(t, toml, "LIM_TOKEN=lim-token", "FREE_TOKEN=free-token")
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	lim, free := wfClient{t, ts.URL, "lim-token"}, wfClient{t, ts.URL, "free-token"}
	body := `{"messages":[{"role":"user","content":"hi"}]}`
	if status, b := lim.call("POST", "/api/agents/assistant/generate", body); status != 200 {
		t.Fatalf("first turn = %d %s", status, b)
	}
	if status, b := free.call("POST", "/api/agents/assistant/generate", body); status != 200 {
		t.Fatalf("free's turn = %d %s", status, b)
	}
	for deadline := time.Now().Add(15 * time.Second); len(judge.Requests()) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s, _ := lim.json("GET", "/api/observability/scores?scorerId=polite", "", 200)["scores"].([]any)
		if len(s) == 1 {
			break
		}
	}
	if status, b := lim.call("POST", "/api/agents/assistant/generate", body); status != 429 || !strings.Contains(string(b), "tokens per minute") {
		t.Errorf("lim's turn after the judge = %d %s; want 429", status, b)
	}
	if status, b := free.call("POST", "/api/agents/assistant/generate", body); status != 200 {
		t.Errorf("free's turn = %d %s; want 200 (no budget of its own)", status, b)
	}
}

// Rules on the turn itself: whether a tool was called (and its negation),
// how long the turn took and how many tokens it used, graded from the
// turn's tool-call chunks, span and usage: a turn that calls zeta once
// and then answers uses two model calls of 12 tokens each (the fake
// model's default usage).
func TestTurnRuleScorers(t *testing.T) {
	fake := llmtest.NewServer(t, func(req llmtest.Request) llmtest.Reply {
		if req.Last().Role == "tool" {
			return llmtest.Reply{Text: "counted"}
		}
		return llmtest.Reply{Calls: []llmtest.Call{{ID: "z1", Name: "zeta", Args: `{}`}}}
	})
	c := wasm(t, "counter")
	toml := strings.Replace(obsConfig(100, 50), `model = "echo"`, `model = "openai/fake"
tools = ["zeta"]
scorers = ["used", "not-used", "other-used", "fast", "lean", "too-lean"]`, 1) + `
[[tools]]
name = "zeta"
description = "counts"
module = ` + c + `

[scorers.used]
kind = "tool_called"
tool = "zeta"

[scorers.not-used]
kind = "tool_called"
tool = "zeta"
negate = true

[scorers.other-used]
kind = "tool_called"
tool = "omega"

[scorers.fast]
kind = "latency"
max_ms = 600000

[scorers.lean]
kind = "tokens"
max_tokens = 24

[scorers.too-lean]
kind = "tokens"
max_tokens = 23
`
	a, ts := build(t, toml, "OPENAI_BASE_URL="+fake.URL, "OPENAI_API_KEY=sk-test")
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })
	if out := generate(t, ts.URL, "count please"); out["text"] != "counted" {
		t.Fatalf("turn = %v", out)
	}
	scores := scoresOf(t, ts.URL+"/api/observability/scores?entityType=agent", 6)
	got := map[string]map[string]any{}
	for _, s := range scores {
		got[s["scorerId"].(string)] = s
	}
	for id, want := range map[string]struct {
		score  float64
		reason string
	}{
		"used": {1, "the turn called zeta 1 time(s)"}, "not-used": {0, "the turn called zeta 1 time(s)"},
		"other-used": {0, "the turn did not call omega"}, "lean": {1, "it used 24 tokens, within 24"},
		"too-lean": {0, "it used 24 tokens, over 23"}, "fast": {1, " ms, within 600000 ms"},
	} {
		s := got[id]
		if s == nil || s["score"] != want.score || !strings.Contains(s["reason"].(string), want.reason) {
			t.Errorf("score %s = %v; want %v with %q", id, s, want.score, want.reason)
		}
	}
	// The latency graded is the agent span's duration.
	if s := got["fast"]; s != nil {
		// The agent span is stored at the turn's end, in a later batch than
		// its children may be: wait for it, not for a count.
		var spans []any
		hasRun := func() bool {
			for _, x := range spans {
				if x.(map[string]any)["spanType"] == "agent_run" {
					return true
				}
			}
			return false
		}
		for deadline := time.Now().Add(10 * time.Second); !hasRun() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			_, tr := getJSON(t, ts.URL+"/api/observability/traces/"+s["traceId"].(string))
			spans, _ = tr["spans"].([]any)
		}
		found := false
		for _, x := range spans {
			sp := x.(map[string]any)
			if sp["spanType"] != "agent_run" {
				continue
			}
			found = true
			st, _ := time.Parse(time.RFC3339Nano, sp["startedAt"].(string))
			en, _ := time.Parse(time.RFC3339Nano, sp["endedAt"].(string))
			// Stored times are in milliseconds: the two ends' rounding is
			// a millisecond at most.
			var ms int64
			if _, err := fmt.Sscanf(s["reason"].(string), "it took %d ms", &ms); err != nil || ms < en.Sub(st).Milliseconds()-1 || ms > en.Sub(st).Milliseconds()+1 {
				t.Errorf("latency reason %q; the agent span took %v", s["reason"], en.Sub(st))
			}
		}
		if !found {
			t.Errorf("trace %v has no agent_run span", spans)
		}
	}
}
