package llm

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// This file holds the in-process upstream that the tests talk to: a real
// HTTP server that answers in the OpenAI/Azure chat completions wire format.

const testKey = "sk-test-0123456789abcdef"

// failsafe bounds a wait that should end at once, so that a broken client
// fails the test instead of hanging it. No test asserts on elapsed time.
const failsafe = 10 * time.Second

// seen is one request as the fake upstream received it.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   map[string]any
	RawBody                string
}

// fake is an upstream provider. handle answers the n-th request (from 0).
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	handle func(w http.ResponseWriter, r *http.Request, n int)

	mu   sync.Mutex // guards reqs
	reqs []seen
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fake {
	t.Helper()
	f := &fake{t: t, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), RawBody: string(raw)}
		if err := json.Unmarshal(raw, &s.Body); err != nil {
			t.Errorf("fake upstream: request body is not JSON: %v: %s", err, raw)
		}
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, s)
		f.mu.Unlock()
		f.handle(w, r, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// last returns the last request, failing the test if there was none.
func (f *fake) last() seen {
	f.t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		f.t.Fatal("fake upstream got no request")
	}
	return reqs[len(reqs)-1]
}

// testRetries is the tests' MaxRetries (providers.*.max_retries's default).
const testRetries = 2

// newTestOpenAI returns a client for f whose waits between retries are
// recorded instead of slept.
func newTestOpenAI(f *fake, mod func(*OpenAIConfig)) (*OpenAI, *[]time.Duration) {
	cfg := OpenAIConfig{Name: "openai", APIKey: testKey, BaseURL: f.srv.URL + "/v1", Timeout: 2 * time.Minute, MaxRetries: testRetries}
	if mod != nil {
		mod(&cfg)
	}
	o, err := NewOpenAI(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	o.c.backoff = time.Millisecond
	waits := new([]time.Duration)
	o.c.sleep = recordSleep(waits)
	return o, waits
}

func recordSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// startSSE sends the headers of an event stream.
func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush(w)
}

func flush(w http.ResponseWriter) {
	if err := http.NewResponseController(w).Flush(); err != nil {
		panic(err)
	}
}

// writeSplit writes s in pieces of n bytes (all of it when n <= 0),
// flushing after each, so that lines and events straddle TCP writes.
func writeSplit(w http.ResponseWriter, s string, n int) {
	if n <= 0 {
		n = len(s)
	}
	for len(s) > 0 {
		k := min(n, len(s))
		io.WriteString(w, s[:k])
		flush(w)
		s = s[k:]
	}
}

// event frames one SSE data event.
func event(data string) string { return "data: " + data + "\n\n" }

// quote returns s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const (
	chunkHead = `{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[`
	chunkTail = `]}`
)

// textChunk is a streamed chunk carrying a piece of text.
func textChunk(s string) string {
	return chunkHead + `{"index":0,"delta":{"content":` + quote(s) + `},"logprobs":null,"finish_reason":null}` + chunkTail
}

// roleChunk is the first chunk OpenAI sends.
func roleChunk() string {
	return chunkHead + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}` + chunkTail
}

// finishChunk carries the finish reason.
func finishChunk(reason string) string {
	return chunkHead + `{"index":0,"delta":{},"logprobs":null,"finish_reason":` + quote(reason) + `}` + chunkTail
}

// usageChunk is the last chunk with stream_options.include_usage.
func usageChunk(in, out int) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-abc", "object": "chat.completion.chunk", "created": 1735689600,
		"model": "gpt-4o-mini-2024-07-18", "choices": []any{},
		"usage": map[string]int{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out},
	})
	return string(b)
}

// toolChunk is a streamed tool-call fragment; id and name only on the first.
func toolChunk(index int, id, name, args string) string {
	tc := map[string]any{"index": index, "function": map[string]any{"arguments": args}}
	if id != "" {
		tc["id"], tc["type"] = id, "function"
		tc["function"].(map[string]any)["name"] = name
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-abc", "object": "chat.completion.chunk", "created": 1735689600,
		"model":   "gpt-4o-mini-2024-07-18",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"tool_calls": []any{tc}}, "finish_reason": nil}},
	})
	return string(b)
}

// helloStream is a complete streamed reply "Hello world" with usage.
func helloStream() string {
	return event(roleChunk()) + event(textChunk("Hello")) + event(textChunk(" world")) +
		event(finishChunk("stop")) + event(usageChunk(9, 2)) + event("[DONE]")
}

// wholeResponse is a complete chat.completion body.
const wholeResponse = `{
  "id": "chatcmpl-whole",
  "object": "chat.completion",
  "created": 1735689600,
  "model": "gpt-4o-mini-2024-07-18",
  "choices": [{
    "index": 0,
    "message": {"role": "assistant", "content": "Hello world", "refusal": null},
    "logprobs": null,
    "finish_reason": "stop"
  }],
  "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11,
    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
  "system_fingerprint": "fp_1"
}`

// collect gathers the deltas of a stream.
type collect struct{ deltas []Delta }

func (c *collect) on(d Delta) error {
	c.deltas = append(c.deltas, d)
	return nil
}

func (c *collect) texts() []string {
	var out []string
	for _, d := range c.deltas {
		if d.Text != "" {
			out = append(out, d.Text)
		}
	}
	return out
}

// waitClosed waits for ch to be closed, failing the test after failsafe.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(failsafe):
		t.Fatalf("gave up waiting: %s", what)
	}
}

// hello is a minimal request.
func hello() Request {
	return Request{Model: "gpt-4o-mini", Messages: []Message{{Role: RoleUser, Content: "Hello"}}}
}

// mustJSON decodes s, failing the test on error.
func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	g, w := mustJSON(t, got), mustJSON(t, want)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}
