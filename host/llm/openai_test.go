package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, http.StatusOK, wholeResponse)
	})
	o, _ := newTestOpenAI(f, nil)

	got, err := o.Generate(context.Background(), hello())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	want := &Response{
		ID: "chatcmpl-whole", Model: "gpt-4o-mini-2024-07-18", Text: "Hello world",
		FinishReason: FinishStop, Usage: Usage{InputTokens: 9, OutputTokens: 2, TotalTokens: 11},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Generate = %+v; want %+v", got, want)
	}

	req := f.last()
	if req.Method != http.MethodPost || req.Path != "/v1/chat/completions" {
		t.Errorf("request = %s %s; want POST /v1/chat/completions", req.Method, req.Path)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", got)
	}
	if got, ok := req.Body["stream"]; !ok || got != false {
		t.Errorf("body stream = %v (present %v); want false", got, ok)
	}
	if _, ok := req.Body["stream_options"]; ok {
		t.Errorf("body has stream_options for a whole reply: %s", req.RawBody)
	}
	if got := req.Body["model"]; got != "gpt-4o-mini" {
		t.Errorf("body model = %v; want gpt-4o-mini", got)
	}
}

func TestOpenAIHeaders(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		headers  map[string]string
		wantAuth string
		wantX    string
	}{
		{name: "key", key: testKey, wantAuth: "Bearer " + testKey},
		{name: "no key (Ollama)", key: "", wantAuth: ""},
		{name: "extra headers", key: testKey, headers: map[string]string{"X-Title": "mastra"}, wantAuth: "Bearer " + testKey, wantX: "mastra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				writeJSON(w, http.StatusOK, wholeResponse)
			})
			o, _ := newTestOpenAI(f, func(c *OpenAIConfig) { c.APIKey, c.Headers = tt.key, tt.headers })
			if _, err := o.Generate(context.Background(), hello()); err != nil {
				t.Fatalf("Generate: %v", err)
			}
			h := f.last().Header
			if got := h.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q; want %q", got, tt.wantAuth)
			}
			if _, ok := h["Authorization"]; !ok && tt.wantAuth != "" || ok && tt.wantAuth == "" {
				t.Errorf("Authorization present = %v; want %v", ok, tt.wantAuth != "")
			}
			if got := h.Get("X-Title"); got != tt.wantX {
				t.Errorf("X-Title = %q; want %q", got, tt.wantX)
			}
			if got := h.Get("Api-Key"); got != "" {
				t.Errorf("api-key = %q; want none for OpenAI", got)
			}
		})
	}
}

