package llmtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
)

// Call is a tool call the fake model makes.
type Call struct {
	ID   string
	Name string
	Args string // the arguments, as JSON text (not necessarily valid)
}

// Usage is the token count a reply reports.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// Details, when set, are sent as prompt_tokens_details.cached_tokens
	// and completion_tokens_details.reasoning_tokens.
	PromptTokensDetails     *CachedTokens    `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *ReasoningTokens `json:"completion_tokens_details,omitempty"`
}

// CachedTokens is prompt_tokens_details.
type CachedTokens struct {
	CachedTokens int `json:"cached_tokens"`
}

// ReasoningTokens is completion_tokens_details.
type ReasoningTokens struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// DefaultUsage is the usage a Reply without one reports.
var DefaultUsage = Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12}

// Reply is the fake model's answer to one request. The zero value answers
// with no text and no calls.
type Reply struct {
	Text  string
	Calls []Call
	// Usage is reported with the answer; nil reports DefaultUsage.
	Usage *Usage
	// Model is the model the answer says answered; "" reports the
	// request's model.
	Model string

	// Status, if non-zero, answers with an OpenAI error object and this
	// HTTP status instead.
	Status int
	// ErrorMessage is the message of the error object sent for Status or
	// MidStreamError; default "provider exploded secret-sauce" for Status,
	// "boom secret-sauce" mid-stream.
	ErrorMessage string
	// MidStreamError, when streamed, sends the text and then an error
	// object in place of the rest of the stream.
	MidStreamError bool
	// HangAfterFirstToken, when streamed, sends the first word of the text
	// (or only the role chunk when there is none), then waits for the
	// request to be cancelled (closing Cancelled) or 10 seconds, and ends
	// the body there.
	HangAfterFirstToken bool
	// StallBeforeAnswer waits for the request to be cancelled (closing
	// Cancelled) or 10 seconds before answering anything.
	StallBeforeAnswer bool
	// PauseAfterFirstToken, when streamed, waits this long after the first
	// word of the text, like a model thinking between two tokens.
	PauseAfterFirstToken time.Duration
	// TokenDelay, when streamed, waits this long before each word of the
	// text after the first, like a model producing tokens at a steady
	// rate (bench/soak cuts streams in the middle).
	TokenDelay time.Duration
	// HoldAfterFirstToken, when streamed, waits after the first word of
	// the text until this channel is closed (or the request is cancelled),
	// then sends the rest: a stream the test ends when it chooses.
	HoldAfterFirstToken <-chan struct{}
	// Gate, when set and streamed, holds each word of the text until a
	// value is received from it (or the request is cancelled): a test
	// releases the reply word by word.
	Gate <-chan struct{}
	// ArgsChunk, when streamed, splits each call's arguments into pieces of
	// this many bytes, each in a chunk of its own after the one naming the
	// call; 0 sends them in two halves.
	ArgsChunk int
}

// Request is a chat-completions request as the fake received it.
type Request struct {
	Model    string      `json:"model"`
	Stream   bool        `json:"stream"`
	Messages []Message   `json:"messages"`
	Tools    []Tool      `json:"tools"`
	Header   http.Header `json:"-"`
	// URL is the request's path and query, e.g. Azure's
	// "/openai/deployments/<name>/chat/completions?api-version=…".
	URL string `json:"-"`

	// Sampling settings, nil or empty when not sent.
	Temperature         *float64 `json:"temperature"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	TopP                *float64 `json:"top_p"`
	Stop                []string `json:"stop"`
	Seed                *int     `json:"seed"`
	PresencePenalty     *float64 `json:"presence_penalty"`
	FrequencyPenalty    *float64 `json:"frequency_penalty"`
	// ResponseFormat is response_format as sent, nil when not sent.
	ResponseFormat json.RawMessage `json:"response_format"`
}

// Message is one message of a Request.
type Message struct {
	Role       string     `json:"role"`
	Content    *string    `json:"content"` // nil when sent as null or left out
	Name       string     `json:"name"`
	ToolCalls  []ToolCall `json:"tool_calls"`
	ToolCallID string     `json:"tool_call_id"`
}

