package llm

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Real wire samples: OpenAI chat-completions chunks and replies (as the
// fakes of this package's tests send them, after OpenAI's), and
// Anthropic Messages stream events and replies in the shape the API
// documents.
var wireSamples = []string{
	roleChunk(),
	textChunk("Hello"),
	textChunk(" wörld \"quoted\"\n\ttab ✓ 😀"),
	finishChunk("stop"),
	finishChunk("tool_calls"),
	usageChunk(9, 2),
	toolChunk(0, "call_w", "weather", `{"ci`),
	toolChunk(1, "", "", `ty":"Paris"}`),
	wholeResponse,
	`{"id":"chatcmpl-tools","object":"chat.completion","created":1735689600,"model":"gpt-4o-2024-08-06",
	  "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
		{"id":"call_w","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
		{"id":"call_t","type":"function","function":{"name":"time","arguments":"{\"tz\":\"CET\"}"}}]},
	  "logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
	`{"choices":[{"delta":{"content":"hi "},"finish_reason":null,"index":0}],"id":"chatcmpl-1","model":"m1","object":"chat.completion.chunk"}`,
	`{"id":"gen-1","provider":"OpenAI","model":"openai/gpt-4o","object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi","reasoning":null},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"x1"}`,
	`{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}`,
	`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"service_tier":"standard"}}}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	`{"type":"ping"}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
	`{"type":"content_block_stop","index":0}`,
	`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}}`,
	`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}`,
	`{"type":"content_block_start","index":2,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`,
	`{"type":"message_stop"}`,
	`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi!"},{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city": "Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5}}`,
}

// decodeBoth decodes data with the hand-written decoders and with
// encoding/json into each shape and fails on any difference in result or
// error.
func decodeBoth(t *testing.T, data []byte) {
	t.Helper()
	check := func(name string, got, want any, gotErr, wantErr error) {
		t.Helper()
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("%s %q: error %v, encoding/json %v", name, data, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			t.Fatalf("%s %q:\n got %s\nwant %s", name, data, gb, wb)
		}
	}
	{
		var got, want wireChunk
		err := decodeChunk(data, &got, &wireChunk{})
		check("chunk", got, want, err, json.Unmarshal(data, &want))
	}
	{
		// With a previous chunk whose id and model are reused.
		prev := wireChunk{ID: "chatcmpl-abc", Model: "gpt-4o-mini-2024-07-18"}
		var got, want wireChunk
		err := decodeChunk(data, &got, &prev)
		check("chunk after another", got, want, err, json.Unmarshal(data, &want))
	}
	{
		var got, want wireResponse
		err := decodeResponse(data, &got)
		check("response", got, want, err, json.Unmarshal(data, &want))
	}
	{
		var got, want antEvent
		err := decodeAntEvent(data, &got)
		check("anthropic event", got, want, err, json.Unmarshal(data, &want))
	}
	{
		var got, want antResponse
		err := decodeAntResponse(data, &got)
		check("anthropic response", got, want, err, json.Unmarshal(data, &want))
	}
}

// FuzzWireDecode checks that the hand-written decoders produce what
// encoding/json does, for any input.
//
//	go test -run '^$' -fuzz FuzzWireDecode ./host/llm
func FuzzWireDecode(f *testing.F) {
	for _, s := range wireSamples {
		f.Add([]byte(s))
	}
	for _, c := range trickyInputs {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeBoth(t, data)
	})
}

