package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachStore runs fn against a fresh, migrated SQLite store and a fresh,
// migrated Postgres store.
func eachStore(t *testing.T, fn func(t *testing.T, s *memory.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openStore(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)}))
	})
}

func openStore(t *testing.T, opts memory.Options) *memory.Store {
	t.Helper()
	ctx := context.Background()
	s, err := memory.Open(ctx, opts)
	if err != nil {
		t.Fatalf("memory.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func sqliteStore(t *testing.T) *memory.Store {
	return openStore(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")})
}

// fakeCall is a tool call the fake model makes.
type fakeCall struct{ id, name, args string }

// reply is what the fake OpenAI server answers to one request.
type reply struct {
	text     string
	calls    []fakeCall
	status   int  // non-zero: an error response with this status
	midError bool // streamed: the text, then an error object
	hang     bool // streamed: the first word, then wait for the request to be cancelled
	stall    bool // wait for the request to be cancelled before answering
}

// wireReq is the part of a chat completions request the tests look at.
type wireReq struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role      string  `json:"role"`
		Content   *string `json:"content"`
		ToolCalls []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
		ToolCallID string `json:"tool_call_id"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

// fakeOpenAI is an in-process server speaking OpenAI chat completions,
// answering with scripted replies (the last one repeats) and recording the
// requests.
type fakeOpenAI struct {
	srv       *httptest.Server
	cancelled chan struct{} // closed when a hanging request was cancelled

	mu      sync.Mutex // guards replies and reqs
	replies []reply
	reqs    []wireReq
}

func newFake(t *testing.T, replies ...reply) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{replies: replies, cancelled: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOpenAI) model() *llm.OpenAI { return f.modelWithTimeout(10 * time.Second) }

func (f *fakeOpenAI) modelWithTimeout(d time.Duration) *llm.OpenAI {
	return llm.NewOpenAI(llm.OpenAIConfig{BaseURL: f.srv.URL, APIKey: "sk-test", MaxRetries: -1, Timeout: d})
}

func (f *fakeOpenAI) requests() []wireReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wireReq(nil), f.reqs...)
}

func (f *fakeOpenAI) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req wireReq
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, req)
	rp := f.replies[min(n, len(f.replies)-1)]
	f.mu.Unlock()
	if rp.stall {
		<-r.Context().Done()
		return
	}

	if rp.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rp.status)
		io.WriteString(w, `{"error":{"message":"provider exploded secret-sauce","type":"server_error"}}`)
		return
	}
	reason := "stop"
	if len(rp.calls) > 0 {
		reason = "tool_calls"
	}
	usage := map[string]int{"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
	if !req.Stream {
		msg := map[string]any{"role": "assistant", "content": nil}
		if rp.text != "" {
			msg["content"] = rp.text
		}
		var tcs []any
		for _, c := range rp.calls {
			tcs = append(tcs, map[string]any{"id": c.id, "type": "function",
				"function": map[string]any{"name": c.name, "arguments": c.args}})
		}
		if tcs != nil {
			msg["tool_calls"] = tcs
		}
		b, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("chatcmpl-%d", n), "object": "chat.completion", "model": "gpt-test-0001",
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": reason}},
			"usage":   usage,
		})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		http.NewResponseController(w).Flush()
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": fmt.Sprintf("chatcmpl-%d", n), "object": "chat.completion.chunk", "model": "gpt-test-0001",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for i, word := range strings.SplitAfter(rp.text, " ") {
		if word == "" {
			continue
		}
		send(chunk(map[string]any{"content": word}, nil))
		if i == 0 && rp.hang {
			select {
			case <-r.Context().Done():
				close(f.cancelled)
			case <-time.After(10 * time.Second):
			}
			return
		}
	}
	if rp.midError {
		send(map[string]any{"error": map[string]any{"message": "boom secret-sauce", "type": "server_error"}})
		return
	}
	for i, c := range rp.calls {
		half := len(c.args) / 2
		send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c.id, "type": "function",
			"function": map[string]any{"name": c.name, "arguments": c.args[:half]}}}}, nil))
		send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i,
			"function": map[string]any{"arguments": c.args[half:]}}}}, nil))
	}
	send(chunk(map[string]any{}, reason))
	send(map[string]any{"id": "x", "object": "chat.completion.chunk", "model": "gpt-test-0001", "choices": []any{}, "usage": usage})
	io.WriteString(w, "data: [DONE]\n\n")
}

// checkSequence fails unless msgs is a valid OpenAI tool-call sequence:
// each assistant message with tool_calls is followed by exactly one tool
// message per call, and every tool message answers such a call.
func checkSequence(t *testing.T, req wireReq) {
	t.Helper()
	msgs := req.Messages
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		if m.Role == "tool" {
			t.Errorf("message %d: tool message %q without a preceding call; messages: %s", i, m.ToolCallID, dump(req))
			continue
		}
		if m.Role != "assistant" || len(m.ToolCalls) == 0 {
			continue
		}
		want := map[string]bool{}
		for _, tc := range m.ToolCalls {
			if tc.ID == "" || tc.Function.Name == "" || tc.Type != "function" {
				t.Errorf("message %d: bad tool call %+v", i, tc)
			}
			want[tc.ID] = true
		}
		for len(want) > 0 {
			i++
			if i >= len(msgs) || msgs[i].Role != "tool" || !want[msgs[i].ToolCallID] {
				t.Errorf("message %d: calls %v not all answered; messages: %s", i, want, dump(req))
				return
			}
			delete(want, msgs[i].ToolCallID)
		}
	}
}

// dump renders messages compactly: role:content or role[calls] or tool(id):content.
func dump(req wireReq) string {
	var parts []string
	for _, m := range req.Messages {
		s := m.Role
		if m.ToolCallID != "" {
			s += "(" + m.ToolCallID + ")"
		}
		for _, tc := range m.ToolCalls {
			s += "[" + tc.ID + " " + tc.Function.Name + " " + tc.Function.Arguments + "]"
		}
		if m.Content != nil {
			s += ":" + *m.Content
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

// weather is a test tool that records its calls.
type weather struct {
	mu    sync.Mutex // guards calls
	calls []string
	fail  error
	panic bool
}

func (w *weather) Name() string        { return "weather" }
func (w *weather) Description() string { return "current weather of a city" }
func (w *weather) InputSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)
}

func (w *weather) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	w.mu.Lock()
	w.calls = append(w.calls, string(args))
	w.mu.Unlock()
	if w.panic {
		panic("weather station on fire")
	}
	if w.fail != nil {
		return nil, w.fail
	}
	var a struct{ City string }
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	return json.RawMessage(fmt.Sprintf(`{"city":%q,"tempC":21}`, a.City)), nil
}

func (w *weather) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// recorder collects emitted chunks; fail makes emit fail from the n-th
// text-delta on.
type recorder struct {
	chunks  []Chunk
	failAt  int // 0: never
	ndeltas int
}

func (r *recorder) emit(c Chunk) error {
	if c.Type == ChunkTextDelta {
		r.ndeltas++
		if r.failAt > 0 && r.ndeltas >= r.failAt {
			return errors.New("write: broken pipe")
		}
	}
	r.chunks = append(r.chunks, c)
	return nil
}

func (r *recorder) types() []string {
	var out []string
	for _, c := range r.chunks {
		out = append(out, c.Type)
	}
	return out
}

// payload returns a chunk's payload as generic JSON.
func payload(t *testing.T, c Chunk) map[string]any {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal chunk %s: %v", c.Type, err)
	}
	var v struct{ Payload map[string]any }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Payload
}

// compact returns the chunk types with runs of the same type folded to one.
func compact(types []string) string {
	var out []string
	for _, ty := range types {
		if len(out) == 0 || out[len(out)-1] != ty {
			out = append(out, ty)
		}
	}
	return strings.Join(out, ",")
}

// messages reads a thread's saved messages.
func messages(t *testing.T, s *memory.Store, threadID string) []memory.Message {
	t.Helper()
	msgs, err := s.LastMessages(context.Background(), threadID, 100)
	if err != nil {
		t.Fatalf("LastMessages: %v", err)
	}
	return msgs
}

func content(t *testing.T, m memory.Message) memory.Content {
	t.Helper()
	c, err := memory.ParseContent(m.Content)
	if err != nil {
		t.Fatalf("ParseContent(%s): %v", m.Content, err)
	}
	return c
}

func newService(t *testing.T, store *memory.Store, agents ...*Agent) *Service {
	t.Helper()
	s, err := NewService(store, agents, "", nil)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return s
}

func user(text string) []llm.Message { return []llm.Message{{Role: llm.RoleUser, Content: text}} }
