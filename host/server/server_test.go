package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testConfig is the server configuration of a mastra.toml-less start: the
// defaults of the config package (config/load.go), which the tests of
// config check; the conversion from config to this type is host/app's.
func testConfig() Config {
	return Config{
		Host:              "0.0.0.0",
		Port:              4000,
		Timeout:           30 * time.Second,
		BodyLimit:         4.5 * (1 << 20),
		ReadHeaderTimeout: 10 * time.Second,
		BodyTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		DrainTimeout:      10 * time.Second,
		KeepAlive:         15 * time.Second,
		CORS: CORS{
			Origins:       []string{"*"},
			AllowMethods:  []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
			AllowHeaders:  []string{"Content-Type", "Authorization", "x-mastra-client-type", "x-mastra-dev-playground"},
			ExposeHeaders: []string{"X-Thread-Id", "X-Resource-Id", "X-Request-Id"},
			MaxAge:        time.Hour,
		},
		Auth: Auth{Protected: []string{"/*"}, Public: []string{"/health"}},
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openSQLite(t *testing.T) *memory.Store {
	t.Helper()
	return openStore(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")})
}

func openStore(t *testing.T, opts memory.Options) *memory.Store {
	t.Helper()
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 10 // memory.max_open_conns's default
	}
	s, err := memory.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// newTestServer starts the whole handler on an httptest server.
func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.DefaultResourceID == "" {
		opts.DefaultResourceID = "default"
	}
	if opts.MaxSaveMessages == 0 {
		opts.MaxSaveMessages = 1000 // memory.max_save_messages's default
	}
	// Every response of a test server is checked against the OpenAPI
	// document of the same server (openapi_test.go): the responses of all
	// the HTTP tests are the contract test.
	withDoc := opts
	withDoc.Config.OpenAPI = true
	ds, err := New(withDoc)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := newContract(t, ds.openAPIDoc)
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.check(t) }) // runs after ts.Close, which waits for the handlers
	ts := httptest.NewServer(c.wrap(s.Handler()))
	t.Cleanup(ts.Close)
	return s, ts
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, url string, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		// An array (Mastra answers some listings so) stays in raw only.
		if err := json.Unmarshal(b, &out.body); err != nil && !json.Valid(b) {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, b)
		}
	}
	return out
}

func seed(t *testing.T, store *memory.Store, resource, thread string, texts ...string) {
	t.Helper()
	base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var msgs []memory.Message
	for i, text := range texts {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		at := base.Add(time.Duration(i) * time.Second)
		msgs = append(msgs, memory.Message{ID: fmt.Sprintf("%s-m%02d", thread, i), Role: role, Content: memory.TextContent(text, at), CreatedAt: at})
	}
	if err := store.AppendTurn(context.Background(), memory.Turn{Thread: memory.Thread{ID: thread, ResourceID: resource}, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
}

func TestThreadRoutes(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			cfg := testConfig()
			var store *memory.Store
			if kind == "sqlite" {
				store = openSQLite(t)
			} else {
				store = openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)})
			}
			_, ts := newTestServer(t, Options{Config: cfg, Store: store})
			seed(t, store, "alice", "t-old", "hello", "hi there")
			time.Sleep(5 * time.Millisecond)
			seed(t, store, "alice", "t-new", "q1", "a1", "q2", "a2", "q3")
			seed(t, store, "bob", "t-bob", "secret")

			r := do(t, "GET", ts.URL+"/threads?resourceId=alice", "")
			if r.status != 200 || r.body["total"] != 2.0 {
				t.Fatalf("list = %d %s; want 200 with 2 threads", r.status, r.raw)
			}
			threads := r.body["threads"].([]any)
			if first := threads[0].(map[string]any); first["id"] != "t-new" || first["resourceId"] != "alice" || first["title"] != "" {
				t.Errorf("first thread = %v; want t-new of alice (newest first)", first)
			}
			r = do(t, "GET", ts.URL+"/threads?resourceId=alice&perPage=1&page=1", "")
			if ids := r.body["threads"].([]any); len(ids) != 1 || ids[0].(map[string]any)["id"] != "t-old" || r.body["hasMore"] != false {
				t.Errorf("page 1 = %s; want t-old and no more", r.raw)
			}

			r = do(t, "GET", ts.URL+"/threads/t-new?resourceId=alice&perPage=2&page=1", "")
			if r.status != 200 {
				t.Fatalf("get thread = %d %s", r.status, r.raw)
			}
			msgs := r.body["messages"].([]any)
			if len(msgs) != 2 || r.body["total"] != 5.0 || r.body["hasMore"] != true {
				t.Fatalf("messages page = %s; want 2 of 5 with more", r.raw)
			}
			m0 := msgs[0].(map[string]any)
			content := m0["content"].(map[string]any)
			if content["content"] != "q2" || content["format"] != 2.0 || m0["role"] != "user" || m0["threadId"] != "t-new" {
				t.Errorf("message = %v; want q2 (oldest first) as v2 content", m0)
			}

			for _, tc := range []struct{ name, url string }{
				{"other resource", "/threads/t-bob?resourceId=alice"},
				{"missing thread", "/threads/nope?resourceId=alice"},
			} {
				r = do(t, "GET", ts.URL+tc.url, "")
				if r.status != 404 || r.body["error"] != "Thread not found" || strings.Contains(r.raw, "secret") {
					t.Errorf("%s: %d %s; want 404 Thread not found", tc.name, r.status, r.raw)
				}
			}
			r = do(t, "GET", ts.URL+"/threads", "")
			if r.status != 400 || r.body["issues"].([]any)[0].(map[string]any)["field"] != "resourceId" {
				t.Errorf("list without resourceId = %d %s; want 400 naming resourceId", r.status, r.raw)
			}
			r = do(t, "GET", ts.URL+"/threads/t-new", "")
			if r.status != 400 {
				t.Errorf("get without resourceId = %d; want 400", r.status)
			}
			r = do(t, "GET", ts.URL+"/threads?resourceId=alice&perPage=0", "")
			if r.status != 400 || !strings.Contains(r.raw, "perPage") {
				t.Errorf("perPage=0 = %d %s; want 400 naming perPage", r.status, r.raw)
			}

			r = do(t, "DELETE", ts.URL+"/threads/t-new?resourceId=bob", "")
			if r.status != 404 {
				t.Errorf("delete by bob = %d; want 404", r.status)
			}
			r = do(t, "DELETE", ts.URL+"/threads/t-new?resourceId=alice", "")
			if r.status != 200 {
				t.Errorf("delete = %d %s", r.status, r.raw)
			}
			if r = do(t, "GET", ts.URL+"/threads/t-new?resourceId=alice", ""); r.status != 404 {
				t.Errorf("after delete = %d; want 404", r.status)
			}
		})
	}
}

