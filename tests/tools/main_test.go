// Package tools_test runs agent tools end to end with real parts: Wasm tools
// built from this repository (examples/weather-tool in Go, examples/calc-tool
// in AssemblyScript, WAT fixtures that trap or spin), the header-context
// middleware plugin, the HTTP server, the agent loop and a SQLite memory
// store, all built from a configuration by app.Build as mastra-server builds
// them, with the real OpenAI client talking to an in-process server that
// speaks OpenAI's wire format (internal/llmtest).
//
// TestMain checks that the modules are built (scripts/build-plugins.sh; a
// missing or stale one fails the run, naming it) and compiles the WAT
// fixtures with wat2wasm.
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
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/app"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/plugintest"
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
	if err := plugintest.Check(root); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
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
	tools map[string]agent.Tool
}

var toolSpecs = []struct {
	name, description, schema, timeout string
}{
	{"weather", "Current weather of a city", `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",` +
		`"properties":{"city":{"type":"string","description":"city name"}},"required":["city"],"additionalProperties":false}`, "10s"},
	{"calc", "Arithmetic on two numbers", `{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},` +
		`"op":{"enum":["add","subtract","multiply","divide"]}},"required":["a","b","op"],"additionalProperties":false}`, "5s"},
	{"broken", "Always traps", `{"type":"object"}`, "5s"},
	{"slow", "Never answers", `{"type":"object"}`, "200ms"},
}

// newEnv starts the server as mastra-server does (config.Load, then
// app.Build): agent "assistant" (all four tools), agent "plain" (none),
// both on the fake model, the header-context middleware copying
// X-Tenant-Id to the request context key "tenant".
func newEnv(t *testing.T, script func(llmtest.Request) llmtest.Reply) *env {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	e := &env{fake: llmtest.NewServer(t, script), tools: map[string]agent.Tool{}}
	toml := `
[memory]
default_resource_id = "anon"
[providers.openai]
base_url = ` + strconv.Quote(e.fake.URL) + `
api_key = "sk-test"
timeout = "10s"
max_retries = 0
[agents.assistant]
name = "Assistant"
instructions = "Use tools."
model = "openai/gpt-test"
max_steps = 5
tools = ["weather", "calc", "broken", "slow"]
[agents.plain]
name = "Plain"
model = "openai/gpt-test"
[[middleware]]
name = "tenant"
path = "/*"
module = ` + strconv.Quote(modules["header-context"]) + `
config = { headers = { X-Tenant-Id = "tenant" } }
`
	for _, s := range toolSpecs {
		toml += "[[tools]]\nname = " + strconv.Quote(s.name) + "\ndescription = " + strconv.Quote(s.description) +
			"\ninput_schema = " + strconv.Quote(s.schema) + "\nmodule = " + strconv.Quote(modules[s.name]) +
			"\ntimeout = " + strconv.Quote(s.timeout) + "\nmax_instances = 4\n"
	}
	if err := os.WriteFile("mastra.toml", []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	// One compile cache for the whole run: the Go tool takes seconds to compile.
	cfg, err := config.Load("mastra.toml", []string{"MASTRA_PLUGINS__CACHE_DIR=" + filepath.Join(os.TempDir(), "mastra-tools-test-cache")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.Build(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	e.store = a.Store
	for _, tool := range a.Tools() {
		e.tools[tool.Name()] = tool
	}
	ts := httptest.NewServer(a.Server.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
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
