// Package anthropictest is test support: an in-process server that speaks
// Anthropic's Messages API (POST /v1/messages; a whole message JSON body, or
// an SSE stream of message_start, content_block_start/delta/stop, ping,
// message_delta and message_stop events) and answers each request as a test
// scripts it, recording the requests it got.
//
// Like the real API it refuses (400 invalid_request_error) a request without
// x-api-key, anthropic-version or max_tokens, with messages that do not
// alternate starting with the user, with a tool_result that does not answer
// a tool_use of the message right before it, with an empty text block, with
// more than 4 cache_control breakpoints, or, with thinking enabled, with a
// tool loop whose assistant message does not start with its thinking.
//
// Only tests import this package; production code never does.
package anthropictest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// APIKey is the key the server accepts.
const APIKey = "sk-ant-test"

// Call is a tool call the fake model makes.
type Call struct {
	ID   string
	Name string
	Args string // the arguments, as JSON text
}

// Usage is the token count a reply reports, in Anthropic's fields.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// DefaultUsage is the usage a Reply without one reports.
var DefaultUsage = Usage{InputTokens: 10, OutputTokens: 2}

// Reply is the fake model's answer to one request.
type Reply struct {
	// Thinking, when set, comes first as a thinking block signed with
	// Signature (default "sig-" + the first word of Thinking).
	Thinking  string
	Signature string
	Text      string
	Calls     []Call
	Usage     *Usage // nil reports DefaultUsage
	// StopReason defaults to tool_use when there are calls, else end_turn.
	StopReason string

	// Status, if non-zero, answers with an error body of ErrorType
	// (default by status) and ErrorMessage, and RetryAfter as the
	// Retry-After header when set.
	Status       int
	ErrorType    string
	ErrorMessage string
	RetryAfter   string
	// ErrorEvent, when streamed, sends an error event of ErrorType (default
	// overloaded_error) right after message_start, before any content.
	ErrorEvent bool
	// MidStreamError, when streamed, sends the text and then an error event
	// of ErrorType (default api_error) in place of the rest.
	MidStreamError bool
	// SplitBytes, when streamed, writes the stream in pieces of this many
	// bytes, each flushed on its own, so events and lines arrive cut in
	// the middle; 0 writes one event at a time.
	SplitBytes int
	// ArgsChunk splits each call's arguments into input_json_delta pieces
	// of this many bytes; 0 sends them in two halves.
	ArgsChunk int
}

// Block is a content block of a request, any type.
type Block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	Thinking     *string         `json:"thinking"`
	Signature    string          `json:"signature"`
	Data         string          `json:"data"`
	CacheControl *struct {
		Type string `json:"type"`
	} `json:"cache_control"`
}

// Message is one message of a Request.
type Message struct {
	Role    string  `json:"role"`
	Content []Block `json:"content"`
}