func TestRequestBody(t *testing.T) {
	temp, topP, maxTok, seed := 0.2, 0.9, 256, 7
	weather := json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)
	tools := []Tool{{Name: "weather", Description: "Weather in a city", Parameters: weather}, {Name: "now"}}
	toolLoop := []Message{
		{Role: RoleSystem, Content: "You are terse."},
		{Role: RoleUser, Content: "Weather in Paris and time?", Name: "ann"},
		{Role: RoleAssistant, ToolCalls: []ToolCall{
			{ID: "call_1", Name: "weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
			{ID: "call_2", Name: "now"},
		}},
		{Role: RoleTool, ToolCallID: "call_1", Content: `{"tempC":21}`},
		{Role: RoleTool, ToolCallID: "call_2", Content: `"12:00"`},
	}
	toolLoopWire := `[
		{"role":"system","content":"You are terse."},
		{"role":"user","content":"Weather in Paris and time?","name":"ann"},
		{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
			{"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},
		{"role":"tool","content":"{\"tempC\":21}","tool_call_id":"call_1"},
		{"role":"tool","content":"\"12:00\"","tool_call_id":"call_2"}]`
	toolsWire := `[
		{"type":"function","function":{"name":"weather","description":"Weather in a city","parameters":` + string(weather) + `}},
		{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}]`

	tests := []struct {
		name   string
		req    Request
		mod    func(*OpenAIConfig)
		stream bool
		want   string
	}{
		{
			name: "settings",
			req: Request{Model: "gpt-4o-mini", Messages: []Message{{Role: RoleUser, Content: "Hi"}},
				Temperature: &temp, TopP: &topP, MaxTokens: &maxTok, Seed: &seed, Stop: []string{"END"},
				PresencePenalty: &topP, FrequencyPenalty: &temp},
			want: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],
				"temperature":0.2,"top_p":0.9,"max_tokens":256,"seed":7,"stop":["END"],
				"presence_penalty":0.9,"frequency_penalty":0.2,"stream":false}`,
		},
		{
			name: "max_completion_tokens",
			req:  Request{Model: "o3-mini", Messages: []Message{{Role: RoleUser, Content: "Hi"}}, MaxTokens: &maxTok},
			mod:  func(c *OpenAIConfig) { c.MaxCompletionTokens = true },
			want: `{"model":"o3-mini","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":256,"stream":false}`,
		},
		{
			name: "tool loop, named tool choice",
			req:  Request{Model: "gpt-4o", Messages: toolLoop, Tools: tools, ToolChoice: "weather"},
			want: `{"model":"gpt-4o","messages":` + toolLoopWire + `,"tools":` + toolsWire + `,
				"tool_choice":{"type":"function","function":{"name":"weather"}},"stream":false}`,
		},
		{
			name: "required tool choice",
			req:  Request{Model: "gpt-4o", Messages: []Message{{Role: RoleUser, Content: "Hi"}}, Tools: tools[1:], ToolChoice: "required"},
			want: `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],
				"tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}],
				"tool_choice":"required","stream":false}`,
		},
		{
			name: "tool choice without tools is not sent",
			req:  Request{Model: "gpt-4o", Messages: []Message{{Role: RoleUser, Content: "Hi"}}, ToolChoice: "auto"},
			want: `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"stream":false}`,
		},
		{
			name:   "stream asks for usage",
			req:    Request{Model: "gpt-4o", Messages: []Message{{Role: RoleUser, Content: "Hi"}}},
			stream: true,
			want: `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],
				"stream":true,"stream_options":{"include_usage":true}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tt.stream {
					startSSE(w)
					writeSplit(w, helloStream(), 0)
					return
				}
				writeJSON(w, http.StatusOK, wholeResponse)
			})
			o, _ := newTestOpenAI(f, tt.mod)
			var err error
			if tt.stream {
				_, err = o.Stream(context.Background(), tt.req, func(Delta) error { return nil })
			} else {
				_, err = o.Generate(context.Background(), tt.req)
			}
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if got := f.last().RawBody; !jsonEqual(t, got, tt.want) {
				t.Errorf("request body = %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestStream(t *testing.T) {
	// The same reply, framed and cut up in the ways real upstreams and
	// proxies do it.
	body := func(eol string, extras bool) string {
		var b strings.Builder
		line := func(s string) { b.WriteString(s + eol) }
		if extras {
			line(": ping")
			line("")
			line("retry: 1000")
		}
		for i, c := range []string{roleChunk(), textChunk("Hel"), textChunk("lo"), textChunk(" wörld"), finishChunk("stop"), usageChunk(9, 3), "[DONE]"} {
			if extras && i == 2 {
				line(": keep-alive")
				line("event: message")
				line("id: 2")
			}
			line("data: " + c)
			line("")
			if extras && i == 3 {
				line("")
			}
		}
		return b.String()
	}
	tests := []struct {
		name  string
		body  string
		piece int
	}{
		{name: "LF whole", body: body("\n", false)},
		{name: "LF byte by byte", body: body("\n", false), piece: 1},
		{name: "LF in 7-byte pieces", body: body("\n", true), piece: 7},
		{name: "CRLF whole", body: body("\r\n", true)},
		{name: "CRLF byte by byte", body: body("\r\n", true), piece: 1},
		{name: "CRLF in 13-byte pieces", body: body("\r\n", false), piece: 13},
		{name: "CR in 5-byte pieces", body: body("\r", true), piece: 5},
		{name: "no blank lines between events", body: strings.ReplaceAll(body("\n", false), "\n\n", "\n"), piece: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				startSSE(w)
				writeSplit(w, tt.body, tt.piece)
			})
			o, _ := newTestOpenAI(f, nil)
			var c collect
			got, err := o.Stream(context.Background(), hello(), c.on)
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if want := []string{"Hel", "lo", " wörld"}; !reflect.DeepEqual(c.texts(), want) || len(c.deltas) != len(want) {
				t.Errorf("deltas = %+v; want texts %q", c.deltas, want)
			}
			want := &Response{
				ID: "chatcmpl-abc", Model: "gpt-4o-mini-2024-07-18", Text: "Hello wörld",
				FinishReason: FinishStop, Usage: Usage{InputTokens: 9, OutputTokens: 3, TotalTokens: 12},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Stream = %+v; want %+v", got, want)
			}
			req := f.last()
			if got := req.Header.Get("Accept"); got != "text/event-stream" {
				t.Errorf("Accept = %q; want text/event-stream", got)
			}
			if req.Body["stream"] != true {
				t.Errorf("body stream = %v; want true", req.Body["stream"])
			}
		})
	}
}

