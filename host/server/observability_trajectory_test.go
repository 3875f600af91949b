package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

// A workflow run's trace becomes the run's children as steps: a step
// with an agent inside whose tool call and model call are its children,
// ordered by start; a generic span gives way to its children; a tool's
// non-object output is {value}; the run's duration is the total.
func TestTrajectoryOf(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tm := func(ms int) memory.SpanTime {
		return memory.SpanTime{Time: at.Add(time.Duration(ms) * time.Millisecond)}
	}
	end := func(ms int) *memory.SpanTime { e := tm(ms); return &e }
	str := func(s string) *string { return &s }
	spans := []memory.Span{
		{SpanID: "run", Name: "workflow run: 'wf'", SpanType: "workflow_run", EntityID: str("wf"), StartedAt: tm(0), EndedAt: end(500)},
		{SpanID: "tool", ParentSpanID: str("agent"), Name: "tool: 'weather'", SpanType: "tool_call", EntityID: str("weather"),
			StartedAt: tm(120), EndedAt: end(150), Input: memory.SpanJSON(`{"city":"Oslo"}`), Output: memory.SpanJSON(`"3 degrees"`),
			Attributes: memory.SpanJSON(`{"success":true}`)},
		{SpanID: "step", ParentSpanID: str("run"), Name: "ask", SpanType: "workflow_step", StartedAt: tm(10), EndedAt: end(400),
			Output: memory.SpanJSON(`{"answer":"cold"}`)},
		{SpanID: "wrap", ParentSpanID: str("step"), Name: "wrapper", SpanType: "generic", StartedAt: tm(20), EndedAt: end(390)},
		{SpanID: "agent", ParentSpanID: str("wrap"), Name: "agent run: 'a'", SpanType: "agent_run", EntityID: str("a"), StartedAt: tm(30), EndedAt: end(380)},
		{SpanID: "llm", ParentSpanID: str("agent"), Name: "llm: 'gpt'", SpanType: "model_generation", StartedAt: tm(40), EndedAt: end(100),
			Attributes: memory.SpanJSON(`{"model":"gpt","finishReason":"tool-calls","usage":{"inputTokens":7,"outputTokens":3}}`)},
		{SpanID: "cycle", ParentSpanID: str("cycle"), Name: "self", SpanType: "processor_run", StartedAt: tm(450)},
	}
	b, _ := json.Marshal(trajectoryOf(spans))
	var got struct {
		Steps []struct {
			StepType, Name string
			DurationMs     *int64
			Children       []map[string]any
		}
		TotalDurationMs *int64
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// Two roots (the run and the self-parented span): nothing unwrapped.
	if len(got.Steps) != 2 || got.Steps[0].StepType != "workflow_run" || got.Steps[1].StepType != "processor_run" || got.TotalDurationMs != nil {
		t.Fatalf("trajectory = %s", b)
	}
	spans = spans[:len(spans)-1]
	b, _ = json.Marshal(trajectoryOf(spans))
	want := `{"steps":[{"children":[{"agentId":"a","children":[` +
		`{"completionTokens":3,"durationMs":60,"finishReason":"tool-calls","modelId":"gpt","name":"llm: 'gpt'","promptTokens":7,"stepType":"model_generation"},` +
		`{"durationMs":30,"name":"weather","stepType":"tool_call","success":true,"toolArgs":{"city":"Oslo"},"toolResult":{"value":"3 degrees"}}],` +
		`"durationMs":350,"name":"agent run: 'a'","stepType":"agent_run"}],` +
		`"durationMs":390,"name":"ask","output":{"answer":"cold"},"stepId":"ask","stepType":"workflow_step"}],"totalDurationMs":500}`
	if string(b) != want {
		t.Errorf("trajectory =\n%s\nwant\n%s", b, want)
	}
}

// A tool call that starts in the millisecond the next model call starts
// (stored times are milliseconds) comes before it when it ended first.
func TestTrajectoryOrdersTiesByEnd(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tm := func(ms int) memory.SpanTime {
		return memory.SpanTime{Time: at.Add(time.Duration(ms) * time.Millisecond)}
	}
	end := func(ms int) *memory.SpanTime { e := tm(ms); return &e }
	str := func(s string) *string { return &s }
	spans := []memory.Span{
		{SpanID: "agent", Name: "agent run: 'a'", SpanType: "agent_run", StartedAt: tm(0), EndedAt: end(6)},
		{SpanID: "llm1", ParentSpanID: str("agent"), Name: "llm 1", SpanType: "model_generation", StartedAt: tm(0), EndedAt: end(3)},
		{SpanID: "llm2", ParentSpanID: str("agent"), Name: "llm 2", SpanType: "model_generation", StartedAt: tm(3), EndedAt: end(4)},
		{SpanID: "tool", ParentSpanID: str("agent"), Name: "tool: 'weather'", SpanType: "tool_call", StartedAt: tm(3), EndedAt: end(3)},
	}
	b, _ := json.Marshal(trajectoryOf(spans))
	var got struct{ Steps []struct{ StepType string } }
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, s := range got.Steps {
		types = append(types, s.StepType)
	}
	if want := "model_generation tool_call model_generation"; strings.Join(types, " ") != want {
		t.Errorf("steps %v; want %s", types, want)
	}
}
