package app

import (
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

const gateAgentTOML = `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "LIM_TOKEN"
user = "alice"
resource_id = "alice"
[[server.auth.tokens]]
env = "OTHER_TOKEN"
user = "bob"
resource_id = "bob"

[agents.boss]
model = "openai/boss"
workflows = ["gate"]

[workflows.gate]
input_schema = '{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}'
[[workflows.gate.steps]]
id = "ask"
suspend = '{"question": "publish " + input.text + "?"}'
resume_schema = '{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"}}}'
[[workflows.gate.steps]]
id = "done"
map = 'steps.ask.ok ? {"published": input.text} : {"published": false}'
`

// A workflow-<id> tool whose run suspends suspends the calling turn, as
// Mastra's: generate answers finishReason "suspended" with the run in the
// suspend payload and the suspended step's resume schema; resuming the
// turn with resumeData resumes that run (bad data is a 400 before
// anything runs, another tenant gets a 404), and the turn goes on with
// the run's result.
func TestWorkflowToolSuspendsTheTurn(t *testing.T) {
	fake := llmtest.NewServer(t, func(req llmtest.Request) llmtest.Reply {
		if last := req.Last(); last.Role == "tool" {
			return llmtest.Reply{Text: "boss: " + last.Text()}
		}
		return llmtest.Reply{Calls: []llmtest.Call{{ID: "g1", Name: "workflow-gate", Args: `{"inputData":{"text":"otters"}}`}}}
	})
	app := startBudgetApp(t, gateAgentTOML, "", fake)
	alice := wfClient{t, app.url, "lim-token"}
	bob := wfClient{t, app.url, "other-token"}

	g := alice.json("POST", "/api/agents/boss/generate", `{"messages":"publish","memory":{"thread":"gate-1","resource":"alice"}}`, 200)
	sp, _ := g["suspendPayload"].(map[string]any)
	inner, _ := sp["suspendPayload"].(map[string]any)
	run, _ := g["runId"].(string)
	if g["finishReason"] != "suspended" || sp["toolName"] != "workflow-gate" || inner["runId"] == nil ||
		!strings.Contains(g["resumeSchema"].(string), `"ok"`) {
		t.Fatalf("generate = %v; want the turn suspended on the workflow's run", g)
	}
	wfRun, _ := inner["runId"].(string)
	if r := alice.json("GET", "/api/workflows/gate/runs/"+wfRun, "", 200); r["status"] != "suspended" {
		t.Errorf("the workflow run is %v; want suspended", r["status"])
	}
	body := `{"runId":"` + run + `","toolCallId":"g1","resumeData":{"ok":"yes"}}`
	if status, b := alice.call("POST", "/api/agents/boss/resume-stream", body); status != 400 {
		t.Errorf("resume with data off the step's schema = %d %s; want 400", status, b)
	}
	body = `{"runId":"` + run + `","toolCallId":"g1","resumeData":{"ok":true}}`
	if status, b := bob.call("POST", "/api/agents/boss/resume-stream", body); status != 404 {
		t.Errorf("bob resumes alice's turn = %d %s; want 404", status, b)
	}
	status, b := alice.call("POST", "/api/agents/boss/resume-stream", body)
	s := string(b)
	if status != 200 || !strings.Contains(s, `"type":"tool-result"`) || !strings.Contains(s, `boss: {`) || !strings.Contains(s, `\"published\":\"otters\"`) {
		t.Fatalf("resume = %d %s; want the run's result and the turn's answer", status, s)
	}
	if r := alice.json("GET", "/api/workflows/gate/runs/"+wfRun, "", 200); r["status"] != "success" {
		t.Errorf("the workflow run is %v after the resume; want success", r["status"])
	}
}
