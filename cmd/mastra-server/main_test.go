package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
	"github.com/mastra-server/mastra-server/internal/plugintest"
)

var repoRoot, _ = filepath.Abs("../..")

// TestMain checks that the example plugins are built and up to date
// (scripts/build-plugins.sh), so the repository's mastra.toml can be served
// as a user would.
func TestMain(m *testing.M) {
	if err := plugintest.Check(repoRoot); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	os.Exit(pgtest.Main(m)) // a database for the tests that run on both stores
}

func runCmd(t *testing.T, environ []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, environ, &out, &errOut)
	return out.String(), errOut.String(), err
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestBadConfigurationStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // the default plugins.cache_dir is relative to the working directory: not the source tree
	path := filepath.Join(dir, "bad.toml")
	os.WriteFile(path, []byte("[server]\nport = 99999\ntimeout = \"-1s\"\n[memory]\ndatabase_url = \"mysql://x\"\n"), 0o644)
	_, _, err := runCmd(t, nil, "serve", "--config", path)
	if exitCode(err) != 2 {
		t.Fatalf("exit code = %d (%v); want 2", exitCode(err), err)
	}
	for _, want := range []string{"server.port = 99999", "server.timeout", "memory.database_url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q; want a line about %s", err, want)
		}
	}
	os.WriteFile(path, []byte("[sever]\nport = 1\n"), 0o644)
	if _, _, err = runCmd(t, nil, "validate", "--config", path); exitCode(err) != 2 || !strings.Contains(err.Error(), "sever") {
		t.Errorf("unknown key: %v; want exit 2 naming it", err)
	}
	if _, _, err = runCmd(t, nil, "frobnicate"); exitCode(err) != 2 {
		t.Errorf("unknown command exit = %d; want 2", exitCode(err))
	}
	// A plugin that does not exist is named at start, with how to build it.
	os.WriteFile(path, []byte("[[routes]]\nname = \"ghost\"\nmethod = \"GET\"\npath = \"/ghost\"\nmodule = \"nope.wasm\"\n"), 0o644)
	if _, _, err = runCmd(t, nil, "validate", "--config", path); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), `routes[0].module = "`+filepath.Join(dir, "nope.wasm")+`": no such file; build the plugins with scripts/build-plugins.sh`) {
		t.Errorf("missing module: %v; want exit 2 naming the entry and how to build it", err)
	}
	// A tool's grants are checked like a route's: a bad mount is a
	// configuration error, not a panic at start.
	os.WriteFile(path, []byte("[[tools]]\nname = \"t\"\nmodule = "+strconv.Quote(filepath.Join(repoRoot, "examples/calc-tool/calc-tool.wasm"))+
		"\nmounts = [\"nocolon\"]\n"), 0o644)
	if _, _, err = runCmd(t, nil, "validate", "--config", path); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), `tools[0].mounts[0]`) || !strings.Contains(err.Error(), `"nocolon" is not a mount`) {
		t.Errorf("tool with a bad mount: %v; want exit 2 naming tools[0].mounts[0]", err)
	}
	// A plugin route on a built-in path is a conflict.
	os.WriteFile(path, []byte("[[routes]]\nname = \"clash\"\nmethod = \"GET\"\npath = \"/threads\"\nmodule = \""+
		filepath.Join(repoRoot, "examples/wat/hello.wasm")+"\"\n"), 0o644)
	if _, _, err = runCmd(t, nil, "validate", "--config", path); exitCode(err) != 2 || !strings.Contains(err.Error(), `route "clash"`) {
		t.Errorf("route conflict: %v; want exit 2 naming the route", err)
	}
}

// The repository's mastra.toml, validated from another working directory:
// its plugin modules are found next to it.
func TestValidateFromAnotherDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	env := []string{"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(t.TempDir(), "m.db"), "MASTRA_PLUGINS__CACHE_DIR=" + filepath.Join(t.TempDir(), "cache")}
	out, _, err := runCmd(t, env, "validate", "--config", filepath.Join(repoRoot, "mastra.toml"))
	if err != nil || !strings.Contains(out, "configuration OK") {
		t.Fatalf("validate --config <repo>/mastra.toml from elsewhere = %v, %q; want OK", err, out)
	}
}