// ToolCall is a tool call in an assistant Message.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is the function a ToolCall calls.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a tool offered in a Request.
type Tool struct {
	Type     string   `json:"type"`
	Function Function `json:"function"`
}

// Function describes an offered Tool.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// Last returns the request's last message; the zero Message if it has none.
func (r Request) Last() Message {
	if len(r.Messages) == 0 {
		return Message{}
	}
	return r.Messages[len(r.Messages)-1]
}

// Text returns the message's content, "" when it has none.
func (m Message) Text() string {
	if m.Content == nil {
		return ""
	}
	return *m.Content
}

// Dump renders the messages compactly, one "role(toolCallID)[id name
// args]…:content" a message (each part only where present), joined by " | ".
func (r Request) Dump() string {
	var parts []string
	for _, m := range r.Messages {
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

// CheckSequence returns an error unless the messages are a tool-call
// sequence OpenAI accepts: each tool call has an id, a name and type
// "function"; each assistant message with tool calls is followed right away
// by exactly one tool message per call; every tool message answers such a
// call.
func (r Request) CheckSequence() error {
	var errs []error
	msgs := r.Messages
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		if m.Role == "tool" {
			errs = append(errs, fmt.Errorf("message %d: tool message %q without its call right before; messages: %s", i, m.ToolCallID, r.Dump()))
			continue
		}
		if m.Role != "assistant" || len(m.ToolCalls) == 0 {
			continue
		}
		want := map[string]bool{}
		for _, tc := range m.ToolCalls {
			if tc.ID == "" || tc.Function.Name == "" || tc.Type != "function" {
				errs = append(errs, fmt.Errorf("message %d: bad tool call %+v", i, tc))
			}
			want[tc.ID] = true
		}
		for len(want) > 0 {
			i++
			if i >= len(msgs) || msgs[i].Role != "tool" || !want[msgs[i].ToolCallID] {
				errs = append(errs, fmt.Errorf("message %d: calls %v not all answered right after the assistant message; messages: %s", i, want, r.Dump()))
				return errors.Join(errs...)
			}
			delete(want, msgs[i].ToolCallID)
		}
	}
	return errors.Join(errs...)
}

// Replies returns a script that answers the n-th request with rs[n], and
// every request after the last reply with the last one. It panics if rs is
// empty.
func Replies(rs ...Reply) func(Request) Reply { return Sequence[Request](rs...) }

// Sequence is Replies for any fake's request and reply types (the
// Anthropic fake's too): the n-th call gets rs[n], later ones the last.
func Sequence[Req, Rep any](rs ...Rep) func(Req) Rep {
	if len(rs) == 0 {
		panic("llmtest: a script of no replies")
	}
	var mu sync.Mutex
	n := 0
	return func(Req) Rep {
		mu.Lock()
		defer mu.Unlock()
		r := rs[min(n, len(rs)-1)]
		n++
		return r
	}
}

// Server is a fake OpenAI-compatible chat-completions server.
type Server struct {
	// URL is the API root, for llm.OpenAIConfig.BaseURL; requests go to
	// URL + "/chat/completions" (any path is answered).
	URL string

	srv            *httptest.Server
	script         func(Request) Reply
	cancelled      chan struct{}
	closeCancelled sync.Once

	// EmbedDimensions is the length of the vectors /embeddings answers
	// with (1536, text-embedding-3-small's, when 0); EmbedStatus, when
	// set, is the HTTP status of the n-th /embeddings request (from 0), 0
	// or 200 answering it. Set them before the first request.
	EmbedDimensions int
	EmbedStatus     func(n int) int

	mu   sync.Mutex // guards reqs and embeds
	reqs []Request
	// embeds are the /embeddings requests, kept apart from the chat ones.
	embeds []EmbedRequest
}

// EmbedRequest is one /embeddings request as the server received it.
type EmbedRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions"`
	// Header and URL are the request's.
	Header http.Header `json:"-"`
	URL    string      `json:"-"`
}

