// Package container tests the runtime image as an operator runs it: built by
// scripts/build-image.sh (buildah, nothing pulled), started with `buildah
// run` (chroot isolation, host network), and checked from outside over HTTP,
// through the healthcheck subcommand, the process table and Postgres.
package container

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

var repoRoot, _ = filepath.Abs("../..")

// image is built once for the package.
const image = "localhost/mastra-server:test"

// The image's user: distroless's "nonroot".
const uid = 65532

// drain is the server's drain timeout in these runs: SIGTERM must end the
// process, exit 0, within it.
const drain = 5 * time.Second

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the container image with buildah (scripts/test.sh --quick)")
	}
	// The script installs buildah when it is missing and prints the image
	// reference as its last line.
	build := exec.Command(filepath.Join(repoRoot, "scripts", "build-image.sh"), image)
	build.Dir = repoRoot
	var buildLog bytes.Buffer
	build.Stderr = &buildLog
	out, err := build.Output()
	if err != nil {
		t.Fatalf("scripts/build-image.sh: %v\n%s", err, buildLog.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if got := lines[len(lines)-1]; got != image {
		t.Fatalf("build-image.sh printed %q last; want the image reference %q", got, image)
	}
	t.Logf("%s", lastLine(buildLog.String())) // "built IMAGE (SIZE, revision …)"

	t.Run("config", func(t *testing.T) {
		raw, err := exec.Command("buildah", "inspect", "--type", "image", image).Output()
		if err != nil {
			t.Fatalf("buildah inspect: %v", err)
		}
		var img struct {
			Docker struct {
				Config struct {
					User         string
					ExposedPorts map[string]any
					Volumes      map[string]any
					WorkingDir   string
					Entrypoint   []string
					Cmd          []string
					Env          []string
					Healthcheck  *struct{ Test []string }
				} `json:"config"`
			}
		}
		if err := json.Unmarshal(raw, &img); err != nil {
			t.Fatal(err)
		}
		c := img.Docker.Config
		if c.User != "65532:65532" {
			t.Errorf("User = %q; want 65532:65532 (not root)", c.User)
		}
		if _, ok := c.ExposedPorts["4000"]; !ok {
			t.Errorf("ExposedPorts = %v; want 4000", c.ExposedPorts)
		}
		if _, ok := c.Volumes["/data"]; !ok {
			t.Errorf("Volumes = %v; want /data", c.Volumes)
		}
		if c.Healthcheck == nil || !reflect.DeepEqual(c.Healthcheck.Test, []string{"CMD", "/usr/local/bin/mastra-server", "healthcheck"}) {
			t.Errorf("Healthcheck = %+v; want CMD mastra-server healthcheck", c.Healthcheck)
		}
		if !reflect.DeepEqual(c.Entrypoint, []string{"/usr/local/bin/mastra-server"}) || !reflect.DeepEqual(c.Cmd, []string{"serve"}) {
			t.Errorf("Entrypoint, Cmd = %q %q; want mastra-server serve", c.Entrypoint, c.Cmd)
		}
		if !contains(c.Env, "MASTRA_MEMORY__SQLITE_PATH=/data/mastra.db") {
			t.Errorf("Env = %q; want the SQLite file under /data", c.Env)
		}
		if !contains(c.Env, "MASTRA_SERVER__METRICS__LISTEN=:9090") {
			t.Errorf("Env = %q; want /metrics on :9090, off the API's port", c.Env)
		}
	})

	ctr := strings.TrimSpace(run(t, "buildah", "from", image))
	t.Cleanup(func() { _ = exec.Command("buildah", "rm", ctr).Run() })

	if rev, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output(); err == nil {
		out, err := inContainer(ctr, nil, "version")
		if err != nil || !strings.Contains(out, strings.TrimSpace(string(rev))) {
			t.Errorf("mastra-server version = %v %q; want the revision %s", err, out, rev)
		}
	}

	t.Run("sqlite", func(t *testing.T) {
		s := start(t, ctr, nil)
		if s.database != "sqlite" {
			t.Errorf("database = %q; want sqlite", s.database)
		}
		if code, body := s.do(t, "GET", "/health", ""); code != 200 {
			t.Errorf("GET /health = %d %s", code, body)
		}
		if code, body := s.do(t, "POST", "/agent/generate", `{"message":"Hello","threadId":"t1","resourceId":"u1"}`); code != 200 ||
			!strings.Contains(body, `"text":"Echo: Hello"`) {
			t.Errorf("generate on the echo model = %d %s", code, body)
		}
		if code, body := s.do(t, "GET", "/threads/t1?resourceId=u1", ""); code != 200 || !strings.Contains(body, "Echo: Hello") {
			t.Errorf("the turn's thread = %d %s; want it saved", code, body)
		}
		if code, body := s.do(t, "GET", "/hello-wat", ""); code != 200 || body != `{"hello":"wasm","method":"GET"}` {
			t.Errorf("Wasm route /hello-wat = %d %s", code, body)
		}
		if code, body := s.do(t, "GET", "/hello/Ada", ""); code != 200 || !strings.Contains(body, "Echo: Say hello to Ada") {
			t.Errorf("Go Wasm route calling the agent = %d %s", code, body)
		}
		// mastra.toml guards Mastra's /api/* with the bearer-auth plugin,
		// which fails closed without MASTRA_API_TOKEN.
		if code, body := s.do(t, "GET", "/api/agents", ""); code != 401 {
			t.Errorf("GET /api/agents with MASTRA_API_TOKEN unset = %d %s; want 401", code, body)
		}
		// The SQLite file is in the /data volume (buildah run gives the
		// image's volume a fresh directory, as docker run does without -v:
		// seen through the process's root), written by the image's user.
		if st, err := os.Stat(s.path(t, "/data/mastra.db")); err != nil {
			t.Errorf("no SQLite file in the /data volume: %v", err)
		} else if owner := st.Sys().(*syscall.Stat_t).Uid; owner != uid {
			t.Errorf("mastra.db belongs to uid %d; want %d", owner, uid)
		}
		// The process runs as the image's user, not root.
		if ids := s.uids(t); ids != fmt.Sprintf("%d\t%d\t%d\t%d", uid, uid, uid, uid) {
			t.Errorf("server process Uid: %q; want %d for real, effective, saved and fs", ids, uid)
		}
		if out, err := inContainer(ctr, []string{"MASTRA_PORT=" + s.port}, "healthcheck"); err != nil {
			t.Errorf("healthcheck on the running server = %v %s; want exit 0", err, out)
		}
		s.stop(t)
		if out, err := inContainer(ctr, []string{"MASTRA_PORT=" + s.port}, "healthcheck"); exitCode(err) != 1 {
			t.Errorf("healthcheck with the server stopped = %v %s; want exit 1", err, out)
		}
	})

	t.Run("postgres", func(t *testing.T) {
		dbURL := pgtest.NewDatabase(t)
		s := start(t, ctr, []string{"MEMORY_DATABASE_URL=" + dbURL, "MASTRA_API_TOKEN=s3cret"})
		if s.database != "postgres" {
			t.Errorf("database = %q; want postgres", s.database)
		}
		if code, body := s.do(t, "POST", "/agent/generate", `{"message":"Stored?","threadId":"pg1","resourceId":"u1"}`); code != 200 ||
			!strings.Contains(body, `"text":"Echo: Stored?"`) {
			t.Errorf("generate on Postgres = %d %s", code, body)
		}
		if code, body := s.do(t, "GET", "/api/agents", ""); code != 401 {
			t.Errorf("GET /api/agents without the token = %d %s; want 401", code, body)
		}
		if code, body := s.do(t, "GET", "/api/agents", "", "Authorization", "Bearer s3cret"); code != 200 || !strings.Contains(body, `"assistant"`) {
			t.Errorf("GET /api/agents with the token = %d %s; want 200 listing the assistant", code, body)
		}
		db, err := sql.Open("pgx", dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM mastra_messages WHERE thread_id = 'pg1'`).Scan(&n); err != nil || n != 2 {
			t.Errorf("messages of thread pg1 in Postgres = %d (%v); want 2", n, err)
		}
		s.stop(t)
	})
}

// server is one `buildah run` of the image's server.
type server struct {
	cmd      *exec.Cmd
	port     string
	base     string
	database string // as the ready line says
	logs     *syncBuffer
	done     chan error
}

// start runs the server in ctr and waits for its ready line.
func start(t *testing.T, ctr string, env []string) *server {
	t.Helper()
	s := &server{port: freePort(t), logs: &syncBuffer{}, done: make(chan error, 1)}
	s.base = "http://127.0.0.1:" + s.port
	args := []string{"run", "--isolation", "chroot", "--network", "host"}
	// The host network: the metrics listener gets a free port too, not the
	// image's 9090, which another run may hold.
	for _, e := range append([]string{"MASTRA_PORT=" + s.port, "MASTRA_SERVER__DRAIN_TIMEOUT=" + drain.String(),
		"MASTRA_SERVER__METRICS__LISTEN=127.0.0.1:" + freePort(t)}, env...) {
		args = append(args, "-e", e)
		if dir := socketDir(e); dir != "" { // a unix-socket Postgres: its socket directory, at the same path
			args = append(args, "-v", dir+":"+dir)
		}
	}
	s.cmd = exec.Command("buildah", append(args, ctr, "/usr/local/bin/mastra-server", "serve")...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("buildah run: %v", err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.logs.Write([]byte(line + "\n"))
			if strings.Contains(line, "mastra-server listening") {
				ready <- line
			}
		}
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil { // a failed check left it running
			if pid, err := s.pid(); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case line := <-ready:
		_, rest, _ := strings.Cut(line, "database=")
		s.database, _, _ = strings.Cut(rest, " ")
		t.Logf("%s", line)
	case err := <-s.done:
		t.Fatalf("server exited before it was ready: %v\n%s", err, s.logs)
	case <-time.After(2 * time.Minute):
		t.Fatalf("server not ready after 2 minutes:\n%s", s.logs)
	}
	return s
}

func (s *server) do(t *testing.T, method, path, body string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// pid finds the server among the descendants of `buildah run`: the process
// a container runtime sends its stop signal to.
func (s *server) pid() (int, error) {
	parents := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parents[ppid] = append(parents[ppid], pid)
	}
	queue := []int{s.cmd.Process.Pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p)); err == nil && filepath.Base(exe) == "mastra-server" {
			return p, nil
		}
		queue = append(queue, parents[p]...)
	}
	return 0, errors.New("no mastra-server process under buildah run")
}

// path is where a path inside the container is seen from the host while
// the server runs.
func (s *server) path(t *testing.T, p string) string {
	t.Helper()
	pid, err := s.pid()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/proc/%d/root%s", pid, p)
}

// uids is the Uid line of the server process's status: real, effective,
// saved, filesystem.
func (s *server) uids(t *testing.T) string {
	t.Helper()
	pid, err := s.pid()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no Uid line in /proc/pid/status")
	return ""
}

// stop sends SIGTERM to the server, as `docker stop` does, and wants exit 0
// within the drain time.
func (s *server) stop(t *testing.T) {
	t.Helper()
	pid, err := s.pid()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; want 0\n%s", err, s.logs)
		}
		if !strings.Contains(s.logs.String(), "mastra-server stopped") {
			t.Errorf("no 'mastra-server stopped' line after SIGTERM:\n%s", s.logs)
		}
	case <-time.After(drain):
		t.Fatalf("still running after SIGTERM past the drain timeout (%s)\n%s", drain, s.logs)
	}
}

// inContainer runs one mastra-server subcommand in ctr, as a HEALTHCHECK does.
func inContainer(ctr string, env []string, args ...string) (string, error) {
	a := []string{"run", "--isolation", "chroot", "--network", "host"}
	for _, e := range env {
		a = append(a, "-e", e)
	}
	out, err := exec.Command("buildah", append(append(a, ctr, "/usr/local/bin/mastra-server"), args...)...).CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// socketDir is the unix-socket directory of a Postgres URL in an
// environment entry, or "".
func socketDir(env string) string {
	_, v, _ := strings.Cut(env, "=")
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return ""
	}
	if h := u.Query().Get("host"); strings.HasPrefix(h, "/") {
		return h
	}
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// syncBuffer collects the server's output from two goroutines.
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
