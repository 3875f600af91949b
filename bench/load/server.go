package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// repoRoot finds the main module's directory from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/mastra-server/mastra-server\n") {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", errors.New("run from inside the mastra-server repository (or pass -bin)")
		}
	}
}

// buildServer builds cmd/mastra-server into dir.
func buildServer(root, dir string) (string, error) {
	out := filepath.Join(dir, "mastra-server")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/mastra-server")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mastra-server: %v\n%s", err, b)
	}
	return out, nil
}

// database is the Postgres the server's memory uses, and how to clean up.
type database struct {
	url     string
	cleanup func()
	what    string
	// another makes one more database on the same Postgres server (the
	// Mastra peer's), dropped by cleanup; with MEMORY_DATABASE_URL it is
	// that database again.
	another func(name string) (string, error)
}

// openDatabase picks MEMORY_DATABASE_URL as is, else a new database on
// TEST_DATABASE_URL's server, else a throwaway cluster in dir.
func openDatabase(dir string) (*database, error) {
	if u := os.Getenv("MEMORY_DATABASE_URL"); u != "" {
		same := func(string) (string, error) { return u, nil }
		return &database{url: u, cleanup: func() {}, what: "MEMORY_DATABASE_URL", another: same}, nil
	}
	name := fmt.Sprintf("mastra_bench_%d", os.Getpid())
	if admin := os.Getenv("TEST_DATABASE_URL"); admin != "" {
		u, err := pgtest.CreateDatabase(admin, name)
		if err != nil {
			return nil, err
		}
		d := &database{url: u, what: "new database on TEST_DATABASE_URL"}
		names := []string{name}
		d.cleanup = func() {
			for _, n := range names {
				_ = pgtest.DropDatabase(admin, n)
			}
		}
		d.another = func(n string) (string, error) {
			n = fmt.Sprintf("%s_%d", n, os.Getpid())
			u, err := pgtest.CreateDatabase(admin, n)
			if err == nil {
				names = append(names, n)
			}
			return u, err
		}
		return d, nil
	}
	c, err := pgtest.StartCluster(filepath.Join(dir, "pg"))
	if err != nil {
		return nil, err
	}
	u, err := pgtest.CreateDatabase(c.URL("postgres"), name)
	if err != nil {
		_ = c.Remove()
		return nil, err
	}
	return &database{url: u, cleanup: func() { _ = c.Remove() }, what: "throwaway cluster (internal/pgtest), unix socket",
		another: func(n string) (string, error) { return pgtest.CreateDatabase(c.URL("postgres"), n) }}, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serverConfig is what writeConfig puts in mastra.toml.
type serverConfig struct {
	port     int
	dbURL    string
	modelURL string
	cacheDir string
	plugins  []pluginEntry // [[middleware]] and [[routes]]
	logLevel string        // default warn
	// pprofAddr is [server] pprof_addr; empty leaves it out (so binaries
	// from before the key existed still start).
	pprofAddr string
}

type pluginEntry struct {
	kind   string // "middleware" or "routes"
	toml   string // the entry's keys, module path included
	module string
}

func toml(s string) string { return strconv.Quote(s) }

func writeConfig(path string, c serverConfig) error {
	if c.logLevel == "" {
		c.logLevel = "warn"
	}
	pprof := ""
	if c.pprofAddr != "" {
		pprof = "pprof_addr = " + toml(c.pprofAddr) + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[server]
host = "127.0.0.1"
port = %d
drain_timeout = "2s"
%s
[log]
level = %s

[memory]
database_url = %s
migrate = true

[agents.fast]
name = "Fast"
instructions = "You are a benchmark."
model = "openai/instant"
default = true

[agents.slow]
name = "Slow"
instructions = "You are a slow benchmark."
model = "openai/slow"

[providers.openai]
base_url = %s
api_key = "sk-bench"
max_retries = 0

[plugins]
cache_dir = %s
`, c.port, pprof, toml(c.logLevel), toml(c.dbURL), toml(c.modelURL), toml(c.cacheDir))
	for _, p := range c.plugins {
		fmt.Fprintf(&b, "\n[[%s]]\n%s\n", p.kind, p.toml)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// examplePlugins is the example set of examples/README.md, with the
// modules that are built; the rest are listed as missing.
func examplePlugins(root string) (have []pluginEntry, missing []string) {
	mod := func(rel string) string { return filepath.Join(root, rel) }
	all := []pluginEntry{
		{"middleware", `name = "powered-by"
path = "/*"
module = ` + toml(mod("examples/c-middleware/c-middleware.wasm")), mod("examples/c-middleware/c-middleware.wasm")},
		{"middleware", `name = "tenant"
path = "/*"
module = ` + toml(mod("plugins/header-context/header-context.wasm")) + `
[middleware.config.headers]
"X-Tenant-Id" = "tenant"`, mod("plugins/header-context/header-context.wasm")},
		{"middleware", `name = "auth"
path = "/api/*"
module = ` + toml(mod("plugins/bearer-auth/bearer-auth.wasm")) + `
env = ["MASTRA_API_TOKEN"]
[middleware.config]
token_env = "MASTRA_API_TOKEN"
user_key = "user"
user = "frontend"`, mod("plugins/bearer-auth/bearer-auth.wasm")},
		{"routes", `name = "hello"
method = "GET"
path = "/hello/:name"
module = ` + toml(mod("examples/hello-go/hello-go.wasm")) + `
agents = ["fast"]`, mod("examples/hello-go/hello-go.wasm")},
		{"routes", `name = "hello-as"
method = "ALL"
path = "/hello-as"
module = ` + toml(mod("examples/hello-as/hello-as.wasm")) + `
[routes.config]
context_key = "tenant"`, mod("examples/hello-as/hello-as.wasm")},
		helloWat(root),
	}
	for _, p := range all {
		if _, err := os.Stat(p.module); err != nil {
			missing = append(missing, p.module)
			continue
		}
		have = append(have, p)
	}
	return have, missing
}

func helloWat(root string) pluginEntry {
	m := filepath.Join(root, "examples/wat/hello.wasm")
	return pluginEntry{"routes", `name = "hello-wat"
method = "ALL"
path = "/hello-wat"
module = ` + toml(m), m}
}

// server is a running mastra-server process.
type server struct {
	cmd  *exec.Cmd
	pid  int
	base string
	done chan error
	log  string
	// pprof is the base URL of its profiler listener, "" when off.
	pprof string
}

// startServer execs bin with config and waits for GET /health = 200. It
// returns the time from exec to that answer.
func startServer(bin, config, logPath string, port int, timeout time.Duration) (*server, time.Duration, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(bin, "serve", "--config", config)
	cmd.Dir = filepath.Dir(config)
	cmd.Env = append(os.Environ(), "MASTRA_API_TOKEN=bench-token", "GOMAXPROCS="+os.Getenv("GOMAXPROCS"))
	if os.Getenv("GOMAXPROCS") == "" {
		cmd.Env = cmd.Env[:len(cmd.Env)-1]
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	return startCmd(cmd, logf, logPath, fmt.Sprintf("http://127.0.0.1:%d", port), "/health", timeout)
}

// startCmd starts cmd (its output already going to logf) and waits for
// GET base+readyPath = 200. It returns the time from exec to that answer.
func startCmd(cmd *exec.Cmd, logf *os.File, logPath, base, readyPath string, timeout time.Duration) (*server, time.Duration, error) {
	s := &server{base: base, done: make(chan error, 1), log: logPath}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, 0, err
	}
	s.cmd, s.pid = cmd, cmd.Process.Pid
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	deadline := start.Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := client.Get(s.base + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, time.Since(start), nil
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			b, _ := os.ReadFile(logPath)
			return nil, 0, fmt.Errorf("server exited before ready (%v):\n%s", err, b)
		case <-time.After(500 * time.Microsecond):
		}
	}
	s.stop()
	b, _ := os.ReadFile(logPath)
	return nil, 0, fmt.Errorf("server not ready after %s:\n%s", timeout, b)
}

// selfReported is the "startup_ms" the server logs with "mastra-server
// listening" (info level): its own time from main to listening, in ms.
func (s *server) selfReported() string {
	b, _ := os.ReadFile(s.log)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "mastra-server listening") {
			if i := strings.Index(line, "startup_ms="); i >= 0 {
				return strings.Fields(line[i+len("startup_ms="):])[0] + "ms"
			}
		}
	}
	return "?"
}

// stop sends SIGTERM and waits (then SIGKILL after 10 s).
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// waitCtx sleeps d or until ctx ends.
func waitCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
