package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func init() {
	// Streams and the metrics are text; kin-openapi decodes only JSON and
	// forms unless told.
	plain := func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	}
	openapi3filter.RegisterBodyDecoder("text/event-stream", plain)
	openapi3filter.RegisterBodyDecoder("text/html", plain)
	openapi3filter.RegisterBodyDecoder("text/plain", plain)
}

// contract checks every response of a test server against the server's
// own OpenAPI document, with kin-openapi's validator (JSON Schema 2020-12,
// as OpenAPI 3.1 uses). newTestServer puts it around every HTTP test of
// this package, so the responses of all of them are checked.
type contract struct {
	router routers.Router
	mu     sync.Mutex
	errs   []string
}

// loadDocument loads and validates the document as kin-openapi does.
func loadDocument(t testing.TB, raw []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("document is OpenAPI %s; want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	return doc
}

func newContract(t testing.TB, raw []byte) *contract {
	t.Helper()
	doc := loadDocument(t, raw)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &contract{router: router}
}

// wrap tees each response and checks it once the handler returned.
func (c *contract) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		route, params, err := c.router.FindRoute(r)
		if err != nil {
			return // not a documented route: a 404 or 405 of the router
		}
		status := tw.status
		if status == 0 {
			status = http.StatusOK
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
			Status:                 status,
			Header:                 tw.Header(),
			Body:                   io.NopCloser(bytes.NewReader(tw.body.Bytes())),
			Options: &openapi3filter.Options{IncludeResponseStatus: true,
				SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020()}},
		}
		if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Sprintf("%s %s → %d: %v\nbody: %.300s", r.Method, r.URL.Path, status, err, tw.body.String()))
			c.mu.Unlock()
		}
	})
}

func (c *contract) check(t testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.errs {
		t.Errorf("response does not match the OpenAPI document: %s", e)
	}
}

// teeWriter passes a response through, keeping a copy.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Every route the table holds has an entry in routeDocs, whatever the
// server's options: a new route without one fails here (and New refuses
// to build the document).
func TestEveryRouteIsDocumented(t *testing.T) {
	s := &Server{}
	for _, b := range s.builtins() {
		if _, ok := routeDocs[b.Method+" "+b.Path]; !ok {
			t.Errorf("route %s %s has no entry in routeDocs (openapi.go)", b.Method, b.Path)
		}
	}
}

// The document lists every route the server registered (built-in, plugin
// routes as declared, /health and the metrics), loads and validates with
// kin-openapi, and server.openapi = false takes it away.
func TestOpenAPIDocument(t *testing.T) {
	store := openSQLite(t)
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "a", Model: llm.Echo{}, Provider: "echo"}}, "a", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	plugins := []Route{
		{Name: "hello", Method: "GET", Path: "/hello/:name", Handler: http.NotFoundHandler()},
		{Name: "hook", Method: "ALL", Path: "/hooks/*rest", Handler: http.NotFoundHandler()},
	}
	cfg := testConfig()
	cfg.OpenAPI, cfg.MetricsPath = true, "/metrics"
	s, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, Routes: plugins, Metrics: http.NotFoundHandler()})
	r := do(t, "GET", ts.URL+"/api/openapi.json", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json = %d %s", r.status, r.header.Get("Content-Type"))
	}
	doc := loadDocument(t, []byte(r.raw))
	has := func(method, path string) bool {
		item := doc.Paths.Find(openAPIPath(path))
		return item != nil && item.GetOperation(method) != nil
	}
	for _, rt := range s.Routes() {
		if !has(rt.Method, rt.Path) {
			t.Errorf("route %s %s is not in the document", rt.Method, rt.Path)
		}
	}
	for _, want := range [][2]string{{"GET", "/hello/:name"}, {"POST", "/hooks/*rest"}, {"DELETE", "/hooks/*rest"},
		{"GET", "/health"}, {"GET", "/metrics"}} {
		if !has(want[0], want[1]) {
			t.Errorf("%s %s is not in the document", want[0], want[1])
		}
	}
	if n := len(doc.Paths.Map()); n < len(s.Routes())/2 {
		t.Errorf("document has %d paths for %d routes", n, len(s.Routes()))
	}

	// The page that renders it (tests/browser loads it in Chromium).
	if r := do(t, "GET", ts.URL+"/docs", ""); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(r.raw, "api/openapi.json") {
		t.Errorf("GET /docs = %d %s %.100q; want the HTML page that loads api/openapi.json", r.status, r.header.Get("Content-Type"), r.raw)
	}

	cfg.OpenAPI = false
	_, off := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc})
	for _, p := range []string{"/api/openapi.json", "/docs"} {
		if r := do(t, "GET", off.URL+p, ""); r.status != 404 {
			t.Errorf("with openapi off, GET %s = %d; want 404", p, r.status)
		}
	}
}

