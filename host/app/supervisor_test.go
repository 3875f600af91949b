package app

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// supervisorTOML: tokens "lim" (tenant-l) and "other" (tenant-o) with 40
// model tokens a minute each; the default agent boss delegates to
// researcher. Each model call reports 12 tokens.
const supervisorTOML = `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "LIM_TOKEN"
user = "lim"
resource_id = "tenant-l"
[server.auth.tokens.limits]
tokens_per_minute = 40
[[server.auth.tokens]]
env = "OTHER_TOKEN"
user = "other"
resource_id = "tenant-o"
[server.auth.tokens.limits]
tokens_per_minute = 40

[agents.boss]
default = true
model = "openai/boss"
agents = ["researcher"]

[agents.researcher]
model = "openai/res"
instructions = "Research."
`

// bossScript: boss delegates "find <message>" and then says what the tool
// answered; researcher answers "found: <prompt>".
func bossScript(req llmtest.Request) llmtest.Reply {
	last := req.Last()
	switch {
	case req.Model == "res":
		return llmtest.Reply{Text: "found: " + last.Text()}
	case last.Role == "tool":
		return llmtest.Reply{Text: "boss: " + last.Text()}
	}
	return llmtest.Reply{Calls: []llmtest.Call{{ID: "c1", Name: "agent-researcher", Args: `{"prompt":"find ` + last.Text() + `","resourceId":"tenant-o"}`}}}
}

// A delegation spends its caller's budget (the sub-agent's model tokens
// count against the token that asked) and runs for the caller's resource:
// the model naming another tenant's resource reaches nothing of it, and
// each tenant's sub-agent sees only that tenant's conversation.
func TestSupervisorDelegatesWithinTheCallersBudget(t *testing.T) {
	stopLimitsClock(t)
	fake := llmtest.NewServer(t, bossScript)
	app := startBudgetApp(t, supervisorTOML, "", fake)
	lim := wfClient{t, app.url, "lim-token"}
	other := wfClient{t, app.url, "other-token"}

	got := lim.json("POST", "/agent/generate", `{"message":"apples"}`, 200)
	if got["text"] != "boss: found: find apples" {
		t.Errorf("generate = %v; want the researcher's answer relayed", got["text"])
	}
	// 36 tokens spent (boss twice, researcher once): this turn is admitted,
	// its delegation is not (48 of 40), and the model is told why.
	got = lim.json("POST", "/agent/generate", `{"message":"pears"}`, 200)
	if text, _ := got["text"].(string); !strings.Contains(text, "model tokens per minute") {
		t.Errorf("generate past the budget = %v; want the delegation refused by the caller's budget", got["text"])
	}
	got = other.json("POST", "/agent/generate", `{"message":"plums"}`, 200)
	if got["text"] != "boss: found: find plums" {
		t.Errorf("other tenant's generate = %v; want its own budget", got["text"])
	}

	var prompts []string
	for _, r := range fake.Requests() {
		if r.Model != "res" {
			continue
		}
		var all []string
		for _, m := range r.Messages {
			all = append(all, m.Text())
		}
		prompts = append(prompts, strings.Join(all, "|"))
	}
	if want := []string{"Research.|apples|find apples", "Research.|plums|find plums"}; strings.Join(prompts, ";") != strings.Join(want, ";") {
		t.Errorf("researcher was sent %q; want %q (one per tenant, each its own)", prompts, want)
	}
	// tenant-o's listing holds its own thread only; the model's
	// resourceId "tenant-o" in lim's delegations saved nothing there.
	threads := other.json("GET", "/api/memory/threads?resourceId=tenant-o", "", 200)
	if list, _ := threads["threads"].([]any); len(list) != 1 {
		t.Errorf("tenant-o threads = %v; want its one conversation", threads)
	}
}

// workflowAgentTOML: boss may run the workflow shout, whose one step maps
// its input; alice and bob are two tenants.
const workflowAgentTOML = `
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
agents = ["researcher"]
workflows = ["shout"]
[agents.researcher]
model = "openai/res"
instructions = "Research."

[workflows.shout]
description = "Shouts."
input_schema = '{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}'
[[workflows.shout.steps]]
id = "up"
map = '{"loud": input.text + "!"}'
`