// Tool is a tool offered in a Request.
type Tool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"input_schema"`
	CacheControl *struct {
		Type string `json:"type"`
	} `json:"cache_control"`
}

// Request is a Messages request as the fake received it.
type Request struct {
	Model         string    `json:"model"`
	MaxTokens     *int      `json:"max_tokens"`
	Stream        bool      `json:"stream"`
	System        []Block   `json:"system"`
	Messages      []Message `json:"messages"`
	Tools         []Tool    `json:"tools"`
	Temperature   *float64  `json:"temperature"`
	TopP          *float64  `json:"top_p"`
	StopSequences []string  `json:"stop_sequences"`
	ToolChoice    *struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
	} `json:"tool_choice"`
	// OutputConfig is output_config as sent (structured output), nil when
	// not sent.
	OutputConfig json.RawMessage `json:"output_config"`
	Thinking     *struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	} `json:"thinking"`

	Header http.Header     `json:"-"`
	Body   json.RawMessage `json:"-"` // the body as sent
}

// Breakpoints counts the cache_control markers of the request, and names
// where they are: "system", "tool:<name>" or "message<i>:<block type>".
func (r Request) Breakpoints() []string {
	var out []string
	for _, b := range r.System {
		if b.CacheControl != nil {
			out = append(out, "system")
		}
	}
	for _, t := range r.Tools {
		if t.CacheControl != nil {
			out = append(out, "tool:"+t.Name)
		}
	}
	for i, m := range r.Messages {
		for _, b := range m.Content {
			if b.CacheControl != nil {
				out = append(out, fmt.Sprintf("message%d:%s", i, b.Type))
			}
		}
	}
	return out
}

// Dump renders the messages compactly: "role:type[detail],…" joined by " | ".
func (r Request) Dump() string {
	var msgs []string
	for _, m := range r.Messages {
		var bs []string
		for _, b := range m.Content {
			switch b.Type {
			case "text":
				bs = append(bs, "text["+b.Text+"]")
			case "tool_use":
				bs = append(bs, "tool_use["+b.ID+" "+b.Name+" "+string(b.Input)+"]")
			case "tool_result":
				bs = append(bs, "tool_result["+b.ToolUseID+" "+string(b.Content)+"]")
			case "thinking":
				bs = append(bs, "thinking["+b.Signature+"]")
			default:
				bs = append(bs, b.Type)
			}
		}
		msgs = append(msgs, m.Role+":"+strings.Join(bs, ","))
	}
	return strings.Join(msgs, " | ")
}

// check refuses what the real API refuses; see the package documentation.
func (r Request) check() string {
	switch {
	case r.Header.Get("x-api-key") != APIKey:
		return "invalid x-api-key"
	case r.Header.Get("anthropic-version") == "":
		return "anthropic-version: header is required"
	case r.MaxTokens == nil || *r.MaxTokens < 1:
		return "max_tokens: Field required"
	case len(r.Messages) == 0:
		return "messages: at least one message is required"
	case r.Messages[0].Role != "user":
		return "messages: first message must use the \"user\" role"
	case len(r.Breakpoints()) > 4:
		return "A maximum of 4 blocks with cache_control may be provided"
	}
	if r.Thinking != nil && r.Thinking.BudgetTokens >= *r.MaxTokens {
		return "max_tokens must be greater than thinking.budget_tokens"
	}
	for i, m := range r.Messages {
		if i > 0 && r.Messages[i-1].Role == m.Role {
			return fmt.Sprintf("messages.%d: roles must alternate between \"user\" and \"assistant\"", i)
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("messages.%d: content must not be empty", i)
		}
		uses := map[string]bool{}
		if i > 0 {
			for _, b := range r.Messages[i-1].Content {
				if b.Type == "tool_use" {
					uses[b.ID] = true
				}
			}
		}
		for j, b := range m.Content {
			switch {
			case b.Type == "text" && b.Text == "":
				return fmt.Sprintf("messages.%d.content.%d: text content blocks must be non-empty", i, j)
			case b.Type == "tool_result" && (m.Role != "user" || !uses[b.ToolUseID]):
				return fmt.Sprintf("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s", i, j, b.ToolUseID)
			case b.Type == "tool_use" && (b.ID == "" || b.Name == "" || len(b.Input) == 0 || b.Input[0] != '{'):
				return fmt.Sprintf("messages.%d.content.%d: tool_use needs an id, a name and an object input", i, j)
			case b.Type == "thinking" && (b.Thinking == nil || b.Signature == ""):
				return fmt.Sprintf("messages.%d.content.%d: thinking blocks need thinking and signature", i, j)
			}
		}
		if len(uses) > 0 {
			n := 0
			for _, b := range m.Content {
				if b.Type == "tool_result" {
					n++
				}
			}
			if n != len(uses) {
				return fmt.Sprintf("messages.%d: tool_use ids were found without tool_result blocks immediately after", i)
			}
		}
	}
	// With thinking on, the assistant message of an unfinished tool loop
	// (the one the last user message answers) must start with its thinking.
	if n := len(r.Messages); r.Thinking != nil && n >= 2 {
		last, prev := r.Messages[n-1], r.Messages[n-2]
		if len(last.Content) > 0 && last.Content[0].Type == "tool_result" && prev.Role == "assistant" {
			if t := prev.Content[0].Type; t != "thinking" && t != "redacted_thinking" {
				return fmt.Sprintf("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block", n-2, t)
			}
		}
	}
	return ""
}

// Replies returns a script that answers the n-th request with rs[n], and
// every request after the last reply with the last one.
func Replies(rs ...Reply) func(Request) Reply { return llmtest.Sequence[Request](rs...) }

// Server is a fake Anthropic Messages API.
type Server struct {
	// URL is the API root, for llm.AnthropicConfig.BaseURL.
	URL string

	srv    *httptest.Server
	script func(Request) Reply

	mu   sync.Mutex
	reqs []Request
}

// NewServer starts a server answering each request with script's reply and
// closes it when the test ends. script may be called concurrently.
func NewServer(t testing.TB, script func(Request) Reply) *Server {
	t.Helper()
	s := &Server{script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Config returns a client configuration for the server: provider name
// "anthropic", the accepted key, version 2023-06-01, max_tokens 1024,
// caching on, no retries and no thinking.
func (s *Server) Config(timeout time.Duration) llm.AnthropicConfig {
	if timeout == 0 {
		timeout = -1
	}
	return llm.AnthropicConfig{Name: "anthropic", BaseURL: s.URL, APIKey: APIKey, Version: "2023-06-01",
		MaxTokens: 1024, Cache: true, Timeout: timeout}
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func writeError(w http.ResponseWriter, status int, typ, msg, retryAfter string) {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		writeError(w, http.StatusNotFound, "not_found_error", "Not found: "+r.URL.Path, "")
		return
	}
	body, err := io.ReadAll(r.Body)
	var req Request
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "bad JSON: "+err.Error(), "")
		return
	}
	req.Header, req.Body = r.Header.Clone(), body
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if msg := req.check(); msg != "" {
		status, typ := http.StatusBadRequest, "invalid_request_error"
		if msg == "invalid x-api-key" {
			status, typ = http.StatusUnauthorized, "authentication_error"
		}
		writeError(w, status, typ, msg, "")
		return
	}
	rp := s.script(req)
	if rp.Status != 0 {
		typ := rp.ErrorType
		if typ == "" {
			typ = map[int]string{429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}[rp.Status]
		}
		if typ == "" {
			typ = "api_error"
			if rp.Status < 500 {
				typ = "invalid_request_error"
			}
		}
		msg := rp.ErrorMessage
		if msg == "" {
			msg = "provider exploded " + APIKey
		}
		writeError(w, rp.Status, typ, msg, rp.RetryAfter)
		return
	}
	id := fmt.Sprintf("msg_%02d", n)
	usage := DefaultUsage
	if rp.Usage != nil {
		usage = *rp.Usage
	}
	stop := rp.StopReason
	if stop == "" {
		stop = "end_turn"
		if len(rp.Calls) > 0 {
			stop = "tool_use"
		}
	}
	sig := rp.Signature
	if sig == "" && rp.Thinking != "" {
		sig = "sig-" + strings.Fields(rp.Thinking)[0]
	}
	if !req.Stream {
		var content []any
		if rp.Thinking != "" {
			content = append(content, map[string]any{"type": "thinking", "thinking": rp.Thinking, "signature": sig})
		}
		if rp.Text != "" {
			content = append(content, map[string]any{"type": "text", "text": rp.Text})
		}
		for _, c := range rp.Calls {
			content = append(content, map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": json.RawMessage(c.Args)})
		}
		b, _ := json.Marshal(map[string]any{"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content": content, "stop_reason": stop, "stop_sequence": nil, "usage": usage})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	s.stream(w, req, id, stop, sig, usage, rp)
}

func (s *Server) stream(w http.ResponseWriter, req Request, id, stop, sig string, usage Usage, rp Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var pending []byte
	flush := func() {
		if rp.SplitBytes <= 0 {
			w.Write(pending)
			rc.Flush()
		} else {
			for len(pending) > 0 {
				n := min(rp.SplitBytes, len(pending))
				w.Write(pending[:n])
				rc.Flush()
				pending = pending[n:]
			}
		}
		pending = pending[:0]
	}
	send := func(name string, v any) {
		b, _ := json.Marshal(v)
		pending = fmt.Appendf(pending, "event: %s\ndata: %s\n\n", name, b)
		flush()
	}
	sendError := func(typ, def string) {
		if typ == "" {
			typ = def
		}
		msg := rp.ErrorMessage
		if msg == "" {
			msg = "boom " + APIKey
		}
		send("error", map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
	}
	start := usage
	start.OutputTokens = 1
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": start}})
	if rp.ErrorEvent {
		sendError(rp.ErrorType, "overloaded_error")
		return
	}
	send("ping", map[string]any{"type": "ping"})
	idx := 0
	block := func(cb map[string]any, deltas []map[string]any) {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": cb})
		for _, d := range deltas {
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": d})
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
		idx++
	}
	if rp.Thinking != "" {
		var ds []map[string]any
		for _, word := range strings.SplitAfter(rp.Thinking, " ") {
			if word != "" {
				ds = append(ds, map[string]any{"type": "thinking_delta", "thinking": word})
			}
		}
		ds = append(ds, map[string]any{"type": "signature_delta", "signature": sig})
		block(map[string]any{"type": "thinking", "thinking": "", "signature": ""}, ds)
	}
	if rp.Text != "" {
		var ds []map[string]any
		for _, word := range strings.SplitAfter(rp.Text, " ") {
			if word != "" {
				ds = append(ds, map[string]any{"type": "text_delta", "text": word})
			}
		}
		if rp.MidStreamError {
			send("content_block_start", map[string]any{"type": "content_block_start", "index": idx,
				"content_block": map[string]any{"type": "text", "text": ""}})
			for _, d := range ds {
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": d})
			}
			sendError(rp.ErrorType, "api_error")
			return
		}
		block(map[string]any{"type": "text", "text": ""}, ds)
	}
	for _, c := range rp.Calls {
		var ds []map[string]any
		for _, piece := range split(c.Args, rp.ArgsChunk) {
			ds = append(ds, map[string]any{"type": "input_json_delta", "partial_json": piece})
		}
		block(map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": map[string]any{}}, ds)
	}
	send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": usage.OutputTokens}})
	send("message_stop", map[string]any{"type": "message_stop"})
}

// split cuts s into pieces of size bytes, or into two halves for size 0.
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
