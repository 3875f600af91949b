package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// script is the fake model: a user message picks the tool call, a tool
// message is answered with "Tool said: " and the results it got.
func script(req llmtest.Request) llmtest.Reply {
	last := req.Last()
	if last.Role == "tool" {
		var results []string
		for i := len(req.Messages) - 1; i >= 0 && req.Messages[i].Role == "tool"; i-- {
			results = append([]string{req.Messages[i].Text()}, results...)
		}
		return llmtest.Reply{Text: "Tool said: " + strings.Join(results, " ")}
	}
	// Arguments stream in 4-byte pieces.
	one := func(id, name, args string) llmtest.Reply {
		return llmtest.Reply{Calls: []llmtest.Call{{ID: id, Name: name, Args: args}}, ArgsChunk: 4}
	}
	switch last.Text() {
	case "weather in Oslo":
		return one("call_oslo", "weather", `{"city":"Oslo"}`)
	case "weather without a city":
		return one("call_town", "weather", `{"town":"Oslo"}`)
	case "power":
		return one("call_pow", "calc", `{"a":2,"b":3,"op":"pow"}`)
	case "multiply":
		return one("call_mul", "calc", `{"a":6,"b":7,"op":"multiply"}`)
	case "break it":
		return one("call_break", "broken", `{}`)
	case "wait":
		return one("call_wait", "slow", `{}`)
	case "weather in rome?":
		return one("ccall_1", "clientWeather", `{"city":"Rome"}`)
	}
	return llmtest.Reply{Text: "ok"}
}

// generated is the part of a /generate response these tests read.
type generated struct {
	Text         string  `json:"text"`
	FinishReason string  `json:"finishReason"`
	ToolCalls    []chunk `json:"toolCalls"`
	ToolResults  []chunk `json:"toolResults"`
	Response     struct {
		Messages []json.RawMessage `json:"messages"`
	} `json:"response"`
}

func (e *env) generate(t *testing.T, path, body string, header ...string) generated {
	t.Helper()
	status, b := e.do(t, http.MethodPost, path, body, header...)
	if status != 200 {
		t.Fatalf("POST %s: %d %s", path, status, b)
	}
	var g generated
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("generate response: %v: %s", err, b)
	}
	return g
}

// checkWeather checks a weather-tool result for city.
func checkWeather(t *testing.T, result any, city string) map[string]any {
	t.Helper()
	m, ok := result.(map[string]any)
	if !ok {
		t.Fatalf("weather result = %#v; want an object", result)
	}
	temp, _ := m["tempC"].(float64)
	if m["city"] != city || temp < -10 || temp > 35 || temp != float64(int(temp)) || m["conditions"] == "" || m["conditions"] == nil {
		t.Fatalf("weather result = %v; want city %s, an integer tempC in [-10, 35], conditions", m, city)
	}
	return m
}

// toolMessages returns the tool messages of a request, by call id.
func toolMessages(req llmtest.Request) map[string]string {
	out := map[string]string{}
	for _, m := range req.Messages {
		if m.Role == "tool" {
			out[m.ToolCallID] = m.Text()
		}
	}
	return out
}