// F13: page arithmetic cannot overflow: an offset past MaxOffset is a 400
// naming page, on the root routes too; the largest allowed page answers.
func TestPageBounds(t *testing.T) {
	store := openSQLite(t)
	seed(t, store, "alice", "t1", "a", "b")
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store})
	for _, q := range []string{"/threads?resourceId=alice&page=9223372036854775807&perPage=2",
		"/threads/t1?resourceId=alice&page=4611686018427387904&perPage=2"} {
		r := do(t, "GET", ts.URL+q, "")
		if r.status != 400 || !hasIssue(r, "page") {
			t.Errorf("GET %s = %d %s; want 400 naming page", q, r.status, r.raw)
		}
	}
	r := do(t, "GET", ts.URL+"/threads?resourceId=alice&perPage=1&page=10000000", "")
	if ids := threadIDs(t, r); r.status != 200 || len(ids) != 0 || r.body["hasMore"] != false {
		t.Errorf("last allowed page = %d %s; want an empty page", r.status, r.raw)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	cfg := testConfig()
	_, ts := newTestServer(t, Options{Config: cfg, Store: openSQLite(t)})
	r := do(t, "GET", ts.URL+"/nope", "")
	if r.status != 404 || r.body["error"] != "Not Found" {
		t.Errorf("unknown route = %d %s; want 404 JSON", r.status, r.raw)
	}
	r = do(t, "PUT", ts.URL+"/threads", "")
	if r.status != 405 || r.header.Get("Allow") == "" || !strings.Contains(r.header.Get("Allow"), "GET") || r.body["error"] == nil {
		t.Errorf("PUT /threads = %d Allow=%q %s; want 405 JSON with Allow", r.status, r.header.Get("Allow"), r.raw)
	}
}

func TestHealth(t *testing.T) {
	cfg := testConfig()
	_, ts := newTestServer(t, Options{Config: cfg, Store: openSQLite(t)})
	r := do(t, "GET", ts.URL+"/health", "")
	if r.status != 200 || r.body["success"] != true || r.body["database"].(map[string]any)["kind"] != "sqlite" {
		t.Errorf("health = %d %s; want 200 success on sqlite", r.status, r.raw)
	}
	head, err := http.Head(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != 200 || !strings.HasPrefix(head.Header.Get("Content-Type"), "application/json") {
		t.Errorf("HEAD /health = %d %v; want 200 with the GET headers", head.StatusCode, head.Header)
	}
	// Other methods: 405 with Allow, like every other route.
	for _, m := range []string{"PUT", "POST", "DELETE"} {
		r := do(t, m, ts.URL+"/health", "")
		if r.status != 405 || r.header.Get("Allow") != "GET, HEAD, OPTIONS" || r.body["error"] != "Method Not Allowed" {
			t.Errorf("%s /health = %d Allow=%q %s; want 405 JSON with Allow: GET, HEAD, OPTIONS", m, r.status, r.header.Get("Allow"), r.raw)
		}
	}
	if r := do(t, "OPTIONS", ts.URL+"/health", ""); r.status != 204 || r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("OPTIONS /health = %d Allow=%q; want 204 with Allow", r.status, r.header.Get("Allow"))
	}
}

