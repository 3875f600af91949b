package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// The tenants' tokens the cluster test gives examples/cluster/run.sh.
const (
	tokenA = "cluster-token-a"
	tokenB = "cluster-token-b"
)

// balanced is examples/cluster/run.sh running: three instances on one
// Postgres behind HAProxy, each under the script's restart loop.
type balanced struct {
	url   string            // the balancer
	ports map[string]string // instance name → port
	run   string            // CLUSTER_RUN_DIR
	env   []string
	done  chan struct{}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startBalanced starts run.sh with the server binary bin on database dbURL
// and the OpenAI-compatible model at modelURL, and waits until it is ready.
func startBalanced(t testing.TB, bin, dbURL, modelURL string) *balanced {
	t.Helper()
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy is not installed: run scripts/install-haproxy.sh (scripts/test.sh does)")
	}
	c := &balanced{run: t.TempDir(), ports: map[string]string{}, done: make(chan struct{})}
	port := freePort(t)
	ports := []string{freePort(t), freePort(t), freePort(t)}
	for i, n := range []string{"a", "b", "c"} {
		c.ports[n] = ports[i]
	}
	c.url = "http://127.0.0.1:" + port
	c.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + c.run,
		"CLUSTER_RUN_DIR=" + c.run, "CLUSTER_PORT=" + port, "CLUSTER_STATS_PORT=" + freePort(t),
		"CLUSTER_INSTANCE_PORTS=" + strings.Join(ports, " "),
		"CLUSTER_TOKEN_A=" + tokenA, "CLUSTER_TOKEN_B=" + tokenB,
		"MASTRA_SERVER_BIN=" + bin, "MEMORY_DATABASE_URL=" + dbURL,
		"MASTRA_MODEL=openai/gpt-test", "OPENAI_BASE_URL=" + modelURL, "OPENAI_API_KEY=sk-test",
	}
	// The stream log's settings pass through (BenchmarkReconnect with
	// another flush interval, say).
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MASTRA_SERVER__STREAMS__") {
			c.env = append(c.env, kv)
		}
	}
	logPath := filepath.Join(c.run, "run.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "../../examples/cluster/run.sh")
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); logFile.Close(); close(c.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // run.sh stops its instances and HAProxy
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
		if t.Failed() {
			for _, n := range []string{"run", "a", "b", "c", "haproxy"} {
				b, _ := os.ReadFile(filepath.Join(c.run, n+".log"))
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("%s.log (end):\n%s", n, b)
			}
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "cluster: ready") {
			return c
		}
		select {
		case <-c.done:
			t.Fatalf("run.sh ended at start:\n%s", b)
		case <-time.After(100 * time.Millisecond):
		}
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("the cluster was not ready within 90 s:\n%s", b)
	return nil
}

// pid is the process id of instance name's current process.
func (c *balanced) pid(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.run, name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s.pid: %v", name, err)
	}
	return pid
}

func (c *balanced) instanceURL(name string) string { return "http://127.0.0.1:" + c.ports[name] }