func TestWeatherToolMultiStep(t *testing.T) {
	e := newEnv(t, script)
	ctx := context.Background()

	// The same city always gets the same weather.
	want, err := e.tools["weather"].Execute(ctx, json.RawMessage(`{"city":"Oslo"}`))
	if err != nil {
		t.Fatal(err)
	}
	var wantV any
	json.Unmarshal(want, &wantV)
	checkWeather(t, wantV, "Oslo")

	t.Run("generate", func(t *testing.T) {
		g := e.generate(t, "/api/agents/assistant/generate",
			`{"messages":"weather in Oslo","memory":{"thread":"th-gen","resource":"u1"}}`)
		if g.FinishReason != "stop" || g.Text != "Tool said: "+string(want) {
			t.Errorf("finish %q, text %q; want stop and the tool's result", g.FinishReason, g.Text)
		}
		if len(g.ToolCalls) != 1 || g.ToolCalls[0].Type != "tool-call" || g.ToolCalls[0].Payload["toolName"] != "weather" ||
			g.ToolCalls[0].Payload["toolCallId"] != "call_oslo" || mustJSON(t, g.ToolCalls[0].Payload["args"]) != `{"city":"Oslo"}` {
			t.Errorf("toolCalls = %+v", g.ToolCalls)
		}
		if len(g.ToolResults) != 1 || g.ToolResults[0].Type != "tool-result" || !jsonEq(mustJSON(t, g.ToolResults[0].Payload["result"]), string(want)) {
			t.Errorf("toolResults = %+v; want the result %s", g.ToolResults, want)
		}
		reqs := e.fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("model got %d requests; want 2", len(reqs))
		}
		if len(reqs[0].Tools) != 4 || reqs[0].Tools[0].Function.Name != "weather" || !jsonEq(string(reqs[0].Tools[0].Function.Parameters), toolSpecs[0].schema) {
			t.Errorf("tools offered to the model = %+v", reqs[0].Tools)
		}
		checkSequence(t, reqs[1])
		if got := toolMessages(reqs[1])["call_oslo"]; !jsonEq(got, string(want)) {
			t.Errorf("the model got the tool result %q; want %s (%s)", got, want, reqs[1].Dump())
		}
	})

	t.Run("stream", func(t *testing.T) {
		n := len(e.fake.Requests())
		cs := e.stream(t, "/api/agents/assistant/stream",
			`{"messages":[{"role":"user","content":"weather in Oslo"}],"memory":{"thread":"th-stream","resource":"u1"}}`)
		ty := types(cs)
		if !strings.Contains(ty, "tool-call-input-streaming-start,tool-call-delta,tool-call-input-streaming-end,tool-call,tool-result,step-finish,step-start") ||
			!strings.HasSuffix(ty, "text-end,step-finish,finish") || !strings.HasPrefix(ty, "start,step-start") {
			t.Errorf("chunk types = %s", ty)
		}
		var args strings.Builder
		for _, c := range find(cs, "tool-call-delta") {
			args.WriteString(c.Payload["argsTextDelta"].(string))
		}
		if args.String() != `{"city":"Oslo"}` || len(find(cs, "tool-call-delta")) < 2 {
			t.Errorf("argument deltas = %q in %d pieces; want the arguments in pieces", args.String(), len(find(cs, "tool-call-delta")))
		}
		res := find(cs, "tool-result")
		if len(res) != 1 || !jsonEq(mustJSON(t, res[0].Payload["result"]), string(want)) || res[0].Payload["toolCallId"] != "call_oslo" {
			t.Errorf("tool-result = %+v", res)
		}
		steps := find(cs, "step-finish")
		if len(steps) != 2 || reason(steps[0]) != "tool-calls" || reason(cs[len(cs)-1]) != "stop" {
			t.Errorf("step reasons %v / finish %q", steps, reason(cs[len(cs)-1]))
		}
		reqs := e.fake.Requests()[n:]
		if len(reqs) != 2 || !reqs[0].Stream {
			t.Fatalf("model got %d requests (stream=%v); want 2 streamed", len(reqs), len(reqs) > 0 && reqs[0].Stream)
		}
		checkSequence(t, reqs[1])
		if got := toolMessages(reqs[1])["call_oslo"]; !jsonEq(got, string(want)) {
			t.Errorf("the model got the tool result %q; want %s", got, want)
		}
	})

	t.Run("persisted and replayed", func(t *testing.T) {
		msgs, err := e.store.LastMessages(ctx, "th-stream", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[1].Role != "assistant" {
			t.Fatalf("saved %d messages; want user + assistant", len(msgs))
		}
		c, err := memory.ParseContent(msgs[1].Content)
		if err != nil {
			t.Fatal(err)
		}
		var inv *memory.ToolInvocation
		for _, p := range c.Parts {
			if p.Type == "tool-invocation" {
				inv = p.ToolInvocation
			}
		}
		if c.Format != 2 || inv == nil || inv.State != "result" || inv.ToolName != "weather" || inv.ToolCallID != "call_oslo" ||
			string(inv.Args) != `{"city":"Oslo"}` || !jsonEq(string(inv.Result), string(want)) {
			t.Fatalf("saved assistant content = %s", msgs[1].Content)
		}

		n := len(e.fake.Requests())
		g := e.generate(t, "/api/agents/assistant/generate", `{"messages":"thanks","memory":{"thread":"th-stream","resource":"u1"}}`)
		if g.Text != "ok" {
			t.Errorf("text %q", g.Text)
		}
		reqs := e.fake.Requests()[n:]
		if len(reqs) != 1 {
			t.Fatalf("model got %d requests; want 1", len(reqs))
		}
		checkSequence(t, reqs[0])
		d := reqs[0].Dump()
		if !strings.HasPrefix(d, `system:Use tools. | user:weather in Oslo | assistant[call_oslo weather {"city":"Oslo"}] | tool(call_oslo):`) ||
			!strings.HasSuffix(d, "| assistant:Tool said: "+string(want)+" | user:thanks") {
			t.Errorf("replayed history = %s", d)
		}
	})
}

