package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
)

// sameChunkJSON panics when AppendChunk and json.Marshal write c
// differently: the recorder of the agent tests calls it on every chunk
// they stream, so every chunk shape a turn emits is compared.
func sameChunkJSON(c Chunk) {
	want, werr := json.Marshal(c)
	got, gerr := AppendChunk([]byte("x"), c)
	if (werr != nil) != (gerr != nil) || (werr == nil && !bytes.Equal(got, append([]byte("x"), want...))) {
		panic(fmt.Sprintf("AppendChunk(%+v) = %s (%v); json.Marshal writes %s (%v)", c, got, gerr, want, werr))
	}
}

func TestAppendChunkMatchesMarshal(t *testing.T) {
	odd := "<b>&\"\\\n\t\u2028 é \xff"
	chunk := func(typ string, p any) Chunk { return Chunk{Type: typ, RunID: "run-" + odd, From: "AGENT", Payload: p} }
	chunks := []Chunk{
		chunk(ChunkStart, startPayload{ID: "a", MessageID: "m", ThreadID: odd, ResourceID: "r", ModelID: "gpt", Provider: "openai"}),
		chunk(ChunkStart, &startPayload{ID: "a"}),
		chunk(ChunkStart, (*startPayload)(nil)),
		chunk(ChunkStepStart, stepStartPayload{MessageID: "m", StartedAt: 1733, Warnings: []any{}}),
		chunk(ChunkStepStart, stepStartPayload{MessageID: "m"}),
		chunk(ChunkStepStart, stepStartPayload{MessageID: "m", Warnings: []any{"w", 1}}),
		chunk(ChunkTextStart, textIDPayload{ID: "txt-0"}),
		chunk(ChunkTextDelta, textDeltaPayload{ID: "txt-0", Text: odd}),
		chunk(ChunkTextDelta, textDeltaPayload{}),
		chunk(ChunkTextEnd, textEndPayload{Type: "text-end", ID: "txt-0"}),
		chunk(ChunkToolInputStart, toolInputStartPayload{ToolCallID: "c1", ToolName: odd}),
		chunk(ChunkToolCallDelta, toolCallDeltaPayload{ArgsTextDelta: `{"city":`, ToolCallID: "c1", ToolName: "w"}),
		chunk(ChunkToolInputEnd, toolInputEndPayload{ToolCallID: "c1"}),
		chunk(ChunkToolCall, ToolCallPayload{ToolCallID: "c1", ToolName: "w", Args: json.RawMessage(" {\"city\" : \"<Paris>\"} ")}),
		chunk(ChunkToolCall, ToolCallPayload{ToolCallID: "c1", ToolName: "w"}),
		chunk(ChunkToolCall, ToolCallPayload{ToolCallID: "c1", ToolName: "w", Args: json.RawMessage(`{bad`)}),
		chunk(ChunkToolResult, toolResultPayload{ToolCallID: "c1", ToolName: "w", Args: json.RawMessage(`{}`), Result: json.RawMessage(`[1, 2]`)}),
		chunk(ChunkError, errorPayload{Type: "error", Error: errorObject{Message: odd, Name: "Error"}}),
		chunk(ChunkFinish, finishPayload{MessageID: "m", StepResult: stepResult{Reason: "stop", Warnings: []any{}}, ProviderMetadata: map[string]any{"openai": map[string]any{"x": 1}}}),
		chunk(ChunkStepFinish, stepFinishPayload{MessageID: "m", StepResult: stepResult{Reason: "tool-calls", Warnings: []any{}, IsContinued: true},
			Output: stepOutput{Text: odd, ToolCalls: []Chunk{chunk(ChunkToolCall, ToolCallPayload{ToolCallID: "c", ToolName: "w", Args: json.RawMessage(`{"a":1}`)})},
				Usage: usagePayload{InputTokens: 3, OutputTokens: 4, TotalTokens: 7, CachedInputTokens: 1, CacheCreationInputTokens: 2, ReasoningTokens: 5}},
			Metadata: stepMetadata{ID: "resp-1", Timestamp: "2026-12-07T15:04:05.123456789Z", ModelID: "gpt", ModelMetadata: &ModelMetadata{ModelID: "m", ModelVersion: "v2", ModelProvider: "openai"},
				ProviderMetadata: ProviderMetadata("openai", llm.Usage{CacheReadTokens: 2, CacheWriteTokens: 1, ReasoningTokens: 9})}}),
		chunk(ChunkStepFinish, stepFinishPayload{StepResult: stepResult{Warnings: []any{"w"}}}),
		chunk(ChunkStepFinish, stepFinishPayload{}),
		chunk(ChunkFinish, finishPayload{MessageID: "m", StepResult: stepResult{Reason: "stop", Warnings: []any{}}, Output: stepOutput{ToolCalls: []Chunk{}},
			Metadata: stepMeta(Step{ResponseID: "r", Provider: "openai", ModelID: "m1", Finished: time.Now(), Usage: llm.Usage{ReasoningTokens: 2}}),
			Usage:    usagePayload{InputTokens: 1}, TotalUsage: &usagePayload{TotalTokens: 9}, ProviderMetadata: ProviderMetadata("", llm.Usage{}),
			Response: &responseMeta{ID: "r", ModelID: odd, Timestamp: "t", ModelMetadata: ModelMetadata{ModelID: "x"}}}),
		chunk(ChunkFinish, finishPayload{MessageID: "m", Output: stepOutput{Text: "hi", Steps: stepValues([]Step{
			{Text: odd, ResponseID: "r1", Provider: "openai", ModelID: "m1", Finished: time.Now(), FinishReason: "tool-calls",
				ToolCalls:   []Chunk{chunk(ChunkToolCall, ToolCallPayload{ToolCallID: "c", ToolName: "w", Args: json.RawMessage(`{"a": "<1>"}`)})},
				ToolResults: []Chunk{chunk(ChunkToolResult, toolResultPayload{ToolCallID: "c", ToolName: "w", Args: json.RawMessage(`{}`), Result: json.RawMessage(`2`)})},
				Usage:       llm.Usage{InputTokens: 1, CacheReadTokens: 3}},
			{Text: "done", Provider: "", FinishReason: "stop"}})}}),
		chunk(ChunkFinish, finishPayload{Output: stepOutput{Steps: []stepValue{{}, {Warnings: []any{}, ToolCalls: []Chunk{}, ProviderMetadata: map[string]any{}}}}}),
		chunk(ChunkFinish, finishPayload{Output: stepOutput{Steps: []stepValue{{Warnings: []any{"w"}}}}}),
		chunk(ChunkFinish, finishPayload{Messages: &finishMessages{
			All: []modelMessage{{Role: "user", Content: []modelPart{{Type: "text", Text: odd}}},
				{Role: "assistant", Content: []modelPart{{Type: "tool-call", ToolCallID: "c", ToolName: odd, Input: json.RawMessage(` {"a" : "<"} `)}}},
				{Role: "tool", Content: []modelPart{{Type: "tool-result", ToolCallID: "c", ToolName: "w", Output: &partOutput{Type: "json", Value: json.RawMessage(`[1, 2]`)}},
					{Type: "tool-result", Output: &partOutput{Type: "text"}}}},
				{Role: "x"}, {Role: "y", Content: []modelPart{}}},
			User: []modelMessage{}}}),
		chunk(ChunkFinish, finishPayload{Messages: &finishMessages{All: []modelMessage{{Role: "a", Content: []modelPart{{Input: json.RawMessage(`{`)}}}}}}),
		chunk(ChunkFinish, finishPayload{Messages: &finishMessages{All: []modelMessage{{Role: "a", Content: []modelPart{{Output: &partOutput{Value: json.RawMessage(`}`)}}}}}}}),
		chunk(ChunkFinish, finishPayload{Output: stepOutput{Steps: []stepValue{{ProviderMetadata: map[string]any{"x": 1.5}}}}}),
		chunk(ChunkFinish, finishPayload{Metadata: stepMetadata{ProviderMetadata: map[string]any{"a": 1.5}}}),
		chunk(ChunkFinish, finishPayload{ProviderMetadata: map[string]any{"z": "s", "a": map[string]any{"k": true, "n": nil}, "m": map[string]any(nil)}}),
		chunk(ChunkTextDelta, json.RawMessage(`{"id": "x", "text": "<y>"}`)),
		{Type: "object", RunID: "r", From: "AGENT", Object: json.RawMessage(` {"a": [1, "<"]}`), Metadata: map[string]any{"fallback": true}},
		{Type: "object", RunID: "r", From: "AGENT", Object: json.RawMessage(`{`)},
		{Type: ChunkFinish},
	}
	for _, c := range chunks {
		sameChunkJSON(c)
	}
}

func BenchmarkAppendChunk(b *testing.B) {
	c := Chunk{Type: ChunkTextDelta, RunID: "7f1c9a52-2d1e-4a7b-9d55-0c1f3b8e2a11", From: "AGENT", Payload: textDeltaPayload{ID: "txt-0", Text: " there"}}
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(c)
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf, _ = AppendChunk(buf[:0], c)
		}
	})
}

// The steps of a finish chunk are written by hand, not left to
// json.Marshal, for the steps a turn makes.
func TestAppendStepValuesWritesSteps(t *testing.T) {
	steps := stepValues([]Step{{Text: "a", Provider: "openai", ModelID: "m", Finished: time.Now(), Usage: llm.Usage{ReasoningTokens: 1}},
		{Text: "<b>", ToolCalls: []Chunk{{Type: ChunkToolCall, Payload: ToolCallPayload{ToolCallID: "c", Args: json.RawMessage(`{}`)}}}}})
	want, _ := json.Marshal(steps)
	got, ok := appendStepValues(nil, steps)
	if !ok || !bytes.Equal(got, want) {
		t.Errorf("appendStepValues = %s, %v; json.Marshal writes %s", got, ok, want)
	}
}
