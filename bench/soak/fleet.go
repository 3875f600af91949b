package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mastra-server/mastra-server/bench/internal/procfs"
)

// fleet is the server instances of the soak, all on one configuration.
type fleet struct {
	bin, cfg, dir string
	log           io.Writer
	env           []string // added to every instance's environment
	pgSocket      string   // each instance reaches it through a pgProxy of its own
	dbName        string

	mu        sync.Mutex
	instances []*instance
}

// instance is one server process, started again by restart.
type instance struct {
	name  string
	fleet *fleet
	pg    *pgProxy

	mu      sync.Mutex
	cmd     *exec.Cmd
	url     string
	exited  chan struct{}
	starts  int
	stopped bool // by the soak: kill, terminate or stop

	unexpected atomic.Int64 // exits the soak did not cause
	rssMaxKiB  atomic.Int64
}

var listening = regexp.MustCompile(`mastra-server listening.*addr=([0-9.]+:[0-9]+)`)

func (f *fleet) add(ctx context.Context, name string) (*instance, error) {
	pg, err := newPGProxy(f.pgSocket)
	if err != nil {
		return nil, err
	}
	in := &instance{name: name, fleet: f, pg: pg}
	if err := in.restart(ctx); err != nil {
		pg.close()
		return nil, err
	}
	f.mu.Lock()
	f.instances = append(f.instances, in)
	f.mu.Unlock()
	return in, nil
}

func (f *fleet) all() []*instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*instance(nil), f.instances...)
}

// nameOf is the name of the instance listening at url ("" if none).
func (f *fleet) nameOf(url string) string {
	for _, in := range f.all() {
		if in.baseURL() == url {
			return in.name
		}
	}
	return ""
}

// stop stops every instance at once (each drains for its drain time).
func (f *fleet) stop() {
	var wg sync.WaitGroup
	for _, in := range f.all() {
		wg.Add(1)
		go func() { defer wg.Done(); in.stop() }()
	}
	wg.Wait()
}

// allUp waits until every instance answers /health.
func (f *fleet) allUp(ctx context.Context) error {
	for _, in := range f.all() {
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := http.Get(in.baseURL() + "/health")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s is not healthy after the traffic: %v", in.name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// sampleRSS records each instance's largest resident memory, every 250 ms.
func (f *fleet) sampleRSS(ctx context.Context, r *report) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, in := range f.all() {
			if kib := in.rssKiB(); kib > in.rssMaxKiB.Load() {
				in.rssMaxKiB.Store(kib)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// baseURL is where the instance listens now ("" while it is down).
func (in *instance) baseURL() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.url
}

// restart starts the instance's process and waits until it listens.
func (in *instance) restart(ctx context.Context) error {
	in.mu.Lock()
	in.starts++
	logPath := filepath.Join(in.fleet.dir, fmt.Sprintf("%s-%d.log", in.name, in.starts))
	in.mu.Unlock()
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(in.fleet.bin, "serve", "--config", in.fleet.cfg)
	cmd.Dir = in.fleet.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + in.fleet.dir, "OPENAI_API_KEY=sk-soak",
		"MASTRA_PLUGINS__CACHE_DIR=" + filepath.Join(in.fleet.dir, "cache-"+in.name),
		"MEMORY_DATABASE_URL=postgres://postgres@" + in.pg.addr() + "/" + in.fleet.dbName + "?sslmode=disable"}
	cmd.Env = append(cmd.Env, in.fleet.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	exited := make(chan struct{})
	in.mu.Lock()
	in.cmd, in.exited, in.stopped, in.url = cmd, exited, false, ""
	in.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		in.mu.Lock()
		if !in.stopped {
			in.unexpected.Add(1)
			fmt.Fprintf(in.fleet.log, "soak: %s exited on its own (log %s)\n", in.name, logPath)
		}
		in.url = ""
		in.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if addr := listenAddr(logPath); addr != "" {
			in.mu.Lock()
			if in.cmd == cmd {
				in.url = "http://" + addr
			}
			in.mu.Unlock()
			return nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("%s exited at start:\n%s", in.name, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not listen within 30 s (log %s)", in.name, logPath)
}

func listenAddr(logPath string) string {
	b, _ := os.ReadFile(logPath)
	if m := listening.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// signal sends sig to the process, marked as the soak's doing, and waits
// for its exit.
func (in *instance) signal(sig syscall.Signal) error {
	in.mu.Lock()
	cmd, exited := in.cmd, in.exited
	in.stopped = true
	in.url = ""
	in.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && exited == nil {
		return err
	}
	<-exited
	return nil
}

func (in *instance) kill()            { _ = in.signal(syscall.SIGKILL) }
func (in *instance) terminate() error { return in.signal(syscall.SIGTERM) }
func (in *instance) stop()            { in.cont(); _ = in.terminate(); in.pg.close() }

// freeze stops the process (SIGSTOP) without marking it down: clients
// still send to it and wait, as behind a balancer that has not noticed.
func (in *instance) freeze() { in.sendSignal(syscall.SIGSTOP) }

// cont lets a frozen process run again.
func (in *instance) cont() { in.sendSignal(syscall.SIGCONT) }

func (in *instance) sendSignal(sig syscall.Signal) {
	in.mu.Lock()
	cmd := in.cmd
	in.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// rssKiB is the process's resident memory now, or 0 when it is down.
func (in *instance) rssKiB() int64 {
	in.mu.Lock()
	cmd := in.cmd
	in.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	b, _ := procfs.Status(cmd.Process.Pid, "VmRSS")
	return b / 1024
}
