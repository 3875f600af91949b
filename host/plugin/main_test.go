package plugin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtureDir holds testdata/*.wat compiled by TestMain with wat2wasm (Debian
// package wabt). A missing wat2wasm fails the run: the fixtures are the test.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plugin-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := buildFixtures(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building WAT fixtures:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildFixtures(dir string) error {
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		return fmt.Errorf("wat2wasm not found (apt-get install wabt): %w", err)
	}
	wats, err := filepath.Glob("testdata/*.wat")
	if err != nil || len(wats) == 0 {
		return fmt.Errorf("no testdata/*.wat (%v)", err)
	}
	for _, wat := range wats {
		if err := wat2wasm(tool, wat, filepath.Join(dir, strings.TrimSuffix(filepath.Base(wat), ".wat")+".wasm")); err != nil {
			return err
		}
	}
	return nil
}

func wat2wasm(tool, wat, out string) error {
	cmd := exec.Command(tool, wat, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", wat, err, b)
	}
	return nil
}

// fixture returns the path of a compiled fixture, e.g. fixture("auth").
func fixture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(fixtureDir, name+".wasm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return p
}

// copyFixture copies a fixture to a path the test may overwrite.
func copyFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "plugin.wasm")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newHost returns a Host closed at the end of the test, and its log.
func newHost(t testing.TB, cfg Config) (*Host, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Host.Close: %v", err)
		}
	})
	return h, logs
}

func load(t testing.TB, h *Host, spec Spec) *Plugin {
	t.Helper()
	p, err := h.Load(context.Background(), limited(spec))
	if err != nil {
		t.Fatalf("Load(%s): %v", spec.Name, err)
	}
	return p
}

// limited fills the limits a test leaves zero, which Load requires, with
// mastra.toml's [plugins] values (the test's own values win).
func limited(s Spec) Spec {
	if s.Timeout == 0 {
		s.Timeout = 100 * time.Millisecond
	}
	if s.MemoryLimit == 0 {
		s.MemoryLimit = 64 << 20
	}
	if s.MaxInstances == 0 {
		s.MaxInstances = 16
	}
	if s.MaxResponse == 0 {
		s.MaxResponse = 16 << 20
	}
	if s.KVMaxKeys == 0 {
		s.KVMaxKeys = 1000
	}
	if s.KVMaxBytes == 0 {
		s.KVMaxBytes = 10 << 20
	}
	return s
}

// do serves one request through h and returns the recorded response.
func do(h http.Handler, method, target string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func wantResponse(t testing.TB, w *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body {
		t.Fatalf("response = %d %q; want %d %q", w.Code, w.Body.String(), status, body)
	}
}
