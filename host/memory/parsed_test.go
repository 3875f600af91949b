package memory

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// builtKinds are the contents a turn builds (host/agent: its input, its
// reply), and some it could build that do not decode as themselves.
// carried: the message keeps the values as its parsed form.
// newMessage returns m with content c, encoded by json.Marshal, carrying c
// as its parsed form, as host/agent's builders do with their own encoder.
func newMessage(m Message, c Content) (Message, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return m, err
	}
	return m.WithParsed(b, c), nil
}

func builtKinds() []struct {
	name    string
	c       Content
	carried bool
} {
	step, empty, thought := 1, "", "let me think"
	call := &ToolInvocation{State: "result", ToolCallID: "call_1", ToolName: "weather",
		Args: json.RawMessage(`{"city":"Paris"}`), Result: json.RawMessage(`{"tempC":21,"sky":"clear sky"}`), Step: &step}
	pending := &ToolInvocation{State: "call", ToolCallID: "call_2", ToolName: "approve", Args: json.RawMessage(`{}`), Step: &step}
	replyMeta := map[string]any{"finishReason": "stop", "modelId": "m1", "provider": "openai",
		"usage": map[string]any{"inputTokens": 12.0, "outputTokens": 3.0, "totalTokens": 15.0}}
	objectMeta := map[string]any{"finishReason": "stop", "modelId": "m1", "provider": "openai", "requestDigest": "sha256:ab",
		"structuredOutput":  map[string]any{"name": "Ada", "tags": []any{"a", 1.5, true, nil}, "empty": map[string]any{}},
		"usedFallbackValue": true, "usage": map[string]any{"inputTokens": 1.0, "outputTokens": 2.0, "totalTokens": 3.0, "reasoningTokens": 7.0}}
	spaced := &ToolInvocation{State: "result", ToolCallID: "c", ToolName: "t", Args: json.RawMessage(` { "city" : "Paris" } `),
		Result: json.RawMessage("[1,\n2]")}
	text := func(s string) []Part { return []Part{{Type: "text", Text: s, CreatedAt: 1765000000000}} }
	return []struct {
		name    string
		c       Content
		carried bool
	}{
		{"user text", Content{Format: 2, Parts: text("hello <there> & \u2028 \"quoted\" 日本"), Content: "hello <there> & \u2028 \"quoted\" 日本"}, true},
		{"reply text", Content{Format: 2, Parts: append([]Part{{Type: "step-start", Model: "openai/m1", CreatedAt: 1765000000000}}, text("hi there")...),
			Content: "hi there", Metadata: replyMeta}, true},
		{"tool call and result", Content{Format: 2, Parts: []Part{{Type: "step-start"}, {Type: "tool-invocation", ToolInvocation: call},
			{Type: "tool-invocation", ToolInvocation: pending}}, ToolInvocations: []*ToolInvocation{call, pending}, Metadata: replyMeta}, true},
		{"client tool result", Content{Format: 2, Parts: []Part{{Type: "tool-invocation", ToolInvocation: &ToolInvocation{State: "result",
			ToolCallID: "c", ToolName: "t", Args: json.RawMessage(`{}`), Result: json.RawMessage(`"plain text"`)}}}}, true},
		{"reasoning", Content{Format: 2, Parts: []Part{
			{Type: "reasoning", Reasoning: &empty, CreatedAt: 1, Details: []ReasoningDetail{{Type: "text", Text: thought, Signature: "sig"}},
				ProviderMetadata: json.RawMessage(`{"anthropic":{"signature":"sig"}}`)},
			{Type: "reasoning", Reasoning: &empty, Details: []ReasoningDetail{{Type: "redacted", Data: "xyz"}}}}}, true},
		{"structured output", Content{Format: 2, Parts: text(`{"name":"Ada"}`), Content: `{"name":"Ada"}`, Metadata: objectMeta}, true},
		{"no parts", Content{Format: 2}, true},
		{"empty parts", Content{Format: 2, Parts: []Part{}}, true},

		{"text not UTF-8", Content{Format: 2, Parts: text("bad \xff"), Content: "bad \xff"}, false},
		{"args with spaces", Content{Format: 2, Parts: []Part{{Type: "tool-invocation", ToolInvocation: spaced},
			{Type: "reasoning", ProviderMetadata: json.RawMessage("{\n \"a\": \"b\"\n}")}}, ToolInvocations: []*ToolInvocation{spaced}}, true},
		{"result with <", Content{Format: 2, ToolInvocations: []*ToolInvocation{{Args: json.RawMessage(`{}`), Result: json.RawMessage(`"<b> & \u2028"`)}}}, true},
		{"compacted to the same length", Content{Format: 2, ToolInvocations: []*ToolInvocation{{Args: json.RawMessage(`{"a"     :1,"b":"<"}`)}}}, true},
		{"args not UTF-8", Content{Format: 2, ToolInvocations: []*ToolInvocation{{Args: json.RawMessage("\"\xff\"")}}}, false},
		{"nil args", Content{Format: 2, ToolInvocations: []*ToolInvocation{{State: "call"}}}, false},
		{"empty invocations", Content{Format: 2, ToolInvocations: []*ToolInvocation{}}, false},
		{"empty details", Content{Format: 2, Parts: []Part{{Type: "reasoning", Details: []ReasoningDetail{}}}}, false},
		{"empty metadata", Content{Format: 2, Metadata: map[string]any{}}, false},
		{"metadata int", Content{Format: 2, Metadata: map[string]any{"n": 1}}, false},
		{"metadata nil list", Content{Format: 2, Metadata: map[string]any{"l": []any(nil)}}, false},
	}
}

