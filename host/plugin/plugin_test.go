package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// downstream records what a middleware passed on.
type downstream struct {
	mu     sync.Mutex // guards the fields below
	header http.Header
	values *reqctx.Values
	body   string
	calls  int
}

func (d *downstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	d.header, d.values, d.body = r.Header.Clone(), reqctx.From(r.Context()), string(b)
	d.calls++
	d.mu.Unlock()
	w.Header().Set("X-Downstream", "1")
	_, _ = io.WriteString(w, "downstream")
}

func TestPassThroughMiddleware(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "pass", Module: fixture(t, "passthrough")})
	d := &downstream{}
	mw := p.Middleware(d)

	// Without a RequestContext, the plugin makes one that downstream sees.
	r := httptest.NewRequest("GET", "/api/x", nil)
	w := httptest.NewRecorder()
	mw.ServeHTTP(w, r)
	wantResponse(t, w, 200, "downstream")
	if got := d.header.Get("X-Plugin"); got != "passthrough" {
		t.Errorf("downstream X-Plugin = %q; want passthrough", got)
	}
	if r.Header.Get("X-Plugin") != "" {
		t.Error("the caller's request header was changed")
	}
	if v, ok := d.values.GetString("user"); !ok || v != "alice" {
		t.Errorf("downstream ctx user = %q, %v; want alice", v, ok)
	}

	// With one, the plugin writes into it.
	vals := reqctx.New()
	r = httptest.NewRequest("GET", "/api/x", nil)
	r = r.WithContext(reqctx.With(r.Context(), vals))
	mw.ServeHTTP(httptest.NewRecorder(), r)
	if v, _ := vals.GetString("user"); v != "alice" {
		t.Errorf("ctx user = %q; want alice", v)
	}
	if d.values != vals {
		t.Error("downstream got another RequestContext")
	}
}

func TestAuthMiddleware(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "auth", Module: fixture(t, "auth"), Config: []byte(`"Bearer s3cret"`)})
	d := &downstream{}
	mw := p.Middleware(d)

	for _, auth := range []string{"", "Bearer nope", "Bearer s3cre", "Bearer s3cretX"} {
		w := do(mw, "GET", "/api/agents", nil, "Authorization", auth)
		wantResponse(t, w, 401, `{"error":"unauthorized"}`)
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	}
	if d.calls != 0 {
		t.Fatalf("downstream called %d times on 401", d.calls)
	}
	w := do(mw, "GET", "/api/agents", nil, "Authorization", "Bearer s3cret")
	wantResponse(t, w, 200, "downstream")
	if d.header.Get("X-User") != "ok" {
		t.Errorf("downstream X-User = %q", d.header.Get("X-User"))
	}
	if u, _ := d.values.GetString(reqctx.UserKey); u != "token-user" {
		t.Errorf("ctx %s = %q; want token-user", reqctx.UserKey, u)
	}

	// Only middleware may set reserved keys: as a route, ctx_set gets EPERM
	// (and next=1 from a route is a 500).
	route := load(t, h, Spec{Name: "auth-route", Kind: Route, Module: fixture(t, "auth"), Config: []byte(`"Bearer s3cret"`)})
	vals := reqctx.New()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer s3cret")
	w = httptest.NewRecorder()
	route.Handler().ServeHTTP(w, r.WithContext(reqctx.With(r.Context(), vals)))
	if _, ok := vals.Get(reqctx.UserKey); ok || w.Code != 500 {
		t.Errorf("route set a reserved key (%v) or answered %d", ok, w.Code)
	}
}

