package main

import (
	"context"
	"encoding/json"
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

// threadTexts reads a thread through GET /threads/:id and returns its
// messages' texts; ok is false when the thread is not found for the caller.
func threadTexts(t *testing.T, url string, headers ...string) (texts []string, ok bool) {
	t.Helper()
	code, body := call(t, "GET", url, "", headers...)
	if code == 404 {
		return nil, false
	}
	var th struct {
		Messages []struct {
			Content struct {
				Content string `json:"content"`
			} `json:"content"`
		} `json:"messages"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &th) != nil {
		t.Fatalf("GET %s = %d %.300s", url, code, body)
	}
	for _, m := range th.Messages {
		texts = append(texts, m.Content.Content)
	}
	return texts, true
}

// F4: a plugin's agent call is bound to the request's scoped resource as an
// HTTP route is: a tenant cannot read or write another tenant's thread
// through a plugin that forwards the client's threadId and resourceId.
// Without a scope, each plugin route has its own default resource.
func TestPluginAgentCallsAreScoped(t *testing.T) {
	fwd := strconv.Quote(wasmFrom(t, "testdata/agentfwd.wat"))
	base, _ := startServer(t, `
[server.auth]
enabled = true
protected = ["/api/*", "/agent/*", "/plug/*"]
`+twoTenantTokens+`
[[routes]]
name = "agentfwd"
method = "POST"
path = "/plug/agent"
module = `+fwd+`
agents = ["assistant"]
[[routes]]
name = "open2"
method = "POST"
path = "/open/agent2"
module = `+fwd+`
agents = ["assistant"]
[[routes]]
name = "open3"
method = "POST"
path = "/open/agent3"
module = `+fwd+`
agents = ["assistant"]
`, tenantEnv...)
	A, B := asTenantA, asTenantB

	// B's private thread, made through the built-in route.
	if code, body := call(t, "POST", base+"/agent/generate", `{"message":"bob private: salary is 123k","threadId":"tb-plug"}`, B...); code != 200 {
		t.Fatalf("B generate = %d %s", code, body)
	}
	// A names B's thread and B's resource through the plugin.
	code, body := call(t, "POST", base+"/plug/agent", `{"threadId":"tb-plug","resourceId":"tenant-b"}`, A...)
	if code != 200 || !strings.Contains(body, "not found") {
		t.Errorf("A through the plugin on B's thread = %d %q; want the agent's not-found error", code, body)
	}
	if texts, _ := threadTexts(t, base+"/threads/tb-plug", B...); len(texts) != 2 {
		t.Errorf("B's thread after A's attempt = %q; want B's 2 messages only", texts)
	}

	// A thread A starts through the plugin is A's: B cannot continue it.
	if code, body := call(t, "POST", base+"/plug/agent", `{"threadId":"plug-shared"}`, A...); code != 200 || !strings.HasPrefix(body, "Echo: plugin asks") {
		t.Fatalf("A through the plugin = %d %q", code, body)
	}
	if code, body := call(t, "POST", base+"/plug/agent", `{"threadId":"plug-shared"}`, B...); !strings.Contains(body, "not found") {
		t.Errorf("B through the plugin on A's thread = %d %q; want the agent's not-found error", code, body)
	}
	if texts, ok := threadTexts(t, base+"/threads/plug-shared", A...); !ok || len(texts) != 2 {
		t.Errorf("A's plugin thread = %q (found %v); want A's 2 messages, under tenant-a", texts, ok)
	}
	if _, ok := threadTexts(t, base+"/threads/plug-shared", B...); ok {
		t.Error("B reads A's plugin thread")
	}

	// No scope: each route has its own resource, and a guest may name one.
	if code, body := call(t, "POST", base+"/open/agent2", `{"threadId":"open-t"}`); code != 200 || !strings.HasPrefix(body, "Echo:") {
		t.Fatalf("open2 = %d %q", code, body)
	}
	if _, body := call(t, "POST", base+"/open/agent3", `{"threadId":"open-t"}`); !strings.Contains(body, "not found") {
		t.Errorf("open3 on open2's thread = %q; want not found", body)
	}
	if texts, ok := threadTexts(t, base+"/threads/open-t?resourceId=plugin:open2"); !ok || len(texts) != 2 {
		t.Errorf("open2's thread under plugin:open2 = %q (found %v); want 2 messages", texts, ok)
	}
	if code, body := call(t, "POST", base+"/open/agent2", `{"threadId":"own-t","resourceId":"custom"}`); code != 200 || !strings.HasPrefix(body, "Echo:") {
		t.Fatalf("open2 with a resourceId = %d %q", code, body)
	}
	if texts, ok := threadTexts(t, base+"/threads/own-t?resourceId=custom"); !ok || len(texts) != 2 {
		t.Errorf("thread under the guest's resourceId = %q (found %v); want 2 messages", texts, ok)
	}
}
