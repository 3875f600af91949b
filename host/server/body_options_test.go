package server

import (
	"os"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/anthropictest"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// bodySamples holds, for each field of mastraBodyFields, a body fragment
// that asks for something with it; a field without one fails the test, so
// a field added to the list is tried too.
var bodySamples = map[string]string{
	"messages":                       `"messages":"hi"`,
	"memory.thread":                  `"memory":{"thread":"bo-1","resource":"alice"}`,
	"memory.resource":                `"memory":{"thread":"bo-2","resource":"alice"}`,
	"memory.options":                 `"memory":{"thread":"bo-3","resource":"alice","options":{"lastMessages":3}}`,
	"memory.readOnly":                `"memory":{"thread":"bo-4","resource":"alice","readOnly":true}`,
	"requestContext":                 `"requestContext":{"tenant":"acme"}`,
	"instructions":                   `"instructions":"Be brief."`,
	"system":                         `"system":"Be brief."`,
	"context":                        `"context":[{"role":"user","content":"earlier"}]`,
	"runId":                          `"runId":"run-bo"`,
	"savePerStep":                    `"savePerStep":true`,
	"maxSteps":                       `"maxSteps":2`,
	"stopWhen":                       `"stopWhen":{"type":"stepCountIs","count":2}`,
	"model":                          `"model":"openai/gpt-4.1-nano"`,
	"modelSettings.temperature":      `"modelSettings":{"temperature":0.2}`,
	"modelSettings.maxOutputTokens":  `"modelSettings":{"maxOutputTokens":100}`,
	"modelSettings.topP":             `"modelSettings":{"topP":0.9}`,
	"modelSettings.seed":             `"modelSettings":{"seed":7}`,
	"modelSettings.stopSequences":    `"modelSettings":{"stopSequences":["END"]}`,
	"modelSettings.presencePenalty":  `"modelSettings":{"presencePenalty":0.5}`,
	"modelSettings.frequencyPenalty": `"modelSettings":{"frequencyPenalty":0.5}`,
	"modelSettings.topK":             `"modelSettings":{"topK":40}`,
	"modelSettings.maxRetries":       `"modelSettings":{"maxRetries":5}`,
	"modelSettings.headers":          `"modelSettings":{"headers":{"x-a":"b"}}`,
	"modelSettings.reasoning":        `"modelSettings":{"reasoning":"high"}`,
	"providerOptions":                `"providerOptions":{"openai":{"user":"u"}}`,
	"activeTools":                    `"activeTools":["clientWeather"],"clientTools":{"clientWeather":{"id":"clientWeather","description":"w","inputSchema":{"type":"object"}}}`,
	"toolChoice":                     `"toolChoice":"none"`,
	"toolsets":                       `"toolsets":{"set":{"t":{"id":"t","description":"d"}}}`,
	"clientTools":                    `"clientTools":{"clientWeather":{"id":"clientWeather","description":"w","inputSchema":{"type":"object"}}}`,
	"requireToolApproval":            `"requireToolApproval":true`,
	"structuredOutput":               `"structuredOutput":{"schema":{"type":"object"}}`,
	"output":                         `"output":{"type":"object"}`,
	"scorers":                        `"scorers":{"s":{"scorer":"relevance"}}`,
	"returnScorerData":               `"returnScorerData":true`,
	"tracingOptions":                 `"tracingOptions":{"metadata":{"a":1}}`,
	"versions":                       `"versions":{"agent":"v2"}`,
	"untilIdle":                      `"untilIdle":true`,
	"threadId":                       `"threadId":"t-top"`,
	"resourceId":                     `"resourceId":"r-top"`,
}

// sampleAgent names the agent a sample needs, when not gpt (OpenAI).
var sampleAgent = map[string]string{"modelSettings.topK": "claude"}

// Every field of Mastra's generate/stream body is honoured (200) or
// refused with a 400 naming it before any model call; a refused field that
// asks for nothing (false, null, {}) is fine; README's table lists them all.
func TestBodyFieldsHonouredOrRefused(t *testing.T) {
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "{}"}))
	ant := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "{}"}))
	ts := soServer(t, openSQLite(t), fake, ant)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mastraBodyFields {
		sample, ok := bodySamples[f.Name]
		if !ok {
			t.Errorf("%s: no sample body in bodySamples", f.Name)
			continue
		}
		if !strings.Contains(string(readme), "| `"+f.Name+"` |") {
			t.Errorf("%s: not in README's request options table", f.Name)
		}
		body := "{" + sample
		if !strings.HasPrefix(sample, `"messages"`) {
			body += `,"messages":"hi"`
		}
		body += "}"
		calls := len(fake.Requests())
		agentID := "gpt"
		if a, ok := sampleAgent[f.Name]; ok {
			agentID = a
		}
		for _, route := range []string{"generate", "stream"} {
			r := do(t, "POST", ts.URL+"/api/agents/"+agentID+"/"+route, body, "Content-Type", jsonCT)
			issues, _ := r.body["issues"].([]any)
			switch {
			case f.Honoured && r.status != 200:
				t.Errorf("%s (%s): %d %s; want it honoured", f.Name, route, r.status, r.raw)
			case !f.Honoured && (r.status != 400 || len(issues) != 1 || issues[0].(map[string]any)["field"] != f.Name ||
				!strings.Contains(issues[0].(map[string]any)["message"].(string), "not supported")):
				t.Errorf("%s (%s): %d %s; want 400 naming it", f.Name, route, r.status, r.raw)
			}
		}
		if !f.Honoured && len(fake.Requests()) != calls {
			t.Errorf("%s: the model was called for a refused body", f.Name)
		}
	}
	for _, body := range []string{`"requireToolApproval":false`, `"savePerStep":false`, `"providerOptions":{}`, `"providerOptions":{"openai":{}}`, `"tracingOptions":null`, `"tracingOptions":{"metadata":{}}`,
		`"memory":{"thread":"bo-5","resource":"alice","readOnly":false}`, `"modelSettings":{"topK":null}`} {
		if r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"hi",`+body+`}`, "Content-Type", jsonCT); r.status != 200 {
			t.Errorf("%s asks for nothing: %d %s", body, r.status, r.raw)
		}
	}
}

// The honoured options reach the model: context before the new message
// and not saved, the turn's model, activeTools, toolChoice, output as the
// schema.
func TestBodyOptionsReachTheModel(t *testing.T) {
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: `{"a":1}`}))
	store := openSQLite(t)
	ts := soServer(t, store, fake, nil)
	tools := `"clientTools":{"a":{"id":"a","description":"A","inputSchema":{"type":"object"}},"b":{"id":"b","description":"B","inputSchema":{"type":"object"}}}`
	r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"now","memory":{"thread":"opt-1","resource":"alice"},`+
		`"context":[{"role":"user","content":"background"}],"model":"openai/gpt-4.1-nano","activeTools":["b"],"toolChoice":{"type":"tool","toolName":"b"},`+tools+`}`,
		"Content-Type", jsonCT)
	if r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	req := fake.Requests()[0]
	if got := req.Dump(); req.Model != "gpt-4.1-nano" || !strings.Contains(got, "user:background | user:now") {
		t.Errorf("model %q, messages %s", req.Model, got)
	}
	if len(req.Tools) != 1 || req.Tools[0].Function.Name != "b" {
		t.Errorf("tools = %+v; want only b", req.Tools)
	}
	m := do(t, "GET", ts.URL+"/api/memory/threads/opt-1/messages?agentId=gpt&resourceId=alice", "")
	if m.body["total"] != 2.0 || strings.Contains(m.raw, "background") {
		t.Errorf("saved = %s; want the turn's two messages, not the context", m.raw)
	}
	r = do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"x","output":{"type":"object","properties":{"a":{"type":"number"}}}}`, "Content-Type", jsonCT)
	if o, _ := r.body["object"].(map[string]any); r.status != 200 || o["a"] != 1.0 || fake.Requests()[1].ResponseFormat == nil {
		t.Errorf("output alias = %d %s", r.status, r.raw)
	}
	for _, tc := range []struct{ body, field string }{
		{`"activeTools":["nope"]`, "activeTools"},
		{`"toolChoice":{"type":"tool","toolName":"nope"}`, "toolChoice"},
		{`"toolChoice":"sometimes"`, "toolChoice"},
		{`"model":"nowhere/x"`, "model"},
		{`"context":"x"`, "context"},
		{`"modelSettings":{"topK":40}`, "modelSettings.topK"}, // OpenAI has none
		{`"modelSettings":{"maxRetries":-1}`, "modelSettings.maxRetries"},
		{`"output":{"type":"object"},"structuredOutput":{"schema":{"type":"object"}}`, "output"},
	} {
		r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"hi",`+tc.body+`}`, "Content-Type", jsonCT)
		issues, _ := r.body["issues"].([]any)
		if r.status != 400 || len(issues) != 1 || issues[0].(map[string]any)["field"] != tc.field {
			t.Errorf("%s = %d %s; want 400 naming %s", tc.body, r.status, r.raw, tc.field)
		}
	}
}