func TestToolCalls(t *testing.T) {
	// Two parallel tool calls, their arguments cut into fragments that
	// interleave across chunks, as OpenAI streams them.
	streamed := event(roleChunk()) +
		event(toolChunk(0, "call_w", "weather", "")) +
		event(toolChunk(0, "", "", `{"ci`)) +
		event(toolChunk(1, "call_t", "time", `{"tz":`)) +
		event(toolChunk(0, "", "", `ty":"Par`)) +
		event(toolChunk(1, "", "", `"CET"}`)) +
		event(toolChunk(0, "", "", `is"}`)) +
		event(finishChunk("tool_calls")) + event(usageChunk(50, 20)) + event("[DONE]")
	whole := `{"id":"chatcmpl-tools","object":"chat.completion","created":1735689600,"model":"gpt-4o-2024-08-06",
		"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_w","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
			{"id":"call_t","type":"function","function":{"name":"time","arguments":"{\"tz\":\"CET\"}"}}]},
		"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}`
	wantCalls := []ToolCall{
		{ID: "call_w", Name: "weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
		{ID: "call_t", Name: "time", Arguments: json.RawMessage(`{"tz":"CET"}`)},
	}
	wantDeltas := []Delta{
		{ToolCallStart: &ToolCall{ID: "call_w", Name: "weather"}, ToolCallIndex: 0},
		{ToolCallIndex: 0, ArgsDelta: `{"ci`},
		{ToolCallStart: &ToolCall{ID: "call_t", Name: "time"}, ToolCallIndex: 1, ArgsDelta: `{"tz":`},
		{ToolCallIndex: 0, ArgsDelta: `ty":"Par`},
		{ToolCallIndex: 1, ArgsDelta: `"CET"}`},
		{ToolCallIndex: 0, ArgsDelta: `is"}`},
	}
	tools := []Tool{{Name: "weather"}, {Name: "time"}}

	t.Run("whole", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, http.StatusOK, whole) })
		o, _ := newTestOpenAI(f, nil)
		got, err := o.Generate(context.Background(), Request{Model: "gpt-4o", Messages: hello().Messages, Tools: tools})
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if !reflect.DeepEqual(got.ToolCalls, wantCalls) || got.FinishReason != FinishToolCalls || got.Text != "" {
			t.Errorf("Generate = %+v; want tool calls %+v, finish %q, no text", got, wantCalls, FinishToolCalls)
		}
	})
	t.Run("streamed", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			startSSE(w)
			writeSplit(w, streamed, 17)
		})
		o, _ := newTestOpenAI(f, nil)
		var c collect
		got, err := o.Stream(context.Background(), Request{Model: "gpt-4o", Messages: hello().Messages, Tools: tools}, c.on)
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		if !reflect.DeepEqual(c.deltas, wantDeltas) {
			t.Errorf("deltas = %s; want %s", fmtDeltas(c.deltas), fmtDeltas(wantDeltas))
		}
		if !reflect.DeepEqual(got.ToolCalls, wantCalls) {
			t.Errorf("ToolCalls = %+v; want %+v", got.ToolCalls, wantCalls)
		}
		for _, tc := range got.ToolCalls {
			if !json.Valid(tc.Arguments) {
				t.Errorf("arguments of %s = %s; want valid JSON", tc.Name, tc.Arguments)
			}
		}
		if got.FinishReason != FinishToolCalls || got.Usage.TotalTokens != 70 {
			t.Errorf("finish, usage = %q, %+v; want %q, 70 tokens", got.FinishReason, got.Usage, FinishToolCalls)
		}
	})
}