func TestSchemaInvalidCall(t *testing.T) {
	e := newEnv(t, script)
	for _, tc := range []struct {
		prompt, id string
		want       []string
	}{
		{"weather without a city", "call_town", []string{"invalid arguments: ", "missing property 'city'", "additional properties 'town' not allowed"}},
		{"power", "call_pow", []string{"invalid arguments: /op: value must be one of"}},
	} {
		t.Run(tc.prompt, func(t *testing.T) {
			n := len(e.fake.Requests())
			cs := e.stream(t, "/api/agents/assistant/stream", mustJSON(t, map[string]any{"messages": tc.prompt}))
			errs := find(cs, "tool-error")
			if len(errs) != 1 || len(find(cs, "tool-result")) != 0 {
				t.Fatalf("chunk types = %s; want one tool-error", types(cs))
			}
			msg, _ := errs[0].Payload["error"].(map[string]any)["message"].(string)
			reqs := e.fake.Requests()[n:]
			if len(reqs) != 2 {
				t.Fatalf("model got %d requests; want 2 (the error goes back to it)", len(reqs))
			}
			checkSequence(t, reqs[1])
			var seen struct{ Error string }
			json.Unmarshal([]byte(toolMessages(reqs[1])[tc.id]), &seen)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) || !strings.Contains(seen.Error, w) {
					t.Errorf("tool-error %q / model saw %q; want %q", msg, seen.Error, w)
				}
			}
			if reason(cs[len(cs)-1]) != "stop" {
				t.Errorf("finish reason %q; want stop", reason(cs[len(cs)-1]))
			}
		})
	}
}

func TestFailingTools(t *testing.T) {
	e := newEnv(t, script)
	for _, tc := range []struct{ prompt, id, want string }{
		{"break it", "call_break", "tool failed: "},
		{"wait", "call_wait", "tool failed: "},
	} {
		for i := 0; i < 2; i++ { // the second call gets a fresh instance
			n := len(e.fake.Requests())
			g := e.generate(t, "/api/agents/assistant/generate", mustJSON(t, map[string]any{"messages": tc.prompt}))
			if len(g.ToolResults) != 1 || g.ToolResults[0].Type != "tool-error" || g.FinishReason != "stop" {
				t.Fatalf("%s: toolResults %+v, finish %q; want a tool-error and a final answer", tc.prompt, g.ToolResults, g.FinishReason)
			}
			reqs := e.fake.Requests()[n:]
			checkSequence(t, reqs[len(reqs)-1])
			if got := toolMessages(reqs[len(reqs)-1])[tc.id]; !strings.Contains(got, tc.want) {
				t.Errorf("%s: the model saw %q; want %q", tc.prompt, got, tc.want)
			}
		}
	}
	// The server keeps serving, tools included.
	g := e.generate(t, "/api/agents/assistant/generate", `{"messages":"weather in Oslo"}`)
	if len(g.ToolResults) != 1 || g.ToolResults[0].Type != "tool-result" {
		t.Fatalf("after failures: toolResults %+v", g.ToolResults)
	}
	checkWeather(t, g.ToolResults[0].Payload["result"], "Oslo")
	for _, tc := range []struct {
		tool   string
		status int
		body   string
	}{
		{"broken", 500, `"error":"Tool execution failed"`},
		{"slow", 504, `"error":"Tool timed out"`},
		{"weather", 200, `"city":"Oslo"`},
	} {
		status, b := e.do(t, http.MethodPost, "/api/tools/"+tc.tool+"/execute", `{"data":{"city":"Oslo"}}`)
		if status != tc.status || !strings.Contains(string(b), tc.body) || strings.Contains(string(b), "unreachable") {
			t.Errorf("execute %s: %d %s; want %d %s", tc.tool, status, b, tc.status, tc.body)
		}
	}
}

