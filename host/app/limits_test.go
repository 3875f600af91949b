package app

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// budgetTOML: token "lim" (tenant-l) and token "other" (tenant-o) each
// have their own 20 model tokens a minute and there is no global limit;
// "ops" is an admin without limits. Each call of the fake model reports
// 12 tokens, so a token's second call spends its minute.
const budgetTOML = `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "LIM_TOKEN"
user = "lim"
resource_id = "tenant-l"
[server.auth.tokens.limits]
tokens_per_minute = 20
[[server.auth.tokens]]
env = "OTHER_TOKEN"
user = "other"
resource_id = "tenant-o"
[server.auth.tokens.limits]
tokens_per_minute = 20
[[server.auth.tokens]]
env = "OPS_TOKEN"
user = "ops"
admin = true

[agents.assistant]
model = "openai/fake"

[workflows.w]
[[workflows.w.steps]]
id = "draft"
agent = "assistant"
prompt = "hello"

[workflows.outer]
[[workflows.outer.steps]]
id = "inner"
workflow = "w"

[workflows.later]
[[workflows.later.steps]]
id = "hold"
suspend = '{}'
[[workflows.later.steps]]
id = "draft"
agent = "assistant"
prompt = "hello again"
`

// budgetApp is one instance of the app on toml, its model the fake, its
// database dbURL ("": a fresh SQLite file). close stops it (once).
type budgetApp struct {
	url   string
	close func()
}

func startBudgetApp(t *testing.T, toml, dbURL string, fake *llmtest.Server) budgetApp {
	t.Helper()
	env := []string{"OPENAI_BASE_URL=" + fake.URL, "OPENAI_API_KEY=sk-test", "LIM_TOKEN=lim-token", "OTHER_TOKEN=other-token", "OPS_TOKEN=ops-token"}
	if dbURL != "" {
		env = append(env, "MASTRA_MEMORY__DATABASE_URL="+dbURL)
	}
	a, ts := build(t, toml, env...)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ts.Close()
			a.Close(context.Background())
		})
	}
	t.Cleanup(stop)
	return budgetApp{url: ts.URL, close: stop}
}

// stopLimitsClock makes every limiter built during the test count in one
// minute.
func stopLimitsClock(t *testing.T) {
	now := time.Now()
	limitsClock = func() time.Time { return now }
	t.Cleanup(func() { limitsClock = time.Now })
}

// spend has token's generates spend its minute: the third is 429.
func spend(t *testing.T, base, token string) {
	t.Helper()
	c := wfClient{t, base, token}
	for i := range 2 {
		if status, b := c.call("POST", "/agent/generate", `{"message":"spend"}`); status != 200 {
			t.Fatalf("generate %d = %d %s; want 200", i+1, status, b)
		}
	}
	if status, b := c.call("POST", "/agent/generate", `{"message":"spend"}`); status != 429 || !strings.Contains(string(b), "20 model tokens per minute") {
		t.Fatalf("generate past the budget = %d %s; want 429", status, b)
	}
}

const overBudget = "limits: model tokens per minute over 20"