func TestRouteHandler(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "echo", Kind: Route, Module: fixture(t, "route")})
	// Route parameters are the request's path values: http.ServeMux sets
	// them, host/server's httprouter adapter copies them in.
	router := http.NewServeMux()
	router.Handle("POST /docs/{id}", p.Handler())

	w := do(router, "POST", "/docs/42?x=a%26b", strings.NewReader("hello body"))
	wantResponse(t, w, 201, "POST /docs/42?x=a%26b 42 hello body")
	if ct := w.Header().Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type = %q", ct)
	}

	// A body larger than the guest's 4 KiB buffer streams through read_body.
	big := strings.Repeat("abcdefgh", 2000)
	w = do(router, "POST", "/docs/7", strings.NewReader(big))
	wantResponse(t, w, 201, "POST /docs/7 7 "+big)

	// No router: no params.
	w = do(p.Handler(), "GET", "/plain", nil)
	wantResponse(t, w, 201, "GET /plain - ")
}

func TestMaxBody(t *testing.T) {
	h, _ := newHost(t, Config{Agents: &blockingAgents{}})
	// The agent guest reads the whole body before writing anything.
	p := load(t, h, Spec{Name: "agent", Kind: Route, Module: fixture(t, "agent"), MaxBody: 10,
		Grants: Grants{Agents: []string{"*"}}})
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("0123456789")), 200, "0:hello from assistant: 0123456789")
	w := do(p.Handler(), "POST", "/", strings.NewReader("0123456789A"))
	wantResponse(t, w, 413, `{"error":"request body too large"}`+"\n")
	_, _, err := p.Call(context.Background(), []byte(`{"x":"too long"}`))
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Fatalf("Call err = %v; want *http.MaxBytesError", err)
	}
}

func TestRouteNextIsAnError(t *testing.T) {
	h, logs := newHost(t, Config{})
	p := load(t, h, Spec{Name: "confused", Kind: Route, Module: fixture(t, "passthrough")})
	w := do(p.Handler(), "GET", "/", nil)
	wantResponse(t, w, 500, `{"error":"plugin failed"}`+"\n")
	if l := logs.String(); !strings.Contains(l, "route plugin returned next=1") || !strings.Contains(l, "plugin=confused") {
		t.Errorf("log lacks the next=1 failure:\n%s", l)
	}
}

func TestTrapThenNextRequestOK(t *testing.T) {
	h, logs := newHost(t, Config{})
	p := load(t, h, Spec{Name: "behave", Kind: Route, Module: fixture(t, "behave"), MaxInstances: 1})
	w := do(p.Handler(), "GET", "/trap", nil)
	wantResponse(t, w, 500, `{"error":"plugin failed"}`+"\n")
	if w.Header().Get("X-Leak") != "" {
		t.Error("a header the failed guest set was sent")
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if strings.Contains(w.Body.String(), "unreachable") {
		t.Error("internal error text leaked")
	}
	if l := logs.String(); !strings.Contains(l, "plugin=behave") || !strings.Contains(l, "unreachable") {
		t.Errorf("log lacks the trap:\n%s", l)
	}
	// The trapped instance is gone: a fresh one (count 1) serves.
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 1")
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 2")
}

func TestFailureAfterWriteAborts(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "behave", Kind: Route, Module: fixture(t, "behave")})
	w := httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v; want http.ErrAbortHandler", v)
			}
		}()
		p.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/partial", nil))
	}()
	if w.Body.String() != "partial" {
		t.Errorf("body = %q", w.Body.String())
	}
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 1")
}

func TestLoopTimesOut(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "behave", Kind: Route, Module: fixture(t, "behave"),
		Timeout: 50 * time.Millisecond, MaxInstances: 1})
	start := time.Now()
	w := do(p.Handler(), "GET", "/loop", nil)
	wantResponse(t, w, 504, `{"error":"plugin timed out"}`+"\n")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 1")

	// The request's own deadline counts too.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	p2 := load(t, h, Spec{Name: "behave2", Kind: Route, Module: fixture(t, "behave"), Timeout: time.Minute})
	r := httptest.NewRequest("GET", "/loop", nil).WithContext(ctx)
	w = httptest.NewRecorder()
	start = time.Now()
	p2.Handler().ServeHTTP(w, r)
	if w.Code != 504 || time.Since(start) > 2*time.Second {
		t.Fatalf("status %d after %v; want 504 soon after 20ms", w.Code, time.Since(start))
	}
}