func TestRequestContextReachesTools(t *testing.T) {
	e := newEnv(t, script)
	// Set by the header-context middleware plugin from X-Tenant-Id.
	g := e.generate(t, "/api/agents/assistant/generate", `{"messages":"weather in Oslo"}`, "X-Tenant-Id", "acme")
	if len(g.ToolResults) != 1 {
		t.Fatalf("toolResults %+v", g.ToolResults)
	}
	if m := checkWeather(t, g.ToolResults[0].Payload["result"], "Oslo"); m["tenant"] != "acme" {
		t.Errorf("tool saw tenant %v; want acme from the middleware", m["tenant"])
	}
	reqs := e.fake.Requests()
	if got := toolMessages(reqs[len(reqs)-1])["call_oslo"]; !strings.Contains(got, `"tenant":"acme"`) {
		t.Errorf("model saw %q", got)
	}
	// Sent by the client as requestContext, on the stream route.
	cs := e.stream(t, "/api/agents/assistant/stream", `{"messages":"weather in Oslo","requestContext":{"tenant":"globex"}}`)
	if res := find(cs, "tool-result"); len(res) != 1 || checkWeather(t, res[0].Payload["result"], "Oslo")["tenant"] != "globex" {
		t.Errorf("tool-result %+v; want tenant globex", res)
	}
	// And on the execute route, both ways.
	for _, tc := range []struct{ body, header, want string }{
		{`{"data":{"city":"Oslo"},"requestContext":{"tenant":"initech"}}`, "", "initech"},
		{`{"data":{"city":"Oslo"}}`, "acme", "acme"},
	} {
		status, b := e.do(t, http.MethodPost, "/api/tools/weather/execute", tc.body, "X-Tenant-Id", tc.header)
		var m map[string]any
		json.Unmarshal(b, &m)
		if status != 200 || m["tenant"] != tc.want {
			t.Errorf("execute %s: %d %s; want tenant %s", tc.body, status, b, tc.want)
		}
	}
}

