package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// Every generate reply a server test gets is checked against the
// reference encoding: a mismatch panics in the handler, which answers 500.
func init() {
	checkGenerate = func(res *agent.Result, body []byte) {
		if err := sameGenerateJSON(res, body); err != nil {
			panic(err)
		}
	}
}

func sameGenerateJSON(res *agent.Result, body []byte) error {
	want, err := json.Marshal(toGenerateJSON(res))
	if err != nil {
		return fmt.Errorf("json.Marshal(toGenerateJSON): %w", err)
	}
	if !bytes.Equal(body, want) {
		return fmt.Errorf("appendGenerate wrote\n%s\njson.Marshal(toGenerateJSON) writes\n%s", body, want)
	}
	return nil
}

func TestGenerateJSONMatchesMarshal(t *testing.T) {
	odd := "<b>&\"\\\n\t\u2028 é \xff"
	at := time.Date(2026, 12, 7, 15, 4, 5, 123456789, time.FixedZone("X", 3600))
	call := agent.Chunk{Type: agent.ChunkToolCall, RunID: "run", From: "AGENT",
		Payload: agent.ToolCallPayload{ToolCallID: "c1", ToolName: "weather", Args: json.RawMessage(` {"city": "<Paris>"}`)}}
	result := agent.Chunk{Type: agent.ChunkToolResult, RunID: "run", From: "AGENT",
		Payload: json.RawMessage(`{"args":{"city":"Paris"},"toolCallId":"c1","toolName":"weather","result":{"temp": 21}}`)}
	failed := agent.Chunk{Type: agent.ChunkToolError, RunID: "run", From: "AGENT",
		Payload: json.RawMessage(`{"args":{},"toolCallId":"c2","toolName":"trap","error":{"message":"boom <x>","name":"Error"}}`)}
	msg := func(id, role, content string) memory.Message {
		return memory.Message{ID: id, Role: role, ThreadID: "t-" + odd, ResourceID: "r", Content: json.RawMessage(content), CreatedAt: at}
	}
	reply := msg("m2", "assistant", `{"format":2,"parts":[{"type":"step-start"},{"type":"reasoning","reasoning":"","details":[{"type":"text","text":"hm"}]},`+
		`{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"c1","toolName":"weather","args":{"city":"Paris"},"result":{"temp":21}}},`+
		`{"type":"tool-invocation","toolInvocation":{"state":"call","toolCallId":"c3","toolName":"x"}},{"type":"text","text":"It is 21 <C>"}],"content":"It is 21"}`)
	results := []*agent.Result{
		{},
		{Text: "hi there", ThreadID: "t", ResourceID: "r", RunID: "run", MessageID: "m2", FinishReason: "stop", Model: "m1",
			Usage: llm.Usage{InputTokens: 10, OutputTokens: 2, TotalTokens: 12},
			StepResults: []agent.Step{{Text: "hi there", FinishReason: "stop", Usage: llm.Usage{InputTokens: 10, OutputTokens: 2, TotalTokens: 12},
				ResponseID: "chatcmpl-1", ResponseModel: "m1-2026", Provider: "openai", ModelID: "m1", StartedAt: at, Finished: at}},
			Messages:   []memory.Message{msg("m1", "user", `{"format":2,"parts":[{"type":"text","text":"hello"}]}`), msg("m2", "assistant", `{"format":2,"parts":[{"type":"text","text":"hi there"}],"content":"hi there"}`)},
			Remembered: []memory.Message{msg("m0", "user", " { \"format\" : 2 } "), {ID: "m", Role: "assistant", Content: json.RawMessage(`{}`)}}},
		{Text: odd, FinishReason: "tool-calls", Model: "m1", Object: json.RawMessage(` {"a": [1, "<"]}`), UsedFallbackValue: true,
			Usage:       llm.Usage{InputTokens: 30, OutputTokens: 9, TotalTokens: 39, CacheReadTokens: 4, CacheWriteTokens: 2, ReasoningTokens: 3},
			ToolCalls:   []agent.Chunk{call, {Type: agent.ChunkToolCall, Payload: json.RawMessage(`{"x":1}`)}},
			ToolResults: []agent.Chunk{result, failed},
			StepResults: []agent.Step{
				{Reasoning: []llm.Reasoning{{Text: "let me "}, {Text: "think <"}}, ToolCalls: []agent.Chunk{call}, ToolResults: []agent.Chunk{result, failed},
					FinishReason: "tool-calls", Usage: llm.Usage{ReasoningTokens: 3}, Provider: "anthropic", Finished: at},
				{Text: odd, FinishReason: "stop", Usage: llm.Usage{CacheReadTokens: 4}, ModelID: "m1"},
			},
			Messages:   []memory.Message{reply, msg("bad", "assistant", `[1]`)},
			Suspension: &agent.Suspension{Approval: true, ToolCallID: "c1", ToolName: "weather", Args: json.RawMessage(`{}`), ResumeSchema: `{"type":"object"}`}},
		{FinishReason: "suspended", Suspension: &agent.Suspension{ToolCallID: "c1", ToolName: "w", Payload: json.RawMessage(`{"ask":"<?>"}`)}},
	}
	for i, res := range results {
		got, err := appendGenerate(nil, res)
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if err := sameGenerateJSON(res, got); err != nil {
			t.Errorf("result %d: %v", i, err)
		}
	}
}

// TestReplyUIMessagesParts: each kind of saved part becomes its UI part,
// reading only the parts of the content.
func TestReplyUIMessagesParts(t *testing.T) {
	content := `{"format":2,"parts":[{"type":"step-start"},{"type":"reasoning","reasoning":"","details":[{"type":"text","text":"hm"},{"type":"text","text":" ok"}]},` +
		`{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"c1","toolName":"weather","args":{"city":"Paris"},"result":{"temp":21}}},` +
		`{"type":"tool-invocation","toolInvocation":{"state":"call","toolCallId":"c3","toolName":"x"}},{"type":"tool-invocation"},{"type":"text","text":"It is 21"}],` +
		`"content":"It is 21","metadata":{"modelId":"m","usage":{"inputTokens":1}},"toolInvocations":[{"state":"result","toolCallId":"c1","toolName":"weather","args":{},"result":1}]}`
	got := replyUIMessages([]memory.Message{{ID: "u", Role: "user", Content: json.RawMessage(`{"format":2,"parts":[{"type":"text","text":"q"}]}`)},
		{ID: "a", Role: "assistant", Content: json.RawMessage(content)}, {ID: "bad", Role: "assistant", Content: json.RawMessage(`[1]`)}})
	b, _ := json.Marshal(got)
	want := `[{"id":"a","role":"assistant","parts":[{"type":"step-start"},{"type":"reasoning","text":"hm ok"},` +
		`{"type":"tool-weather","toolCallId":"c1","state":"output-available","input":{"city":"Paris"},"output":{"temp":21}},` +
		`{"type":"tool-x","toolCallId":"c3","state":"input-available","input":{}},{"type":"text","text":"It is 21"}]}]`
	if string(b) != want {
		t.Errorf("replyUIMessages =\n%s\nwant\n%s", b, want)
	}
}
