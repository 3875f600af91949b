package server

import (
	"bytes"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// A reply ends in as few writes as net/http allows: generate's reply has
// its length (no chunk terminator sent on its own); a stream's text-end
// leaves with its step's end, and its finish, [DONE] and the chunked
// terminator in one write, on both faces.
// Each write to the client is a system call and a packet the client wakes
// for.
func TestReplyEndsInOneWrite(t *testing.T) {
	long := strings.Repeat("word ", 1000) // past net/http's 2 KiB: no automatic Content-Length
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: long}, hello, hello))
	store := openSQLite(t)
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "gpt", Model: fake.Model(5 * time.Second), Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Config: testConfig(), Store: store, Agents: svc, Logger: quietLogger(),
		DefaultResourceID: "default", MaxSaveMessages: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s.Handler())
	wl := &writeLog{Listener: ts.Listener}
	ts.Listener = wl
	ts.Start()
	defer ts.Close()

	res := post(t, ts.URL+"/agent/generate", `{"message":"hi","threadId":"t-writes","resourceId":"alice"}`)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || !strings.Contains(string(body), "word word") {
		t.Fatalf("generate = %d %.200s %v", res.StatusCode, body, err)
	}
	if res.ContentLength != int64(len(body)) || len(res.TransferEncoding) != 0 {
		t.Errorf("generate's %d-byte reply: Content-Length %d, Transfer-Encoding %v; want its length, not chunks",
			len(body), res.ContentLength, res.TransferEncoding)
	}
	for _, w := range wl.take() {
		if bytes.HasSuffix(w, []byte("0\r\n\r\n")) {
			t.Errorf("generate's reply ends with a chunked terminator (%q)", tail(w))
		}
	}

	for _, c := range []struct{ name, path, body, stepEnd string }{
		{"mastra", "/api/agents/gpt/stream", `{"messages":"hi","memory":{"thread":"t-writes-m","resource":"alice"}}`, `"type":"step-finish"`},
		{"ui", "/chat/gpt", chatBodyJSON("t-writes-ui", `,"resourceId":"alice"`, uiMsg("u1", "user", "hi")), `"type":"finish-step"`},
	} {
		res := post(t, ts.URL+c.path, c.body)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || !strings.Contains(string(body), "data: [DONE]") {
			t.Fatalf("%s stream = %d %.300s %v", c.name, res.StatusCode, body, err)
		}
		ws := wl.take()
		if len(ws) == 0 {
			t.Fatalf("%s stream: no writes recorded", c.name)
		}
		for _, w := range ws {
			if s := string(w); strings.Contains(s, `"type":"text-end"`) && !strings.Contains(s, c.stepEnd) {
				t.Errorf("%s stream: text-end went out without its step's end (%s): %q", c.name, c.stepEnd, tail(w))
			}
		}
		last := string(ws[len(ws)-1])
		if !strings.Contains(last, `"type":"finish"`) || !strings.Contains(last, "data: [DONE]\n\n") || !strings.HasSuffix(last, "0\r\n\r\n") {
			t.Errorf("%s stream: last of %d writes is %q; want finish, [DONE] and the terminator together", c.name, len(ws), tail([]byte(last)))
		}
	}
}

func tail(b []byte) []byte {
	if len(b) > 300 {
		return b[len(b)-300:]
	}
	return b
}

// writeLog records every Write on the connections its listener accepts.
type writeLog struct {
	net.Listener
	mu     sync.Mutex // guards writes
	writes [][]byte
}

func (l *writeLog) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &loggedConn{Conn: c, log: l}, nil
}

// take returns the writes recorded since the last take.
func (l *writeLog) take() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	ws := l.writes
	l.writes = nil
	return ws
}

type loggedConn struct {
	net.Conn
	log *writeLog
}

func (c *loggedConn) Write(p []byte) (int, error) {
	c.log.mu.Lock()
	c.log.writes = append(c.log.writes, bytes.Clone(p))
	c.log.mu.Unlock()
	return c.Conn.Write(p)
}
