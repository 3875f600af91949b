package server

import (
	"bufio"
	"context"
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
// it is still sending.
func TestSlowBodyIsCut(t *testing.T) {
	store := openSQLite(t)
	cfg := testConfig(t)
	cfg.Server.BodyTimeout = 200 * time.Millisecond
	s, err := New(Options{Config: cfg.Server, Store: store, Agents: echoAgents(t, store), Logger: quietLogger()})
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
	cfg := testConfig(t)
	cfg.Server.BodyTimeout = 50 * time.Millisecond
	s, err := New(Options{Config: cfg.Server, Store: store, Agents: svc, Logger: quietLogger()})
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