// The database goes away while the server runs: /health says 503 and the
// thread routes 503; when it returns, both recover by themselves.
func TestDatabaseStopsAndReturns(t *testing.T) {
	cluster, err := pgtest.StartCluster(filepath.Join(t.TempDir(), "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Remove() })
	store := openStore(t, memory.Options{DatabaseURL: cluster.URL("postgres") + "&connect_timeout=2"})
	cfg := testConfig()
	s, ts := newTestServer(t, Options{Config: cfg, Store: store})
	s.health.ttl = 0 // check on every hit, so the test need not wait
	seed(t, store, "alice", "t1", "hello")

	if r := do(t, "GET", ts.URL+"/health", ""); r.status != 200 {
		t.Fatalf("health before = %d %s", r.status, r.raw)
	}
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	r := do(t, "GET", ts.URL+"/health", "")
	if r.status != 503 || r.body["success"] != false || r.header.Get("Retry-After") == "" {
		t.Errorf("health while down = %d %s; want 503 with Retry-After", r.status, r.raw)
	}
	r = do(t, "GET", ts.URL+"/threads?resourceId=alice", "")
	if r.status != 503 || r.body["error"] != "Database unavailable" || strings.Contains(r.raw, "sock") {
		t.Errorf("list while down = %d %s; want 503 without internals", r.status, r.raw)
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = do(t, "GET", ts.URL+"/health", "")
		if r.status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.status != 200 {
		t.Fatalf("health after restart = %d %s; want 200", r.status, r.raw)
	}
	if r = do(t, "GET", ts.URL+"/threads?resourceId=alice", ""); r.status != 200 || r.body["total"] != 1.0 {
		t.Errorf("list after restart = %d %s; want the thread back", r.status, r.raw)
	}
}

func TestCORS(t *testing.T) {
	cfg := testConfig()
	cfg.CORS.Origins = []string{"https://app1.com", "https://app2.com"}
	cfg.CORS.Credentials = true
	_, ts := newTestServer(t, Options{Config: cfg, Store: openSQLite(t)})

	r := do(t, "OPTIONS", ts.URL+"/threads", "", "Origin", "https://app1.com", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "authorization")
	h := r.header
	if r.status != 204 || h.Get("Access-Control-Allow-Origin") != "https://app1.com" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("preflight = %d %v; want 204 reflecting the allowed origin", r.status, h)
	}
	r = do(t, "OPTIONS", ts.URL+"/threads", "", "Origin", "https://evil.com", "Access-Control-Request-Method", "GET")
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from evil.com got Allow-Origin %q; want none", got)
	}
	r = do(t, "GET", ts.URL+"/threads?resourceId=x", "", "Origin", "https://app2.com")
	if r.header.Get("Access-Control-Allow-Origin") != "https://app2.com" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Thread-Id") {
		t.Errorf("simple request headers = %v; want app2 allowed and exposed headers", r.header)
	}
	r = do(t, "GET", ts.URL+"/threads?resourceId=x", "", "Origin", "https://app1.com.evil.com")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("suffix-spoofed origin allowed: %v", r.header)
	}

	cfg.CORS.Origins = []string{"*"}
	cfg.CORS.Credentials = false
	_, ts2 := newTestServer(t, Options{Config: cfg, Store: openSQLite(t)})
	r = do(t, "OPTIONS", ts2.URL+"/anything", "", "Origin", "https://x.com", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("wildcard preflight = %d %v; want * without credentials", r.status, r.header)
	}
}