func TestMemoryCap(t *testing.T) {
	h, logs := newHost(t, Config{})
	p := load(t, h, Spec{Name: "grow", Kind: Route, Module: fixture(t, "behave"),
		MemoryLimit: 1 << 20, MaxInstances: 1})
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 1")
	// 4 MiB more does not fit in 1 MiB: memory.grow fails, the guest traps.
	wantResponse(t, do(p.Handler(), "GET", "/grow", nil), 500, `{"error":"plugin failed"}`+"\n")
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 1")
	// Growing to 13 of 16 pages succeeds, but the instance is recycled.
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 2")
	wantResponse(t, do(p.Handler(), "GET", "/Grow", nil), 200, "ok 3")
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "ok 1")
	if !strings.Contains(logs.String(), "memory above threshold") {
		t.Errorf("no recycle logged:\n%s", logs)
	}
}

// blockingAgents answers "hello from <agent>: <input>", after release is
// closed when block is set.
type blockingAgents struct {
	block   bool
	entered chan struct{}
	release chan struct{}
	err     error

	mu       sync.Mutex // guards lastUser and deadline
	lastUser string     // the RequestContext "user" the call saw
	deadline bool       // the call had a deadline
	lastCall AgentCall
}

func newBlockingAgents() *blockingAgents {
	return &blockingAgents{block: true, entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (a *blockingAgents) Generate(ctx context.Context, call AgentCall) (string, error) {
	agent, input := call.AgentID, call.Input
	a.mu.Lock()
	a.lastCall = call
	a.lastUser = ""
	if v := reqctx.From(ctx); v != nil {
		a.lastUser, _ = v.GetString("user")
	}
	_, a.deadline = ctx.Deadline()
	a.mu.Unlock()
	if a.block {
		a.entered <- struct{}{}
		select {
		case <-a.release:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if a.err != nil {
		return "", a.err
	}
	return "hello from " + agent + ": " + input, nil
}

func TestPoolExhausted(t *testing.T) {
	agents := newBlockingAgents()
	h, _ := newHost(t, Config{Agents: agents})
	p := load(t, h, Spec{Name: "agent", Kind: Route, Module: fixture(t, "agent"),
		Timeout: 10 * time.Second, MaxInstances: 1, Grants: Grants{Agents: []string{"assistant"}}})

	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- do(p.Handler(), "POST", "/", strings.NewReader("one")) }()
	<-agents.entered

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest("POST", "/", strings.NewReader("two")).WithContext(ctx)
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, r)
	wantResponse(t, w, 503, `{"error":"plugin busy"}`+"\n")
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if _, _, err := p.Call(ctx, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("Call err = %v; want ErrBusy", err)
	}

	close(agents.release)
	wantResponse(t, <-first, 200, "0:hello from assistant: one")
}

// Stream hands Generate's answer on as one text-delta chunk.
func (a *blockingAgents) Stream(ctx context.Context, call AgentCall, emit func(json.RawMessage) error) error {
	text, err := a.Generate(ctx, call)
	if err != nil {
		return err
	}
	b, err := json.Marshal(map[string]any{"type": "text-delta", "runId": "r", "from": "AGENT",
		"payload": map[string]string{"id": "0", "text": text}})
	if err != nil {
		return err
	}
	return emit(b)
}

func TestAgentGenerate(t *testing.T) {
	agents := &blockingAgents{}
	h, _ := newHost(t, Config{Agents: agents})
	spec := Spec{Name: "agent", Kind: Route, Module: fixture(t, "agent"), Grants: Grants{Agents: []string{"assistant"}}}
	p := load(t, h, spec)
	vals := reqctx.New()
	vals.SetString("user", "bob")
	r := httptest.NewRequest("POST", "/", strings.NewReader("hi"))
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, r.WithContext(reqctx.With(r.Context(), vals)))
	wantResponse(t, w, 200, "0:hello from assistant: hi")
	if agents.lastUser != "bob" || !agents.deadline {
		t.Errorf("agent saw user %q, deadline %v; want bob, true", agents.lastUser, agents.deadline)
	}
	if c := agents.lastCall; c.Plugin != "agent" || c.ResourceID != "plugin:agent" {
		t.Errorf("agent call from plugin %q with resource %q; want agent, plugin:agent", c.Plugin, c.ResourceID)
	}

	agents.err = errors.New("model down")
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("hi")), 200, "29:model down")
	agents.err = nil

	spec.Name, spec.Grants.Agents = "other", []string{"someone-else"}
	p = load(t, h, spec)
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("hi")), 200, "63:")

	spec.Name, spec.Grants.Agents = "star", []string{"*"}
	p = load(t, h, spec)
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("x")), 200, "0:hello from assistant: x")

	h2, _ := newHost(t, Config{}) // no AgentCaller
	p = load(t, h2, spec)
	wantResponse(t, do(p.Handler(), "POST", "/", strings.NewReader("hi")), 200, "52:")
}

