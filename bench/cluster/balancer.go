package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// exampleHAProxy is the example cluster's balancer configuration, the one
// source of the settings the benchmark runs HAProxy with.
const exampleHAProxy = "examples/cluster/haproxy.cfg"

// backendName is the backend of exampleHAProxy whose servers are the
// instances.
const backendName = "mastra"

// balancerConfig is the example's HAProxy configuration with the server
// lines of its backend replaced by one per instance, each keeping the
// example's server options ("check" and whatever follows the address).
// Everything else — timeouts, retries, health checks, the stats frontend —
// is the example's, so a change there reaches the benchmark.
func balancerConfig(example string, instances []*instance) (string, error) {
	var out []string
	inBackend, replaced := false, false
	for _, line := range strings.Split(example, "\n") {
		trimmed := strings.TrimSpace(line)
		if line != "" && line[0] != ' ' && line[0] != '\t' && !strings.HasPrefix(trimmed, "#") {
			f := strings.Fields(trimmed)
			inBackend = len(f) >= 2 && f[0] == "backend" && f[1] == backendName
		}
		f := strings.Fields(trimmed)
		if !inBackend || len(f) < 3 || f[0] != "server" {
			out = append(out, line)
			continue
		}
		if replaced {
			continue // one template line is enough; the rest are the example's other servers
		}
		replaced = true
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		for _, in := range instances {
			out = append(out, fmt.Sprintf("%sserver %s %s %s", indent, in.name, in.addr, strings.Join(f[3:], " ")))
		}
	}
	if !replaced {
		return "", fmt.Errorf("%s: no server line in backend %s to model the instances on", exampleHAProxy, backendName)
	}
	return strings.Join(out, "\n"), nil
}

// balancer is a running HAProxy in front of the instances.
type balancer struct {
	pid   int
	base  string // http://bind
	stats string // the status page's CSV
	cmd   *exec.Cmd
	done  chan struct{}
	log   string
}

// startBalancer writes the configuration for instances into dir, runs
// HAProxy on it in the foreground as one process (no master-worker mode,
// so that its pid is the one doing the work) and waits until it reports
// every instance UP.
func startBalancer(ctx context.Context, root, dir string, instances []*instance) (*balancer, error) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		return nil, errors.New("haproxy is not installed: run scripts/install-haproxy.sh")
	}
	example, err := os.ReadFile(filepath.Join(root, exampleHAProxy))
	if err != nil {
		return nil, err
	}
	cfg, err := balancerConfig(string(example), instances)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, fmt.Sprintf("haproxy-%d.cfg", len(instances)))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	statsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, fmt.Sprintf("haproxy-%d.log", len(instances)))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("haproxy", "-db", "-f", cfgPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"),
		fmt.Sprintf("CLUSTER_BIND=127.0.0.1:%d", port), fmt.Sprintf("CLUSTER_STATS_BIND=127.0.0.1:%d", statsPort)}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start haproxy: %w", err)
	}
	b := &balancer{pid: cmd.Process.Pid, base: fmt.Sprintf("http://127.0.0.1:%d", port),
		stats: fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort), cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); logFile.Close(); close(b.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if up, _ := b.allUp(len(instances)); up {
			return b, nil
		}
		select {
		case <-b.done:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("haproxy exited at start (config %s):\n%s", cfgPath, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.stop()
	out, _ := os.ReadFile(logPath)
	return nil, fmt.Errorf("haproxy did not report %d instances UP within 30 s:\n%s", len(instances), out)
}

// allUp is true when the status page lists n servers of the backend, all UP.
func (b *balancer) allUp(n int) (bool, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	res, err := client.Get(b.stats)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	r := csv.NewReader(res.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return false, err
	}
	up := 0
	for _, row := range rows {
		// pxname, svname, …, status is the 18th column.
		if len(row) > 17 && row[0] == backendName && row[1] != "BACKEND" && row[1] != "FRONTEND" {
			if row[17] != "UP" {
				return false, nil
			}
			up++
		}
	}
	return up == n, nil
}

// connections is how many connections HAProxy has opened to the
// instances and how many times it reused one (the "connect" and "reuse"
// columns of the status page, summed over the backend's servers).
func (b *balancer) connections() (opened, reused int64, err error) {
	client := &http.Client{Timeout: 2 * time.Second}
	res, err := client.Get(b.stats)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	r := csv.NewReader(res.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return 0, 0, fmt.Errorf("haproxy stats: %v", err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(strings.TrimSpace(name), "# ")] = i
	}
	ci, ok1 := col["connect"]
	ri, ok2 := col["reuse"]
	if !ok1 || !ok2 {
		return 0, 0, errors.New("haproxy stats: no connect/reuse columns")
	}
	for _, row := range rows[1:] {
		if len(row) > max(ci, ri) && row[0] == backendName && row[1] != "BACKEND" && row[1] != "FRONTEND" {
			c, _ := strconv.ParseInt(row[ci], 10, 64)
			u, _ := strconv.ParseInt(row[ri], 10, 64)
			opened += c
			reused += u
		}
	}
	return opened, reused, nil
}

// stop ends HAProxy (SIGUSR1 would wait for its connections; SIGTERM
// closes them, and the load has stopped by then).
func (b *balancer) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}