func fmtDeltas(ds []Delta) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "\n  {Text:%q Start:%+v Index:%d Args:%q}", d.Text, d.ToolCallStart, d.ToolCallIndex, d.ArgsDelta)
	}
	return b.String()
}

func TestFinishReasons(t *testing.T) {
	tests := []struct {
		wire     string
		hasCalls bool
		want     string
	}{
		{"stop", false, FinishStop},
		{"length", false, FinishLength},
		{"tool_calls", true, FinishToolCalls},
		{"function_call", true, FinishToolCalls},
		{"content_filter", false, FinishContentFilter},
		{"something_new", false, FinishOther},
		{"", true, FinishToolCalls},
		{"", false, FinishStop},
	}
	for _, tt := range tests {
		if got := finishReason(tt.wire, tt.hasCalls); got != tt.want {
			t.Errorf("finishReason(%q, %v) = %q; want %q", tt.wire, tt.hasCalls, got, tt.want)
		}
	}
	// And through the wire, streamed.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		startSSE(w)
		writeSplit(w, event(textChunk("I can't"))+event(finishChunk("content_filter"))+event("[DONE]"), 0)
	})
	o, _ := newTestOpenAI(f, nil)
	got, err := o.Stream(context.Background(), hello(), func(Delta) error { return nil })
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if got.FinishReason != FinishContentFilter {
		t.Errorf("FinishReason = %q; want %q", got.FinishReason, FinishContentFilter)
	}
}

// response is one canned upstream answer.
type response struct {
	status int
	header map[string]string
	body   string
}