// A message built with its parsed form carries exactly what ParseContent
// makes of its content, or nothing.
func TestWithParsedIsParseContent(t *testing.T) {
	for _, k := range builtKinds() {
		t.Run(k.name, func(t *testing.T) {
			before := rawsOf(k.c)
			m, err := newMessage(Message{ID: "m"}, k.c)
			if err != nil {
				t.Fatal(err)
			}
			if after := rawsOf(k.c); !reflect.DeepEqual(after, before) {
				t.Errorf("the raw values handed over changed: %q, were %q", after, before)
			}
			want, err := ParseContent(m.Content)
			if err != nil {
				t.Fatal(err)
			}
			got, carried := m.Parsed()
			if carried != k.carried {
				t.Fatalf("carried = %v, want %v (content %s)", carried, k.carried, m.Content)
			}
			if carried && !reflect.DeepEqual(got, want) {
				t.Errorf("parsed form\n%#v\nParseContent\n%#v", got, want)
			}
			if c, err := m.ParsedContent(); err != nil || !reflect.DeepEqual(c, want) {
				t.Errorf("ParsedContent = %#v, %v; want %#v", c, err, want)
			}
			if m.ContentValid() != carried {
				t.Errorf("ContentValid = %v, want %v", m.ContentValid(), carried)
			}
		})
	}
}

// FuzzWithParsed: whatever values a builder hands over, a message carries
// them only when they are what ParseContent makes of their encoding.
func FuzzWithParsed(f *testing.F) {
	f.Add("hi", "text", []byte(`{"a":1}`), []byte(`"r"`), "meta", 1.5)
	f.Add("bad \xff", "", []byte(`{"a": 1}`), []byte(nil), "\xfe", 0.0)
	f.Add("<&>\u2028", "reasoning", []byte(`[ ]`), []byte{}, "", -0.0)
	f.Fuzz(func(t *testing.T, text, typ string, args, result []byte, key string, num float64) {
		// Raw values json.Marshal refuses would only end the run: made
		// into JSON strings, they reach the check.
		if !json.Valid(args) {
			args, _ = json.Marshal(string(args))
		}
		if len(result) > 0 && !json.Valid(result) {
			result, _ = json.Marshal(string(result))
		}
		inv := &ToolInvocation{State: typ, ToolCallID: text, ToolName: key, Args: args, Result: result}
		c := Content{Format: 2, Content: text,
			Parts: []Part{{Type: typ, Text: text, Reasoning: &key, ProviderMetadata: result, Details: []ReasoningDetail{{Type: key, Text: text}}},
				{Type: "tool-invocation", ToolInvocation: inv}},
			ToolInvocations: []*ToolInvocation{inv},
			Metadata:        map[string]any{key: text, "n": num, "l": []any{text, num, map[string]any{key: nil}}}}
		m, err := newMessage(Message{}, c)
		if err != nil {
			return // json.Marshal refuses it: nothing is built
		}
		got, carried := m.Parsed()
		if !carried {
			return
		}
		want, err := ParseContent(m.Content)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("carried %#v\nParseContent of %s: %#v (%v)", got, m.Content, want, err)
		}
	})
}

