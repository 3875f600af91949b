package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// shapeServer serves agent "calc" on OpenAI with a server tool "double":
// its model calls the tool, then answers, reporting a dated model name and
// cache and reasoning token counts.
func shapeServer(t *testing.T) (*llmtest.Server, string) {
	t.Helper()
	usage := &llmtest.Usage{PromptTokens: 50, CompletionTokens: 20, TotalTokens: 70,
		PromptTokensDetails: &llmtest.CachedTokens{CachedTokens: 32}, CompletionTokensDetails: &llmtest.ReasoningTokens{ReasoningTokens: 8}}
	fake := llmtest.NewServer(t, llmtest.Replies(
		llmtest.Reply{Calls: []llmtest.Call{{ID: "call_1", Name: "double", Args: `{"n":21}`}}, Model: "gpt-4o-mini-2024-07-18"},
		llmtest.Reply{Text: "It is 42.", Model: "gpt-4o-mini-2024-07-18", Usage: usage},
	))
	openai, err := llm.NewOpenAI(fake.Config(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	double := fnTool{"double", func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
		var a struct{ N int }
		json.Unmarshal(args, &a)
		return json.Marshal(map[string]int{"result": a.N * 2})
	}}
	svc, err := agent.NewService(openSQLite(t), []*agent.Agent{{ID: "calc", Model: openai, Provider: "openai", ModelID: "gpt-4o-mini",
		Tools: []agent.Tool{double}}}, "", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{Config: testConfig(), Agents: svc, DefaultResourceID: "anon"})
	return fake, ts.URL
}

// generate answers one steps[] entry per model call, usage with
// reasoningTokens and cachedInputTokens (the last step's; totalUsage the
// sum), providerMetadata, and response.modelId as the provider reported it
// beside modelMetadata naming the configured model.
func TestGenerateResultShape(t *testing.T) {
	_, url := shapeServer(t)
	r := do(t, "POST", url+"/api/agents/calc/generate", `{"messages":"double 21"}`, "Content-Type", jsonCT)
	if r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.raw)
	}
	var g struct {
		Usage, TotalUsage map[string]float64
		ProviderMetadata  map[string]map[string]any
		Response          struct {
			ModelID, Timestamp string
			ModelMetadata      map[string]string
		}
		Steps []struct {
			StepType, Text, FinishReason string
			ToolCalls, ToolResults       []map[string]any
			Content                      []map[string]any
			Usage                        map[string]float64
			Response                     struct{ ID, ModelID, Timestamp string }
		}
	}
	if err := json.Unmarshal([]byte(r.raw), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Steps) != 2 || g.Steps[0].StepType != "initial" || g.Steps[1].StepType != "tool-result" ||
		g.Steps[0].FinishReason != "tool-calls" || len(g.Steps[0].ToolCalls) != 1 || len(g.Steps[0].ToolResults) != 1 ||
		g.Steps[1].Text != "It is 42." || g.Steps[1].FinishReason != "stop" || g.Steps[0].Response.ID == g.Steps[1].Response.ID {
		t.Errorf("steps = %+v", g.Steps)
	}
	if c := g.Steps[0].Content; len(c) != 2 || c[0]["type"] != "tool-call" || c[1]["type"] != "tool-result" {
		t.Errorf("steps[0].content = %v", c)
	}
	want := map[string]float64{"inputTokens": 50, "outputTokens": 20, "totalTokens": 70, "reasoningTokens": 8, "cachedInputTokens": 32}
	for k, v := range want {
		if g.Usage[k] != v {
			t.Errorf("usage.%s = %v; want %v (the last step's)", k, g.Usage[k], v)
		}
	}
	if g.TotalUsage["inputTokens"] != 60 || g.TotalUsage["totalTokens"] != 82 {
		t.Errorf("totalUsage = %v; want both steps", g.TotalUsage)
	}
	if g.Response.ModelID != "gpt-4o-mini-2024-07-18" || g.Response.ModelMetadata["modelId"] != "gpt-4o-mini" ||
		g.Response.ModelMetadata["modelProvider"] != "openai" || g.Response.Timestamp == "" {
		t.Errorf("response = %+v", g.Response)
	}
	if pm := g.ProviderMetadata["openai"]; pm == nil || pm["cachedPromptTokens"] != 32.0 || pm["reasoningTokens"] != 8.0 {
		t.Errorf("providerMetadata = %v", g.ProviderMetadata)
	}
}

// A stream's step-start carries startedAt; step-finish and finish carry
// Mastra's metadata (the reported modelId, modelMetadata, timestamp,
// providerMetadata), finish also totalUsage and response.
func TestStreamResultShape(t *testing.T) {
	_, url := shapeServer(t)
	before := time.Now().UnixMilli()
	res := post(t, url+"/api/agents/calc/stream", `{"messages":"double 21"}`)
	events, done := readSSE(t, res.Body)
	res.Body.Close()
	if !done {
		t.Fatal("no [DONE]")
	}
	starts := 0
	var finish map[string]any
	for _, ev := range events {
		p, _ := ev["payload"].(map[string]any)
		switch ev["type"] {
		case "step-start":
			starts++
			// The turn's clock keeps its times apart by a millisecond at
			// least, so it may run a little ahead of the wall clock.
			if at, _ := p["startedAt"].(float64); at < float64(before) || at > float64(time.Now().Add(time.Second).UnixMilli()) {
				t.Errorf("step-start.startedAt = %v", p["startedAt"])
			}
		case "step-finish":
			md := p["metadata"].(map[string]any)
			if md["modelId"] != "gpt-4o-mini-2024-07-18" || md["modelMetadata"].(map[string]any)["modelId"] != "gpt-4o-mini" ||
				md["timestamp"] == nil || md["id"] == nil {
				t.Errorf("step-finish metadata = %v", md)
			}
		case "finish":
			finish = p
		}
	}
	if starts != 2 {
		t.Errorf("%d step-starts; want 2", starts)
	}
	resp, _ := finish["response"].(map[string]any)
	tu, _ := finish["totalUsage"].(map[string]any)
	pm, _ := finish["providerMetadata"].(map[string]any)
	if resp["modelId"] != "gpt-4o-mini-2024-07-18" || resp["modelMetadata"].(map[string]any)["modelProvider"] != "openai" ||
		tu["totalTokens"] != 82.0 || tu["reasoningTokens"] != 8.0 || pm["openai"] == nil ||
		!strings.HasPrefix(finish["metadata"].(map[string]any)["modelId"].(string), "gpt-4o-mini-2024") {
		t.Errorf("finish payload = %v", finish)
	}
}