func TestKV(t *testing.T) {
	h, _ := newHost(t, Config{})
	a := load(t, h, Spec{Name: "a", Kind: Route, Module: fixture(t, "kv"), Grants: Grants{KV: true}})
	b := load(t, h, Spec{Name: "b", Kind: Route, Module: fixture(t, "kv"), Grants: Grants{KV: true}})
	wantResponse(t, do(a.Handler(), "GET", "/", nil), 404, "errno 44")
	wantResponse(t, do(a.Handler(), "POST", "/", strings.NewReader("stored")), 200, "errno 0")
	wantResponse(t, do(a.Handler(), "GET", "/", nil), 200, "stored")
	wantResponse(t, do(b.Handler(), "GET", "/", nil), 404, "errno 44") // namespaced per plugin
	wantResponse(t, do(a.Handler(), "DELETE", "/", nil), 200, "errno 0")
	wantResponse(t, do(a.Handler(), "GET", "/", nil), 404, "errno 44")
}

// N8 on the in-memory store: a plugin's quota stops a guest's writes with
// E2BIG (1) and a log line, another plugin has its own, and a key that is
// not text is EINVAL (28).
func TestKVQuota(t *testing.T) {
	h, logs := newHost(t, Config{})
	spec := Spec{Kind: Route, Module: fixture(t, "kvflood"), Grants: Grants{KV: true}, KVMaxKeys: 5}
	spec.Name = "a"
	a := load(t, h, spec)
	spec.Name = "b"
	b := load(t, h, spec)
	wantResponse(t, do(a.Handler(), "POST", "/", strings.NewReader("k")), 200, "wrote 5 errno 1")
	wantResponse(t, do(a.Handler(), "POST", "/", strings.NewReader("k")), 200, "wrote 5 errno 1") // its own keys again
	wantResponse(t, do(a.Handler(), "POST", "/", strings.NewReader("x")), 200, "wrote 0 errno 1")
	wantResponse(t, do(a.Handler(), "GET", "/", strings.NewReader("k")), 200, "stored 5 keys 5020 bytes")
	wantResponse(t, do(b.Handler(), "POST", "/", strings.NewReader("k")), 200, "wrote 5 errno 1")
	wantResponse(t, do(a.Handler(), "PUT", "/", nil), 200, "errno 28")
	wantResponse(t, do(a.Handler(), "PATCH", "/", nil), 200, "errno 28")
	if l := logs.String(); strings.Count(l, "plugin kv quota reached") != 4 {
		t.Errorf("want one quota log line per refused call:\n%s", l)
	}
}