func TestToolRoutes(t *testing.T) {
	e := newEnv(t, script)
	status, b := e.do(t, http.MethodGet, "/api/tools", "")
	var list map[string]struct {
		ID              string `json:"id"`
		Description     string `json:"description"`
		InputSchema     string `json:"inputSchema"`
		RequireApproval *bool  `json:"requireApproval"`
	}
	if err := json.Unmarshal(b, &list); status != 200 || err != nil || len(list) != 4 {
		t.Fatalf("GET /api/tools: %d %s", status, b)
	}
	for _, s := range toolSpecs {
		got := list[s.name]
		var schema struct{ JSON json.RawMessage }
		if err := json.Unmarshal([]byte(got.InputSchema), &schema); err != nil || !jsonEq(string(schema.JSON), s.schema) ||
			got.ID != s.name || got.Description != s.description || got.RequireApproval == nil || *got.RequireApproval {
			t.Errorf("tool %s = %+v", s.name, got)
		}
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string // the whole body as JSON, or a substring when it starts with "~"
	}{
		{"GET", "/api/tools/calc", "", 200, `~"id":"calc"`},
		{"GET", "/api/tools/nope", "", 404, `{"error":"Tool not found"}`},
		{"POST", "/api/tools/nope/execute", `{"data":{}}`, 404, `{"error":"Tool not found"}`},
		{"POST", "/api/tools/calc/execute", `{"data":{"a":6,"b":7,"op":"multiply"}}`, 200, `{"result":42}`},
		{"POST", "/api/tools/calc/execute", `{"data":{"a":1,"b":4,"op":"divide"}}`, 200, `{"result":0.25}`},
		// The tool's own refusal passes through as a 4xx (never a retried 5xx).
		{"POST", "/api/tools/calc/execute", `{"data":{"a":1,"b":0,"op":"divide"}}`, 400, `{"error":"division by zero"}`},
		{"POST", "/api/tools/weather/execute", `{"data":{"city":"  "}}`, 400, `{"error":"city is required"}`},
		// Schema-invalid data never reaches the tool; it is answered as
		// Mastra answers it (200 with error and validationErrors), so that
		// client-js returns it instead of throwing.
		{"POST", "/api/tools/calc/execute", `{"data":{"a":"6","b":7,"op":"multiply"}}`, 200, `~"validationErrors":{"errors":[],"fields":{"a":{"errors":["got string, want number"]`},
		{"POST", "/api/tools/weather/execute", `{"data":{}}`, 200, `~"message":"Tool input validation failed for weather.`},
		{"POST", "/api/tools/weather/execute", `{}`, 400, `~"field":"data"`},
		{"POST", "/api/tools/weather/execute", `{"data":`, 400, `~"Invalid request body"`},
		// The agent's view.
		{"GET", "/api/agents/assistant/tools/weather", "", 200, `~"id":"weather"`},
		{"GET", "/api/agents/plain/tools/weather", "", 404, `{"error":"Tool not found"}`},
		{"GET", "/api/agents/nope/tools/weather", "", 404, `{"error":"Agent with id nope not found"}`},
		{"POST", "/api/agents/assistant/tools/calc/execute", `{"data":{"a":2,"b":3,"op":"subtract"}}`, 200, `{"result":-1}`},
		{"POST", "/api/agents/plain/tools/calc/execute", `{"data":{"a":2,"b":3,"op":"add"}}`, 404, `{"error":"Tool not found"}`},
	} {
		status, b := e.do(t, tc.method, tc.path, tc.body)
		ok := status == tc.status
		if w, sub := strings.CutPrefix(tc.want, "~"); sub {
			ok = ok && strings.Contains(string(b), w)
		} else {
			ok = ok && jsonEq(string(b), tc.want)
		}
		if !ok {
			t.Errorf("%s %s %s: %d %s; want %d %s", tc.method, tc.path, tc.body, status, b, tc.status, tc.want)
		}
	}
	// The agent listing shows the same tools.
	_, b = e.do(t, http.MethodGet, "/api/agents/assistant", "")
	var a struct{ Tools map[string]json.RawMessage }
	json.Unmarshal(b, &a)
	if len(a.Tools) != 4 || a.Tools["calc"] == nil {
		t.Errorf("agent tools = %s", b)
	}
}

// The bodies @mastra/client-js 1.47.0 sends for a client tool (reference
// §2.4), replayed as captured.
const (
	clientTools = `{"clientWeather":{"id":"clientWeather","description":"client side weather",` +
		`"inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",` +
		`"properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}`
	firstBody = `{"messages":"weather in rome?","memory":{"thread":"ct-1","resource":"u-ct"},"clientTools":` + clientTools + `}`
	toolBody  = `{"messages":[{"role":"tool","content":[{"type":"tool-result","toolCallId":"ccall_1","toolName":"clientWeather",` +
		`"input":{"city":"Rome"},"result":{"city":"Rome","tempC":30}}]}],"memory":{"thread":"ct-1","resource":"u-ct"},"clientTools":` + clientTools + `}`
)