// workflows = [...] makes workflow-<id> tools: a run of the turn's
// resource, answered with Mastra's {runId, result}; the other tenant does
// not see the run. A streamed delegation reaches the client through the
// HTTP stream as tool-output chunks.
func TestSupervisorWorkflowToolAndStream(t *testing.T) {
	fake := llmtest.NewServer(t, func(req llmtest.Request) llmtest.Reply {
		last := req.Last()
		switch {
		case req.Model == "res":
			return llmtest.Reply{Text: "found it"}
		case last.Role == "tool":
			return llmtest.Reply{Text: "boss: " + last.Text()}
		case strings.Contains(last.Text(), "shout"):
			return llmtest.Reply{Calls: []llmtest.Call{{ID: "w1", Name: "workflow-shout", Args: `{"inputData":{"text":"hey"}}`}}}
		}
		return llmtest.Reply{Calls: []llmtest.Call{{ID: "a1", Name: "agent-researcher", Args: `{"prompt":"look"}`}}}
	})
	app := startBudgetApp(t, workflowAgentTOML, "", fake)
	alice := wfClient{t, app.url, "lim-token"}
	bob := wfClient{t, app.url, "other-token"}

	got := alice.json("POST", "/api/agents/boss/generate", `{"messages":"please shout"}`, 200)
	text, _ := got["text"].(string)
	if !strings.HasPrefix(text, `boss: {"`) || !strings.Contains(text, `"result":{"loud":"hey!"}`) || !strings.Contains(text, `"runId":"`) {
		t.Errorf("generate = %q; want the workflow's {runId, result}", text)
	}
	for _, tool := range fake.Requests()[0].Tools {
		if tool.Function.Name == "workflow-shout" && (tool.Function.Description != "Shouts." || !strings.Contains(string(tool.Function.Parameters), `"inputData"`)) {
			t.Errorf("workflow-shout offered as %+v", tool.Function)
		}
	}
	info := alice.json("GET", "/api/agents/boss", "", 200)
	subs, _ := info["agents"].(map[string]any)
	wfs, _ := info["workflows"].(map[string]any)
	if tools, _ := info["tools"].(map[string]any); subs["researcher"] == nil || wfs["shout"] == nil || tools["workflow-shout"] != nil {
		t.Errorf("GET /api/agents/boss = agents %v, workflows %v, tools %v; want researcher and shout listed as Mastra does", subs, wfs, tools)
	}
	if runs, _ := alice.json("GET", "/api/workflows/shout/runs", "", 200)["runs"].([]any); len(runs) != 1 {
		t.Errorf("alice's shout runs = %d; want the one her turn started", len(runs))
	}
	if runs, _ := bob.json("GET", "/api/workflows/shout/runs", "", 200)["runs"].([]any); len(runs) != 0 {
		t.Errorf("bob sees %d of alice's runs", len(runs))
	}

	status, body := alice.call("POST", "/api/agents/boss/stream", `{"messages":"shout it"}`)
	if status != 200 {
		t.Fatalf("stream = %d %s", status, body)
	}
	var wfChunks []string
	for _, line := range strings.Split(string(body), "\n") {
		var c struct {
			Type    string
			Payload struct {
				ToolName string
				Output   struct{ Type string }
			}
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(data), &c) == nil && c.Type == "tool-output" {
			wfChunks = append(wfChunks, c.Payload.ToolName+":"+c.Payload.Output.Type)
		}
	}
	if len(wfChunks) < 2 || wfChunks[0] != "workflow-shout:workflow-start" || !slices.Contains(wfChunks, "workflow-shout:workflow-finish") {
		t.Errorf("streamed workflow tool sent tool-output %v; want the run's chunks from workflow-start to workflow-finish", wfChunks)
	}

	status, body = alice.call("POST", "/api/agents/boss/stream", `{"messages":"research"}`)
	if status != 200 {
		t.Fatalf("stream = %d %s", status, body)
	}
	var outputs []string
	for _, line := range strings.Split(string(body), "\n") {
		var c struct {
			Type    string
			Payload struct {
				ToolName string
				Output   struct{ Type string }
			}
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(data), &c) == nil && c.Type == "tool-output" {
			if c.Payload.ToolName != "agent-researcher" {
				t.Errorf("tool-output of %q", c.Payload.ToolName)
			}
			outputs = append(outputs, c.Payload.Output.Type)
		}
	}
	if len(outputs) < 3 || outputs[0] != "start" || outputs[len(outputs)-1] != "finish" || !slices.Contains(outputs, "text-delta") {
		t.Errorf("tool-output chunks carry %v; want the sub-agent's stream from start to finish", outputs)
	}
	// The sub-agent's thread is kept under alice's derived resource; bob
	// naming that resource lists nothing of it.
	_, body = bob.call("GET", "/api/memory/threads?resourceId=alice/agent-researcher", "")
	var listed struct {
		Threads []struct{ ResourceID string }
	}
	if json.Unmarshal(body, &listed) == nil {
		for _, th := range listed.Threads {
			if th.ResourceID != "bob" {
				t.Errorf("bob's listing holds a thread of %s", th.ResourceID)
			}
		}
	}
}
