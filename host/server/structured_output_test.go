package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/anthropictest"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// A schema with an optional property: OpenAI's strict mode wants it
// required and nullable, and the null it may answer is dropped again.
const weatherSchema = `{"type":"object","properties":{"city":{"type":"string"},"tempC":{"type":"number"},"note":{"type":"string"}},"required":["city","tempC"],"additionalProperties":false}`

// soServer serves agent "gpt" (provider openai) on fake and agent
// "claude" on ant (nil: none); "openai/<model>" resolves to fake.
func soServer(t *testing.T, store *memory.Store, fake *llmtest.Server, ant *anthropictest.Server) *httptest.Server {
	t.Helper()
	openai, err := llm.NewOpenAI(fake.Config(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	agents := []*agent.Agent{{ID: "gpt", Name: "GPT", Instructions: "Be terse.", Model: openai, Provider: "openai", ModelID: "gpt-4o-mini", LastMessages: 10}}
	if ant != nil {
		a, err := llm.NewAnthropic(ant.Config(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, &agent.Agent{ID: "claude", Name: "Claude", Model: a, Provider: "anthropic", ModelID: "claude-sonnet-4-5"})
	}
	svc, err := agent.NewService(store, agents, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	svc.SetModelResolver(func(ref string) (agent.Choice, error) {
		name, model, ok := strings.Cut(ref, "/")
		if !ok || name != "openai" {
			return agent.Choice{}, &agent.OptionError{Field: "model", Message: "unknown provider " + name}
		}
		return agent.Choice{Model: openai, Provider: "openai", ModelID: model}, nil
	})
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "anon"})
	return ts
}

func soBody(extra string) string {
	return `{"messages":"weather in Oslo?","memory":{"thread":"so-1","resource":"alice"},"structuredOutput":{"schema":` + weatherSchema + extra + `}}`
}

// generate answers object: the provider got a strict json_schema format
// (the schema made strict: every property required, the optional one
// nullable), the model's null for the optional property is dropped, and
// text is the JSON the model wrote.
func TestStructuredOutputGenerate(t *testing.T) {
	const answer = `{"city":"Oslo","tempC":24,"note":null}`
	fake := upstream(t, llmtest.Reply{Text: answer})
	ts := soServer(t, openSQLite(t), fake, nil)

	r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(""), "Content-Type", jsonCT)
	if r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	obj, _ := json.Marshal(r.body["object"])
	if string(obj) != `{"city":"Oslo","tempC":24}` || r.body["text"] != answer || r.body["usedFallbackValue"] != false {
		t.Errorf("generate = %s", r.raw)
	}
	req := fake.Requests()[0]
	var rf struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string `json:"name"`
			Strict bool   `json:"strict"`
			Schema struct {
				Required             []string                   `json:"required"`
				AdditionalProperties *bool                      `json:"additionalProperties"`
				Properties           map[string]json.RawMessage `json:"properties"`
			} `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(req.ResponseFormat, &rf); err != nil {
		t.Fatalf("response_format %s: %v", req.ResponseFormat, err)
	}
	s := rf.JSONSchema.Schema
	if rf.Type != "json_schema" || rf.JSONSchema.Name != "response" || !rf.JSONSchema.Strict ||
		strings.Join(s.Required, ",") != "city,note,tempC" || s.AdditionalProperties == nil || *s.AdditionalProperties ||
		string(s.Properties["note"]) != `{"type":["string","null"]}` {
		t.Errorf("response_format = %s", req.ResponseFormat)
	}
	if strings.Contains(req.Messages[0].Text(), "JSON schema") {
		t.Errorf("schema injected in the prompt as well as sent as the format: %q", req.Messages[0].Text())
	}

	// Without structuredOutput: no object key, no response_format.
	r = do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"hi"}`, "Content-Type", jsonCT)
	if _, ok := r.body["object"]; ok || r.status != 200 {
		t.Errorf("plain generate = %d %s; want no object", r.status, r.raw)
	}
	if rf := fake.Requests()[1].ResponseFormat; rf != nil {
		t.Errorf("plain turn sent response_format %s", rf)
	}
}