func TestFirstByteTimeoutAndPanics(t *testing.T) {
	cfg := testConfig()
	cfg.Timeout = 100 * time.Millisecond
	cancelled := make(chan struct{})
	routes := []Route{
		{Name: "slow", Method: "GET", Path: "/slow", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // a model call that never answers
			close(cancelled)
			w.Write([]byte("too late"))
		})},
		{Name: "stream", Method: "GET", Path: "/stream", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := 0; i < 4; i++ {
				fmt.Fprintf(w, "data: %d\n\n", i)
				http.NewResponseController(w).Flush()
				time.Sleep(60 * time.Millisecond) // 240 ms in all: past the timeout
			}
		})},
		{Name: "boom", Method: "GET", Path: "/boom", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("handler bug")
		})},
	}
	_, ts := newTestServer(t, Options{Config: cfg, Store: openSQLite(t), Routes: routes})

	r := do(t, "GET", ts.URL+"/slow", "")
	if r.status != 504 || r.body["error"] != "Gateway Timeout" {
		t.Errorf("slow = %d %s; want 504 JSON", r.status, r.raw)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Error("the slow handler's context was not cancelled")
	}
	r = do(t, "GET", ts.URL+"/stream", "")
	if r.status != 200 || r.raw != "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n" {
		t.Errorf("stream = %d %q; want all four events, never cut", r.status, r.raw)
	}
	r = do(t, "GET", ts.URL+"/boom", "")
	if r.status != 500 || r.body["error"] != "Internal Server Error" || strings.Contains(r.raw, "handler bug") {
		t.Errorf("panic = %d %s; want a generic 500", r.status, r.raw)
	}
	if r = do(t, "GET", ts.URL+"/health", ""); r.status != 200 {
		t.Errorf("after the panic health = %d; want the server alive", r.status)
	}
}

func TestRouteConflicts(t *testing.T) {
	cfg := testConfig()
	h := http.NotFoundHandler()
	tests := []struct {
		name   string
		routes []Route
	}{
		{"built-in", []Route{{Name: "mine", Method: "GET", Path: "/threads", Handler: h}}},
		{"wildcard clash", []Route{{Name: "a", Method: "GET", Path: "/x/:id", Handler: h}, {Name: "b", Method: "GET", Path: "/x/:name", Handler: h}}},
		{"duplicate", []Route{{Name: "a", Method: "POST", Path: "/y", Handler: h}, {Name: "b", Method: "ALL", Path: "/y", Handler: h}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Config: cfg, Store: openSQLite(t), Routes: tt.routes, Logger: quietLogger()})
			if err == nil || !strings.Contains(err.Error(), "route \"") {
				t.Errorf("New = %v; want an error naming the route", err)
			}
		})
	}
}

func TestHeaderLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxHeaderBytes = 4 << 10
	s, err := New(Options{Config: cfg, Store: openSQLite(t), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	r := do(t, "GET", "http://"+ln.Addr().String()+"/health", "", "X-Big", strings.Repeat("a", 64<<10))
	if r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge header = %d; want 431", r.status)
	}
}

// SIGTERM's effect inside the server: stop accepting, let the in-flight
// stream finish, then return.
func TestGracefulShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.DrainTimeout = 5 * time.Second
	started := make(chan struct{})
	release := make(chan struct{})
	routes := []Route{{Name: "stream", Method: "GET", Path: "/stream", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("data: first\n\n"))
		http.NewResponseController(w).Flush()
		close(started)
		<-release
		w.Write([]byte("data: last\n\n"))
	})}}
	s, err := New(Options{Config: cfg, Store: openSQLite(t), Routes: routes, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &closeSignal{Listener: tcp, closed: make(chan struct{})}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var released atomic.Bool
	type served struct {
		err   error
		early bool // returned while the stream was still running
	}
	done := make(chan served, 1)
	go func() {
		err := s.Serve(ctx, ln)
		done <- served{err: err, early: !released.Load()}
	}()

	body := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/stream")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body <- string(b)
	}()
	<-started
	cancel() // what SIGTERM does in main
	select {
	case <-ln.closed: // the drain has begun
	case <-time.After(5 * time.Second):
		t.Fatal("the listener is still open 5s after the shutdown began")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("server still accepts connections while draining")
	}
	released.Store(true)
	close(release)
	if got := <-body; got != "data: first\n\ndata: last\n\n" {
		t.Errorf("in-flight stream got %q; want it whole", got)
	}
	if res := <-done; res.err != nil || res.early {
		t.Errorf("Serve = %v, returned before the stream finished: %v; want nil after draining", res.err, res.early)
	}
}

// closeSignal closes closed once the listener is closed, which a shutdown
// does before it waits for in-flight requests.
type closeSignal struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeSignal) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// A client that never finishes its headers is cut after read_header_timeout.
func TestSlowHeadersAreCut(t *testing.T) {
	cfg := testConfig()
	cfg.ReadHeaderTimeout = 100 * time.Millisecond
	s, err := New(Options{Config: cfg, Store: openSQLite(t), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /health HTTP/1.1\r\nHost: x\r\n")) // and nothing more
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after 5 s (read %q); want it closed after 100 ms", b)
	}
	if strings.Contains(string(b), "200 OK") {
		t.Errorf("got a response to an unfinished request: %q", b)
	}
}
