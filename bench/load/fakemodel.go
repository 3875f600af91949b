package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fakeModel is an OpenAI-compatible chat completions server that answers
// at once. Model "instant" (or any other name) streams its tokens back to
// back; model "slow" sends one token a second for slowTokens seconds (for
// the open-streams test). It records, per request nonce, when the first
// token was flushed, so the tool can tell how long the server took to pass
// it on (both clocks are this process's).
type fakeModel struct {
	ln         net.Listener
	srv        *http.Server
	tokens     []string
	slowTokens int
	firstToken string

	newConns atomic.Int64 // connections the server opened to the model
	requests atomic.Int64
	messages atomic.Int64 // chat messages received, summed over requests

	mu      sync.Mutex
	sentAt  map[string]time.Time // nonce -> first token flushed
	trackOn atomic.Bool
}

func startFakeModel(tokens, slowTokens int) (*fakeModel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeModel{ln: ln, slowTokens: slowTokens, firstToken: "FIRSTTOKEN", sentAt: map[string]time.Time{}}
	f.tokens = []string{f.firstToken}
	for i := 1; i < tokens; i++ {
		f.tokens = append(f.tokens, fmt.Sprintf(" tok%d", i))
	}
	f.srv = &http.Server{
		Handler: http.HandlerFunc(f.serve),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				f.newConns.Add(1)
			}
		},
	}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *fakeModel) baseURL() string { return "http://" + f.ln.Addr().String() + "/v1" }

func (f *fakeModel) close() { _ = f.srv.Close() }

// firstTokenAt returns (and forgets) when the first token for nonce left.
func (f *fakeModel) firstTokenAt(nonce string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.sentAt[nonce]
	delete(f.sentAt, nonce)
	return t, ok
}

type chatRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// nonce finds "nonce:XYZ" in the last user message.
func (r *chatRequest) nonce() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role != "user" {
			continue
		}
		var s string
		_ = json.Unmarshal(r.Messages[i].Content, &s)
		if j := strings.Index(s, "nonce:"); j >= 0 {
			return strings.Fields(s[j+len("nonce:"):] + " ")[0]
		}
		return ""
	}
	return ""
}

func (f *fakeModel) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	f.messages.Add(int64(len(req.Messages)))
	usage := `{"prompt_tokens":12,"completion_tokens":` + fmt.Sprint(len(f.tokens)) + `,"total_tokens":` + fmt.Sprint(12+len(f.tokens)) + `}`
	if !req.Stream {
		text, _ := json.Marshal(strings.Join(f.tokens, ""))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":%s}`,
			req.Model, text, usage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 512)
	chunk := func(delta string, finish string) error {
		fin := "null"
		if finish != "" {
			fin = `"` + finish + `"`
		}
		fmt.Fprintf(bw, `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":%q,"choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n",
			req.Model, delta, fin)
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	content := func(s string) string { b, _ := json.Marshal(s); return `{"content":` + string(b) + `}` }
	if chunk(`{"role":"assistant","content":""}`, "") != nil {
		return
	}
	tokens := f.tokens
	var tick *time.Ticker
	if req.Model == "slow" {
		tokens = []string{f.firstToken}
		for i := 1; i < f.slowTokens; i++ {
			tokens = append(tokens, fmt.Sprintf(" tick%d", i))
		}
		tick = time.NewTicker(time.Second)
		defer tick.Stop()
	}
	for i, tok := range tokens {
		if i > 0 && tick != nil {
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
		}
		if chunk(content(tok), "") != nil {
			return
		}
		if i == 0 && f.trackOn.Load() {
			if n := req.nonce(); n != "" {
				now := time.Now()
				f.mu.Lock()
				f.sentAt[n] = now
				f.mu.Unlock()
			}
		}
	}
	if chunk(`{}`, "stop") != nil {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		fmt.Fprintf(bw, `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":%q,"choices":[],"usage":%s}`+"\n\n", req.Model, usage)
	}
	io.WriteString(bw, "data: [DONE]\n\n")
	_ = bw.Flush()
}