// stream: partial "object" chunks (value at the top level, no payload),
// each before the text-delta that made it, then "object-result" right
// after "finish".
func TestStructuredOutputStream(t *testing.T) {
	const answer = `{"city": "Oslo", "tempC": 24}`
	ts := soServer(t, openSQLite(t), upstream(t, llmtest.Reply{Text: answer}), nil)
	res := post(t, ts.URL+"/api/agents/gpt/stream", soBody(""))
	defer res.Body.Close()
	events, done := readSSE(t, res.Body)
	if !done {
		t.Fatal("no [DONE]")
	}
	var types []string
	var partials []string
	for i, ev := range events {
		typ := ev["type"].(string)
		types = append(types, typ)
		if typ == "object" {
			if _, ok := ev["payload"]; ok {
				t.Errorf("object chunk has a payload: %v", ev)
			}
			b, _ := json.Marshal(ev["object"])
			partials = append(partials, string(b))
			if next := events[i+1]["type"]; next != "text-delta" {
				t.Errorf("object chunk followed by %v; want the text-delta that made it", next)
			}
		}
	}
	want := []string{`{}`, `{"city":"Oslo"}`, `{"city":"Oslo","tempC":24}`}
	if strings.Join(partials, " ") != strings.Join(want, " ") {
		t.Errorf("partial objects = %v; want %v", partials, want)
	}
	n := len(events)
	if types[n-2] != "finish" || types[n-1] != "object-result" {
		t.Fatalf("chunk types = %v; want … finish, object-result", types)
	}
	b, _ := json.Marshal(events[n-1]["object"])
	if string(b) != `{"city":"Oslo","tempC":24}` || events[n-1]["metadata"] != nil {
		t.Errorf("object-result = %v", events[n-1])
	}
}

// An answer that does not match: strict answers Mastra's message (422,
// not Mastra's 500, which client-js would retry) and saves nothing; warn
// answers without object; fallback answers fallbackValue, in generate and
// in the stream's object-result with metadata.fallback.
func TestStructuredOutputErrorStrategies(t *testing.T) {
	store := openSQLite(t)
	ts := soServer(t, store, upstream(t, llmtest.Reply{Text: `{"city":"Oslo","tempC":"warm"}`}), nil)

	r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(""), "Content-Type", jsonCT)
	if r.status != 422 || r.body["code"] != "STRUCTURED_OUTPUT_SCHEMA_VALIDATION_FAILED" ||
		!strings.HasPrefix(r.body["error"].(string), "Structured output validation failed:\n- tempC: ") {
		t.Errorf("strict = %d %s", r.status, r.raw)
	}
	if _, err := store.Thread(t.Context(), "", "so-1"); err == nil {
		t.Error("a strict failure saved the turn")
	}

	r = do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(`,"errorStrategy":"warn"`), "Content-Type", jsonCT)
	if _, ok := r.body["object"]; r.status != 200 || ok || r.body["usedFallbackValue"] != false {
		t.Errorf("warn = %d %s", r.status, r.raw)
	}

	r = do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(`,"errorStrategy":"fallback","fallbackValue":{"city":"?","tempC":0}`), "Content-Type", jsonCT)
	obj, _ := json.Marshal(r.body["object"])
	if r.status != 200 || string(obj) != `{"city":"?","tempC":0}` || r.body["usedFallbackValue"] != true {
		t.Errorf("fallback = %d %s", r.status, r.raw)
	}

	res := post(t, ts.URL+"/api/agents/gpt/stream", soBody(`,"errorStrategy":"fallback","fallbackValue":{"city":"?","tempC":0}`))
	events, _ := readSSE(t, res.Body)
	res.Body.Close()
	last := events[len(events)-1]
	if md, _ := last["metadata"].(map[string]any); last["type"] != "object-result" || md["fallback"] != true {
		t.Errorf("fallback stream ends with %v", last)
	}

	// strict, streamed: the stream ends as a failed turn with Mastra's message.
	res = post(t, ts.URL+"/api/agents/gpt/stream", soBody(""))
	events, done := readSSE(t, res.Body)
	res.Body.Close()
	var errMsg string
	for _, ev := range events {
		if ev["type"] == "error" {
			errMsg = ev["payload"].(map[string]any)["error"].(map[string]any)["message"].(string)
		}
	}
	last = events[len(events)-1]
	if !done || !strings.HasPrefix(errMsg, "Structured output validation failed") || last["type"] != "finish" ||
		last["payload"].(map[string]any)["stepResult"].(map[string]any)["reason"] != "error" {
		t.Errorf("strict stream: error %q, last %v", errMsg, last)
	}
}