// Real requests on every built-in route, with Postgres memory: each
// response validates against the document (newTestServer checks them).
func TestResponsesMatchTheDocument(t *testing.T) {
	store := openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)})
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "a", Name: "A", Model: llm.Echo{}, Provider: "echo", LastMessages: 5,
		Tools: []agent.Tool{upperTool{}}}}, "a", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc, Tools: []agent.Tool{upperTool{}}})
	calls := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/agent/generate", `{"message":"hi","threadId":"t1","resourceId":"r1"}`, 200},
		{"POST", "/agent/stream", `{"message":"hi","threadId":"t1","resourceId":"r1"}`, 200},
		{"GET", "/threads?resourceId=r1", "", 200},
		{"GET", "/threads/t1?resourceId=r1", "", 200},
		{"GET", "/api/agents", "", 200},
		{"GET", "/api/agents/a", "", 200},
		{"POST", "/api/agents/a/generate", `{"messages":"hi","memory":{"thread":"t2","resource":"r1"}}`, 200},
		{"POST", "/api/agents/a/stream", `{"messages":[{"role":"user","content":"hi"}],"memory":{"thread":"t2","resource":"r1"}}`, 200},
		{"POST", "/api/agents/a/generate/vnext", `{"messages":"hi"}`, 200},
		{"POST", "/api/agents/a/stream/vnext", `{"messages":"hi"}`, 200},
		{"GET", "/api/memory/status?agentId=a", "", 200},
		{"GET", "/api/memory/config?agentId=a", "", 200},
		{"POST", "/api/memory/threads?agentId=a", `{"resourceId":"r1","threadId":"t3","title":"x","metadata":{"k":"v"}}`, 200},
		{"GET", "/api/memory/threads?agentId=a&resourceId=r1", "", 200},
		{"GET", "/api/memory/threads/t3?agentId=a&resourceId=r1", "", 200},
		{"PATCH", "/api/memory/threads/t3?agentId=a", `{"title":"y","resourceId":"r1"}`, 200},
		{"GET", "/api/memory/threads/t1/messages?agentId=a&resourceId=r1", "", 200},
		{"POST", "/api/memory/save-messages?agentId=a", `{"messages":[{"id":"m9","threadId":"t3","resourceId":"r1","role":"user","content":"saved","createdAt":"2024-01-01T00:00:00.000Z"}]}`, 200},
		{"POST", "/api/memory/messages/delete?agentId=a", `{"messageIds":["m9"]}`, 200},
		{"DELETE", "/api/memory/threads/t3?agentId=a&resourceId=r1", "", 200},
		{"DELETE", "/threads/t1?resourceId=r1", "", 200},
		{"GET", "/api/tools", "", 200},
		{"GET", "/api/tools/upper", "", 200},
		{"POST", "/api/tools/upper/execute", `{"data":{"text":"abc"}}`, 200},
		{"GET", "/api/agents/a/tools/upper", "", 200},
		{"POST", "/api/agents/a/tools/upper/execute", `{"data":{"text":"abc"}}`, 200},
		{"GET", "/health", "", 200},
		{"POST", "/chat/a", `{"id":"chat-1","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"hi"}]}],"trigger":"submit-message","resourceId":"r1"}`, 200},
		{"GET", "/chat/a/chat-1/stream", "", 204},
		// Errors are documented too.
		{"GET", "/api/agents/nobody", "", 404},
		{"POST", "/api/agents/a/generate", `{"messages":"hi","maxSteps":-1}`, 400},
		{"GET", "/api/tools/nothing", "", 404},
	}
	for _, c := range calls {
		r := do(t, c.method, ts.URL+c.path, c.body, "Content-Type", "application/json")
		if r.status != c.status {
			t.Errorf("%s %s = %d %s; want %d", c.method, c.path, r.status, r.raw, c.status)
		}
	}
}

// upperTool answers {"text": upper-cased text}.
type upperTool struct{}

func (upperTool) Name() string        { return "upper" }
func (upperTool) Description() string { return "Upper-cases text." }
func (upperTool) InputSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}}}`)
}
func (upperTool) Execute(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
	var in struct{ Text string }
	if err := json.Unmarshal(args, &in); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"text": strings.ToUpper(in.Text)})
}

var _ = httptest.NewRecorder
