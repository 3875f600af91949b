// Package ops_test drives a whole server (host/app over real PostgreSQL,
// the real OpenAI client against internal/llmtest, Wasm tools) and checks
// what an operator sees: /metrics, traces, the OpenAPI document, the
// access log.
package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/app"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// wasm compiles testdata/<name>.wat into the test's temp directory and
// returns its path, quoted for TOML.
func wasm(t testing.TB, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	if b, err := exec.Command("wat2wasm", filepath.Join("testdata", name+".wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s.wat (install wabt: scripts/install-plugin-toolchains.sh): %v\n%s", name, err, b)
	}
	return strconv.Quote(out)
}

// script is the fake model: a user message "use <tool>" makes it call that
// tool, a tool result makes it answer "done", anything else "hi".
func script(r llmtest.Request) llmtest.Reply {
	last := r.Last()
	if last.Role == "tool" {
		return llmtest.Reply{Text: "done"}
	}
	if name, ok := strings.CutPrefix(last.Text(), "use "); ok {
		return llmtest.Reply{Calls: []llmtest.Call{{ID: "call_" + name, Name: name, Args: `{}`}}}
	}
	return llmtest.Reply{Text: "hi there"}
}

// server is a running App and what the test reads of it.
type server struct {
	app  *app.App
	url  string
	fake *llmtest.Server
	logs *syncBuffer
}

// baseTOML is an agent "a" on the fake model with the counter and trap
// tools.
func baseTOML(t testing.TB, fake *llmtest.Server) string {
	c, trap := wasm(t, "counter"), wasm(t, "trap")
	return "[providers.openai]\nbase_url = \"" + fake.URL + "\"\napi_key = \"sk-test\"\nmax_retries = 0\n" +
		"[agents.a]\nmodel = \"openai/m1\"\ntools = [\"counter\", \"trap\"]\n" +
		"[[tools]]\nname = \"counter\"\ndescription = \"counts\"\nmodule = " + c + "\nmax_instances = 3\n" +
		"[[tools]]\nname = \"trap\"\ndescription = \"traps\"\nmodule = " + trap + "\n"
}

// start builds the App from toml, as serve does, over a database of its
// own, and serves it.
func start(t testing.TB, toml string, env ...string) *server {
	t.Helper()
	return startOn(t, toml, pgtest.NewDatabase(t), env...)
}

// startOn is start over the database at dbURL, which other Apps may share
// (instances of one deployment).
func startOn(t testing.TB, toml, dbURL string, env ...string) *server {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mastra.toml")
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(env, "MASTRA_MEMORY__DATABASE_URL="+dbURL, "MASTRA_PLUGINS__CACHE_DIR="+filepath.Join(dir, "cache"))
	cfg, err := config.Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	a, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	return &server{app: a, url: ts.URL, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, method, url, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
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
	return response{res.StatusCode, res.Header, b}
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return m
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// raw returns the log output so far.
func (s *syncBuffer) raw() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// lines returns the JSON log records so far.
func (s *syncBuffer) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(s.b.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