// jsonPromptInjection sends no response_format and puts the schema in the
// system prompt (instructions replace the generated text); a fenced
// answer is read.
func TestStructuredOutputPromptInjection(t *testing.T) {
	fake := upstream(t, llmtest.Reply{Text: "```json\n{\"city\":\"Oslo\",\"tempC\":24}\n```"})
	ts := soServer(t, openSQLite(t), fake, nil)
	r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(`,"jsonPromptInjection":true`), "Content-Type", jsonCT)
	obj, _ := json.Marshal(r.body["object"])
	if r.status != 200 || string(obj) != `{"city":"Oslo","tempC":24}` {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	req := fake.Requests()[0]
	if req.ResponseFormat != nil || !strings.Contains(req.Messages[0].Text(), `"tempC":{"type":"number"}`) ||
		!strings.HasPrefix(req.Messages[0].Text(), "Be terse.") {
		t.Errorf("request: format %s, system %q", req.ResponseFormat, req.Messages[0].Text())
	}
	do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(`,"jsonPromptInjection":true,"instructions":"Answer as weather JSON."`), "Content-Type", jsonCT)
	if sys := fake.Requests()[1].Messages[0].Text(); !strings.HasSuffix(sys, "Answer as weather JSON.") || strings.Contains(sys, "JSON schema") {
		t.Errorf("system with instructions = %q", sys)
	}
}

// With a model, the agent's model answers in prose (told the fields to
// cover) and a second call, on the named model with the format, structures
// it; the object-result says it came from the structuring pass.
func TestStructuredOutputProcessorMode(t *testing.T) {
	fake := llmtest.NewServer(t, func(r llmtest.Request) llmtest.Reply {
		if r.ResponseFormat != nil {
			return llmtest.Reply{Text: `{"city":"Oslo","tempC":24,"note":null}`}
		}
		return llmtest.Reply{Text: "It is 24 degrees in Oslo."}
	})
	ts := soServer(t, openSQLite(t), fake, nil)
	r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(`,"model":"openai/gpt-4.1-nano"`), "Content-Type", jsonCT)
	obj, _ := json.Marshal(r.body["object"])
	if r.status != 200 || string(obj) != `{"city":"Oslo","tempC":24}` || r.body["text"] != "It is 24 degrees in Oslo." {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].ResponseFormat != nil || !strings.Contains(reqs[0].Messages[0].Text(), "city, note, tempC") ||
		reqs[1].Model != "gpt-4.1-nano" || !strings.Contains(reqs[1].Last().Text(), "It is 24 degrees in Oslo.") {
		t.Errorf("requests:\n%s\n%s", reqs[0].Dump(), reqs[len(reqs)-1].Dump())
	}
	if u := r.body["totalUsage"].(map[string]any); u["totalTokens"] != 24.0 {
		t.Errorf("totalUsage = %v; want both calls counted", u)
	}
	res := post(t, ts.URL+"/api/agents/gpt/stream", soBody(`,"model":"openai/gpt-4.1-nano"`))
	events, _ := readSSE(t, res.Body)
	res.Body.Close()
	last := events[len(events)-1]
	if md, _ := last["metadata"].(map[string]any); last["type"] != "object-result" || md["from"] != "structured-output" {
		t.Errorf("stream ends with %v", last)
	}
}

