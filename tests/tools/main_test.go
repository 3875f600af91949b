// Package tools_test runs agent tools end to end with real parts: Wasm tools
// built from this repository (examples/weather-tool in Go, examples/calc-tool
// in AssemblyScript, WAT fixtures that trap or spin) loaded through
// host/plugin, the header-context middleware plugin, the HTTP server, the
// agent loop and a SQLite memory store, with the real OpenAI client talking
// to an in-process server that speaks OpenAI's wire format (internal/llmtest).
//
// TestMain builds the modules with scripts/build-plugins.sh and wat2wasm; a
// missing toolchain fails the run (see scripts/install-plugin-toolchains.sh).
package tools_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/server"
	"github.com/mastra-server/mastra-server/host/wasmtool"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

var (
	root    string // repository root
	modules = map[string]string{}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	build := exec.Command(filepath.Join(root, "scripts", "build-plugins.sh"),
		filepath.Join(root, "examples", "weather-tool"), filepath.Join(root, "examples", "calc-tool"),
		filepath.Join(root, "plugins", "header-context"))
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: building the Wasm tools failed (toolchains: scripts/install-plugin-toolchains.sh): %v\n%s", err, out)
		return 1
	}
	modules["weather"] = filepath.Join(root, "examples", "weather-tool", "weather-tool.wasm")
	modules["calc"] = filepath.Join(root, "examples", "calc-tool", "calc-tool.wasm")
	modules["header-context"] = filepath.Join(root, "plugins", "header-context", "header-context.wasm")
	tmp, err := os.MkdirTemp("", "mastra-tools-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	for name, wat := range map[string]string{"broken": "trap", "slow": "spin"} {
		out := filepath.Join(tmp, wat+".wasm")
		wat := exec.Command("wat2wasm", filepath.Join(root, "tests", "tools", "testdata", wat+".wat"), "-o", out)
		if b, err := wat.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: wat2wasm %s.wat (install wabt: scripts/install-plugin-toolchains.sh): %v\n%s", wat, err, b)
			return 1
		}
		modules[name] = out
	}
	return m.Run()
}

// checkSequence fails unless every assistant message with tool calls is
// followed by exactly one tool message per call, and every tool message
// answers such a call: what OpenAI demands.
func checkSequence(t *testing.T, req llmtest.Request) {
	t.Helper()
	if err := req.CheckSequence(); err != nil {
		t.Fatal(err)
	}
}

// ---- the server under test ----

type env struct {
	url   string
	fake  *llmtest.Server
	store *memory.Store
	tools map[string]*wasmtool.Tool
}

var toolSpecs = []struct {
	name, description, schema string
	timeout                   time.Duration
}{
	{"weather", "Current weather of a city", `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",` +
		`"properties":{"city":{"type":"string","description":"city name"}},"required":["city"],"additionalProperties":false}`, 10 * time.Second},
	{"calc", "Arithmetic on two numbers", `{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},` +
		`"op":{"enum":["add","subtract","multiply","divide"]}},"required":["a","b","op"],"additionalProperties":false}`, 5 * time.Second},
	{"broken", "Always traps", `{"type":"object"}`, 5 * time.Second},
	{"slow", "Never answers", `{"type":"object"}`, 200 * time.Millisecond},
}