// A token's own tokens_per_minute binds the agent steps of the workflows
// it starts, as it binds its generates: once spent, a run's agent step
// (in a nested run too) fails with the limit's error and the model is not
// called, also when the step runs after a resume on another instance (the
// run keeps its starter's budget, whoever resumes it). Another token's
// budget is its own.
func TestTokenBudgetBindsWorkflowSteps(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			stopLimitsClock(t)
			fake := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Text: "drafted"} })
			url := ""
			if db == "postgres" {
				url = pgtest.NewDatabase(t)
			}
			a := startBudgetApp(t, budgetTOML, url, fake)
			b := a // the instance that resumes: another one on Postgres
			if db == "postgres" {
				b = startBudgetApp(t, budgetTOML, url, fake)
			}
			lim, other := wfClient{t, a.url, "lim-token"}, wfClient{t, a.url, "other-token"}

			held := lim.json("POST", "/api/workflows/later/start-async", `{"inputData":{}}`, 200)
			if held["status"] != "suspended" {
				t.Fatalf("later = %v; want suspended", held)
			}
			runID := lim.json("GET", "/api/workflows/later/runs", "", 200)["runs"].([]any)[0].(map[string]any)["runId"].(string)
			spend(t, a.url, "lim-token")
			calls := len(fake.Requests())

			run := lim.json("POST", "/api/workflows/w/start-async", `{"inputData":{}}`, 200)
			if run["status"] != "failed" || !strings.Contains(mustJSONs(run["error"]), overBudget) {
				t.Errorf("lim's run after its budget is spent = %v; want failed with %q", run, overBudget)
			}
			nested := lim.json("POST", "/api/workflows/outer/start-async", `{"inputData":{}}`, 200)
			if nested["status"] != "failed" || !strings.Contains(mustJSONs(nested["error"]), overBudget) {
				t.Errorf("lim's nested run after its budget is spent = %v; want failed with %q", nested, overBudget)
			}
			if db == "postgres" {
				a.close() // b runs what is left
			}
			ops := wfClient{t, b.url, "ops-token"}
			resumed := ops.json("POST", "/api/workflows/later/resume-async?runId="+runID, `{"step":"hold","resumeData":{}}`, 200)
			if resumed["status"] != "failed" || !strings.Contains(mustJSONs(resumed["error"]), overBudget) {
				t.Errorf("lim's run resumed by an admin = %v; want failed with %q", resumed, overBudget)
			}
			if n := len(fake.Requests()); n != calls {
				t.Errorf("the model got %d calls for lim's steps after its budget was spent; want none", n-calls)
			}

			other.url = b.url
			if run := other.json("POST", "/api/workflows/w/start-async", `{"inputData":{}}`, 200); run["status"] != "success" {
				t.Errorf("other's run = %v; want success: lim's budget is lim's", run)
			}
		})
	}
}

// A thread's title is a model call made for the token that ran the
// thread's first turn: it counts against that token's budget.
func TestTitleCountsAgainstTokenBudget(t *testing.T) {
	stopLimitsClock(t)
	fake := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Text: "Greetings"} })
	toml := strings.Replace(budgetTOML, `model = "openai/fake"`, "model = \"openai/fake\"\ngenerate_title = true", 1)
	lim := wfClient{t, startBudgetApp(t, toml, "", fake).url, "lim-token"}
	if status, b := lim.call("POST", "/agent/generate", `{"message":"hello","threadId":"t1"}`); status != 200 {
		t.Fatalf("first turn = %d %s; want 200", status, b)
	}
	for deadline := time.Now().Add(10 * time.Second); lim.json("GET", "/api/memory/threads/t1", "", 200)["title"] == ""; {
		if time.Now().After(deadline) {
			t.Fatal("the thread got no title")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// 12 tokens for the turn and 12 for its title: the minute's 20 are spent.
	if status, b := lim.call("POST", "/agent/generate", `{"message":"more"}`); status != 429 || !strings.Contains(string(b), "20 model tokens per minute") {
		t.Errorf("generate after a turn and its title = %d %s; want 429", status, b)
	}
}

// A Wasm tool's agent call (mastra.agent_generate) in a workflow's tool
// step is made for the token that started the run: once its budget is
// spent, the call is refused with the limit's error and the model is not
// called.
func TestPluginAgentCallCountsAgainstTokenBudget(t *testing.T) {
	stopLimitsClock(t)
	fake := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Text: "answered"} })
	base := startBudgetApp(t, budgetTOML+`
[[tools]]
name = "ask"
module = `+wasm(t, "ask")+`
agents = ["assistant"]

[workflows.asks]
[[workflows.asks.steps]]
id = "ask"
tool = "ask"
`, "", fake).url
	spend(t, base, "lim-token")
	calls := len(fake.Requests())
	run := wfClient{t, base, "lim-token"}.json("POST", "/api/workflows/asks/start-async", `{"inputData":{}}`, 200)
	if !strings.Contains(mustJSONs(run["result"]), overBudget) {
		t.Errorf("lim's tool step after its budget is spent = %v; want the agent call refused with %q", run, overBudget)
	}
	if n := len(fake.Requests()); n != calls {
		t.Errorf("the model got %d calls from lim's plugin after its budget was spent; want none", n-calls)
	}
}