func TestErrorsBeforeReply(t *testing.T) {
	ok := response{status: 200}
	longMsg := strings.Repeat("x", 500)
	tests := []struct {
		name         string
		answers      []response // the last one repeats
		wantAttempts int
		wantStatus   int // 0: success
		wantType     string
		wantMsg      string // substring of the error text
		wantUnavail  bool
		wantWaits    []time.Duration // nil: don't check exact values
		wantNWaits   int
	}{
		{
			name:         "401 is not retried and the key is not repeated",
			answers:      []response{{status: 401, body: `{"error":{"message":"Incorrect API key provided: ` + testKey + `. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`}},
			wantAttempts: 1, wantStatus: 401, wantType: "invalid_api_key", wantMsg: "Incorrect API key provided: [redacted]",
		},
		{
			name:         "403 is not retried",
			answers:      []response{{status: 403, body: `{"error":{"message":"Country not supported","type":"request_forbidden","code":"unsupported_country_region_territory"}}`}},
			wantAttempts: 1, wantStatus: 403, wantMsg: "Country not supported",
		},
		{
			name:         "404 is not retried",
			answers:      []response{{status: 404, body: `{"error":{"message":"The model 'gpt-9' does not exist","type":"invalid_request_error","code":"model_not_found"}}`}},
			wantAttempts: 1, wantStatus: 404, wantType: "model_not_found",
		},
		{
			name:         "400 is not retried and long messages are cut",
			answers:      []response{{status: 400, body: `{"error":{"message":"` + longMsg + `","type":"invalid_request_error"}}`}},
			wantAttempts: 1, wantStatus: 400, wantMsg: strings.Repeat("x", 200) + "…",
		},
		{
			name:         "422 without a JSON body",
			answers:      []response{{status: 422, body: "unprocessable"}},
			wantAttempts: 1, wantStatus: 422, wantMsg: "Unprocessable Entity",
		},
		{
			name: "429 with Retry-After seconds, then success",
			answers: []response{
				{status: 429, header: map[string]string{"Retry-After": "3"}, body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`},
				ok,
			},
			wantAttempts: 2, wantWaits: []time.Duration{3 * time.Second},
		},
		{
			name: "429 with a far Retry-After date waits the cap",
			answers: []response{
				{status: 429, header: map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}},
				ok,
			},
			wantAttempts: 2, wantWaits: []time.Duration{maxRetryWait},
		},
		{
			name: "503 with retry-after-ms, then success",
			answers: []response{
				{status: 503, header: map[string]string{"retry-after-ms": "150"}},
				ok,
			},
			wantAttempts: 2, wantWaits: []time.Duration{150 * time.Millisecond},
		},
		{
			name:         "500 then success",
			answers:      []response{{status: 500, body: `{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}`}, ok},
			wantAttempts: 2, wantNWaits: 1,
		},
		{
			name:         "500 forever",
			answers:      []response{{status: 500, body: `{"error":{"message":"The server had an error","type":"server_error"}}`}},
			wantAttempts: 3, wantStatus: 500, wantMsg: "The server had an error", wantUnavail: true, wantNWaits: 2,
		},
		{
			name:         "429 forever",
			answers:      []response{{status: 429, body: `{"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}}`}},
			wantAttempts: 3, wantStatus: 429, wantType: "insufficient_quota", wantUnavail: true, wantNWaits: 2,
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
					a := tt.answers[min(n, len(tt.answers)-1)]
					if a.status == 200 {
						if stream {
							startSSE(w)
							writeSplit(w, helloStream(), 0)
						} else {
							writeJSON(w, 200, wholeResponse)
						}
						return
					}
					for k, v := range a.header {
						w.Header().Set(k, v)
					}
					writeJSON(w, a.status, a.body)
				})
				o, waits := newTestOpenAI(f, nil)
				var (
					got *Response
					err error
				)
				if stream {
					got, err = o.Stream(context.Background(), hello(), func(Delta) error { return nil })
				} else {
					got, err = o.Generate(context.Background(), hello())
				}
				if n := len(f.requests()); n != tt.wantAttempts {
					t.Errorf("upstream saw %d requests; want %d", n, tt.wantAttempts)
				}
				if tt.wantWaits != nil && !reflect.DeepEqual(*waits, tt.wantWaits) {
					t.Errorf("waits = %v; want %v", *waits, tt.wantWaits)
				}
				if tt.wantWaits == nil && len(*waits) != tt.wantNWaits {
					t.Errorf("waits = %v; want %d of them", *waits, tt.wantNWaits)
				}
				for _, w := range *waits {
					if w <= 0 || w > maxRetryWait {
						t.Errorf("wait %v; want in (0, %v]", w, maxRetryWait)
					}
				}
				if tt.wantStatus == 0 {
					if err != nil {
						t.Fatalf("call: %v; want success", err)
					}
					if got.Text != "Hello world" {
						t.Errorf("Text = %q; want %q", got.Text, "Hello world")
					}
					return
				}
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("error = %v (%T); want *StatusError", err, err)
				}
				if se.StatusCode != tt.wantStatus || se.Provider != "openai" {
					t.Errorf("StatusError = %+v; want status %d from openai", se, tt.wantStatus)
				}
				if tt.wantType != "" && se.Type != tt.wantType {
					t.Errorf("Type = %q; want %q", se.Type, tt.wantType)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error = %q; want it to contain %q", err, tt.wantMsg)
				}
				if len(se.Message) > 210*3 {
					t.Errorf("message is %d bytes long; want it cut to ~200 characters", len(se.Message))
				}
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("error = %q; contains the API key", err)
				}
				if got := errors.Is(err, ErrUnavailable); got != tt.wantUnavail {
					t.Errorf("errors.Is(err, ErrUnavailable) = %v; want %v", got, tt.wantUnavail)
				}
			})
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {})
	o, waits := newTestOpenAI(f, nil)
	f.srv.Close() // nothing listens there any more

	for _, stream := range []bool{false, true} {
		*waits = nil
		var err error
		if stream {
			_, err = o.Stream(context.Background(), hello(), func(Delta) error { return nil })
		} else {
			_, err = o.Generate(context.Background(), hello())
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("stream=%v: error = %v; want ErrUnavailable", stream, err)
		}
		if len(*waits) != testRetries {
			t.Errorf("stream=%v: waits = %v; want %d retries", stream, *waits, testRetries)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("error = %q; contains the API key", err)
		}
	}
}

func TestRetriesDisabled(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 502, `{}`) })
	o, _ := newTestOpenAI(f, func(c *OpenAIConfig) { c.MaxRetries = 0 })
	_, err := o.Generate(context.Background(), hello())
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("error = %v; want ErrUnavailable", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("upstream saw %d requests; want 1", n)
	}
}