func TestWASISandbox(t *testing.T) {
	t.Setenv("PLUGIN_SECRET", "hunter2")
	t.Setenv("PLUGIN_VISIBLE", "yes")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("mounted"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, logs := newHost(t, Config{})

	// probe returns the sandbox part of the wasi guest's answer and checks
	// the rest: a real clock and 8 random bytes.
	probe := func(p *Plugin) (sandbox, random string) {
		t.Helper()
		w := do(p.Handler(), "GET", "/", nil)
		sandbox, rest, ok := strings.Cut(w.Body.String(), "|")
		if w.Code != 200 || !ok || !strings.HasPrefix(rest, "clock=1;rand=") || len(rest) != len("clock=1;rand=")+8 {
			t.Fatalf("response %d %q", w.Code, w.Body)
		}
		return sandbox, rest[len("clock=1;rand="):]
	}

	// No grants: no environment, no preopened directory (EBADF = 8).
	p := load(t, h, Spec{Name: "wasi", Kind: Route, Module: fixture(t, "wasi")})
	sandbox, rand1 := probe(p)
	if want := "env=0;;prestat=8;open=8;data="; sandbox != want {
		t.Errorf("sandbox = %q; want %q", sandbox, want)
	}

	// Granted: exactly the named variable and the mount.
	p = load(t, h, Spec{Name: "wasi-granted", Kind: Route, Module: fixture(t, "wasi"), Grants: Grants{
		Env:    []string{"PLUGIN_VISIBLE", "PLUGIN_UNSET"},
		Mounts: []Mount{{HostPath: dir, GuestPath: "/", ReadOnly: true}},
	}})
	sandbox, rand2 := probe(p)
	if want := "env=1;PLUGIN_VISIBLE=yes\x00;prestat=0;open=0;data=mounted"; sandbox != want {
		t.Errorf("sandbox = %q; want %q", sandbox, want)
	}
	// Two fresh instances drawing the same bytes would mean wazero's
	// deterministic default source.
	if rand1 == rand2 {
		t.Errorf("random_get gave %x twice", rand1)
	}
	if l := logs.String(); !strings.Contains(l, "hello stdout") || !strings.Contains(l, "stream=stdout") ||
		strings.Contains(l, "hunter2") {
		t.Errorf("guest stdout not logged as expected:\n%s", l)
	}
}

func TestBufferedMiddleware(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "wrap", Module: fixture(t, "wrap")})
	d := &downstream{}
	w := do(p.Middleware(d), "POST", "/", strings.NewReader("hello world"))
	// The guest read 4 bytes; downstream still got the whole body.
	if d.body != "hello world" || d.header.Get("X-Body-Len") != "4" {
		t.Errorf("downstream got body %q, X-Body-Len %q", d.body, d.header.Get("X-Body-Len"))
	}
	wantResponse(t, w, 201, "[downstream]")
	if w.Header().Get("X-Wrapped") != "yes" || w.Header().Get("X-Downstream") != "1" {
		t.Errorf("headers = %v", w.Header())
	}
}

func TestAbortFromAssemblyScript(t *testing.T) {
	h, logs := newHost(t, Config{})
	p := load(t, h, Spec{Name: "as", Kind: Route, Module: fixture(t, "abort")})
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 500, `{"error":"plugin failed"}`+"\n")
	if !strings.Contains(logs.String(), "abort: hi at hi:3:5") {
		t.Errorf("log lacks the abort message:\n%s", logs)
	}
}

