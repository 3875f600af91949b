package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/config"
)

// wasmFrom compiles a WAT file with wat2wasm into the test's temp dir.
func wasmFrom(t *testing.T, wat string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(wat), ".wat")+".wasm")
	if b, err := exec.Command("wat2wasm", wat, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", wat, err, b)
	}
	return out
}

// startServer serves a config file made of toml and returns its base URL
// and its log.
func startServer(t *testing.T, toml string, env ...string) (base string, logs *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mastra.toml")
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(env, "MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "MASTRA_MEMORY__SQLITE_PATH="+filepath.Join(dir, "m.db"))
	cfg, err := config.Load(path, env)
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

// call sends one request and returns the status and at most 64 KiB of body.
func call(t *testing.T, method, url, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, string(b)
}

// F2: a route with buffer_response and a tool that write 64 MiB against a
// 1 MiB max_response answer 502 with a log line naming the plugin and the
// cap, and the server keeps serving.
func TestPluginResponseOverMaxResponse(t *testing.T) {
	big := strconv.Quote(wasmFrom(t, filepath.Join(repoRoot, "host/plugin/testdata/big.wat")))
	base, logs := startServer(t, `
[plugins]
max_response = "1MiB"
[[routes]]
name = "bigbuf"
method = "GET"
path = "/bigbuf"
module = `+big+`
timeout = "10s"
config = { m = 1 }
[[routes]]
name = "small"
method = "GET"
path = "/small"
module = `+big+`
config = { m = 1 }
[[tools]]
name = "bigtool"
description = "answers 64 MiB"
module = `+big+`
timeout = "10s"
config = { m = 0 }
`)
	for range 3 {
		if code, body := call(t, "GET", base+"/bigbuf", ""); code != 502 || body != `{"error":"plugin response too large"}`+"\n" {
			t.Errorf("GET /bigbuf = %d %.200q; want 502 plugin response too large", code, body)
		}
		code, body := call(t, "POST", base+"/api/tools/bigtool/execute", `{"data":{}}`, "Content-Type", "application/json")
		if code != 502 || !strings.Contains(body, `"error":"Tool response too large"`) {
			t.Errorf("POST /api/tools/bigtool/execute = %d %.200q; want 502 Tool response too large", code, body)
		}
	}
	for _, p := range []string{"bigbuf", "bigtool"} {
		if !strings.Contains(logs.String(), "plugin="+p) || !strings.Contains(logs.String(), "max_response=1048576") {
			t.Errorf("no log line naming plugin %s and max_response:\n%s", p, logs)
		}
	}
	if code, body := call(t, "GET", base+"/small", ""); code != 200 || body != "small" {
		t.Errorf("GET /small after = %d %q", code, body)
	}
	if code, _ := call(t, "GET", base+"/health", ""); code != 200 {
		t.Errorf("health after = %d", code)
	}
}