func TestRetryWaitRespectsContext(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 503, `{}`) })
	o, _ := newTestOpenAI(f, nil)
	o.c.sleep = sleepCtx // really wait, on the real timer
	ctx, cancel := context.WithCancel(context.Background())
	o.c.backoff = time.Hour
	o.c.maxRetryWait = time.Hour
	go func() {
		// Cancel once the first attempt has been answered.
		for len(f.requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := o.Generate(ctx, hello())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v; want context.Canceled", err)
	}
}

func TestStreamErrorObject(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantType string
		wantMsg  string
	}{
		{
			name:     "error object",
			body:     event(roleChunk()) + event(textChunk("Hel")) + event(`{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`),
			wantType: "server_error", wantMsg: "The server had an error",
		},
		{
			name:    "error event",
			body:    event(textChunk("Hel")) + "event: error\ndata: {\"message\":\"overloaded\"}\n\n",
			wantMsg: "overloaded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				startSSE(w)
				writeSplit(w, tt.body+event(textChunk("never"))+event("[DONE]"), 0)
			})
			o, _ := newTestOpenAI(f, nil)
			var c collect
			_, err := o.Stream(context.Background(), hello(), c.on)
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v (%T); want *StatusError", err, err)
			}
			if se.StatusCode != 0 || se.Type != tt.wantType || !strings.Contains(se.Message, tt.wantMsg) {
				t.Errorf("StatusError = %+v; want status 0, type %q, message with %q", se, tt.wantType, tt.wantMsg)
			}
			if want := []string{"Hel"}; !reflect.DeepEqual(c.texts(), want) {
				t.Errorf("deltas = %q; want %q", c.texts(), want)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("upstream saw %d requests; want 1 (no retry once tokens were delivered)", n)
			}
		})
	}
}

func TestStreamEndsEarly(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		startSSE(w)
		writeSplit(w, event(textChunk("Hel")), 0)
	})
	o, _ := newTestOpenAI(f, nil)
	_, err := o.Stream(context.Background(), hello(), func(Delta) error { return nil })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error = %v; want io.ErrUnexpectedEOF", err)
	}
}

func TestStreamAnsweredWithJSON(t *testing.T) {
	// A server that ignores stream:true and sends the whole reply.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, wholeResponse) })
	o, _ := newTestOpenAI(f, nil)
	var c collect
	got, err := o.Stream(context.Background(), hello(), c.on)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if got.Text != "Hello world" || !reflect.DeepEqual(c.texts(), []string{"Hello world"}) {
		t.Errorf("Stream = %q with deltas %q; want %q in one delta", got.Text, c.texts(), "Hello world")
	}
}

