package agent

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// row makes a stored message from v2 content JSON.
func row(role, content string) memory.Message {
	return memory.Message{ID: role, Role: role, Type: "v2", Content: json.RawMessage(content)}
}

// render prints model messages compactly, as dump does for wire requests.
func render(msgs []llm.Message) string {
	var parts []string
	for _, m := range msgs {
		s := m.Role
		if m.ToolCallID != "" {
			s += "(" + m.ToolCallID + ")"
		}
		for _, tc := range m.ToolCalls {
			s += fmt.Sprintf("[%s %s %s]", tc.ID, tc.Name, tc.Arguments)
		}
		if m.Content != "" {
			s += ":" + m.Content
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

func TestPrompt(t *testing.T) {
	mastraToolTurn := row("assistant", `{"format":2,"parts":[
		{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"call_1","toolName":"weather","args":{"city":"Paris"},"result":{"tempC":21}}},
		{"type":"step-start","createdAt":1,"model":"mock/mock-chat"},
		{"type":"text","text":"Hello world","createdAt":2}],"content":"Hello world"}`)
	tests := []struct {
		name    string
		system  string
		history []memory.Message
		input   []llm.Message
		want    string
	}{
		{
			name:    "text history",
			system:  "sys",
			history: []memory.Message{row("user", `{"format":2,"parts":[{"type":"text","text":"hi"}],"content":"hi"}`), row("assistant", `{"format":2,"parts":[],"content":"hello"}`)},
			input:   user("next"),
			want:    "system:sys | user:hi | assistant:hello | user:next",
		},
		{
			name:    "v1 string content",
			history: []memory.Message{row("user", `"plain old"`)},
			input:   user("x"),
			want:    "user:plain old | user:x",
		},
		{
			name:    "mastra tool turn",
			history: []memory.Message{mastraToolTurn},
			input:   user("x"),
			want:    `assistant[call_1 weather {"city":"Paris"}] | tool(call_1):{"tempC":21} | assistant:Hello world | user:x`,
		},
		{
			name: "unanswered call dropped",
			history: []memory.Message{row("assistant", `{"format":2,"parts":[{"type":"text","text":"let me check"},
				{"type":"tool-invocation","toolInvocation":{"state":"call","toolCallId":"c9","toolName":"w","args":{}}}]}`)},
			input: user("never mind"),
			want:  "assistant:let me check | user:never mind",
		},
		{
			name: "invalid args replayed as produced",
			history: []memory.Message{row("assistant", `{"format":2,"parts":[
				{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"c1","toolName":"w","args":"{\"city\":","result":{"error":"invalid arguments"}}}]}`)},
			input: user("x"),
			want:  `assistant[c1 w {"city":] | tool(c1):{"error":"invalid arguments"} | user:x`,
		},
		{
			name: "client result placed after its call",
			history: []memory.Message{
				row("assistant", `{"format":2,"parts":[{"type":"tool-invocation","toolInvocation":{"state":"call","toolCallId":"c1","toolName":"cw","args":{"a":1}}}]}`),
				row("user", `{"format":2,"parts":[{"type":"text","text":"meanwhile"}]}`),
			},
			input: []llm.Message{{Role: "tool", ToolCallID: "c1", Content: `{"ok":true}`}},
			want:  `assistant[c1 cw {"a":1}] | tool(c1):{"ok":true} | user:meanwhile`,
		},
		{
			name:  "input assistant with answered and unanswered calls",
			input: []llm.Message{{Role: "assistant", ToolCalls: []llm.ToolCall{{ID: "c1", Name: "cw", Arguments: json.RawMessage(`{}`)}, {ID: "c2", Name: "cw", Arguments: json.RawMessage(`{}`)}}}, {Role: "tool", ToolCallID: "c1", Content: "1"}},
			want:  `assistant[c1 cw {}] | tool(c1):1`,
		},
		{
			name:  "orphan tool result gets a call",
			input: []llm.Message{{Role: "tool", ToolCallID: "c1", Name: "cw", Content: "1"}},
			want:  `assistant[c1 cw {}] | tool(c1):1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(prompt(tt.system, tt.history, tt.input)); got != tt.want {
				t.Errorf("prompt =\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
}

func TestInputMessages(t *testing.T) {
	history := []memory.Message{row("assistant", `{"format":2,"parts":[{"type":"tool-invocation","toolInvocation":{"state":"call","toolCallId":"c1","toolName":"cw","args":{"city":"Rome"}}}]}`)}
	input := []llm.Message{
		{Role: "tool", ToolCallID: "c1", Content: "not json"},
		{Role: "assistant", Content: "again", ToolCalls: []llm.ToolCall{{ID: "c2", Name: "cw", Arguments: json.RawMessage(`{"x"`)}}},
		{Role: "tool", ToolCallID: "c2", Content: `{"r":2}`},
		{Role: "user", Content: "thanks"},
	}
	var clk clock
	got := inputMessages(input, history, &clk)
	if len(got) != 3 {
		t.Fatalf("got %d messages; want 3 (the second tool result folded into its call)", len(got))
	}
	for i := 1; i < len(got); i++ {
		if !got[i].CreatedAt.After(got[i-1].CreatedAt) {
			t.Errorf("createdAt[%d] %v not after %v", i, got[i].CreatedAt, got[i-1].CreatedAt)
		}
	}
	want := []string{
		`{"format":2,"parts":[{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"c1","toolName":"cw","args":{"city":"Rome"},"result":"not json"}}]}`,
		`{"format":2,"parts":[{"type":"text","text":"again","createdAt":%d},{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"c2","toolName":"cw","args":"{\"x\"","result":{"r":2}}}],"content":"again"}`,
	}
	want[1] = fmt.Sprintf(want[1], got[1].CreatedAt.UnixMilli())
	for i, w := range want {
		if got[i].Role != "assistant" || string(got[i].Content) != w {
			t.Errorf("message %d = %s %s\nwant assistant %s", i, got[i].Role, got[i].Content, w)
		}
	}
	if got[2].Role != "user" || string(got[2].Content) != string(memory.TextContent("thanks", got[2].CreatedAt)) {
		t.Errorf("message 2 = %s %s", got[2].Role, got[2].Content)
	}
	if d := time.Since(got[0].CreatedAt); d < 0 || d > time.Minute {
		t.Errorf("createdAt %v is not now", got[0].CreatedAt)
	}
	// Each is handed to the store with its parse, which is the content's.
	for i := range got {
		c, ok := got[i].Parsed()
		want, err := memory.ParseContent(got[i].Content)
		if !ok || err != nil || !reflect.DeepEqual(c, want) {
			t.Errorf("message %d carries %v %#v; ParseContent %#v (%v)", i, ok, c, want, err)
		}
	}
}