// EmbedRequests returns the /embeddings requests received so far, oldest
// first.
func (s *Server) EmbedRequests() []EmbedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]EmbedRequest(nil), s.embeds...)
}

// Embedded returns every text embedded so far, in order.
func (s *Server) Embedded() []string {
	var out []string
	for _, r := range s.EmbedRequests() {
		out = append(out, r.Input...)
	}
	return out
}

// embed answers POST …/embeddings as OpenAI does, with llm.HashEmbedding
// vectors (the echo embedder's, at EmbedDimensions), so that a test knows
// which texts are near each other. data is listed last input first: a
// client must place vectors by index.
func (s *Server) embed(w http.ResponseWriter, r *http.Request, body []byte) {
	var req EmbedRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Input) == 0 {
		writeError(w, http.StatusBadRequest, "input must be a non-empty array of strings")
		return
	}
	req.Header, req.URL = r.Header.Clone(), r.URL.RequestURI()
	s.mu.Lock()
	n := len(s.embeds)
	s.embeds = append(s.embeds, req)
	s.mu.Unlock()
	if s.EmbedStatus != nil {
		if st := s.EmbedStatus(n); st != 0 && st != http.StatusOK {
			writeError(w, st, "embedding failed")
			return
		}
	}
	dims := s.EmbedDimensions
	if dims == 0 {
		dims = 1536
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]item, len(req.Input))
	words := 0
	for i, text := range req.Input {
		v, nw := llm.HashEmbedding(text, dims)
		words += nw
		data[len(req.Input)-1-i] = item{"embedding", i, v}
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": words, "total_tokens": words}})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// writeError answers with OpenAI's error object.
func writeError(w http.ResponseWriter, status int, msg string) {
	typ := "server_error"
	if status < 500 {
		typ = "invalid_request_error"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// Cleaner is what NewServer needs of its caller: a testing.TB, or a
// program that runs the cleanups itself (bench/soak).
type Cleaner interface {
	Helper()
	Cleanup(func())
}

// Cleanups is the Cleaner of a program (bench/soak, bench/cluster): Run
// runs what was registered, last first, as a test's end would.
type Cleanups struct {
	mu  sync.Mutex
	fns []func()
}

// Helper does nothing: a program has no test output to attribute.
func (c *Cleanups) Helper() {}

// Cleanup registers f.
func (c *Cleanups) Cleanup(f func()) {
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
}

// Run runs the registered functions, last first, once.
func (c *Cleanups) Run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
	c.fns = nil
}

// NewServer starts a server answering each request with script's reply and
// closes it when the test ends. script may be called concurrently.
func NewServer(t Cleaner, script func(Request) Reply) *Server {
	t.Helper()
	s := &Server{script: script, cancelled: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Config returns a client configuration for the server: provider name
// "openai", API key "sk-test", no retries and the given timeout (0 for
// none).
func (s *Server) Config(timeout time.Duration) llm.OpenAIConfig {
	if timeout == 0 {
		timeout = -1
	}
	return llm.OpenAIConfig{Name: "openai", BaseURL: s.URL, APIKey: "sk-test", Timeout: timeout}
}

// Model returns a client of the server configured by Config(timeout).
func (s *Server) Model(timeout time.Duration) *llm.OpenAI {
	m, err := llm.NewOpenAI(s.Config(timeout))
	if err != nil {
		panic(err) // a bug in the test: Config fills every required field
	}
	return m
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ForgetRequests drops the requests recorded so far, so that a program
// sending many of them (bench/cluster) keeps its memory bounded.
func (s *Server) ForgetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// Cancelled is closed once a request held by HangAfterFirstToken or
// StallBeforeAnswer has been cancelled by the client.
func (s *Server) Cancelled() <-chan struct{} { return s.cancelled }

// wait holds a request until the client cancels it (closing cancelled) or
// ten seconds pass.
func (s *Server) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
		s.closeCancelled.Do(func() { close(s.cancelled) })
	case <-time.After(10 * time.Second):
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil && strings.HasSuffix(r.URL.Path, "/embeddings") {
		s.embed(w, r, body)
		return
	}
	var req Request
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Header = r.Header.Clone()
	req.URL = r.URL.RequestURI()
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	rp := s.script(req)

	if rp.StallBeforeAnswer {
		s.wait(r)
		return
	}
	if rp.Status != 0 {
		msg, typ := rp.ErrorMessage, "server_error"
		if msg == "" {
			msg = "provider exploded secret-sauce"
		}
		if rp.Status < 500 {
			typ = "invalid_request_error"
		}
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ}})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rp.Status)
		w.Write(b)
		return
	}
	id := fmt.Sprintf("chatcmpl-%d", n)
	model := req.Model
	if rp.Model != "" {
		model = rp.Model
	}
	if model == "" {
		model = "gpt-test"
	}
	reason := "stop"
	if len(rp.Calls) > 0 {
		reason = "tool_calls"
	}
	usage := DefaultUsage
	if rp.Usage != nil {
		usage = *rp.Usage
	}
	if !req.Stream {
		writeWhole(w, id, model, reason, usage, rp)
		return
	}
	s.stream(w, r, id, model, reason, usage, rp)
}