func TestDeltasArriveBeforeStreamEnds(t *testing.T) {
	firstSeen := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		startSSE(w)
		writeSplit(w, event(roleChunk())+event(textChunk("slow")), 0)
		select {
		case <-firstSeen: // the client has handed over the first token
		case <-time.After(failsafe):
			t.Error("the client did not deliver the first delta while the stream was open")
			return
		}
		writeSplit(w, event(textChunk(" tokens"))+event(finishChunk("stop"))+event("[DONE]"), 0)
	})
	o, _ := newTestOpenAI(f, nil)
	var c collect
	got, err := o.Stream(context.Background(), hello(), func(d Delta) error {
		c.on(d)
		if len(c.deltas) == 1 {
			close(firstSeen)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if want := []string{"slow", " tokens"}; !reflect.DeepEqual(c.texts(), want) || got.Text != "slow tokens" {
		t.Errorf("deltas %q, text %q; want %q, %q", c.texts(), got.Text, want, "slow tokens")
	}
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name   string
		stream bool
		serve  func(w http.ResponseWriter)
	}{
		{name: "no headers, whole", serve: func(w http.ResponseWriter) {}},
		{name: "no headers, stream", stream: true, serve: func(w http.ResponseWriter) {}},
		{name: "body stalls, whole", serve: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"chatcmpl-1",`)
			flush(w)
		}},
		{name: "stream stalls after a token", stream: true, serve: func(w http.ResponseWriter) {
			startSSE(w)
			writeSplit(w, event(textChunk("Hel")), 0)
		}},
		{name: "stream stalls mid-line", stream: true, serve: func(w http.ResponseWriter) {
			startSSE(w)
			writeSplit(w, "data: {\"id\":", 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone := make(chan struct{})
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				tt.serve(w)
				select {
				case <-r.Context().Done():
					close(gone)
				case <-time.After(failsafe):
				}
			})
			o, _ := newTestOpenAI(f, func(c *OpenAIConfig) { c.Timeout = 50 * time.Millisecond })
			var err error
			if tt.stream {
				_, err = o.Stream(context.Background(), hello(), func(Delta) error { return nil })
			} else {
				_, err = o.Generate(context.Background(), hello())
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v; want context.DeadlineExceeded", err)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Errorf("error = %v; a timeout should not read as ErrUnavailable", err)
			}
			waitClosed(t, gone, "upstream to see the request cancelled")
			if n := len(f.requests()); n != 1 {
				t.Errorf("upstream saw %d requests; want 1 (timeouts are not retried)", n)
			}
		})
	}
}

func TestCallerDeadline(t *testing.T) {
	gone := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-r.Context().Done()
		close(gone)
	})
	o, _ := newTestOpenAI(f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := o.Generate(ctx, hello())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v; want context.DeadlineExceeded", err)
	}
	waitClosed(t, gone, "upstream to see the request cancelled")
}

func TestCancel(t *testing.T) {
	errStop := errors.New("client went away")
	tests := []struct {
		name string
		// run calls the model; arrived is closed when the upstream has the
		// request, and it returns the error the call returned.
		run     func(o *OpenAI, arrived <-chan struct{}) error
		wantErr error
	}{
		{
			name: "cancel before headers",
			run: func(o *OpenAI, arrived <-chan struct{}) error {
				ctx, cancel := context.WithCancel(context.Background())
				go func() { <-arrived; cancel() }()
				_, err := o.Generate(ctx, hello())
				return err
			},
			wantErr: context.Canceled,
		},
		{
			name: "cancel mid-stream",
			run: func(o *OpenAI, arrived <-chan struct{}) error {
				ctx, cancel := context.WithCancel(context.Background())
				_, err := o.Stream(ctx, hello(), func(Delta) error { cancel(); return nil })
				return err
			},
			wantErr: context.Canceled,
		},
		{
			name: "onDelta returns an error",
			run: func(o *OpenAI, arrived <-chan struct{}) error {
				_, err := o.Stream(context.Background(), hello(), func(Delta) error { return errStop })
				return err
			},
			wantErr: errStop,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived, gone := make(chan struct{}), make(chan struct{})
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				close(arrived)
				if tt.name != "cancel before headers" {
					startSSE(w)
					writeSplit(w, event(textChunk("Hel")), 0)
				}
				select {
				case <-r.Context().Done():
					close(gone)
				case <-time.After(failsafe):
				}
			})
			o, _ := newTestOpenAI(f, nil)
			err := tt.run(o, arrived)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr == errStop && err != errStop {
				t.Errorf("error = %#v; want onDelta's error as is", err)
			}
			waitClosed(t, gone, "upstream to see the request cancelled")
			if n := len(f.requests()); n != 1 {
				t.Errorf("upstream saw %d requests; want 1", n)
			}
		})
	}
}

func TestNoModel(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, wholeResponse) })
	o, _ := newTestOpenAI(f, nil)
	if _, err := o.Generate(context.Background(), Request{Messages: hello().Messages}); err == nil {
		t.Error("Generate without a model: got no error")
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("upstream saw %d requests; want 0", n)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header map[string]string
		want   time.Duration
	}{
		{nil, 0},
		{map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{map[string]string{"Retry-After": "-1"}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{map[string]string{"Retry-After": now.Add(30 * time.Second).Format(http.TimeFormat)}, 30 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After-Ms": "250", "Retry-After": "9"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After-Ms": "junk", "Retry-After": "9"}, 9 * time.Second},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%v) = %v; want %v", tt.header, got, tt.want)
		}
	}
}

func TestStatusErrorText(t *testing.T) {
	tests := []struct {
		err  *StatusError
		want string
	}{
		{&StatusError{Provider: "openai", StatusCode: 429, Message: "slow down"}, "llm: openai: 429 Too Many Requests: slow down"},
		{&StatusError{Provider: "azure", Message: "boom"}, "llm: azure: error in response: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}