// A turn's save keeps, for each message, exactly what a later read from
// Postgres parses of the row; a message built with its parsed form is
// kept with that form, not parsed again.
func TestSavedParsedIsStoredParse(t *testing.T) {
	s := openStore(t, Options{DatabaseURL: pgtest.NewDatabase(t)})
	ctx := context.Background()
	kinds := builtKinds()
	msgs := make([]Message, len(kinds))
	at := time.Now().UTC().Add(-time.Hour)
	for i, k := range kinds {
		m, err := newMessage(Message{ID: uuid.NewString(), Role: "assistant", Type: "v2", CreatedAt: at}, k.c)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	given := make([]*parsedContent, len(msgs))
	for i := range msgs {
		given[i] = msgs[i].parsed
	}
	if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "conv", ResourceID: "alice"}, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	window := s.memo.get(memoKey{"alice", "conv"})
	kept := 0 // not the content that is not UTF-8: the row holds it quoted otherwise
	for _, m := range msgs {
		if utf8.Valid(m.Content) {
			kept++
		}
	}
	if len(window) != kept {
		t.Fatalf("the memo holds %d messages after the save; want %d", len(window), kept)
	}
	stored, err := s.MessagesByID(ctx, "alice", idsOf(msgs))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Message{}
	for _, m := range stored {
		byID[m.ID] = m
	}
	for _, e := range window {
		i := indexOf(msgs, e.msg.ID)
		row, ok := byID[e.msg.ID]
		if !ok {
			t.Fatalf("message %s (%s) not stored", e.msg.ID, kinds[i].name)
		}
		want, err := ParseContent(row.Content)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.msg.Content) != string(row.Content) {
			t.Errorf("%s: memo holds %s, the row %s", kinds[i].name, e.msg.Content, row.Content)
		}
		if got, err := e.msg.ParsedContent(); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: memo's parse\n%#v\nthe row's\n%#v", kinds[i].name, got, want)
		}
		if kept := e.msg.parsed == given[i]; kept != kinds[i].carried {
			t.Errorf("%s: memo kept the built form: %v, want %v", kinds[i].name, kept, kinds[i].carried)
		}
	}
	// The next read serves the memo's, and it is the rows'.
	h, err := s.TurnHistory(ctx, "alice", "conv", len(msgs))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range h.Messages {
		want, _ := ParseContent(byID[m.ID].Content)
		if got, err := m.ParsedContent(); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("read %s: %#v; the row's %#v", m.ID, got, want)
		}
	}
}

// rawsOf lists c's raw JSON values, as they are in memory.
func rawsOf(c Content) []string {
	var out []string
	inv := func(i *ToolInvocation) {
		if i != nil {
			out = append(out, string(i.Args), string(i.Result))
		}
	}
	for _, p := range c.Parts {
		inv(p.ToolInvocation)
		out = append(out, string(p.ProviderMetadata))
	}
	for _, i := range c.ToolInvocations {
		inv(i)
	}
	return out
}

func idsOf(msgs []Message) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

func indexOf(msgs []Message, id string) int {
	for i, m := range msgs {
		if m.ID == id {
			return i
		}
	}
	return -1
}