// The config command prints through config.WriteTOML (tested there),
// secrets redacted.
func TestConfigCommandRedactsSecrets(t *testing.T) {
	t.Chdir(t.TempDir())
	out, _, err := runCmd(t, []string{"OPENAI_API_KEY=sk-live-123", "MEMORY_DATABASE_URL=postgres://app:hunter2@db/mastra", "MASTRA_PORT=4100"}, "config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "sk-live-123") || strings.Contains(out, "hunter2") {
		t.Errorf("config output leaks a secret:\n%s", out)
	}
	for _, want := range []string{"port = 4100", `api_key = "<redacted>"`, `database_url = "postgres://app:xxxxx@db/mastra"`} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}

}

func TestMigrateCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	env := []string{"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(t.TempDir(), "m.db")}
	_, logs, err := runCmd(t, env, "migrate")
	if err != nil || !strings.Contains(logs, "applied migration") {
		t.Fatalf("migrate = %v, logs %s", err, logs)
	}
	_, logs, err = runCmd(t, env, "migrate")
	if err != nil || !strings.Contains(logs, "up to date") {
		t.Errorf("second migrate = %v, logs %s; want up to date", err, logs)
	}
}

// The repository's mastra.toml, with the example plugins in four languages,
// served as a user would: every plugin answers through the real host.
func TestRepositoryConfigServesPlugins(t *testing.T) {
	t.Chdir(repoRoot)
	t.Setenv("MASTRA_API_TOKEN", "s3cret") // the bearer-auth plugin reads it through its env grant
	cfg, err := config.Load("mastra.toml", []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1",
		"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Plugins.CacheDir = filepath.Join(t.TempDir(), "cache")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false, ready) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}()

	get := func(method, path, body string, headers ...string) (int, http.Header, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	if code, h, body := get("GET", "/hello/Ada", ""); code != 200 || body != `{"greeting":"Echo: Say hello to Ada","name":"Ada"}` ||
		h.Get("X-Powered-By") != "mastra-wasm" {
		t.Errorf("Go route calling the agent = %d %s %v", code, body, h)
	}
	// The same Go module streaming (agent_stream_to_response), behind the C middleware.
	if code, h, body := get("GET", "/hello-stream/Ada", ""); code != 200 || h.Get("Content-Type") != "text/event-stream" ||
		h.Get("X-Powered-By") != "mastra-wasm" {
		t.Errorf("Go route streaming the agent = %d %v %s", code, h, body)
	} else if _, text := chunkTypes(t, sseEvents(t, body)); text != "Echo: Say hello to Ada" {
		t.Errorf("streamed text = %q", text)
	}
	if code, _, body := get("POST", "/hello", `{"name":"Grace"}`); code != 401 || !strings.Contains(body, "Unauthorized") {
		t.Errorf("route behind bearer-auth without a token = %d %s; want 401", code, body)
	}
	if code, _, body := get("POST", "/hello", `{"name":"Grace"}`, "Authorization", "Bearer wrong"); code != 401 {
		t.Errorf("wrong token = %d %s; want 401", code, body)
	}
	if code, _, body := get("POST", "/hello", `{"name":"Grace"}`, "Authorization", "Bearer s3cret"); code != 200 || !strings.Contains(body, "Grace") {
		t.Errorf("right token = %d %s; want the greeting", code, body)
	}
	if code, _, body := get("GET", "/hello-as?x=1", "", "X-Tenant-Id", "acme"); code != 200 ||
		body != `{"method":"GET","uri":"/hello-as?x=1","contextKey":"tenant","contextValue":"acme","language":"assemblyscript"}` {
		t.Errorf("AssemblyScript route with the C middleware's context value = %d %s", code, body)
	}
	if code, _, body := get("GET", "/hello-wat", ""); code != 200 || body != `{"hello":"wasm","method":"GET"}` {
		t.Errorf("WAT route = %d %s", code, body)
	}
	if code, _, _ := get("GET", "/health", ""); code != 200 {
		t.Errorf("health = %d", code)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The bearer-auth plugin in front of a route that echoes the request-context value "user":
// it fails closed (and says why, once) without a token, and stores user_key on success.
func TestBearerAuthPlugin(t *testing.T) {
	start := func(t *testing.T, token string) (base string, logs *syncBuffer) {
		t.Helper()
		t.Setenv("MASTRA_API_TOKEN", token)
		dir := t.TempDir()
		path := filepath.Join(dir, "mastra.toml")
		toml := "[[middleware]]\nname = \"auth\"\nmodule = " + strconv.Quote(filepath.Join(repoRoot, "plugins/bearer-auth/bearer-auth.wasm")) +
			"\nenv = [\"MASTRA_API_TOKEN\"]\n[middleware.config]\nuser_key = \"user\"\nuser = \"frontend\"\n" +
			"[[routes]]\nname = \"echo\"\nmethod = \"GET\"\npath = \"/echo\"\nmodule = " +
			strconv.Quote(filepath.Join(repoRoot, "examples/hello-as/hello-as.wasm")) +
			"\nmiddleware = [\"auth\"]\n[routes.config]\ncontext_key = \"user\"\n"
		if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1",
			"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db")})
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		cfg.Plugins.CacheDir = filepath.Join(dir, "cache")
		logs = &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), false, ready) }()
		select {
		case addr := <-ready:
			base = "http://" + addr
		case err := <-done:
			t.Fatalf("serve: %v", err)
		}
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve returned %v", err)
			}
		})
		return base, logs
	}
	get := func(t *testing.T, url, auth string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	unauthorized := func(t *testing.T, code int, h http.Header, body string) {
		t.Helper()
		if code != 401 || body != `{"error":"Unauthorized"}` || h.Get("Content-Type") != "application/json" ||
			h.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("= %d %v %s; want 401 JSON with WWW-Authenticate: Bearer", code, h, body)
		}
	}

	t.Run("token unset fails closed", func(t *testing.T) {
		base, logs := start(t, "")
		// Said at start, before any request, so a first run does not look fine.
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "granted environment variable MASTRA_API_TOKEN is not set") {
			t.Errorf("no warning at start that MASTRA_API_TOKEN is unset:\n%s", logs)
		}
		for _, auth := range []string{"", "Bearer ", "Bearer x", "Bearer anything"} {
			code, h, body := get(t, base+"/echo", auth)
			// The 401 says why no token can work (the playground shows it).
			unauthorized(t, code, h, strings.Replace(body, ": the server has no token configured", "", 1))
			if !strings.Contains(body, "the server has no token configured") {
				t.Errorf("401 body %s; want it to say the server has no token configured", body)
			}
		}
		if n := strings.Count(logs.String(), "MASTRA_API_TOKEN is unset or empty"); n != 1 {
			t.Errorf("the plugin said why %d times; want once:\n%s", n, logs)
		}
	})
	t.Run("token set", func(t *testing.T) {
		base, _ := start(t, "s3cret")
		for _, auth := range []string{"", "Bearer", "Bearer ", "Bearers3cret", "Basic s3cret", "Bearer s3cre", "Bearer s3crets", "Bearer S3CRET"} {
			code, h, body := get(t, base+"/echo", auth)
			unauthorized(t, code, h, body)
		}
		for _, auth := range []string{"Bearer s3cret", "bearer s3cret", "BEARER\ts3cret", "Bearer   s3cret  "} {
			code, _, body := get(t, base+"/echo", auth)
			if code != 200 || !strings.Contains(body, `"contextKey":"user","contextValue":"frontend"`) {
				t.Errorf("%q = %d %s; want 200 with user = frontend in the request context", auth, code, body)
			}
		}
	})
}