func TestLoadErrors(t *testing.T) {
	h, _ := newHost(t, Config{})
	garbage := filepath.Join(t.TempDir(), "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("this is not wasm at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec Spec
		want []string
	}{
		{"garbage", Spec{Module: garbage}, []string{"compile"}},
		{"missing", Spec{Module: filepath.Join(t.TempDir(), "nope.wasm")}, []string{"read module"}},
		{"kv-not-granted", Spec{Module: fixture(t, "kvnogrant")}, []string{"mastra.kv_get", "not granted kv"}},
		{"agents-not-granted", Spec{Module: fixture(t, "agent")}, []string{"mastra.agent_generate", "granted no agents"}},
		{"workflows-threads-not-granted", Spec{Module: fixture(t, "datafwd")},
			[]string{"mastra.workflow_start", "mastra.workflow_run", "granted no workflows", "mastra.threads_list", "not granted threads"}},
		{"threads-not-granted", Spec{Module: fixture(t, "datafwd"), Grants: Grants{Workflows: []string{"*"}}},
			[]string{"mastra.thread_messages", "not granted threads"}},
		{"unknown-import", Spec{Module: fixture(t, "unknownimport")},
			[]string{"evil.open_socket", "does not provide", "unknown function mastra.launch_missiles"}},
		{"no-handler", Spec{Module: fixture(t, "nohandler")}, []string{"does not export handle_request"}},
		{"abi-v2", Spec{Module: fixture(t, "abiv2")}, []string{"mastra_abi_v2"}},
		{"bad-limits", Spec{Module: fixture(t, "hello"), MinInstances: 3, MaxInstances: 2}, []string{"min instances"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name = tt.name
			_, err := h.Load(context.Background(), limited(tt.spec))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `plugin "`+tt.name+`" (`) {
				t.Errorf("error %q does not name the plugin", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// The host invents no limits: a spec without them is refused, naming each
// (the configuration's [plugins] table is where defaults live).
func TestLoadRequiresLimits(t *testing.T) {
	h, _ := newHost(t, Config{})
	_, err := h.Load(context.Background(), Spec{Name: "bare", Module: fixture(t, "hello"), MaxInstances: 2})
	if err == nil || !strings.Contains(err.Error(), "spec has no Timeout, MemoryLimit, MaxResponse (required)") {
		t.Errorf("Load without limits = %v; want an error naming Timeout, MemoryLimit and MaxResponse", err)
	}
}

func TestCall(t *testing.T) {
	h, _ := newHost(t, Config{})
	echo := load(t, h, Spec{Name: "echo", Kind: Tool, Module: fixture(t, "route")})
	status, body, err := echo.Call(context.Background(), []byte(`{"a":1}`))
	if err != nil || status != 201 || string(body) != `POST / - {"a":1}` {
		t.Fatalf("Call = %d %q %v", status, body, err)
	}

	loop := load(t, h, Spec{Name: "loop", Kind: Tool, Module: fixture(t, "loop"), Timeout: 50 * time.Millisecond})
	_, _, err = loop.Call(context.Background(), nil)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("loop Call err = %v; want ErrTimeout and DeadlineExceeded", err)
	}

	trap := load(t, h, Spec{Name: "trap", Kind: Tool, Module: fixture(t, "abort")})
	_, _, err = trap.Call(context.Background(), nil)
	if !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), `"trap"`) {
		t.Fatalf("trap Call err = %v; want ErrTrap naming the plugin", err)
	}

	next := load(t, h, Spec{Name: "next", Kind: Tool, Module: fixture(t, "passthrough")})
	if _, _, err = next.Call(context.Background(), nil); !errors.Is(err, ErrTrap) {
		t.Fatalf("next=1 Call err = %v; want ErrTrap", err)
	}

	if err := echo.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err = echo.Call(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Call after Close err = %v; want ErrClosed", err)
	}
}

func TestReloadWhileInFlight(t *testing.T) {
	agents := newBlockingAgents()
	h, _ := newHost(t, Config{Agents: agents})
	path := copyFixture(t, "agent")
	p := load(t, h, Spec{Name: "reload", Kind: Route, Module: path, Timeout: 10 * time.Second,
		MaxInstances: 2, Grants: Grants{Agents: []string{"*"}}})

	inflight := make(chan *httptest.ResponseRecorder)
	go func() { inflight <- do(p.Handler(), "POST", "/", strings.NewReader("old")) }()
	<-agents.entered
	old := p.cur.Load()

	b, err := os.ReadFile(fixture(t, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "v2")

	close(agents.release)
	wantResponse(t, <-inflight, 200, "0:hello from assistant: old")
	select {
	case <-old.drained:
	case <-time.After(5 * time.Second):
		t.Fatal("the old pool was not released after its last call")
	}

	// A broken module does not replace a working one.
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(context.Background()); err == nil {
		t.Fatal("Reload of garbage succeeded")
	}
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "v2")
}

func TestConcurrentRequests(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "auth", Module: fixture(t, "auth"), Config: []byte(`"Bearer s3cret"`), MaxInstances: 4})
	mw := p.Middleware(&downstream{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				tok := "Bearer s3cret"
				want := 200
				if (g+i)%3 == 0 {
					tok, want = "Bearer bad", 401
				}
				if w := do(mw, "GET", "/", nil, "Authorization", tok); w.Code != want {
					t.Errorf("status = %d; want %d", w.Code, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(p.cur.Load().slots); n > 4 {
		t.Errorf("%d live instances; cap is 4", n)
	}
}

// TestHammer mixes good, trapping and timing-out calls on a small pool: the
// pool stays within its cap, and a good call never meets a dead instance.
// Good calls have a generous deadline, so anything but "ok" is a failure; the
// looping ones carry a 30 ms request deadline.
func TestHammer(t *testing.T) {
	const maxInst = 3
	h, logs := newHost(t, Config{})
	defer func() {
		if t.Failed() {
			t.Log(logs)
		}
	}()
	p := load(t, h, Spec{Name: "hammer", Kind: Route, Module: fixture(t, "behave"),
		Timeout: 5 * time.Second, MaxInstances: maxInst, MemoryLimit: 1 << 20})
	pl := p.cur.Load()
	goroutines, loops := 4, 60
	if testing.Short() {
		loops = 20
	}

	stop := make(chan struct{})
	watched := make(chan int)
	go func() { // watch the bound while the hammer runs
		peak := 0
		for {
			select {
			case <-stop:
				watched <- peak
				return
			default:
				peak = max(peak, len(pl.slots))
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range loops {
				path, want, deadline := "/", 200, 5*time.Second
				switch (g*loops + i) % 13 {
				case 3, 9:
					path, want = "/trap", 500
				case 6:
					path, want, deadline = "/loop", 504, 30*time.Millisecond
				case 11:
					path, want = "/grow", 500
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				r := httptest.NewRequest("GET", path, nil).WithContext(ctx)
				w := httptest.NewRecorder()
				p.Handler().ServeHTTP(w, r)
				cancel()
				if w.Code == 503 && path == "/loop" {
					continue // its 30 ms may pass while waiting for an instance
				}
				if w.Code != want {
					t.Errorf("%s: status %d %q; want %d", path, w.Code, w.Body, want)
				}
				if want == 200 && !strings.HasPrefix(w.Body.String(), "ok ") {
					t.Errorf("%s: body %q", path, w.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if peak := <-watched; peak > maxInst {
		t.Errorf("peak live instances %d > cap %d", peak, maxInst)
	}
	// Everything idle is alive.
	for range len(pl.idle) {
		in := <-pl.idle
		if in.mod.IsClosed() {
			t.Error("a closed instance sat in the idle pool")
		}
		pl.idle <- in
	}
	if n := len(pl.slots); n > maxInst || len(pl.idle) > n {
		t.Errorf("slots %d, idle %d, cap %d", n, len(pl.idle), maxInst)
	}
}

func TestCloseWaitsForInFlight(t *testing.T) {
	agents := newBlockingAgents()
	h, _ := newHost(t, Config{Agents: agents})
	p := load(t, h, Spec{Name: "agent", Kind: Route, Module: fixture(t, "agent"), Timeout: 10 * time.Second,
		Grants: Grants{Agents: []string{"*"}}})
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do(p.Handler(), "POST", "/", strings.NewReader("x")) }()
	<-agents.entered
	closed := make(chan error)
	go func() { closed <- p.Close(context.Background()) }()
	select {
	case <-closed:
		t.Fatal("Close returned with a call in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(agents.release)
	wantResponse(t, <-done, 200, "0:hello from assistant: x")
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wantResponse(t, do(p.Handler(), "GET", "/", nil), 503, `{"error":"plugin busy"}`+"\n")
}

func TestCompilationCacheDir(t *testing.T) {
	dir := t.TempDir()
	for range 2 { // the second host loads from the warm cache
		h, _ := newHost(t, Config{CacheDir: dir})
		p := load(t, h, Spec{Name: "hello", Kind: Route, Module: fixture(t, "hello")})
		wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "v2")
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache dir is empty (%v)", err)
	}
}