func writeWhole(w http.ResponseWriter, id, model, reason string, usage Usage, rp Reply) {
	msg := map[string]any{"role": "assistant", "content": nil}
	if rp.Text != "" {
		msg["content"] = rp.Text
	}
	var tcs []ToolCall
	for _, c := range rp.Calls {
		tcs = append(tcs, ToolCall{ID: c.ID, Type: "function", Function: FunctionCall{Name: c.Name, Arguments: c.Args}})
	}
	if tcs != nil {
		msg["tool_calls"] = tcs
	}
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": reason}},
		"usage":   usage,
	})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, id, model, reason string, usage Usage, rp Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		http.NewResponseController(w).Flush()
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	first := true
	for _, word := range strings.SplitAfter(rp.Text, " ") {
		if word == "" {
			continue
		}
		if rp.Gate != nil {
			select {
			case <-rp.Gate:
			case <-r.Context().Done():
				return
			}
		}
		if !first && rp.TokenDelay > 0 {
			select {
			case <-time.After(rp.TokenDelay):
			case <-r.Context().Done():
				return
			}
		}
		send(chunk(map[string]any{"content": word}, nil))
		if first {
			first = false
			if rp.HangAfterFirstToken {
				s.wait(r)
				return
			}
			if rp.HoldAfterFirstToken != nil {
				select {
				case <-r.Context().Done():
					return
				case <-rp.HoldAfterFirstToken:
				}
			}
			if rp.PauseAfterFirstToken > 0 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(rp.PauseAfterFirstToken):
				}
			}
		}
	}
	if first && rp.HangAfterFirstToken {
		s.wait(r)
		return
	}
	if rp.MidStreamError {
		msg := rp.ErrorMessage
		if msg == "" {
			msg = "boom secret-sauce"
		}
		send(map[string]any{"error": map[string]any{"message": msg, "type": "server_error"}})
		return
	}
	// Tool calls in fragments, as OpenAI streams them: id and name first,
	// then the arguments in pieces.
	for i, c := range rp.Calls {
		send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c.ID, "type": "function",
			"function": map[string]any{"name": c.Name, "arguments": ""}}}}, nil))
		for _, piece := range split(c.Args, rp.ArgsChunk) {
			send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i,
				"function": map[string]any{"arguments": piece}}}}, nil))
		}
	}
	send(chunk(map[string]any{}, reason))
	send(map[string]any{"id": id, "object": "chat.completion.chunk", "model": model, "choices": []any{}, "usage": usage})
	io.WriteString(w, "data: [DONE]\n\n")
}

// split cuts s into pieces of size bytes, or into two halves for size 0;
// it drops empty pieces.
func split(s string, size int) []string {
	if size <= 0 {
		size = max(1, (len(s)+1)/2)
	}
	var out []string
	for i := 0; i < len(s); i += size {
		out = append(out, s[i:min(i+size, len(s))])
	}
	return out
}
