// Package cluster runs mastra-server binaries on one Postgres.
//
// TestBalancedCluster runs examples/cluster (three instances behind
// HAProxy, started by its run.sh) as a user would. TestKilledInstance kills
// one with SIGKILL in the middle of a workflow run: the run must finish on
// the instance that is left, once the dead instance's lease has expired
// (about 13 s). It builds and starts three servers, so it runs only with
// MASTRA_CLUSTER_TEST=1 (README "Workflows").
// TestMCPSessionSurvivesKilledInstance (mcp_killed_test.go) runs one MCP
// client session through HAProxy over two instances and kills one with
// SIGKILL mid-run: no call may fail (skipped under -short only).
package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fakeModel is an OpenAI-compatible chat endpoint per instance
// (/<name>/v1): it tells which instance ran an agent step, and holds the
// first call while hold is set, until the caller goes away.
type fakeModel struct {
	hold  atomic.Bool
	mu    sync.Mutex
	calls []string // instance names, in order
	began chan string
	stop  chan struct{} // closed at the end: releases a held call
}

func (f *fakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
	select {
	case f.began <- name:
	default:
	}
	if f.hold.CompareAndSwap(true, false) {
		select { // until the instance dies
		case <-r.Context().Done():
		case <-f.stop:
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"gpt-test","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2},`+
		`"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"a draft by `+name+`"}}]}`)
}

type instance struct {
	name string
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

var listening = regexp.MustCompile(`mastra-server listening.*addr=([0-9.]+:[0-9]+)`)

func start(t *testing.T, bin, dir, name, dbURL, modelURL string) *instance {
	t.Helper()
	cfg := fmt.Sprintf(`[server]
host = "127.0.0.1"
port = 0
[memory]
database_url = %q
[agents.writer]
name = "Writer"
model = "openai/gpt-test"
[providers.openai]
base_url = "%s/%s/v1"
[workflows.relay]
step_timeout = "3s"
[[workflows.relay.steps]]
id = "draft"
agent = "writer"
prompt = "Write about ${input.topic}."
[[workflows.relay.steps]]
id = "wait"
sleep = "3s"
[[workflows.relay.steps]]
id = "done"
map = '{"text": steps.draft.text}'
`, dbURL, modelURL, name)
	path := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "OPENAI_API_KEY=sk-test"}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(in.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-in.done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s's log:\n%s", name, b)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if m := listening.FindSubmatch(b); m != nil {
			in.url = "http://" + string(m[1])
			return in
		}
		select {
		case <-in.done:
			t.Fatalf("%s exited at start:\n%s", name, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not listen within 20 s", name)
	return nil
}

// kill ends the instance with SIGKILL: no drain, no lease given back.
func (in *instance) kill(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-in.done
}

func post(t *testing.T, url, body string) map[string]any {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if res.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("POST %s = %d %s", url, res.StatusCode, b)
	}
	return out
}

// observe reads the run's stream on in until a chunk of type until (or
// the end of the stream) and returns the chunk types read.
func observe(t *testing.T, ctx context.Context, in *instance, runID, until string) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", in.url+"/api/workflows/relay/observe?runId="+runID, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("observe on %s: %v", in.name, err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	var types []string
	for {
		rec, err := rd.ReadString('\x1e')
		var c struct{ Type string }
		if json.Unmarshal([]byte(strings.TrimSuffix(rec, "\x1e")), &c) == nil && c.Type != "" {
			types = append(types, c.Type)
			if c.Type == until {
				return types
			}
		}
		if err != nil {
			return types
		}
	}
}

// finish waits on survivor for the run's end and checks its result: the
// draft written by who.
func finish(t *testing.T, survivor *instance, runID, who string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	types := observe(t, ctx, survivor, runID, "workflow-finish")
	if len(types) == 0 || types[len(types)-1] != "workflow-finish" {
		t.Fatalf("the run's stream on %s ended without workflow-finish: %v (%v)", survivor.name, types, ctx.Err())
	}
	res, err := http.Get(survivor.url + "/api/workflows/relay/runs/" + runID)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var run struct {
		Status string
		Result map[string]any
	}
	if err := json.NewDecoder(res.Body).Decode(&run); err != nil {
		t.Fatal(err)
	}
	if run.Status != "success" || run.Result["text"] != "a draft by "+who {
		t.Fatalf("run %s on %s: %s %v; want success with the draft by %s", runID, survivor.name, run.Status, run.Result, who)
	}
}

// buildServer builds the server binary into dir.
func buildServer(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "mastra-server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mastra-server")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestKilledInstance(t *testing.T) {
	if os.Getenv("MASTRA_CLUSTER_TEST") != "1" {
		t.Skip("set MASTRA_CLUSTER_TEST=1: waits for a dead instance's lease to expire")
	}
	dir := t.TempDir()
	bin := buildServer(t, dir)
	dbURL := pgtest.NewDatabase(t)
	model := &fakeModel{began: make(chan string, 16), stop: make(chan struct{})}
	fake := httptest.NewServer(model)
	t.Cleanup(func() { close(model.stop); fake.Close() })

	insts := map[string]*instance{}
	for _, n := range []string{"one", "two"} {
		insts[n] = start(t, bin, dir, n, dbURL, fake.URL)
	}
	other := func(name string) *instance {
		for n, in := range insts {
			if n != name {
				return in
			}
		}
		return nil
	}
	began := func(within time.Duration) string {
		t.Helper()
		select {
		case n := <-model.began:
			return n
		case <-time.After(within):
			model.mu.Lock()
			defer model.mu.Unlock()
			t.Fatalf("no instance ran the draft step within %s (model calls: %v)", within, model.calls)
			return ""
		}
	}

	t.Run("killed during a step", func(t *testing.T) {
		model.hold.Store(true)
		run := post(t, insts["one"].url+"/api/workflows/relay/create-run", "")["runId"].(string)
		post(t, insts["one"].url+"/api/workflows/relay/start?runId="+run, `{"inputData":{"topic":"rescue"}}`)
		victim := began(20 * time.Second) // holds the step (the fake model holds its call)
		insts[victim].kill(t)
		killed := time.Now()
		survivor := other(victim)
		delete(insts, victim)
		// The survivor queues the step again once the victim's instance
		// lease (10 s) has expired, at its next check (every ~3 s).
		if n := began(90 * time.Second); n != survivor.name {
			t.Fatalf("the draft step ran again on %s; want the survivor %s", n, survivor.name)
		}
		t.Logf("the step ran again %s after the kill", time.Since(killed).Round(100*time.Millisecond))
		finish(t, survivor, run, survivor.name)
	})

	t.Run("killed during a sleep", func(t *testing.T) {
		// A fresh second instance beside the survivor.
		insts["three"] = start(t, bin, dir, "three", dbURL, fake.URL)
		var first *instance
		for _, in := range insts {
			first = in
		}
		run := post(t, first.url+"/api/workflows/relay/create-run", "")["runId"].(string)
		post(t, first.url+"/api/workflows/relay/start?runId="+run, `{"inputData":{"topic":"sleep"}}`)
		writer := began(20 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		types := observe(t, ctx, first, run, "workflow-step-waiting")
		cancel()
		if len(types) == 0 || types[len(types)-1] != "workflow-step-waiting" {
			t.Fatalf("the run never reached its sleep: %v", types)
		}
		// Kill the instance that wrote the draft (and queued the sleep).
		insts[writer].kill(t)
		survivor := other(writer)
		finish(t, survivor, run, writer)
	})
}
