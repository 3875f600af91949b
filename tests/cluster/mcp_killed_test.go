package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// The MCP server of both instances: an agent and a workflow on the echo
// model, and the AssemblyScript calc tool (examples/calc-tool).
const mcpClusterConfig = `[server]
host = "127.0.0.1"
port = %[1]s
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "MCP_TOKEN_A"
user = "a"
resource_id = "tenant-a"
[[server.auth.tokens]]
env = "MCP_TOKEN_B"
user = "b"
resource_id = "tenant-b"
[memory]
database_url = %[2]q
[agents.assistant]
model = "echo"
description = "Repeats what it is told"
[workflows.brief]
description = "Drafts a brief on a topic"
input_schema = '{"type":"object","required":["topic"],"properties":{"topic":{"type":"string"}}}'
[[workflows.brief.steps]]
id = "draft"
agent = "assistant"
prompt = "Brief on ${input.topic}"
[plugins]
cache_dir = %[3]q
[[tools]]
name = "calc"
description = "Add, subtract, multiply or divide two numbers"
module = %[4]q
input_schema = '{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},"op":{"enum":["add","subtract","multiply","divide"]}},"required":["a","b","op"],"additionalProperties":false}'
[mcp_servers.main]
agents = ["assistant"]
workflows = ["brief"]
tools = ["calc"]
`

// mcpInstance is one server process of TestMCPSessionSurvivesKilledInstance.
type mcpInstance struct {
	name, port string
	cmd        *exec.Cmd
	done       chan struct{}
}