// SIGTERM on the real binary: a stream in flight finishes, then exit 0.
func TestSIGTERMDrainsInFlightStream(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mastra-server")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	release := make(chan struct{})
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{"content":"first"}}]}`+"\n\n")
		http.NewResponseController(w).Flush()
		<-release
		fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{"content":" last"},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	}))
	defer model.Close()
	defer close(release)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mastra.toml")
	os.WriteFile(cfgPath, []byte("[agents.slow]\nmodel = \"openai/slow-model\"\n"), 0o644)
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "OPENAI_BASE_URL="+model.URL, "OPENAI_API_KEY=test")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := bufio.NewScanner(stderr)
	var addr string
	for logs.Scan() {
		if line := logs.Text(); strings.Contains(line, "mastra-server listening") {
			_, rest, _ := strings.Cut(line, "addr=")
			addr, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if addr == "" {
		t.Fatal("server did not report its address")
	}
	go io.Copy(io.Discard, stderr)

	res, err := http.Post("http://"+addr+"/agent/stream", "application/json", strings.NewReader(`{"message":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	var read strings.Builder
	for {
		line, err := br.ReadString('\n')
		read.WriteString(line)
		if err != nil {
			t.Fatalf("stream: %v after %d %q", err, res.StatusCode, read.String())
		}
		if strings.Contains(line, `"first"`) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes once the drain starts: wait until a new
	// connection is refused (a stream in flight keeps its own).
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts new connections 10s after SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}
	release <- struct{}{}
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), `" last"`) || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("the in-flight stream was cut: %q", rest)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM = %v; want 0", err)
	}
}