// trickyInputs are decoded both ways by TestWireDecodeTricky; fast says
// whether the hand-written decoder should take them itself (rather than
// leave them to encoding/json).
var trickyInputs = []struct {
	name, in string
	fast     bool
}{
	{"escapes", `{"choices":[{"delta":{"content":"a\"b\\c\/d\b\f\n\r\te"}}]}`, true},
	{"unicode escapes", `{"choices":[{"delta":{"content":"\u00e9\u4e2d\uD83D\uDE00 \u0000"}}]}`, true},
	{"lone high surrogate", `{"choices":[{"delta":{"content":"a\ud83dz"}}]}`, true},
	{"lone low surrogate", `{"choices":[{"delta":{"content":"\ude00"}}]}`, true},
	{"high surrogate then escape", `{"choices":[{"delta":{"content":"\ud83d\u0041"}}]}`, true},
	{"two high surrogates", `{"choices":[{"delta":{"content":"\ud83d\ud83d\ude00"}}]}`, true},
	{"raw utf-8", `{"choices":[{"delta":{"content":"ü 中 😀"}}]}`, true},
	{"invalid utf-8", "{\"choices\":[{\"delta\":{\"content\":\"a\xffb\"}}]}", false},
	{"invalid utf-8 after escape", "{\"choices\":[{\"delta\":{\"content\":\"\\n\xe2\x82\"}}]}", false},
	{"control character", "{\"choices\":[{\"delta\":{\"content\":\"a\nb\"}}]}", false},
	{"bad escape", `{"choices":[{"delta":{"content":"\x"}}]}`, false},
	{"short unicode escape", `{"choices":[{"delta":{"content":"\u12"}}]}`, false},
	{"null content", `{"choices":[{"delta":{"content":null,"refusal":null,"tool_calls":null},"finish_reason":null}]}`, true},
	{"null everything", `{"id":null,"model":null,"choices":null,"usage":null,"error":null}`, true},
	{"null choice", `{"choices":[null]}`, false},
	{"null delta", `{"choices":[{"delta":null,"index":null}]}`, true},
	{"empty arrays", `{"choices":[{"delta":{"tool_calls":[]}}]}`, true},
	{"empty object", `{}`, true},
	{"missing fields", `{"choices":[{}]}`, true},
	{"negative index", `{"choices":[{"index":-1}]}`, true},
	{"minus zero", `{"choices":[{"index":-0}]}`, true},
	{"float index", `{"choices":[{"index":1.0}]}`, false},
	{"exponent index", `{"choices":[{"index":1e2}]}`, false},
	{"leading zero", `{"choices":[{"index":01}]}`, false},
	{"huge index", `{"choices":[{"index":123456789012345678901234}]}`, false},
	{"string index", `{"choices":[{"index":"0"}]}`, false},
	{"duplicate key", `{"choices":[{"delta":{"content":"a","content":"b"}}]}`, false},
	{"duplicate key null", `{"choices":[{"delta":{"content":"a","content":null}}]}`, false},
	{"duplicate object", `{"usage":{"prompt_tokens":1},"usage":{"completion_tokens":2}}`, false},
	{"duplicate unknown key", `{"object":1,"object":"x","id":"a"}`, true},
	{"case-folded key", `{"ID":"x","Choices":[]}`, false},
	{"escaped key", `{"\u0069d":"x"}`, false},
	{"non-ASCII key", `{"ſignature":"x","type":"t"}`, false},
	{"unknown nested", `{"x":{"a":[1,-2.5e+3,true,false,null,{"b":"\u00e9\n"}]},"id":"a"}`, true},
	{"unknown bad number", `{"x":-}`, false},
	{"unknown bad nesting", `{"x":[1,}`, false},
	{"trailing comma", `{"id":"a",}`, false},
	{"trailing garbage", `{"id":"a"} x`, false},
	{"trailing space", "{\"id\":\"a\"} \r\n\t", true},
	{"two values", `{"id":"a"}{"id":"b"}`, false},
	{"top-level null", `null`, false},
	{"top-level array", `[]`, false},
	{"wrong type", `{"choices":{}}`, false},
	{"string for object", `{"usage":"x"}`, false},
	{"bool for string", `{"id":true}`, false},
	{"error object", `{"error":{"message":"x","code":429}}`, false},
	{"white space everywhere", " { \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } , \"index\" : 0 } ] } ", true},
	{"tool call fragments", `{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"n","arguments":"{}"}},{"index":null,"function":null}]}}]}`, true},
	{"raw input null", `{"type":"content_block_start","content_block":{"type":"tool_use","input":null}}`, true},
	{"raw input spaced", `{"type":"content_block_start","content_block":{"type":"tool_use","input": { "a" : [ 1 , 2 ] } }}`, true},
	{"deep unknown", `{"x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, false},
	{"truncated", `{"choices":[{"delta":{"content":"ab`, false},
	{"empty", ``, false},
}

// TestWireDecodeTricky decodes inputs chosen to differ from encoding/json
// if the decoders got a rule wrong, and checks which the fast path takes.
func TestWireDecodeTricky(t *testing.T) {
	for _, c := range trickyInputs {
		t.Run(c.name, func(t *testing.T) {
			decodeBoth(t, []byte(c.in))
			d := jdec{b: []byte(c.in)}
			if strings.Contains(c.in, "content_block") || strings.Contains(c.in, "signature") {
				d.antEvent(&antEvent{})
			} else {
				d.chunk(&wireChunk{}, &wireChunk{})
			}
			if got := d.end(); got != c.fast {
				t.Errorf("decoded without encoding/json: %v, want %v", got, c.fast)
			}
		})
	}
}

// TestWireDecodeSamplesFast checks that every real sample but the error
// objects is decoded without falling back to encoding/json, so the fuzz
// target compares the hand-written path, not encoding/json with itself.
func TestWireDecodeSamplesFast(t *testing.T) {
	for _, s := range wireSamples {
		decodeBoth(t, []byte(s))
		d := jdec{b: []byte(s)}
		switch {
		case strings.Contains(s, `"error"`):
			continue
		case strings.Contains(s, `"type":"message"`):
			d.antResponse(&antResponse{})
		case strings.Contains(s, `"type"`):
			d.antEvent(&antEvent{})
		case strings.Contains(s, `"message"`):
			d.response(&wireResponse{})
		default:
			d.chunk(&wireChunk{}, &wireChunk{})
		}
		if !d.end() {
			t.Errorf("fell back to encoding/json for %s", s)
		}
	}
}

// TestWireDecodeAllocs pins the allocations of the two per-token events:
// an OpenAI text chunk (the choices slice, the text and its pointer; id
// and model reused from the previous chunk) and an Anthropic text delta
// (the delta and the text).
func TestWireDecodeAllocs(t *testing.T) {
	chunk := []byte(textChunk("Hello"))
	prev := wireChunk{ID: "chatcmpl-abc", Model: "gpt-4o-mini-2024-07-18"}
	if n := testing.AllocsPerRun(100, func() {
		var c wireChunk
		if err := decodeChunk(chunk, &c, &prev); err != nil || *c.Choices[0].Delta.Content != "Hello" {
			t.Fatal(err, c)
		}
	}); n > 3 {
		t.Errorf("OpenAI text chunk: %.0f allocations, want at most 3", n)
	}
	ev := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`)
	if n := testing.AllocsPerRun(100, func() {
		var e antEvent
		if err := decodeAntEvent(ev, &e); err != nil || e.Delta.Text != "Hello" {
			t.Fatal(err, e)
		}
	}); n > 2 {
		t.Errorf("Anthropic text delta: %.0f allocations, want at most 2", n)
	}
}

// BenchmarkWireDecode compares the hand-written decoder with encoding/json
// on an OpenAI text chunk.
func BenchmarkWireDecode(b *testing.B) {
	chunk := []byte(textChunk("Hello"))
	prev := wireChunk{ID: "chatcmpl-abc", Model: "gpt-4o-mini-2024-07-18"}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var c wireChunk
			_ = decodeChunk(chunk, &c, &prev)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var c wireChunk
			_ = json.Unmarshal(chunk, &c)
		}
	})
}