func TestClientToolRoundTrip(t *testing.T) {
	e := newEnv(t, script)

	// 1. The model calls the client tool: the turn ends with "tool-calls".
	cs := e.stream(t, "/api/agents/plain/stream", firstBody)
	calls := find(cs, "tool-call")
	if len(calls) != 1 || calls[0].Payload["toolCallId"] != "ccall_1" || calls[0].Payload["toolName"] != "clientWeather" ||
		mustJSON(t, calls[0].Payload["args"]) != `{"city":"Rome"}` {
		t.Fatalf("tool-call chunks = %+v (%s)", calls, types(cs))
	}
	if len(find(cs, "tool-result"))+len(find(cs, "tool-error")) != 0 {
		t.Errorf("the server ran a client tool: %s", types(cs))
	}
	last := cs[len(cs)-1]
	if last.Type != "finish" || reason(last) != "tool-calls" || last.Payload["stepResult"].(map[string]any)["isContinued"] != false {
		t.Errorf("last chunk = %+v; want finish with reason tool-calls, not continued", last)
	}
	reqs := e.fake.Requests()
	if len(reqs) != 1 || len(reqs[0].Tools) != 1 || reqs[0].Tools[0].Function.Name != "clientWeather" {
		t.Fatalf("model requests %d, tools %+v; want the client tool offered", len(reqs), reqs)
	}

	// 2. The client ran it and sends the result: the run continues.
	cs = e.stream(t, "/api/agents/plain/stream", toolBody)
	if len(find(cs, "tool-call")) != 0 || reason(cs[len(cs)-1]) != "stop" || !strings.Contains(types(cs), "text-delta") {
		t.Errorf("continuation chunks = %s, finish %q; want text and stop", types(cs), reason(cs[len(cs)-1]))
	}
	reqs = e.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("model got %d requests; want 2", len(reqs))
	}
	checkSequence(t, reqs[1])
	want := `user:weather in rome? | assistant[ccall_1 clientWeather {"city":"Rome"}] | tool(ccall_1):{"city":"Rome","tempC":30}`
	if d := reqs[1].Dump(); !strings.HasSuffix(d, want) {
		t.Errorf("continuation prompt = %s; want it to end with %s", d, want)
	}

	// 3. History replays on the next turn.
	e.stream(t, "/api/agents/plain/stream", `{"messages":"thanks","memory":{"thread":"ct-1","resource":"u-ct"}}`)
	reqs = e.fake.Requests()
	checkSequence(t, reqs[2])
	if d := reqs[2].Dump(); d != want+` | assistant:Tool said: {"city":"Rome","tempC":30} | user:thanks` {
		t.Errorf("replayed history = %s", d)
	}

	// generate() runs the same loop: it resends response.messages and the
	// tool message.
	g := e.generate(t, "/api/agents/plain/generate",
		`{"messages":"weather in rome?","memory":{"thread":"ct-2","resource":"u-ct"},"clientTools":`+clientTools+`}`)
	if g.FinishReason != "tool-calls" || len(g.ToolCalls) != 1 || g.ToolCalls[0].Payload["toolName"] != "clientWeather" {
		t.Fatalf("generate: finish %q, toolCalls %+v", g.FinishReason, g.ToolCalls)
	}
	msgs := append([]json.RawMessage{}, g.Response.Messages...)
	msgs = append(msgs, json.RawMessage(`{"role":"tool","content":[{"type":"tool-result","toolCallId":"ccall_1","toolName":"clientWeather","result":{"city":"Rome","tempC":30}}]}`))
	g = e.generate(t, "/api/agents/plain/generate", mustJSON(t, map[string]any{
		"messages": msgs, "memory": map[string]any{"thread": "ct-2", "resource": "u-ct"}, "clientTools": json.RawMessage(clientTools)}))
	if g.FinishReason != "stop" || g.Text != `Tool said: {"city":"Rome","tempC":30}` {
		t.Errorf("generate continuation: finish %q, text %q", g.FinishReason, g.Text)
	}
	reqs = e.fake.Requests()
	checkSequence(t, reqs[len(reqs)-1])
}
