package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// serve runs s on a local port through Server.Serve until the test ends.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// F8: a client that dribbles its body is cut with 408 once body_timeout has
// passed, and its connection is closed (its file descriptor freed), while
// it is still sending. N10: also when server.timeout is as short (the
// defaults: both 30 s) or shorter: it is the body that is late, not the
// answer, so 408, not 504.
func TestSlowBodyIsCut(t *testing.T) {
	for _, c := range []struct {
		name                 string
		timeout, bodyTimeout time.Duration
	}{
		{"body_timeout shorter", 30 * time.Second, 200 * time.Millisecond},
		{"equal, as the defaults", 300 * time.Millisecond, 300 * time.Millisecond},
		{"timeout shorter", 300 * time.Millisecond, 30 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) { slowBodyIsCut(t, c.timeout, c.bodyTimeout) })
	}
}

func slowBodyIsCut(t *testing.T, timeout, bodyTimeout time.Duration) {
	store := openSQLite(t)
	cfg := testConfig()
	cfg.Timeout, cfg.BodyTimeout = timeout, bodyTimeout
	s, err := New(Options{Config: cfg, Store: store, Agents: echoAgents(t, store), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"message":"hello","resourceId":"slow-client-aaaaa"}`
	if _, err := conn.Write([]byte("POST /agent/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	stop := make(chan struct{})
	go func() { // one byte every 50 ms: the whole body would take 2.6 s
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			sent.Add(1)
		}
	}()
	defer close(stop)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang fails, not blocks
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a dribbled body: %v", err)
	}
	got := sent.Load()
	if res.StatusCode != http.StatusRequestTimeout {
		b, _ := io.ReadAll(res.Body)
		t.Errorf("status %d %s; want 408", res.StatusCode, b)
	}
	if got >= int64(len(body)) {
		t.Errorf("answered after the whole body (%d bytes); want the body cut while it was dribbling", got)
	}
	// The server closed the connection: the next read sees EOF.
	rest := make([]byte, 1)
	res.Body.Close()
	if _, err := conn.Read(rest); err == nil {
		t.Error("connection still open after 408")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("connection still open 10 s after 408; want it closed")
	}
}

// The body deadline never cuts a stream: a stream outlives body_timeout
// many times over.
func TestBodyTimeoutSparesStreams(t *testing.T) {
	store := openSQLite(t)
	model := upstream(t, llmtest.Reply{Text: "Hello world", PauseAfterFirstToken: 400 * time.Millisecond}).Model(0)
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "gpt", Model: model, Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.BodyTimeout = 50 * time.Millisecond
	s, err := New(Options{Config: cfg, Store: store, Agents: svc, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	res := post(t, "http://"+addr+"/agent/stream", `{"message":"hi","resourceId":"alice"}`)
	defer res.Body.Close()
	events, done := readSSE(t, res.Body)
	var text strings.Builder
	for _, ev := range events {
		if ev["type"] == "text-delta" {
			text.WriteString(ev["payload"].(map[string]any)["text"].(string))
		}
	}
	if text.String() != "Hello world" || !done {
		t.Errorf("stream text %q, [DONE] %v; want it whole", text.String(), done)
	}
}

// echoAgents is a service with the echo agent "assistant".
func echoAgents(t *testing.T, store *memory.Store) *agent.Service {
	t.Helper()
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}}, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// F15: a stream still running near the end of a shutdown's drain time gets
// an error chunk, finish with reason "error" and [DONE] before its
// connection closes; the cancelled turn saves nothing.
func TestShutdownEndsStreams(t *testing.T) {
	store := openSQLite(t)
	fake := upstream(t, llmtest.Reply{Text: "Hello world", HangAfterFirstToken: true})
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "gpt", Model: fake.Model(0), Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.DrainTimeout = time.Second
	s, err := New(Options{Config: cfg, Store: store, Agents: svc, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	res := post(t, "http://"+ln.Addr().String()+"/agent/stream", `{"message":"hi","threadId":"t-drain","resourceId":"alice"}`)
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	for { // up to the first token: the turn is running
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before its first token: %v", err)
		}
		if strings.Contains(line, `"text-delta"`) {
			break
		}
	}
	cancel() // SIGTERM
	events, done := readSSE(t, rd)
	var types []string
	var reason any
	for _, ev := range events {
		types = append(types, ev["type"].(string))
		if ev["type"] == "finish" {
			reason = ev["payload"].(map[string]any)["stepResult"].(map[string]any)["reason"]
		}
	}
	if got := strings.Join(types, ","); got != "text-end,error,step-finish,finish" || reason != "error" || !done {
		t.Errorf("after shutdown the stream got %q, finish reason %v, [DONE] %v; want text-end,error,step-finish,finish (error) and [DONE]", got, reason, done)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v; want nil", err)
	}
	if _, err := store.Thread(context.Background(), "alice", "t-drain"); !errors.Is(err, memory.ErrNotFound) {
		t.Errorf("the cancelled turn's thread: %v; want nothing saved", err)
	}
}