// Dev mode: replacing a route's .wasm file swaps the plugin without a restart.
func TestDevModeReloadsChangedPlugin(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "route.wasm")
	copyFile := func(src string) {
		b, err := os.ReadFile(filepath.Join(repoRoot, src))
		if err != nil {
			t.Fatal(err)
		}
		tmp := module + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, module); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("examples/wat/hello.wasm")
	path := filepath.Join(dir, "mastra.toml")
	os.WriteFile(path, []byte(fmt.Sprintf("[[routes]]\nname = \"r\"\nmethod = \"GET\"\npath = \"/r\"\nmodule = %q\n", module)), 0o644)
	cfg, err := config.Load(path, []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Plugins.CacheDir = filepath.Join(dir, "cache")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), true, ready) }()
	addr := <-ready
	defer func() { cancel(); <-done }()
	body := func() string {
		res, err := http.Get("http://" + addr + "/r")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if got := body(); !strings.Contains(got, `"hello":"wasm"`) {
		t.Fatalf("before = %s", got)
	}
	copyFile("examples/hello-as/hello-as.wasm")
	later := time.Now().Add(2 * time.Second) // newer than the first copy, however coarse the file system's clock
	if err := os.Chtimes(module, later, later); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := body()
		if strings.Contains(got, "assemblyscript") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after replacing the module the route still answers %s", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Postgres is down when the server starts: it starts anyway, /health says
// 503, and once the database is up the migrations are applied by
// themselves and turns are saved.
func TestStartsWhilePostgresIsDown(t *testing.T) {
	cluster, err := pgtest.StartCluster(filepath.Join(t.TempDir(), "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Remove() })
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, err := config.Load("", []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1",
		"MEMORY_DATABASE_URL=" + cluster.URL("postgres") + "&connect_timeout=1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false, ready) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve with Postgres down returned %v; want it to start", err)
	}
	defer func() { cancel(); <-done }()

	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Errorf("health while Postgres is down = %d; want 503", res.StatusCode)
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second) // migrations are retried every second
	for {
		res, err := http.Post(base+"/agent/generate", "application/json", strings.NewReader(`{"message":"back","threadId":"t1"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			break
		}
		if res.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("generate after Postgres came back = %d %s; want 200 (503 while waiting)", res.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res, err = http.Get(base + "/threads/t1?resourceId=default")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "Echo: back") {
		t.Errorf("thread after recovery = %d %s; want the saved turn", res.StatusCode, body)
	}
}

// Sampling settings reach the model: an agent's from the configuration, a
// request's modelSettings over them one by one; a value out of range is a
// 400 naming the field, and the model is not called.
func TestModelSettingsReachTheModel(t *testing.T) {
	fake := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Text: "ok"} })
	dir := t.TempDir()
	path := filepath.Join(dir, "mastra.toml")
	os.WriteFile(path, []byte(`
[agents.tuned]
model = "openai/gpt-test"
temperature = 0.3
max_tokens = 100
top_p = 0.8
stop = ["END"]
seed = 42
[agents.plain]
model = "openai/gpt-test"
`), 0o644)
	cfg, err := config.Load(path, []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db"),
		"OPENAI_BASE_URL=" + fake.URL, "OPENAI_API_KEY=sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false, ready) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	defer func() { cancel(); <-done }()

	post := func(path, body string) (int, string) {
		t.Helper()
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	type sent struct {
		Temperature, TopP *float64
		MaxTokens, Seed   *int
		Stop              []string
	}
	f, n := func(v float64) *float64 { return &v }, func(v int) *int { return &v }
	for _, tt := range []struct {
		name, path, body string
		want             sent
	}{
		{"agent's settings", "/api/agents/tuned/generate", `{"messages":"hi"}`,
			sent{f(0.3), f(0.8), n(100), n(42), []string{"END"}}},
		{"request overrides", "/api/agents/tuned/generate",
			`{"messages":"hi","modelSettings":{"temperature":0.9,"maxOutputTokens":5,"stopSequences":["X","Y"]}}`,
			sent{f(0.9), f(0.8), n(5), n(42), []string{"X", "Y"}}},
		{"AI SDK 4 maxTokens", "/api/agents/plain/generate", `{"messages":"hi","modelSettings":{"maxTokens":7,"topP":0.5}}`,
			sent{nil, f(0.5), n(7), nil, nil}},
		{"nothing set", "/api/agents/plain/generate", `{"messages":"hi"}`, sent{}},
		{"root route", "/agent/generate", `{"message":"hi","agentId":"tuned","modelSettings":{"seed":7,"temperature":0}}`,
			sent{f(0), f(0.8), n(100), n(7), []string{"END"}}},
	} {
		if code, body := post(tt.path, tt.body); code != 200 {
			t.Fatalf("%s: %d %s", tt.name, code, body)
		}
		reqs := fake.Requests()
		r := reqs[len(reqs)-1]
		got := sent{r.Temperature, r.TopP, r.MaxTokens, r.Seed, r.Stop}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: the model received %s; want %s", tt.name, jsonText(got), jsonText(tt.want))
		}
	}

	calls := len(fake.Requests())
	for _, tt := range []struct{ body, field string }{
		{`{"messages":"hi","modelSettings":{"temperature":5}}`, "modelSettings.temperature"},
		{`{"messages":"hi","modelSettings":{"maxTokens":0}}`, "modelSettings.maxTokens"},
		{`{"messages":"hi","modelSettings":{"maxOutputTokens":-1}}`, "modelSettings.maxOutputTokens"},
		{`{"messages":"hi","modelSettings":{"topP":1.5}}`, "modelSettings.topP"},
		{`{"messages":"hi","modelSettings":{"stopSequences":["a","b","c","d","e"]}}`, "modelSettings.stopSequences"},
	} {
		code, body := post("/api/agents/tuned/generate", tt.body)
		if code != 400 || !strings.Contains(body, `"field":"`+tt.field+`"`) {
			t.Errorf("%s: %d %s; want 400 naming %s", tt.body, code, body, tt.field)
		}
	}
	if got := len(fake.Requests()); got != calls {
		t.Errorf("the model was called %d times for bad settings; want 0", got-calls)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
