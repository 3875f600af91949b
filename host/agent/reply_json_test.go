package agent

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// sameReplyJSON fails when appendReplyContent and json.Marshal (with the
// metadata as the map) write c differently, or one fails and the other not.
func sameReplyJSON(t *testing.T, c memory.Content, meta replyMetadata) {
	t.Helper()
	withMap := c
	withMap.Metadata = meta.asMap()
	want, werr := json.Marshal(withMap)
	got, gerr := appendReplyContent([]byte("x"), &c, &meta)
	if (werr != nil) != (gerr != nil) || (werr == nil && !bytes.Equal(got, append([]byte("x"), want...))) {
		t.Fatalf("appendReplyContent = %s (%v)\njson.Marshal writes %s (%v)", got, gerr, want, werr)
	}
	if werr == nil {
		sameParsedReply(t, want, c, meta)
	}
}

// sameParsedReply fails when the parsed form run.reply hands the store
// with content b (c with meta's metadata, as decoded) is not what
// ParseContent makes of b. It reports whether the form was handed over.
func sameParsedReply(t *testing.T, b []byte, c memory.Content, meta replyMetadata) bool {
	t.Helper()
	md, ok := meta.decoded()
	if !ok {
		return false
	}
	c.Metadata = md
	m := memory.Message{}.WithParsed(b, c)
	got, carried := m.Parsed()
	if !carried {
		return false
	}
	want, err := memory.ParseContent(b)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("reply's parsed form\n%#v\nParseContent of %s\n%#v (%v)", got, b, want, err)
	}
	return true
}

func TestReplyContentJSON(t *testing.T) {
	step := 2
	empty := ""
	reasoning := "thinking <hard> & long"
	meta := replyMetadata{finishReason: "stop", modelID: "gpt-4o", provider: "openai",
		usage: usagePayload{InputTokens: 10, OutputTokens: 20, TotalTokens: 30}}
	full := meta
	full.digest, full.object, full.usedFallback = "sha256:ab<c>", json.RawMessage(` {"a" : [1, "<&>\u2028"] } `), true
	full.usage.CachedInputTokens, full.usage.CacheCreationInputTokens, full.usage.ReasoningTokens = 1, 2, 3
	inv := &memory.ToolInvocation{State: "result", ToolCallID: "call_1", ToolName: "weather",
		Args: json.RawMessage(`{"city": "Paris"}`), Result: json.RawMessage(`{"tempC":21}`), Step: &step}
	cases := []struct {
		name string
		c    memory.Content
		meta replyMetadata
	}{
		{"text", memory.Content{Format: 2, Parts: []memory.Part{{Type: "step-start"}, {Type: "text", Text: "hi there", CreatedAt: 1735689600000}}, Content: "hi there"}, meta},
		{"no parts", memory.Content{Format: 2}, meta},
		{"empty parts", memory.Content{Format: 2, Parts: []memory.Part{}}, meta},
		{"escapes", memory.Content{Format: 2, Parts: []memory.Part{{Type: "text", Text: "a\"b\\c\n<script>&\u2028\u2029\x01\xff é 😀"}}, Content: "<&>\xfe"}, meta},
		{"everything in the metadata", memory.Content{Format: 2}, full},
		{"object without fallback", memory.Content{Format: 2}, replyMetadata{digest: "d", object: json.RawMessage(`null`)}},
		{"tool invocations", memory.Content{Format: 2,
			Parts:           []memory.Part{{Type: "tool-invocation", ToolInvocation: inv}, {Type: "tool-invocation", ToolInvocation: &memory.ToolInvocation{State: "call", ToolCallID: "c2", ToolName: "t"}}},
			ToolInvocations: []*memory.ToolInvocation{inv, nil, {State: "call", Args: json.RawMessage(`[]`)}}}, meta},
		{"reasoning", memory.Content{Format: 2, Parts: []memory.Part{
			{Type: "reasoning", Reasoning: &empty, Details: []memory.ReasoningDetail{{Type: "text", Text: reasoning, Signature: "sig"}, {Type: "redacted", Data: "xyz"}},
				ProviderMetadata: json.RawMessage(`{ "anthropic": {"signature": "sig"} }`)},
			{Type: "reasoning", Reasoning: &reasoning, Model: "m"}}}, meta},
		{"invalid args", memory.Content{Format: 2, Parts: []memory.Part{{Type: "tool-invocation", ToolInvocation: &memory.ToolInvocation{Args: json.RawMessage(`{bad`)}}}}, meta},
		{"empty args", memory.Content{Format: 2, ToolInvocations: []*memory.ToolInvocation{{Args: json.RawMessage{}}}}, meta},
		{"invalid object", memory.Content{Format: 2}, replyMetadata{digest: "d", object: json.RawMessage(`{`)}},
		{"invalid provider metadata", memory.Content{Format: 2, Parts: []memory.Part{{Type: "reasoning", ProviderMetadata: json.RawMessage(`x`)}}}, meta},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { sameReplyJSON(t, c.c, c.meta) })
	}
}

