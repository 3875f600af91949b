package main

import (
	"bufio"
	"context"
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
)

// instanceConfig is every instance's mastra.toml: the echo model for
// generate (agent "echo", the default), the fake OpenAI-compatible model
// for stream (agent "streamer"), memory on Postgres, metrics on (the tool
// counts each instance's turns there), warnings only in the log, no auth
// and no plugins — the core's cost, as in bench/load. The port comes
// from MASTRA_PORT, per instance, as in examples/cluster/run.sh.
func instanceConfig(dbURL, modelURL string) string {
	return fmt.Sprintf(`[server]
host = "127.0.0.1"
port = 0
drain_timeout = "2s"

[server.metrics]
enabled = true
path = "/metrics"

[log]
level = "warn"

[memory]
database_url = %s

[agents.echo]
name = "Echo"
instructions = "You are a benchmark."
model = "echo"
default = true

[agents.streamer]
name = "Streamer"
instructions = "You are a streaming benchmark."
model = "openai/fake"

[providers.openai]
base_url = %s
api_key = "sk-bench"
max_retries = 0
`, strconv.Quote(dbURL), strconv.Quote(modelURL))
}

// instance is one running mastra-server process.
type instance struct {
	name string
	pid  int
	addr string // host:port
	base string // http://addr
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startInstance execs bin with config on a free port and waits until GET
// /health answers 200.
func startInstance(ctx context.Context, bin, config, dir, name string, gomaxprocs int) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "instance-"+name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", config)
	cmd.Dir = dir
	// Only what the instance needs: an inherited MEMORY_DATABASE_URL would
	// win over the configuration's database.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "MASTRA_PORT=" + strconv.Itoa(port)}
	if gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	} else if v := os.Getenv("GOMAXPROCS"); v != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start instance %s: %w", name, err)
	}
	in := &instance{name: name, pid: cmd.Process.Pid, addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd,
		done: make(chan struct{}), log: logPath}
	in.base = "http://" + in.addr
	go func() { _ = cmd.Wait(); logFile.Close(); close(in.done) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if res, err := client.Get(in.base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return in, nil
			}
		}
		select {
		case <-in.done:
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("instance %s exited at start:\n%s", name, b)
		case <-time.After(20 * time.Millisecond):
		}
	}
	in.stop()
	b, _ := os.ReadFile(logPath)
	return nil, fmt.Errorf("instance %s was not healthy within 60 s:\n%s", name, b)
}

// stop sends SIGTERM and waits, then SIGKILL after 10 s.
func (in *instance) stop() {
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
	}
}

// exited is true once the process has ended.
func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// turns is the number of agent turns the instance has answered with
// outcome ok, from its /metrics (mastra_agent_turns_total).
func (in *instance) turns() (float64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(in.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s/metrics: %d", in.base, res.StatusCode)
	}
	var sum float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "mastra_agent_turns_total{") || !strings.Contains(line, `outcome="ok"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
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