// do sends one request with token and returns the status and body.
func do(t testing.TB, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// streamResult is what a client of /agent/stream saw.
type streamResult struct {
	status int
	runID  string // X-Run-Id
	thread string // X-Thread-Id
	lastID string // the id of the last event read
	text   string // the text-delta chunks, joined
	types  []string
	done   bool  // the stream ended with data: [DONE]
	err    error // the connection failed before [DONE]
}

// finishReason is the reason of the stream's finish chunk, if it had one.
func (r streamResult) ended(reason string) bool {
	return slices.Contains(r.types, "finish:"+reason)
}

// streamReq says what readStream sends and when it goes away.
type streamReq struct {
	message   string
	resumable bool
	started   chan<- struct{} // gets a value at the first text-delta
	cutAfter  int             // >0: close the connection after this many text-deltas
}

// readStream sends one /agent/stream request with token and reads it to
// its end (or its cut).
func readStream(ctx context.Context, url, token string, q streamReq) streamResult {
	body, _ := json.Marshal(map[string]any{"message": q.message, "resumable": q.resumable})
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/agent/stream", strings.NewReader(string(body)))
	if err != nil {
		return streamResult{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return readEvents(req, q.started, q.cutAfter)
}

// resumeStream reconnects to run runID after the event lastID.
func resumeStream(ctx context.Context, url, token, runID, lastID string) streamResult {
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/agent/stream/"+runID, nil)
	if err != nil {
		return streamResult{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Last-Event-ID", lastID)
	return readEvents(req, nil, 0)
}

func readEvents(req *http.Request, started chan<- struct{}, cutAfter int) streamResult {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return streamResult{err: err}
	}
	defer res.Body.Close()
	out := streamResult{status: res.StatusCode, runID: res.Header.Get("X-Run-Id"), thread: res.Header.Get("X-Thread-Id")}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		out.err = fmt.Errorf("status %d: %s", res.StatusCode, b)
		return out
	}
	sc := bufio.NewScanner(res.Body)
	var text strings.Builder
	deltas := 0
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			out.lastID = id
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			out.done = true
			break
		}
		var c struct {
			Type    string
			Payload struct {
				Text       string
				StepResult struct{ Reason string }
			}
		}
		if json.Unmarshal([]byte(data), &c) != nil {
			continue
		}
		typ := c.Type
		if typ == "finish" {
			typ += ":" + c.Payload.StepResult.Reason
		}
		out.types = append(out.types, typ)
		if c.Type == "text-delta" {
			if deltas == 0 && started != nil {
				started <- struct{}{}
			}
			deltas++
			text.WriteString(c.Payload.Text)
			if cutAfter > 0 && deltas == cutAfter {
				break // the client goes away
			}
		}
	}
	out.text = text.String()
	if !out.done {
		out.err = fmt.Errorf("stream ended without [DONE] (%v) after %q", sc.Err(), out.text)
	}
	return out
}

// messagesOf is the number of messages of role in thread, read through url
// (0 when the thread was never saved).
func messagesOf(t *testing.T, url, token, thread, role string) int {
	t.Helper()
	code, body := do(t, "GET", url+"/api/memory/threads/"+thread+"/messages?agentId=assistant", token, "")
	if code == 404 {
		return 0
	}
	if code != 200 {
		t.Fatalf("messages of %s = %d %s", thread, code, body)
	}
	var out struct{ Messages []struct{ Role string } }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range out.Messages {
		if m.Role == role {
			n++
		}
	}
	return n
}

// TestBalancedCluster runs examples/cluster as a user would: three
// instances behind HAProxy, and checks what a client of the balancer sees
// when instances restart or die.
func TestBalancedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs three servers behind HAProxy (scripts/test.sh --quick)")
	}
	dir := t.TempDir()
	bin := buildServer(t, dir)
	dbURL := pgtest.NewDatabase(t)
	const reply = "one two three four five"
	var hold atomic.Pointer[chan struct{}] // when set, streams wait after their first word
	model := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply {
		r := llmtest.Reply{Text: reply}
		if h := hold.Load(); h != nil {
			r.HoldAfterFirstToken = *h
		}
		return r
	})
	c := startBalanced(t, bin, dbURL, model.URL)

	t.Run("plugins, tools and the key-value store are the same on every instance", func(t *testing.T) {
		if code, body := do(t, "PUT", c.url+"/notes/plan", tokenA, "ship it"); code != 204 {
			t.Fatalf("PUT /notes/plan through the balancer = %d %s", code, body)
		}
		for _, n := range []string{"a", "b", "c"} {
			if code, body := do(t, "GET", c.instanceURL(n)+"/notes/plan", tokenA, ""); code != 200 || body != "ship it" {
				t.Errorf("tenant A's note on instance %s = %d %q; want 200 \"ship it\"", n, code, body)
			}
			if code, body := do(t, "GET", c.instanceURL(n)+"/notes/plan", tokenB, ""); code != 404 {
				t.Errorf("tenant B reading tenant A's note on instance %s = %d %q; want 404", n, code, body)
			}
			code, body := do(t, "POST", c.instanceURL(n)+"/api/tools/calc/execute", tokenA, `{"data":{"a":6,"b":7,"op":"multiply"}}`)
			if code != 200 || !strings.Contains(body, `"result":42`) {
				t.Errorf("calc tool on instance %s = %d %s; want result 42", n, code, body)
			}
		}
		// A thread written through one instance is read through the others.
		code, body := do(t, "POST", c.instanceURL("a")+"/agent/generate", tokenA, `{"message":"hello"}`)
		var gen struct{ ThreadID string }
		if code != 200 || json.Unmarshal([]byte(body), &gen) != nil || gen.ThreadID == "" {
			t.Fatalf("generate on instance a = %d %s", code, body)
		}
		for _, n := range []string{"b", "c"} {
			code, body := do(t, "GET", c.instanceURL(n)+"/api/memory/threads/"+gen.ThreadID+"/messages?agentId=assistant", tokenA, "")
			if code != 200 || !strings.Contains(body, reply) {
				t.Errorf("the thread's messages on instance %s = %d %s; want the reply", n, code, body)
			}
		}
	})

	t.Run("a rolling restart under load fails no request", func(t *testing.T) {
		before := map[string]int{}
		for _, n := range []string{"a", "b", "c"} {
			before[n] = c.pid(t, n)
		}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		var generated, streamed atomic.Int64
		fail := func(s string) {
			mu.Lock()
			failures = append(failures, s)
			mu.Unlock()
		}
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for ctx.Err() == nil {
					if w%2 == 0 {
						r := readStream(context.Background(), c.url, tokenA, streamReq{message: "rolling"})
						if r.err != nil || r.text != reply {
							fail(fmt.Sprintf("stream: %v (text %q)", r.err, r.text))
						} else {
							streamed.Add(1)
						}
						continue
					}
					code, body := do(t, "POST", c.url+"/agent/generate", tokenB, `{"message":"rolling"}`)
					if code != 200 || !strings.Contains(body, reply) {
						fail(fmt.Sprintf("generate: %d %s", code, body))
					} else {
						generated.Add(1)
					}
				}
			}(w)
		}
		restart := exec.Command("bash", "../../examples/cluster/run.sh", "rolling-restart")
		restart.Env = c.env
		out, err := restart.CombinedOutput()
		stop()
		wg.Wait()
		if err != nil {
			t.Fatalf("run.sh rolling-restart: %v\n%s", err, out)
		}
		for _, n := range []string{"a", "b", "c"} {
			if c.pid(t, n) == before[n] {
				t.Errorf("instance %s was not restarted (pid %d)", n, before[n])
			}
		}
		t.Logf("during the rolling restart: %d generates and %d streams answered", generated.Load(), streamed.Load())
		if len(failures) > 0 {
			t.Fatalf("%d requests failed during the rolling restart, first: %s", len(failures), failures[0])
		}
		if generated.Load() == 0 || streamed.Load() == 0 {
			t.Fatalf("no traffic went through during the restart (%d generates, %d streams)", generated.Load(), streamed.Load())
		}
	})

	t.Run("a stream cut mid-way resumes through the balancer", func(t *testing.T) {
		// Cut after each of the first four words; the reconnect goes
		// through the balancer, so usually to another instance.
		for cut := 1; cut <= 4; cut++ {
			first := readStream(context.Background(), c.url, tokenA, streamReq{message: "resume me", resumable: true, cutAfter: cut})
			if first.runID == "" || first.lastID == "" || first.done {
				t.Fatalf("cut after %d words: run %q, last id %q, done %v", cut, first.runID, first.lastID, first.done)
			}
			rest := resumeStream(context.Background(), c.url, tokenA, first.runID, first.lastID)
			if rest.err != nil {
				t.Fatalf("cut after %d words, reconnect: %v", cut, rest.err)
			}
			if got := first.text + rest.text; got != reply || !rest.ended("stop") {
				t.Fatalf("cut after %d words: %q + %q (%v); want %q and finish stop", cut, first.text, rest.text, rest.types, reply)
			}
			if n := messagesOf(t, c.url, tokenA, first.thread, "assistant"); n != 1 {
				t.Fatalf("cut after %d words: the turn saved %d times; want once", cut, n)
			}
		}
		// Another tenant cannot follow it.
		r := readStream(context.Background(), c.url, tokenA, streamReq{message: "mine", resumable: true, cutAfter: 1})
		if other := resumeStream(context.Background(), c.url, tokenB, r.runID, r.lastID); other.status != 404 {
			t.Fatalf("tenant B reconnecting to tenant A's run = %d; want 404", other.status)
		}
	})

	t.Run("kill -9 of an instance fails only its own streams, and its clients get the error end", func(t *testing.T) {
		release := make(chan struct{})
		hold.Store(&release)
		defer hold.Store(nil)
		// Six resumable streams, two on each instance (round robin), each
		// held after its first word.
		const n = 6
		results := make(chan streamResult, n)
		started := make(chan struct{}, n)
		for i := 0; i < n; i++ {
			go func() {
				results <- readStream(context.Background(), c.url, tokenA, streamReq{message: "held", resumable: true, started: started})
			}()
			<-started // in order, so that the balancer's round robin spreads them
		}
		victim := c.pid(t, "b")
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		// New requests keep working while b is dead or restarting.
		for i := 0; i < 3; i++ {
			if code, body := do(t, "GET", c.url+"/api/agents", tokenA, ""); code != 200 {
				t.Errorf("GET /api/agents after the kill = %d %s", code, body)
			}
		}
		close(release)
		var complete, cut []streamResult
		for i := 0; i < n; i++ {
			r := <-results
			switch {
			case r.err == nil && r.text == reply && r.ended("stop"):
				complete = append(complete, r)
			case r.err != nil && r.status == 200 && strings.HasPrefix(reply, r.text):
				cut = append(cut, r) // the killed instance's stream: its connection ended
			default:
				t.Errorf("stream: %v, text %q, chunks %v", r.err, r.text, r.types)
			}
		}
		if len(complete) != 4 || len(cut) != 2 {
			t.Fatalf("after kill -9 of one of three instances: %d streams complete, %d cut; want 4 and 2", len(complete), len(cut))
		}
		// The dead instance's clients reconnect through the balancer: once
		// its lease runs out they get the error end, and nothing was saved.
		for _, r := range cut {
			rest := resumeStream(context.Background(), c.url, tokenA, r.runID, r.lastID)
			t.Logf("kill -9 → the error end on reconnect: %s (lease %s)", time.Since(killed).Round(time.Millisecond), "6s")
			if rest.err != nil || !slices.Contains(rest.types, "error") || !rest.ended("error") {
				t.Fatalf("reconnect to the dead instance's run: %v, chunks %v; want error, finish(error), [DONE]", rest.err, rest.types)
			}
			if n := messagesOf(t, c.url, tokenA, r.thread, "assistant"); n != 0 {
				t.Fatalf("the dead instance's turn saved %d answers; want none", n)
			}
		}
	})
}

