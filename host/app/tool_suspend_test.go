package app

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// refundModel calls the refund tool for order A-18, and answers with the
// tool's output once a tool message follows.
func refundModel(req llmtest.Request) llmtest.Reply {
	if last := req.Messages[len(req.Messages)-1]; last.Role == "tool" && last.Content != nil {
		return llmtest.Reply{Text: "refund: " + *last.Content}
	}
	return llmtest.Reply{Calls: []llmtest.Call{{ID: "call_r", Name: "refund", Args: `{"order":"A-18","amount":400}`}}}
}

// A Wasm tool that answers 202 (examples/refund-tool, built from source by
// scripts/build-plugins.sh) suspends the turn: the stream emits
// tool-call-suspended with its payload and the [[tools]] entry's
// resume_schema; resume data against that schema is a 400; an instance
// started afterwards on the same database resumes it, and the tool runs
// again with resumeData. Bob (another token) sees none of it.
func TestWasmToolSuspends(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	module := filepath.Join(root, "examples", "refund-tool", "refund-tool.wasm")
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			fake := llmtest.NewServer(t, refundModel)
			toml := `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "ALICE_TOKEN"
user = "alice"
resource_id = "alice"
[[server.auth.tokens]]
env = "BOB_TOKEN"
user = "bob"
resource_id = "bob"

[agents.shop]
model = "openai/fake"
tools = ["refund"]

[[tools]]
name = "refund"
description = "Refund an order"
module = ` + strconv.Quote(module) + `
input_schema = '{"type":"object","required":["order","amount"],"properties":{"order":{"type":"string"},"amount":{"type":"number"}}}'
resume_schema = '{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}'
config = { limit = 100 }
`
			env := []string{"OPENAI_BASE_URL=" + fake.URL, "OPENAI_API_KEY=sk-test", "ALICE_TOKEN=a-token", "BOB_TOKEN=b-token"}
			dir := t.TempDir()
			if kind == "postgres" {
				env = append(env, "MASTRA_MEMORY__DATABASE_URL="+pgtest.NewDatabase(t))
			} else {
				env = append(env, "MASTRA_MEMORY__SQLITE_PATH="+filepath.Join(dir, "shared.db"))
			}
			a, ts := build(t, toml, env...)
			alice, bob := wfClient{t, ts.URL, "a-token"}, wfClient{t, ts.URL, "b-token"}

			status, body := alice.call("POST", "/api/agents/shop/stream", `{"messages":"refund A-18","memory":{"thread":"t1","resource":"alice"}}`)
			s := string(body)
			if status != 200 || !strings.Contains(s, `"type":"tool-call-suspended"`) || !strings.Contains(s, `"question":"Refund 400 for order A-18? Amounts over 100 need a person."`) ||
				!strings.Contains(s, `"resumeSchema":"{\"type\":\"object\",\"required\":[\"approved\"]`) || !strings.Contains(s, `"reason":"suspended"`) {
				t.Fatalf("stream = %d %s; want tool-call-suspended with the tool's question and resume schema", status, s)
			}
			runs := alice.json("GET", "/api/agents/shop/suspended-runs", "", 200)
			list := runs["runs"].([]any)
			if len(list) != 1 {
				t.Fatalf("suspended-runs = %v", runs)
			}
			run := list[0].(map[string]any)["runId"].(string)
			if tc := list[0].(map[string]any)["toolCalls"].([]any)[0].(map[string]any); tc["requiresApproval"] != false || tc["suspendPayload"] == nil {
				t.Errorf("listed call = %v; want a suspension with its payload", tc)
			}
			if bl := bob.json("GET", "/api/agents/shop/suspended-runs", "", 200); bl["total"] != 0.0 {
				t.Errorf("bob lists %v", bl)
			}
			if st, b := bob.call("POST", "/api/agents/shop/resume-stream", `{"runId":"`+run+`","resumeData":{"approved":true}}`); st != 404 {
				t.Errorf("bob resumes alice's run = %d %s; want 404", st, b)
			}
			if st, b := alice.call("POST", "/api/agents/shop/resume-stream", `{"runId":"`+run+`","resumeData":{"approved":"yes"}}`); st != 400 || !strings.Contains(string(b), `"field":"resumeData"`) {
				t.Errorf("resume data against resume_schema = %d %s; want 400 naming resumeData", st, b)
			}

			// A restart: a new instance on the same database resumes it.
			ts.Close()
			a.Close(context.Background())
			a2, ts2 := build(t, toml, env...)
			t.Cleanup(func() { ts2.Close(); a2.Close(context.Background()) })
			alice = wfClient{t, ts2.URL, "a-token"}
			status, body = alice.call("POST", "/api/agents/shop/resume-stream", `{"runId":"`+run+`","resumeData":{"approved":true}}`)
			s = string(body)
			if status != 200 || !strings.Contains(s, `"type":"tool-result"`) || !strings.Contains(s, `refund: {\"by\":\"human\",\"order\":\"A-18\",\"refunded\":400}`) {
				t.Fatalf("resumed = %d %s; want the tool's second answer and the model's", status, s)
			}
			msgs := alice.json("GET", "/api/memory/threads/t1/messages", "", 200)
			if n := len(msgs["messages"].([]any)); n != 2 {
				t.Errorf("thread has %d messages after the resumed turn; want 2", n)
			}
		})
	}
}