// bearer adds a token to every request of an MCP client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// TestMCPSessionSurvivesKilledInstance runs one MCP client session of the
// Go SDK through HAProxy to two instances on one Postgres, calling an
// agent, a workflow and a Wasm tool from several goroutines, and kills one
// instance with SIGKILL in the middle: every call must succeed (the
// stateless endpoint keeps nothing in a process; the balancer sends what
// the dead instance never answered to the other one), and a thread the
// session continues across both instances holds every turn.
func TestMCPSessionSurvivesKilledInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs two servers behind HAProxy (scripts/test.sh --quick)")
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy is not installed: run scripts/install-haproxy.sh (scripts/test.sh does)")
	}
	dir := t.TempDir()
	bin := buildServer(t, dir)
	root, _ := filepath.Abs("../..")
	build := exec.Command("bash", filepath.Join(root, "scripts/build-plugins.sh"), filepath.Join(root, "examples/calc-tool"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build-plugins.sh examples/calc-tool: %v\n%s", err, out)
	}
	dbURL := pgtest.NewDatabase(t)

	const tokenA, tokenB = "mcp-token-a", "mcp-token-b"
	insts := []*mcpInstance{{name: "one", port: freePort(t)}, {name: "two", port: freePort(t)}}
	for i, in := range insts {
		cfg := fmt.Sprintf(mcpClusterConfig, in.port, dbURL, filepath.Join(dir, "cache-"+in.name),
			filepath.Join(root, "examples/calc-tool/calc-tool.wasm"))
		path := filepath.Join(dir, in.name+".toml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		logFile, err := os.Create(filepath.Join(dir, in.name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		in.cmd = exec.Command(bin, "serve", "--config", path)
		if i > 0 {
			in.cmd.Args = append(in.cmd.Args, "--no-migrate") // the first one migrated
		}
		in.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "MCP_TOKEN_A=" + tokenA, "MCP_TOKEN_B=" + tokenB}
		in.cmd.Stdout, in.cmd.Stderr = logFile, logFile
		if err := in.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		in.done = make(chan struct{})
		go func(in *mcpInstance) { _ = in.cmd.Wait(); logFile.Close(); close(in.done) }(in)
		t.Cleanup(func() {
			_ = in.cmd.Process.Kill()
			<-in.done
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(dir, in.name+".log"))
				if len(b) > 6000 {
					b = b[len(b)-6000:]
				}
				t.Logf("%s's log (end):\n%s", in.name, b)
			}
		})
		waitFor(t, in.name+" healthy", 60*time.Second, func() bool {
			select {
			case <-in.done:
				b, _ := os.ReadFile(filepath.Join(dir, in.name+".log"))
				t.Fatalf("%s exited at start:\n%s", in.name, b)
			default:
			}
			res, err := http.Get("http://127.0.0.1:" + in.port + "/health")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == 200
		})
	}

	lbPort, statsPort := freePort(t), freePort(t)
	lbLog, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	// The balancer users run, examples/cluster/haproxy.cfg (health checks,
	// retry-on, redispatch), as it is: its three server lines go to
	// instance one (a and c) and two (b), so that killing two takes one of
	// three down, as a crash in the example's cluster does. (With two of
	// three lines on the dead instance, a request's three retries can all
	// land on it before the health checks take it out: 2 of 180 calls
	// failed that way in one run.)
	lb := exec.Command("haproxy", "-W", "-db", "-f", filepath.Join(root, "examples/cluster/haproxy.cfg"))
	lb.Env = []string{"PATH=" + os.Getenv("PATH"), "CLUSTER_BIND=127.0.0.1:" + lbPort, "CLUSTER_STATS_BIND=127.0.0.1:" + statsPort,
		"CLUSTER_A=127.0.0.1:" + insts[0].port, "CLUSTER_B=127.0.0.1:" + insts[1].port, "CLUSTER_C=127.0.0.1:" + insts[0].port}
	lb.Stdout, lb.Stderr = lbLog, lbLog
	lb.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := lb.Start(); err != nil {
		t.Fatal(err)
	}
	lbDone := make(chan struct{})
	go func() { _ = lb.Wait(); lbLog.Close(); close(lbDone) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-lb.Process.Pid, syscall.SIGTERM)
		<-lbDone
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "haproxy.log"))
			t.Logf("haproxy's log:\n%s", b)
		}
	})
	// The servers' counts by instance: a and c are one, b is two.
	stats := func() map[string]mcpServerStats {
		by := haproxyStats(t, statsPort)
		a, c := by["a"], by["c"]
		status := a.status
		if c.status != a.status {
			status = a.status + "/" + c.status
		}
		return map[string]mcpServerStats{"two": by["b"], "one": {status: status, sessions: a.sessions + c.sessions,
			retries: a.retries + c.retries, redispatches: a.redispatches + c.redispatches}}
	}
	waitFor(t, "both instances up in the balancer", 30*time.Second, func() bool {
		s := stats()
		return s["one"].status == "UP" && s["two"].status == "UP"
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	connect := func(token string) *sdk.ClientSession {
		t.Helper()
		// MaxRetries -1: the client retries nothing itself, so that every
		// call that succeeds did so through the balancer alone.
		tr := &sdk.StreamableClientTransport{Endpoint: "http://127.0.0.1:" + lbPort + "/api/mcp/main/mcp", MaxRetries: -1,
			HTTPClient: &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}}
		cs, err := sdk.NewClient(&sdk.Implementation{Name: "cluster-test", Version: "1"}, nil).Connect(ctx, tr, nil)
		if err != nil {
			t.Fatalf("connect through the balancer: %v", err)
		}
		t.Cleanup(func() { _ = cs.Close() })
		return cs
	}
	session := connect(tokenA)
	list, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "ask_assistant,calc,run_brief" {
		t.Fatalf("tools/list = %v; want calc, ask_assistant, run_brief", names)
	}

	// A thread of tenant A's, continued by one caller's turns in order
	// (the other goroutines call without a thread).
	thread := "mcp-cluster-thread"
	calls := []struct {
		name string
		args func(i int) map[string]any
		want func(i int) string
	}{
		{"calc", func(i int) map[string]any { return map[string]any{"a": i, "b": 2, "op": "multiply"} },
			func(i int) string { return strconv.Itoa(2 * i) }},
		{"ask_assistant", func(i int) map[string]any { return map[string]any{"message": fmt.Sprintf("hello %d", i)} },
			func(i int) string { return fmt.Sprintf("hello %d", i) }},
		{"run_brief", func(i int) map[string]any { return map[string]any{"topic": fmt.Sprintf("topic-%d", i)} },
			func(i int) string { return fmt.Sprintf("topic-%d", i) }},
	}
	var (
		done, failed atomic.Int64
		mu           sync.Mutex
		failures     []string
		threadTurns  atomic.Int64
	)
	fail := func(format string, args ...any) {
		failed.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	// Latency of each call as the client saw it, by tool, before the kill
	// (four callers at once on a shared machine: queueing included).
	lat := map[string][]time.Duration{}
	var killedFlag atomic.Bool
	call := func(name string, args map[string]any, want string) {
		began := time.Now()
		res, err := session.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
		if took := time.Since(began); !killedFlag.Load() {
			mu.Lock()
			lat[name] = append(lat[name], took)
			mu.Unlock()
		}
		done.Add(1)
		switch {
		case err != nil:
			fail("%s %v: %v", name, args, err)
		case res.IsError:
			fail("%s %v: error result %s", name, args, contentText(res))
		case !strings.Contains(contentText(res), want):
			fail("%s %v = %s; want it to hold %q", name, args, contentText(res), want)
		}
	}
	const workers, perWorker, killAfter = 4, 45, 60
	killed := make(chan struct{})
	var victim *mcpInstance
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				if w == 0 { // the thread's caller: ask_ with a threadId, in order
					msg := fmt.Sprintf("turn %d", i)
					call("ask_assistant", map[string]any{"message": msg, "threadId": thread}, msg)
					threadTurns.Add(1)
					continue
				}
				c := calls[(w+i)%len(calls)]
				n := w*1000 + i
				call(c.name, c.args(n), c.want(n))
			}
		}(w)
	}
	go func() {
		for done.Load() < killAfter && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		before := stats()
		if before["one"].sessions == 0 || before["two"].sessions == 0 {
			t.Errorf("before the kill, the balancer sent requests to one only: %+v", before)
		}
		victim = insts[1]
		killedFlag.Store(true)
		_ = victim.cmd.Process.Signal(syscall.SIGKILL)
		close(killed)
	}()
	wg.Wait()
	<-killed
	<-victim.done

	total, bad := done.Load(), failed.Load()
	after := stats()
	t.Logf("%d calls through the balancer (%d workers), instance %s killed after %d: %d failed; balancer sessions one=%d two=%d, %d retries, %d redispatches",
		total, workers, victim.name, killAfter, bad, after["one"].sessions, after["two"].sessions,
		after["one"].retries+after["two"].retries, after["one"].redispatches+after["two"].redispatches)
	for _, name := range slices.Sorted(maps.Keys(lat)) {
		d := lat[name]
		slices.Sort(d)
		t.Logf("%s before the kill: %d calls, p50 %s, p99 %s", name, len(d), d[len(d)/2].Round(10*time.Microsecond),
			d[(len(d)*99)/100].Round(10*time.Microsecond))
	}
	if bad != 0 {
		t.Fatalf("%d of %d calls failed across the kill: %v", bad, total, failures)
	}
	if total != workers*perWorker {
		t.Fatalf("%d calls made; want %d", total, workers*perWorker)
	}
	if after["one"].sessions <= 0 {
		t.Fatalf("the survivor served nothing: %+v", after)
	}

	// The session goes on after the kill, on the survivor.
	call("calc", map[string]any{"a": 20, "b": 22, "op": "add"}, "42")
	if failed.Load() != 0 {
		t.Fatalf("a call after the kill failed: %v", failures)
	}

	// The thread, written by turns on both instances, holds every one of
	// them in order; tenant B does not see it.
	res, err := http.NewRequest("GET", "http://127.0.0.1:"+lbPort+"/api/memory/threads/"+thread+"/messages?agentId=assistant&perPage=1000", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Header.Set("Authorization", "Bearer "+tokenA)
	resp, err := http.DefaultClient.Do(res)
	if err != nil {
		t.Fatal(err)
	}
	var msgs struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	err = json.NewDecoder(resp.Body).Decode(&msgs)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("thread messages: %d %v", resp.StatusCode, err)
	}
	var users []string
	for _, m := range msgs.Messages {
		if m.Role == "user" {
			users = append(users, string(m.Content))
		}
	}
	// A turn the victim had saved but not yet answered when it died is
	// run again by the balancer's retry (MCP has no idempotency key): at
	// most one such turn. Its first copy may commit after the turns that
	// followed its retry (seen in CI: "turn 18" again after "turn 20"), so
	// the check is that, without that one copy, every turn is there once
	// and in order.
	turns := int(threadTurns.Load())
	if len(users) < turns || len(users) > turns+1 || len(msgs.Messages) != 2*len(users) {
		t.Fatalf("the thread holds %d messages (%d from the user); want %d turns of two (one more at most)", len(msgs.Messages), len(users), turns)
	}
	next, repeated := 0, false
	for _, u := range users {
		switch {
		case strings.Contains(u, fmt.Sprintf("turn %d\"", next)):
			next++
		case !repeated && len(users) > turns && seenTurn(u, next):
			repeated = true // the one repeated turn
		default:
			t.Fatalf("user messages of the thread out of order at %s; want turn %d (all: %v)", u, next, users)
		}
	}
	if next != turns {
		t.Fatalf("the thread holds turns 0..%d; want 0..%d", next-1, turns-1)
	}
	other := connect(tokenB)
	r, err := other.CallTool(ctx, &sdk.CallToolParams{Name: "ask_assistant", Arguments: map[string]any{"message": "peek", "threadId": thread}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsError {
		t.Fatalf("tenant B continued tenant A's thread: %s", contentText(r))
	}
}

// contentText joins the text content of a tool result.
func contentText(r *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

type mcpServerStats struct {
	status                          string
	sessions, retries, redispatches int
}

// haproxyStats reads the backend servers' lines of HAProxy's CSV status.
func haproxyStats(t *testing.T, port string) map[string]mcpServerStats {
	t.Helper()
	out := map[string]mcpServerStats{}
	res, err := http.Get("http://127.0.0.1:" + port + "/stats;csv")
	if err != nil {
		return out
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	var col map[string]int
	for _, line := range strings.Split(b.String(), "\n") {
		f := strings.Split(line, ",")
		if strings.HasPrefix(line, "# ") {
			col = map[string]int{}
			for i, h := range strings.Split(strings.TrimPrefix(line, "# "), ",") {
				col[h] = i
			}
			continue
		}
		if col == nil || len(f) < len(col)-1 || f[0] != "mastra" || f[1] == "BACKEND" || f[1] == "FRONTEND" {
			continue
		}
		num := func(h string) int { n, _ := strconv.Atoi(f[col[h]]); return n }
		out[f[1]] = mcpServerStats{status: f[col["status"]], sessions: num("stot"), retries: num("wretr"), redispatches: num("wredis")}
	}
	return out
}

// waitFor polls cond every 100 ms until it holds or within passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seenTurn reports whether a user message is one of turns 0..next-1.
func seenTurn(u string, next int) bool {
	for k := 0; k < next; k++ {
		if strings.Contains(u, fmt.Sprintf("turn %d\"", k)) {
			return true
		}
	}
	return false
}
