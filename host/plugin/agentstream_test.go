package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamingAgents streams its chunks as text-delta chunks. With step set,
// it waits on step before each chunk after the first, so a test decides
// when the next one comes. ended gets how each run ended: nil, or the
// error that stopped it.
type streamingAgents struct {
	chunks []string
	err    error // returned before any chunk
	step   chan struct{}
	ended  chan error

	mu   sync.Mutex // guards last
	last AgentCall
}

func newStreamingAgents(chunks ...string) *streamingAgents {
	return &streamingAgents{chunks: chunks, ended: make(chan error, 16)}
}

func (a *streamingAgents) Generate(ctx context.Context, call AgentCall) (string, error) {
	return strings.Join(a.chunks, ""), a.err
}

func (a *streamingAgents) Stream(ctx context.Context, call AgentCall, emit func(json.RawMessage) error) error {
	a.mu.Lock()
	a.last = call
	a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	for i, c := range a.chunks {
		if i > 0 && a.step != nil {
			select {
			case <-a.step:
			case <-ctx.Done(): // the model call is cancelled
				a.ended <- ctx.Err()
				return ctx.Err()
			}
		}
		if err := emit(deltaChunk(c)); err != nil {
			a.ended <- err
			return err
		}
	}
	a.ended <- nil
	return nil
}

func deltaChunk(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"type": "text-delta", "runId": "run-1", "from": "AGENT",
		"payload": map[string]string{"id": "0", "text": text}})
	return b
}

// readEvent reads one SSE event ("data: ...\n\n") and returns its data.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("event line = %q, %v", line, err)
	}
	if blank, err := r.ReadString('\n'); blank != "\n" || err != nil {
		t.Fatalf("after the event: %q, %v; want a blank line", blank, err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(line, "data: "), "\n")
}

// A route plugin streams an agent's reply to its client as /agent/stream
// does, chunk by chunk as the agent produces them (issue 10, defect 5: it
// answered ENOSYS). A middleware with handle_response in front still lets
// each chunk through at once.
func TestAgentStreamToResponse(t *testing.T) {
	agents := newStreamingAgents("Hel", "lo")
	agents.step = make(chan struct{})
	h, logs := newHost(t, Config{Agents: agents})
	route := load(t, h, Spec{Name: "stream", Kind: Route, Module: fixture(t, "stream"),
		Timeout: 10 * time.Second, Grants: Grants{Agents: []string{"assistant"}}})
	mw := load(t, h, Spec{Name: "observe", Module: fixture(t, "observe")})
	srv := httptest.NewServer(mw.Middleware(route.Handler()))
	t.Cleanup(srv.Close)

	res, err := http.Post(srv.URL, "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	if res.StatusCode != 200 {
		t.Fatalf("status = %d", res.StatusCode)
	}
	body := bufio.NewReader(res.Body)
	if got := readEvent(t, body); got != string(deltaChunk("Hel")) {
		t.Errorf("first event = %s", got)
	}
	// The first chunk arrived while the agent still waits: it was streamed.
	close(agents.step)
	if got := readEvent(t, body); got != string(deltaChunk("lo")) {
		t.Errorf("second event = %s", got)
	}
	if got := readEvent(t, body); got != "[DONE]" {
		t.Errorf("last event = %s; want [DONE]", got)
	}
	if rest, _ := io.ReadAll(body); len(rest) != 0 {
		t.Errorf("after [DONE]: %q", rest)
	}
	if err := <-agents.ended; err != nil {
		t.Errorf("the run ended with %v", err)
	}
	if c := agents.last; c.Plugin != "stream" || c.ResourceID != "plugin:stream" || c.AgentID != "assistant" || c.Input != "hi" {
		t.Errorf("agent call = %+v", c)
	}
	if !strings.Contains(logs.String(), `msg="status=200 x-route="`) {
		t.Errorf("the middleware did not see the stream's status:\n%s", logs)
	}
}

// Before anything was sent, a failure is the guest's to answer; a call the
// plugin may not make sends nothing either.
func TestAgentStreamToResponseErrors(t *testing.T) {
	agents := newStreamingAgents("x")
	agents.err = errors.New("model down")
	h, _ := newHost(t, Config{Agents: agents})
	spec := Spec{Name: "stream", Kind: Route, Module: fixture(t, "stream"), Grants: Grants{Agents: []string{"assistant"}}}
	p := load(t, h, spec)
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("hi")), 502, "29:model down")

	spec.Name, spec.Grants.Agents = "other", []string{"someone-else"}
	p = load(t, h, spec)
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("hi")), 502, "63:")

	// A tool's answer goes to the model, not to a client.
	spec.Name, spec.Kind, spec.Grants.Agents = "tool", Tool, []string{"*"}
	p = load(t, h, spec)
	if status, body, err := p.Call(context.Background(), nil); err != nil || status != 502 || string(body) != "63:" {
		t.Errorf("tool = %d %q %v; want 502 63:", status, body, err)
	}

	h2, _ := newHost(t, Config{}) // no AgentCaller
	spec.Name, spec.Kind = "none", Route
	p = load(t, h2, spec)
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("hi")), 502, "52:")
}

// A client that goes away cancels the model call and frees the instance.
func TestAgentStreamClientGone(t *testing.T) {
	agents := newStreamingAgents("first", "never sent")
	agents.step = make(chan struct{}) // never closed: the agent waits for the client's ctx
	h, _ := newHost(t, Config{Agents: agents})
	p := load(t, h, Spec{Name: "stream", Kind: Route, Module: fixture(t, "stream"), MaxInstances: 1,
		Timeout: time.Minute, Grants: Grants{Agents: []string{"*"}}})
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("hi"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readEvent(t, bufio.NewReader(res.Body))
	cancel()
	res.Body.Close()
	select {
	case err := <-agents.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the run ended with %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the model call was not cancelled when the client left")
	}

	// The one instance is free again.
	agents.chunks, agents.step = []string{"again"}, nil
	res, err = http.Post(srv.URL, "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if got := readEvent(t, bufio.NewReader(res.Body)); got != string(deltaChunk("again")) {
		t.Errorf("next request's event = %s", got)
	}
}