// Options the server cannot honour are 400s naming the field, before any
// model call; the root routes and /chat take the option too.
func TestStructuredOutputBadOptions(t *testing.T) {
	fake := upstream(t, llmtest.Reply{Text: `{"city":"Oslo","tempC":24}`})
	ts := soServer(t, openSQLite(t), fake, nil)
	for _, tc := range []struct{ so, field string }{
		{`{}`, "structuredOutput.schema"},
		{`{"schema":"x"}`, "structuredOutput.schema"},
		{`{"schema":{"type":"nope"}}`, "structuredOutput.schema"},
		{`{"schema":{"type":"object"},"errorStrategy":"loud"}`, "structuredOutput.errorStrategy"},
		{`{"schema":{"type":"object"},"errorStrategy":"fallback"}`, "structuredOutput.fallbackValue"},
		{`{"schema":{"type":"object"},"jsonPromptInjection":"system"}`, "structuredOutput.jsonPromptInjection"},
		{`{"schema":{"type":"object"},"model":"nowhere/x"}`, "structuredOutput.model"},
		{`{"schema":{"type":"object"},"model":{"url":"http://169.254.169.254","id":"x"}}`, "structuredOutput.model"},
	} {
		r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", `{"messages":"hi","structuredOutput":`+tc.so+`}`, "Content-Type", jsonCT)
		issues, _ := r.body["issues"].([]any)
		if r.status != 400 || len(issues) != 1 || issues[0].(map[string]any)["field"] != tc.field {
			t.Errorf("%s = %d %s; want 400 naming %s", tc.so, r.status, r.raw, tc.field)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d model calls for refused bodies", n)
	}

	so := `"structuredOutput":{"schema":` + weatherSchema + `}`
	r := do(t, "POST", ts.URL+"/agent/generate", `{"message":"weather?","agentId":"gpt",`+so+`}`, "Content-Type", jsonCT)
	obj, _ := json.Marshal(r.body["object"])
	if r.status != 200 || string(obj) != `{"city":"Oslo","tempC":24}` {
		t.Errorf("root generate = %d %s", r.status, r.raw)
	}
	res := post(t, ts.URL+"/chat/gpt", `{"id":"chat-so","messages":[{"id":"m1","role":"user","parts":[{"type":"text","text":"weather?"}]}],`+so+`}`)
	res.Body.Close()
	if res.StatusCode != 200 || fake.Requests()[len(fake.Requests())-1].ResponseFormat == nil {
		t.Errorf("/chat = %d; response_format sent: %v", res.StatusCode, fake.Requests()[len(fake.Requests())-1].ResponseFormat != nil)
	}
}

// Anthropic's wire: output_config.format for a current Claude model.
func TestStructuredOutputAnthropic(t *testing.T) {
	ant := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: `{"city":"Oslo","tempC":24}`}))
	ts := soServer(t, openSQLite(t), upstream(t, hello), ant)
	r := do(t, "POST", ts.URL+"/api/agents/claude/generate", soBody(""), "Content-Type", jsonCT)
	obj, _ := json.Marshal(r.body["object"])
	if r.status != 200 || string(obj) != `{"city":"Oslo","tempC":24}` {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	var oc struct {
		Format struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	}
	if err := json.Unmarshal(ant.Requests()[0].OutputConfig, &oc); err != nil || oc.Format.Type != "json_schema" || string(oc.Format.Schema) != weatherSchema {
		t.Errorf("output_config = %s (the schema goes as written: no strict rewrite for Anthropic)", ant.Requests()[0].OutputConfig)
	}
}

// A provider configured without json_schema (json_schema = false) gets the
// schema in the prompt and no response_format.
func TestStructuredOutputNoJSONSchemaProvider(t *testing.T) {
	fake := upstream(t, llmtest.Reply{Text: `{"city":"Oslo","tempC":24}`})
	m, err := llm.NewOpenAI(fake.Config(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := agent.NewService(nil, []*agent.Agent{{ID: "local", Model: m, Provider: "ollama", ModelID: "llama3", NoJSONSchema: true}}, "", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{Config: testConfig(), Agents: svc, DefaultResourceID: "anon"})
	r := do(t, "POST", ts.URL+"/api/agents/local/generate", `{"messages":"weather?","structuredOutput":{"schema":`+weatherSchema+`}}`, "Content-Type", jsonCT)
	obj, _ := json.Marshal(r.body["object"])
	if r.status != 200 || string(obj) != `{"city":"Oslo","tempC":24}` {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	req := fake.Requests()[0]
	if req.ResponseFormat != nil || !strings.Contains(req.Messages[0].Text(), "JSON schema:") {
		t.Errorf("format %s, system %q", req.ResponseFormat, req.Messages[0].Text())
	}
}

// A retry with the same Idempotency-Key answers the saved turn, its
// structured object included, without calling the model again; streamed,
// it ends with the object-result.
func TestStructuredOutputReplayed(t *testing.T) {
	fake := upstream(t, llmtest.Reply{Text: `{"city":"Oslo","tempC":24}`})
	ts := soServer(t, openSQLite(t), fake, nil)
	for i := range 2 {
		r := do(t, "POST", ts.URL+"/api/agents/gpt/generate", soBody(""), "Content-Type", jsonCT, "Idempotency-Key", "k-so")
		obj, _ := json.Marshal(r.body["object"])
		if r.status != 200 || string(obj) != `{"city":"Oslo","tempC":24}` {
			t.Fatalf("attempt %d = %d %s", i, r.status, r.raw)
		}
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("%d model calls; want the retry answered from the saved turn", n)
	}
	hreq, _ := http.NewRequest("POST", ts.URL+"/api/agents/gpt/stream", strings.NewReader(soBody("")))
	hreq.Header.Set("Content-Type", jsonCT)
	hreq.Header.Set("Idempotency-Key", "k-so")
	res, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := readSSE(t, res.Body)
	res.Body.Close()
	last := events[len(events)-1]
	if b, _ := json.Marshal(last["object"]); last["type"] != "object-result" || string(b) != `{"city":"Oslo","tempC":24}` || len(fake.Requests()) != 1 {
		t.Errorf("replayed stream ends with %v after %d model calls", last, len(fake.Requests()))
	}
}
