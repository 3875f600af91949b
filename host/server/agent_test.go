package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// upstream starts a fake OpenAI answering every request with r.
func upstream(t *testing.T, r llmtest.Reply) *llmtest.Server {
	t.Helper()
	return llmtest.NewServer(t, llmtest.Replies(r))
}

// hello is the fake model's normal answer.
var hello = llmtest.Reply{Text: "Hello world"}

// agentServer is a server with an echo agent and an OpenAI agent on fake.
func agentServer(t *testing.T, store *memory.Store, fake *llmtest.Server) *httptest.Server {
	t.Helper()
	oc := fake.Config(5 * time.Second)
	oc.APIKey = "sk-secret-key" // the upstream error echoes it; it must not reach clients
	openai, err := llm.NewOpenAI(oc)
	if err != nil {
		t.Fatal(err)
	}
	agents := []*agent.Agent{
		{ID: "assistant", Name: "Assistant", Instructions: "Be kind.", Model: llm.Echo{}, Provider: "echo", LastMessages: 10},
		{ID: "gpt", Name: "GPT", Model: openai, Provider: "openai", ModelID: "gpt-4o-mini", LastMessages: 10},
	}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.BodyLimit = 64 << 10
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon"})
	return ts
}

// readSSE parses a stream as an EventSource client would: events end with
// a blank line, data lines carry the payload.
func readSSE(t *testing.T, body io.Reader) (events []map[string]any, done bool) {
	t.Helper()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasSuffix(line, "\r") {
			t.Fatalf("CR in stream line %q", line)
		}
		switch {
		case line == "":
			if len(data) == 0 {
				continue
			}
			payload := strings.Join(data, "\n")
			data = nil
			if payload == "[DONE]" {
				done = true
				continue
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(payload), &ev); err != nil {
				t.Fatalf("event is not one JSON document: %q", payload)
			}
			events = append(events, ev)
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, "id: "):
			// the event's sequence number (resume_test.go checks them)
		case strings.HasPrefix(line, ":"):
			// comment (keep-alive)
		default:
			t.Fatalf("unexpected stream line %q", line)
		}
	}
	return events, done
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGenerateAndStream(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			store := openSQLite(t)
			if kind == "postgres" {
				store = openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)})
			}
			ts := agentServer(t, store, upstream(t, hello))

			r := do(t, "POST", ts.URL+"/agent/generate", `{"message":"hi there","threadId":"t1","resourceId":"alice"}`, "Content-Type", "application/json")
			if r.status != 200 || r.body["text"] != "Echo: hi there" || r.body["threadId"] != "t1" || r.body["resourceId"] != "alice" ||
				r.body["finishReason"] != "stop" || r.body["runId"] == "" {
				t.Fatalf("generate = %d %s", r.status, r.raw)
			}
			if u := r.body["usage"].(map[string]any); u["totalTokens"].(float64) <= 0 {
				t.Errorf("usage = %v; want token counts", u)
			}

			res := post(t, ts.URL+"/agent/stream", `{"message":"hi there","threadId":"t1","resourceId":"alice"}`)
			defer res.Body.Close()
			if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" || res.Header.Get("Cache-Control") != "no-cache" ||
				res.Header.Get("X-Accel-Buffering") != "no" || res.Header.Get("X-Thread-Id") != "t1" || res.Header.Get("X-Resource-Id") != "alice" {
				t.Errorf("stream headers = %v", res.Header)
			}
			events, done := readSSE(t, res.Body)
			if !done {
				t.Error("stream did not end with [DONE]")
			}
			var text strings.Builder
			var types []string
			for _, ev := range events {
				types = append(types, ev["type"].(string))
				if ev["type"] == "text-delta" {
					text.WriteString(ev["payload"].(map[string]any)["text"].(string))
				}
			}
			if text.String() != "Echo: hi there" {
				t.Errorf("streamed text = %q; want generate's %q", text.String(), "Echo: hi there")
			}
			if types[0] != "start" || types[len(types)-1] != "finish" {
				t.Errorf("chunk types = %v; want start … finish", types)
			}
			start := events[0]["payload"].(map[string]any)
			if start["threadId"] != "t1" || start["resourceId"] != "alice" {
				t.Errorf("start payload = %v; want thread and resource", start)
			}

			// Both turns are in the thread, oldest first.
			r = do(t, "GET", ts.URL+"/threads/t1?resourceId=alice", "")
			if r.body["total"] != 4.0 {
				t.Errorf("thread has %v messages; want 4 (two turns)", r.body["total"])
			}
			// Without resourceId the documented default is used.
			r = do(t, "POST", ts.URL+"/agent/generate", `{"message":"who am i"}`, "Content-Type", "application/json")
			if r.status != 200 || r.body["resourceId"] != "anon" || r.body["threadId"] == "" {
				t.Errorf("generate without ids = %d %s; want the default resource and a new thread", r.status, r.raw)
			}
			// Another resource cannot use alice's thread.
			r = do(t, "POST", ts.URL+"/agent/generate", `{"message":"let me in","threadId":"t1","resourceId":"mallory"}`, "Content-Type", "application/json")
			if r.status != 409 || r.body["error"] != "Thread already exists" {
				t.Errorf("generate on another's thread = %d %s; want 409, as for any taken id", r.status, r.raw)
			}
			// The OpenAI agent through the real client and the fake upstream.
			r = do(t, "POST", ts.URL+"/agent/generate", `{"message":"hi","agentId":"gpt","resourceId":"alice"}`, "Content-Type", "application/json")
			if r.status != 200 || r.body["text"] != "Hello world" {
				t.Errorf("gpt generate = %d %s; want Hello world", r.status, r.raw)
			}
		})
	}
}

