package app

import (
	"context"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// serveWorkflows builds the app from toml (the two tokens of workflowTOML
// prepended) on a fresh SQLite database and returns alice's client.
func serveWorkflows(t *testing.T, toml string) wfClient {
	t.Helper()
	head, _, _ := strings.Cut(workflowTOML, "[workflows.publish]")
	a, ts := build(t, head+toml, "ALICE_TOKEN=a-token", "BOB_TOKEN=b-token")
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	return wfClient{t, ts.URL, "a-token"}
}

const nestedTOML = `
[workflows.review]
input_schema = '{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}'
[[workflows.review.steps]]
id = "check"
suspend = '{"text": input.text}'
resume_schema = '{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"}}}'
[[workflows.review.steps]]
id = "verdict"
map = '{"ok": steps.check.ok, "text": input.text}'

[workflows.outer]
[[workflows.outer.steps]]
id = "draft"
agent = "assistant"
prompt = "Draft ${input.topic}"
[[workflows.outer.steps]]
id = "review"
workflow = "review"
input = '{"text": steps.draft.text}'
[[workflows.outer.steps]]
id = "done"
map = 'steps.review'
`

// A nested workflow through Mastra's routes: the parent suspends on the
// path [review, check], resumes by that path (a list, as client-js sends
// it, or "review.check"), and answers the child's result.
func TestNestedWorkflowRoutes(t *testing.T) {
	alice := serveWorkflows(t, nestedTOML)
	details := alice.json("GET", "/api/workflows/outer", "", 200)
	if g := mustJSONs(details["stepGraph"]); !strings.Contains(g, `"component":"WORKFLOW"`) || !strings.Contains(g, `"serializedStepFlow":[{`) {
		t.Errorf("stepGraph = %s", g)
	}
	for _, step := range []string{`["review","check"]`, `"review.check"`} {
		res := alice.json("POST", "/api/workflows/outer/start-async", `{"inputData":{"topic":"owls"}}`, 200)
		if res["status"] != "suspended" || mustJSONs(res["suspended"]) != `[["review","check"]]` {
			t.Fatalf("start-async = %v", res)
		}
		steps := res["steps"].(map[string]any)
		meta := steps["review"].(map[string]any)["suspendPayload"].(map[string]any)["__workflow_meta"].(map[string]any)
		child := alice.json("GET", "/api/workflows/review/runs/"+meta["runId"].(string), "", 200)
		if child["status"] != "suspended" {
			t.Fatalf("child run = %v", child)
		}
		runID := res["runId"]
		if runID == nil {
			runs := alice.json("GET", "/api/workflows/outer/runs?perPage=1", "", 200)
			runID = runs["runs"].([]any)[0].(map[string]any)["runId"]
		}
		run := runID.(string)
		alice.json("POST", "/api/workflows/outer/resume-async?runId="+run, `{"step":["review","nope"],"resumeData":{"ok":true}}`, 400)
		alice.json("POST", "/api/workflows/review/resume-async?runId="+meta["runId"].(string), `{"resumeData":{"ok":true}}`, 409)
		done := alice.json("POST", "/api/workflows/outer/resume-async?runId="+run, `{"step":`+step+`,"resumeData":{"ok":true}}`, 200)
		if done["status"] != "success" || mustJSONs(done["result"]) != `{"ok":true,"text":"Echo: Draft owls"}` {
			t.Fatalf("resume-async with step %s = %v", step, done)
		}
	}
}

// Workflow state through the routes: initialState checked against
// state_schema (400 naming initialState), set_state by steps, the state in
// the WorkflowResult; a step's output_schema enforced.
func TestWorkflowStateRoutes(t *testing.T) {
	alice := serveWorkflows(t, `
[workflows.tally]
state_schema = '{"type":"object","required":["count"],"properties":{"count":{"type":"integer"}}}'
[[workflows.tally.steps]]
id = "inc"
map = "state.count + input.by"
set_state = '{"count": output}'
output_schema = '{"type":"integer","maximum":10}'
`)
	if d := alice.json("GET", "/api/workflows/tally", "", 200); !strings.HasPrefix(d["stateSchema"].(string), `{"json":{"type":"object"`) ||
		!strings.Contains(mustJSONs(d["steps"]), `"outputSchema":"{\"json\":{\"type\":\"integer\"`) {
		t.Errorf("details = %v", d)
	}
	bad := alice.json("POST", "/api/workflows/tally/start-async", `{"inputData":{"by":1},"initialState":{"count":"one"}}`, 400)
	if !strings.Contains(mustJSONs(bad), `"field":"initialState"`) {
		t.Errorf("bad initialState = %v", bad)
	}
	res := alice.json("POST", "/api/workflows/tally/start-async", `{"inputData":{"by":2},"initialState":{"count":3}}`, 200)
	if res["status"] != "success" || res["result"] != 5.0 || mustJSONs(res["state"]) != `{"count":5}` {
		t.Fatalf("start-async = %v", res)
	}
	res = alice.json("POST", "/api/workflows/tally/start-async", `{"inputData":{"by":20},"initialState":{"count":3}}`, 200)
	if res["status"] != "failed" || !strings.Contains(mustJSONs(res["error"]), "output does not match its output_schema") {
		t.Fatalf("over the output schema = %v", res)
	}
}

// A structured agent step (structured_output with output_schema) outputs
// the value the model answered, which the next step reads; a value that
// does not match fails the run with Mastra's message.
func TestStructuredAgentStep(t *testing.T) {
	fake := llmtest.NewServer(t, func(r llmtest.Request) llmtest.Reply {
		if strings.Contains(r.Last().Text(), "Atlantis") {
			return llmtest.Reply{Text: `{"city":"Atlantis","tempC":"wet"}`}
		}
		return llmtest.Reply{Text: `{"city":"Oslo","tempC":24}`}
	})
	alice := serveWorkflows(t, `
[providers.openai]
base_url = "`+fake.URL+`"
[agents.json]
model = "openai/gpt-test"
[workflows.weather]
[[workflows.weather.steps]]
id = "extract"
agent = "json"
prompt = "Weather in ${input.city} as JSON"
structured_output = true
output_schema = '{"type":"object","required":["city","tempC"],"properties":{"city":{"type":"string"},"tempC":{"type":"number"}}}'
[[workflows.weather.steps]]
id = "say"
map = 'steps.extract.city + " is " + string(steps.extract.tempC)'
`)
	res := alice.json("POST", "/api/workflows/weather/start-async", `{"inputData":{"city":"Oslo"}}`, 200)
	if res["status"] != "success" || res["result"] != "Oslo is 24" {
		t.Fatalf("start-async = %v", res)
	}
	if rf := fake.Requests()[0].ResponseFormat; rf == nil {
		t.Error("the agent step sent no response_format")
	}
	res = alice.json("POST", "/api/workflows/weather/start-async", `{"inputData":{"city":"Atlantis"}}`, 200)
	if res["status"] != "failed" || !strings.Contains(mustJSONs(res["error"]), "Structured output validation failed") {
		t.Fatalf("a value that does not match = %v", res)
	}
}