// The replies a turn builds reach the store with their parse (so its save
// does not parse them), and it is the content's.
func TestReplyCarriesItsParse(t *testing.T) {
	step := 0
	meta := replyMetadata{finishReason: "stop", modelID: "m1", provider: "openai", digest: "sha256:x",
		usage: usagePayload{InputTokens: 10, OutputTokens: 20, TotalTokens: 30, CachedInputTokens: 4}}
	structured := meta
	structured.object, structured.usedFallback = json.RawMessage(`{"name":"Ada","n":[1,2.5e3],"ok":true}`), true
	call := &memory.ToolInvocation{State: "result", ToolCallID: "call_1", ToolName: "weather",
		Args: json.RawMessage(`{"city":"Paris"}`), Result: json.RawMessage(`{"tempC":21}`), Step: &step}
	start := memory.Part{Type: "step-start", Model: "openai/m1", CreatedAt: 1765000000000}
	for _, c := range []struct {
		name string
		c    memory.Content
		meta replyMetadata
	}{
		{"text", memory.Content{Format: 2, Parts: []memory.Part{start, {Type: "text", Text: "hi <there>", CreatedAt: 1}}, Content: "hi <there>"}, meta},
		{"tool call and result", memory.Content{Format: 2, Parts: []memory.Part{start, {Type: "tool-invocation", ToolInvocation: call}, start,
			{Type: "text", Text: "21 °C"}}, Content: "21 °C", ToolInvocations: []*memory.ToolInvocation{call}}, meta},
		{"reasoning", memory.Content{Format: 2, Parts: []memory.Part{start,
			reasoningPart(llm.Reasoning{Text: "hmm", Signature: "sig"}, 2), reasoningPart(llm.Reasoning{Redacted: "xyz"}, 3)}}, meta},
		{"structured output", memory.Content{Format: 2, Parts: []memory.Part{start}}, structured},
		{"no usage, no digest", memory.Content{Format: 2}, replyMetadata{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := appendReplyContent(nil, &c.c, &c.meta)
			if err != nil {
				t.Fatal(err)
			}
			if !sameParsedReply(t, b, c.c, c.meta) {
				t.Errorf("the reply %s carries no parse", b)
			}
		})
	}
}

// FuzzReplyContent compares appendReplyContent with json.Marshal on
// arbitrary text, names and raw JSON.
func FuzzReplyContent(f *testing.F) {
	f.Add("hi there", "gpt-4o", "digest", []byte(`{"a":1}`), []byte(`{"city":"Paris"}`), 3)
	f.Add("<&>\u2028\xff", "", "", []byte(nil), []byte(`nul`), 0)
	f.Fuzz(func(t *testing.T, text, model, digest string, raw, args []byte, n int) {
		meta := replyMetadata{finishReason: text, modelID: model, provider: text + model, digest: digest,
			usage: usagePayload{InputTokens: n, OutputTokens: -n, CachedInputTokens: n % 3}}
		if raw != nil {
			meta.object, meta.usedFallback = raw, n%2 == 0
		}
		c := memory.Content{Format: n, Content: text, Parts: []memory.Part{{Type: model, Text: text, CreatedAt: int64(n)},
			{Type: "tool-invocation", ToolInvocation: &memory.ToolInvocation{ToolName: text, Args: args, Result: raw, Step: &n}}}}
		sameReplyJSON(t, c, meta)
	})
}