// BenchmarkReconnect measures what a client whose connection dropped waits
// for: from closing the connection after the third word of a resumable
// stream (a model at 100 words/s) to the first chunk of its reconnect
// through the balancer, which lands on any instance.
//
//	go test ./tests/cluster -run '^$' -bench Reconnect -benchtime 50x
//
// The wait is about one server.streams.flush_interval: a follower reads
// only what the runner has logged. MASTRA_SERVER__STREAMS__FLUSH_INTERVAL
// in the environment sets it for the cluster.
func BenchmarkReconnect(b *testing.B) {
	dir := b.TempDir()
	bin := buildServer(b, dir)
	dbURL := pgtest.NewDatabase(b)
	gate := make(chan struct{})
	tick := time.NewTicker(10 * time.Millisecond)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				select {
				case gate <- struct{}{}:
				default:
				}
			}
		}
	}()
	words := strings.TrimSpace(strings.Repeat("word ", 40))
	model := llmtest.NewServer(b, func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Text: words, Gate: gate} })
	c := startBalanced(b, bin, dbURL, model.URL)
	var waits []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		first := readStream(context.Background(), c.url, tokenA, streamReq{message: "reconnect", resumable: true, cutAfter: 3})
		if first.runID == "" || first.lastID == "" {
			b.Fatalf("no run id or event id before the cut: %+v", first)
		}
		cut := time.Now()
		req, _ := http.NewRequest("GET", c.url+"/agent/stream/"+first.runID, nil)
		req.Header.Set("Authorization", "Bearer "+tokenA)
		req.Header.Set("Last-Event-ID", first.lastID)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("reconnect: %v %v", err, res)
		}
		sc := bufio.NewScanner(res.Body)
		var waited time.Duration
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				if waited == 0 {
					waited = time.Since(cut)
				}
				if sc.Text() == "data: [DONE]" {
					break
				}
			}
		}
		res.Body.Close()
		waits = append(waits, waited)
	}
	b.StopTimer()
	slices.Sort(waits)
	b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "ms-p50-cut-to-first-chunk")
	b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1000, "ms-p99-cut-to-first-chunk")
}