func TestAgentBadInput(t *testing.T) {
	store := openSQLite(t)
	ts := agentServer(t, store, upstream(t, hello))
	big := `{"message":"` + strings.Repeat("x", 70<<10) + `","resourceId":"alice"}`
	tests := []struct {
		name, body, ctype string
		status            int
		field             string
	}{
		{"missing message", `{"resourceId":"alice"}`, "application/json", 400, "message"},
		{"empty message", `{"message":"  ","resourceId":"alice"}`, "application/json", 400, "message"},
		{"wrong type", `{"message":42,"resourceId":"alice"}`, "application/json", 400, "message"},
		{"threadId wrong type", `{"message":"hi","threadId":7,"resourceId":"alice"}`, "application/json", 400, "threadId"},
		{"malformed JSON", `{"message":"hi",`, "application/json", 400, "body"},
		{"not an object", `["hi"]`, "application/json", 400, "body"},
		{"empty body", ``, "application/json", 400, "body"},
		{"wrong content type", `{"message":"hi","resourceId":"alice"}`, "text/plain", 415, ""},
		{"too large", big, "application/json", 413, ""},
		{"unknown agent", `{"message":"hi","agentId":"nobody","resourceId":"alice"}`, "application/json", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/agent/generate", "/agent/stream"} {
				r := do(t, "POST", ts.URL+path, tt.body, "Content-Type", tt.ctype)
				if r.status != tt.status || r.body["error"] == nil {
					t.Errorf("%s = %d %s; want %d with a JSON error", path, r.status, r.raw, tt.status)
				}
				if tt.field != "" && !strings.Contains(r.raw, `"field":"`+tt.field+`"`) {
					t.Errorf("%s = %s; want an issue naming %q", path, r.raw, tt.field)
				}
			}
		})
	}
	p, err := store.ListThreads(context.Background(), memory.ThreadQuery{ResourceID: "alice"})
	if err != nil || p.Total != 0 {
		t.Errorf("threads after bad requests = %d, %v; want none stored", p.Total, err)
	}
}

func TestModelFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("before the first token", func(t *testing.T) {
		for _, tc := range []struct {
			mode  string
			reply llmtest.Reply
		}{
			{"fail", llmtest.Reply{Status: 500, ErrorMessage: "upstream exploded sk-secret-key"}},
			{"unauthorized", llmtest.Reply{Status: 401, ErrorMessage: "bad key"}},
		} {
			store := openSQLite(t)
			ts := agentServer(t, store, upstream(t, tc.reply))
			for _, path := range []string{"/agent/generate", "/agent/stream"} {
				r := do(t, "POST", ts.URL+path, `{"message":"hi","agentId":"gpt","resourceId":"alice"}`, "Content-Type", "application/json")
				if r.status < 500 || r.body["error"] == nil || strings.Contains(r.raw, "sk-secret") || strings.Contains(r.raw, "exploded") {
					t.Errorf("%s %s = %d %s; want a 5xx JSON error without upstream text", tc.mode, path, r.status, r.raw)
				}
			}
			if p, _ := store.ListThreads(ctx, memory.ThreadQuery{ResourceID: "alice"}); p.Total != 0 {
				t.Errorf("%s: %d threads stored; want none", tc.mode, p.Total)
			}
		}
	})
	t.Run("during the stream", func(t *testing.T) {
		store := openSQLite(t)
		ts := agentServer(t, store, upstream(t, llmtest.Reply{Text: "Hello", MidStreamError: true, ErrorMessage: "overloaded"}))
		res := post(t, ts.URL+"/agent/stream", `{"message":"hi","agentId":"gpt","resourceId":"alice","threadId":"t9"}`)
		defer res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status = %d; want 200 (the stream had started)", res.StatusCode)
		}
		events, done := readSSE(t, res.Body)
		var sawError bool
		for _, ev := range events {
			if ev["type"] == "error" {
				sawError = true
				raw, _ := json.Marshal(ev)
				if strings.Contains(string(raw), "overloaded") || strings.Contains(string(raw), "stack") {
					t.Errorf("error chunk leaks upstream detail: %s", raw)
				}
			}
		}
		last := events[len(events)-1]
		reason := last["payload"].(map[string]any)["stepResult"].(map[string]any)["reason"]
		if !sawError || last["type"] != "finish" || reason != "error" || !done {
			t.Errorf("events end with %v (reason %v), error chunk %v, [DONE] %v; want error, finish(error), [DONE]", last["type"], reason, sawError, done)
		}
		if _, err := store.Thread(ctx, "alice", "t9"); err == nil {
			t.Error("a failed turn was saved")
		}
	})
	t.Run("client disconnects", func(t *testing.T) {
		store := openSQLite(t)
		fake := upstream(t, llmtest.Reply{Text: "Hello world", HangAfterFirstToken: true})
		ts := agentServer(t, store, fake)
		res := post(t, ts.URL+"/agent/stream", `{"message":"hi","agentId":"gpt","resourceId":"alice","threadId":"t10"}`)
		br := bufio.NewReader(res.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(line, "text-delta") {
				break
			}
		}
		res.Body.Close() // the browser tab closes
		select {
		case <-fake.Cancelled():
		case <-time.After(5 * time.Second):
			t.Fatal("the upstream model request was not cancelled")
		}
		ts.Close() // returns once every handler has: the turn is over
		if _, err := store.Thread(ctx, "alice", "t10"); err == nil {
			t.Error("a cancelled turn was saved")
		}
	})
}