// newEnv starts the server: agent "assistant" (all four tools), agent
// "plain" (none), both on the fake model, the header-context middleware
// copying X-Tenant-Id to the request context key "tenant".
func newEnv(t *testing.T, script func(llmtest.Request) llmtest.Reply) *env {
	t.Helper()
	ctx := context.Background()
	t.Chdir(t.TempDir())
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	store, err := memory.Open(ctx, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	host, err := plugin.New(ctx, plugin.Config{CacheDir: filepath.Join(os.TempDir(), "mastra-tools-test-cache"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close(context.Background()) })

	e := &env{fake: llmtest.NewServer(t, script), store: store, tools: map[string]*wasmtool.Tool{}}
	var all []agent.Tool
	for _, s := range toolSpecs {
		p, err := host.Load(ctx, plugin.Spec{Name: s.name, Kind: plugin.Tool, Module: modules[s.name], Timeout: s.timeout,
			MaxInstances: 4, Config: []byte(`{}`)})
		if err != nil {
			t.Fatalf("load tool %s: %v", s.name, err)
		}
		tool := wasmtool.New(s.name, s.description, json.RawMessage(s.schema), p)
		e.tools[s.name] = tool
		all = append(all, tool)
	}
	mw, err := host.Load(ctx, plugin.Spec{Name: "tenant", Kind: plugin.Middleware, Module: modules["header-context"],
		Config: []byte(`{"headers":{"X-Tenant-Id":"tenant"}}`)})
	if err != nil {
		t.Fatalf("load header-context: %v", err)
	}

	model := e.fake.Model(10 * time.Second)
	agents := []*agent.Agent{
		{ID: "assistant", Name: "Assistant", Instructions: "Use tools.", Model: model, Provider: "openai", ModelID: "gpt-test",
			LastMessages: 20, MaxSteps: 5, Tools: all},
		{ID: "plain", Name: "Plain", Model: model, Provider: "openai", ModelID: "gpt-test", LastMessages: 20},
	}
	svc, err := agent.NewService(store, agents, "assistant", log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Config: serverConfig(cfg.Server), Store: store, Agents: svc, Logger: log, DefaultResourceID: "anon",
		Tools:      all,
		Middleware: []server.Middleware{{Name: "tenant", Path: "/*", Wrap: mw.Middleware}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

// serverConfig is cmd/mastra-server's conversion of [server], until
// this test builds the server through host/app.
func serverConfig(c config.Server) server.Config {
	tokens := make([]server.Token, len(c.Auth.Tokens))
	for i, t := range c.Auth.Tokens {
		tokens[i] = server.Token{User: t.User, ResourceID: t.ResourceID, Admin: t.Admin, Value: string(t.Value)}
	}
	return server.Config{
		Host:              c.Host,
		Port:              c.Port,
		Timeout:           c.Timeout,
		BodyLimit:         int64(c.BodyLimit),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		BodyTimeout:       c.BodyTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    int64(c.MaxHeaderBytes),
		DrainTimeout:      c.DrainTimeout,
		KeepAlive:         c.KeepAlive,
		CORS: server.CORS{
			Origins:       c.CORS.Origins,
			AllowMethods:  c.CORS.AllowMethods,
			AllowHeaders:  c.CORS.AllowHeaders,
			ExposeHeaders: c.CORS.ExposeHeaders,
			Credentials:   c.CORS.Credentials,
			MaxAge:        c.CORS.MaxAge,
		},
		Auth: server.Auth{Enabled: c.Auth.Enabled, Tokens: tokens, Protected: c.Auth.Protected, Public: c.Auth.Public},
	}
}

// do sends a JSON request and returns the status and body.
func (e *env) do(t *testing.T, method, path, body string, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// chunk is one event of a Mastra stream.
type chunk struct {
	Type    string         `json:"type"`
	RunID   string         `json:"runId"`
	From    string         `json:"from"`
	Payload map[string]any `json:"payload"`
}

// stream posts to a /stream route and reads the events as client-js does:
// split on "\n\n", "data: " lines, until [DONE].
func (e *env) stream(t *testing.T, path, body string, header ...string) []chunk {
	t.Helper()
	status, b := e.do(t, http.MethodPost, path, body, header...)
	if status != 200 {
		t.Fatalf("POST %s: %d %s", path, status, b)
	}
	var out []chunk
	done := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		data := strings.TrimPrefix(line, "data: ")
		if data == "[DONE]" {
			done = true
			break
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("bad event %q: %v", data, err)
		}
		out = append(out, c)
	}
	if !done {
		t.Fatalf("stream did not end with [DONE]: %s", b)
	}
	return out
}

func types(cs []chunk) string {
	var out []string
	for _, c := range cs {
		if n := len(out); n > 0 && out[n-1] == c.Type && (c.Type == "text-delta" || c.Type == "tool-call-delta") {
			continue
		}
		out = append(out, c.Type)
	}
	return strings.Join(out, ",")
}

func find(cs []chunk, typ string) []chunk {
	var out []chunk
	for _, c := range cs {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

func reason(c chunk) string {
	sr, _ := c.Payload["stepResult"].(map[string]any)
	r, _ := sr["reason"].(string)
	return r
}

// jsonEq reports whether a and b are the same JSON value.
func jsonEq(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