// memory.readOnly: the turn sees the thread's history and saves nothing;
// on a new thread it creates none.
func TestReadOnlyTurnSavesNothing(t *testing.T) {
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "first"}, llmtest.Reply{Text: "second"}))
	ts := soServer(t, openSQLite(t), fake, nil)
	if r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"remember the blue door","memory":{"thread":"ro-1","resource":"alice"}}`,
		"Content-Type", jsonCT); r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	for _, route := range []string{"generate", "stream"} {
		if r := do(t, "POST", ts.URL+"/api/agents/gpt/"+route, `{"messages":"which door?","memory":{"thread":"ro-1","resource":"alice","readOnly":true}}`,
			"Content-Type", jsonCT); r.status != 200 {
			t.Fatalf("read-only %s = %d %s", route, r.status, r.raw)
		}
	}
	if d := fake.Requests()[1].Dump(); !strings.Contains(d, "user:remember the blue door | assistant:first | user:which door?") {
		t.Errorf("the read-only turn's prompt = %s; want the thread's history before it", d)
	}
	m := do(t, "GET", ts.URL+"/api/memory/threads/ro-1/messages?agentId=gpt&resourceId=alice", "")
	if m.body["total"] != 2.0 || strings.Contains(m.raw, "which door") {
		t.Errorf("saved = %s; want only the first turn's two messages", m.raw)
	}
	do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"hi","memory":{"thread":"ro-2","resource":"alice","readOnly":true}}`, "Content-Type", jsonCT)
	if r := do(t, "GET", ts.URL+"/api/memory/threads/ro-2?agentId=gpt&resourceId=alice", ""); r.status != 404 {
		t.Errorf("thread ro-2 after a read-only turn: %d %s; want 404", r.status, r.raw)
	}
}
