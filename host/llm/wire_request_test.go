package llm

import (
	"bytes"
	"encoding/json"
	"testing"
)

// requestCases are requests covering every field of the OpenAI body.
func requestCases() []Request {
	f := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	return []Request{
		{Model: "gpt-4o-mini", Messages: []Message{{Role: RoleUser, Content: "hi"}}},
		{Model: "m", Messages: nil},
		{Model: "m", Messages: []Message{
			{Role: RoleSystem, Content: "You are <helpful> & \"kind\"\n\ttabs \u2028 é 日本 \xff"},
			{Role: RoleUser, Content: "", Name: "bob"},
			{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "call_1", Name: "weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}, {Name: "x", Arguments: json.RawMessage("  ")}, {ID: "c3", Arguments: json.RawMessage(`not json <>`)}}},
			{Role: RoleAssistant, Content: "and text", ToolCalls: []ToolCall{{ID: "c", Name: "n"}}},
			{Role: RoleTool, Content: `{"temp":21}`, ToolCallID: "call_1"},
		},
			Tools: []Tool{{Name: "weather", Description: "Gets <the> weather", Parameters: json.RawMessage(" {\"type\": \"object\",\n \"properties\": {\"city\": {\"type\":\"string\", \"description\":\"a & b\"}}} ")},
				{Name: "bare"}},
			ToolChoice:  "required",
			Temperature: f(0.7), MaxTokens: n(256), TopP: f(1), Stop: []string{"\n\n", "END"}, Seed: n(-3),
			PresencePenalty: f(1e-7), FrequencyPenalty: f(-2e21),
			ResponseFormat: &ResponseFormat{Schema: json.RawMessage(`{"type":"object"}`)},
		},
		{Model: "m", Messages: []Message{{Role: RoleUser, Content: "x"}}, Tools: []Tool{{Name: "t"}}, ToolChoice: "t"},
		{Model: "m", Messages: []Message{{Role: RoleUser, Content: "x"}}, Tools: []Tool{{Name: "t"}}, ToolChoice: "auto", Stop: []string{}},
		{Model: "m", Messages: []Message{{Role: RoleUser, Content: "x"}}, ToolChoice: "none", MaxTokens: n(0), Temperature: f(0),
			ResponseFormat: &ResponseFormat{Name: "person"}},
		{Model: "", Messages: []Message{{Role: RoleUser, Content: "x"}}},
	}
}

// TestAppendRequestMatchesMarshal: the hand-written body is byte for byte
// the one json.Marshal wrote of the request struct, in every client mode.
func TestAppendRequestMatchesMarshal(t *testing.T) {
	for i, req := range requestCases() {
		for _, mode := range [][3]bool{{true, false, false}, {true, false, true}, {false, true, false}, {false, true, true}} {
			want, werr := json.Marshal(toWire(req, mode[0], mode[1], mode[2]))
			got, gerr := appendRequest([]byte("prefix"), req, mode[0], mode[1], mode[2])
			if werr != nil || gerr != nil {
				t.Fatalf("case %d %v: errors %v, %v", i, mode, gerr, werr)
			}
			if !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Errorf("case %d %v:\n got %s\nwant prefix%s", i, mode, got, want)
			}
		}
	}
}

// TestAppendRequestErrors: what json.Marshal refused, appendRequest refuses.
func TestAppendRequestErrors(t *testing.T) {
	nan := 0.0
	nan /= nan
	for name, req := range map[string]Request{
		"bad parameters": {Model: "m", Tools: []Tool{{Name: "t", Parameters: json.RawMessage(`{"a":`)}}},
		"bad schema":     {Model: "m", ResponseFormat: &ResponseFormat{Schema: json.RawMessage(`[1,]`)}},
		"NaN":            {Model: "m", Temperature: &nan},
	} {
		if _, werr := json.Marshal(toWire(req, true, false, false)); werr == nil {
			t.Fatalf("%s: json.Marshal accepted it", name)
		}
		if b, err := appendRequest(nil, req, true, false, false); err == nil {
			t.Errorf("%s: appendRequest wrote %s", name, b)
		}
	}
}

func FuzzAppendRequest(f *testing.F) {
	f.Add("hi", "sys <b>", `{"a":1}`, "call_1", "t", 0.5, 10)
	f.Add("", "", "", "", "", 0.0, 0)
	f.Add("\xff\u2028", "\x00\t", "  ", "", "auto", 1e-9, -1)
	f.Fuzz(func(t *testing.T, text, system, args, id, tool string, temp float64, max int) {
		req := Request{Model: "m", Messages: []Message{{Role: RoleSystem, Content: system}, {Role: RoleUser, Content: text, Name: id},
			{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: id, Name: tool, Arguments: json.RawMessage(args)}}},
			{Role: RoleTool, Content: args, ToolCallID: id}},
			Tools: []Tool{{Name: tool, Description: text}}, ToolChoice: tool, Temperature: &temp, MaxTokens: &max, Stop: []string{text}}
		want, werr := json.Marshal(toWire(req, true, max%2 == 0, len(text)%2 == 0))
		got, gerr := appendRequest(nil, req, true, max%2 == 0, len(text)%2 == 0)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("got %s (%v)\nwant %s (%v)", got, gerr, want, werr)
		}
	})
}

func BenchmarkAppendRequest(b *testing.B) {
	req := requestCases()[2]
	for i := 0; i < 20; i++ {
		req.Messages = append(req.Messages, Message{Role: RoleUser, Content: "a message of the history, of some length, as users write them"})
	}
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(toWire(req, true, false, true))
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = appendRequest(make([]byte, 0, requestSize(req)), req, true, false, true)
		}
	})
}