// A quiet stream gets ": ping" comments, which SSE clients ignore, so
// proxies do not cut it; the text still arrives whole.
func TestStreamKeepAlive(t *testing.T) {
	store := openSQLite(t)
	// a model thinking for a while between two tokens
	model := upstream(t, llmtest.Reply{Text: "Hello world", PauseAfterFirstToken: 300 * time.Millisecond}).Model(0)
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "gpt", Model: model, Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.KeepAlive = 50 * time.Millisecond
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc})
	res := post(t, ts.URL+"/agent/stream", `{"message":"hi","resourceId":"alice"}`)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	pings := strings.Count(string(raw), ": ping\n\n")
	if pings < 2 {
		t.Errorf("%d pings during a 300 ms pause with keep_alive 50ms; want several:\n%s", pings, raw)
	}
	events, done := readSSE(t, strings.NewReader(string(raw)))
	var text strings.Builder
	for _, ev := range events {
		if ev["type"] == "text-delta" {
			text.WriteString(ev["payload"].(map[string]any)["text"].(string))
		}
	}
	if text.String() != "Hello world" || !done {
		t.Errorf("text %q, [DONE] %v; want Hello world and [DONE] despite the pings", text.String(), done)
	}
}

// stallModel streams "Hello", then " world" after gap, then stalls until
// the turn is cancelled: a model that went quiet mid-reply.
type stallModel struct{ gap time.Duration }

func (m stallModel) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (m stallModel) Stream(ctx context.Context, req llm.Request, onDelta func(llm.Delta) error) (*llm.Response, error) {
	if err := onDelta(llm.Delta{Text: "Hello"}); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(m.gap):
	}
	if err := onDelta(llm.Delta{Text: " world"}); err != nil {
		return nil, err
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// F11: the first ping of a stream that went quiet comes keep_alive after
// its last write, not up to twice that. The second token lands a third of
// the way into a keep-alive period, which is where a fixed-rate ticker
// skipped a ping. The bound is generous (1.5×) and measured from the
// stream as a client reads it.
func TestKeepAliveFollowsLastWrite(t *testing.T) {
	const keepAlive = time.Second
	store := openSQLite(t)
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "gpt", Model: stallModel{gap: keepAlive * 3 / 10}, Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.KeepAlive = keepAlive
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc})
	res := post(t, ts.URL+"/agent/stream", `{"message":"hi","resourceId":"alice"}`)
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	var lastData time.Time
	deltas := 0
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before a ping: %v", err)
		}
		now := time.Now()
		if strings.HasPrefix(line, "data: ") {
			lastData = now
			if strings.Contains(line, `"text-delta"`) {
				deltas++
			}
			continue
		}
		if strings.HasPrefix(line, ": ping") {
			if deltas < 2 {
				continue // a ping in the gap between the tokens: fine
			}
			if gap := now.Sub(lastData); gap > keepAlive*3/2 {
				t.Errorf("first ping %v after the last chunk; want about keep_alive (%v)", gap, keepAlive)
			}
			return
		}
	}
}
