package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// options are the soak's settings (the flags of main).
type options struct {
	duration    time.Duration
	instances   int
	workers     int
	bin         string
	faults      bool
	rssLimitMiB int64
	settle      time.Duration
	out, log    io.Writer
}

// run sets everything up, sends traffic with faults for o.duration, lets
// workflow runs settle and checks the invariants.
func run(ctx context.Context, o options) (*report, error) {
	if o.instances < 1 || o.workers < 1 || o.duration <= 0 {
		return nil, errors.New("need at least one instance, one worker and a duration")
	}
	var cl llmtest.Cleanups
	defer cl.Run()
	dir, err := os.MkdirTemp("", "mastra-soak-")
	if err != nil {
		return nil, err
	}
	var r *report
	cl.Cleanup(func() {
		// A failed soak keeps the instances' logs for a look.
		if r == nil || !r.passed() {
			fmt.Fprintf(o.log, "soak: the instances' logs are kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	})

	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	calc := filepath.Join(root, "examples/calc-tool/calc-tool.wasm")
	if _, err := os.Stat(calc); err != nil {
		return nil, fmt.Errorf("the calc tool is not built (scripts/build-plugins.sh): %w", err)
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "mastra-server")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mastra-server")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %w\n%s", err, out)
		}
	}

	pg, err := pgtest.StartCluster(filepath.Join(dir, "pg"))
	if err != nil {
		return nil, err
	}
	cl.Cleanup(func() { _ = pg.Remove() })
	dbURL, err := pgtest.CreateDatabase(pg.URL("postgres"), "soak")
	if err != nil {
		return nil, err
	}

	r = newReport(o)
	model := llmtest.NewServer(&cl, r.model.reply)
	cfg := filepath.Join(dir, "mastra.toml")
	if err := os.WriteFile(cfg, []byte(serverConfig(dbURL, model.URL, calc)), 0o600); err != nil {
		return nil, err
	}
	fleet := &fleet{bin: bin, cfg: cfg, dir: dir, log: o.log}
	for i := 0; i < o.instances; i++ {
		in, err := fleet.add(ctx, fmt.Sprintf("i%d", i+1))
		if err != nil {
			return nil, err
		}
		cl.Cleanup(in.stop)
	}

	trafficCtx, stopTraffic := context.WithTimeout(ctx, o.duration)
	defer stopTraffic()
	var sampling, faults sync.WaitGroup
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer func() { stopSampling(); sampling.Wait() }()
	sampling.Add(1)
	go func() { defer sampling.Done(); fleet.sampleRSS(sampleCtx, r) }()
	if o.faults {
		r.model.faulty.Store(true)
		faults.Add(1)
		go func() { defer faults.Done(); injectFaults(trafficCtx, o, fleet, pg, r) }()
	}
	var clients sync.WaitGroup
	for w := 0; w < o.workers; w++ {
		clients.Add(1)
		go func(w int) {
			defer clients.Done()
			c := newClient(w, fleet, r, o.faults)
			c.loop(trafficCtx)
		}(w)
	}
	clients.Wait()
	stopTraffic()
	faults.Wait() // a restart under way ends first
	r.model.faulty.Store(false)
	r.trafficEnded = time.Now()

	// Every instance up, then the database tells.
	err = fleet.allUp(ctx)
	r.holds(err == nil, "every instance up after the traffic", "%v", errOrNone(err))
	if err := check(ctx, dbURL, o.settle, r); err != nil {
		return r, err
	}
	stopSampling()
	sampling.Wait()
	r.finish(fleet)
	return r, nil
}

func errOrNone(err error) any {
	if err == nil {
		return "all answer /health"
	}
	return err
}

// repoRoot is the main module's directory.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the soak inside the mastra-server checkout")
	}
	return filepath.Dir(mod), nil
}

// serverConfig is every instance's configuration: short model timeouts and
// no retries, so that model faults fail turns quickly, and one workflow
// whose step calls the model.
func serverConfig(dbURL, modelURL, calc string) string {
	return fmt.Sprintf(`[server]
host = "127.0.0.1"
port = 0
drain_timeout = "3s"
[memory]
database_url = %q
[agents.assistant]
name = "Assistant"
instructions = "You are a test."
model = "openai/gpt-test"
tools = ["calc"]
[providers.openai]
base_url = %q
timeout = "1s"
max_retries = 0
[[tools]]
name = "calc"
description = "Arithmetic"
module = %q
input_schema = '{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},"op":{"enum":["add","subtract","multiply","divide"]}},"required":["a","b","op"]}'
[workflows.soak]
step_timeout = "2s"
[[workflows.soak.steps]]
id = "draft"
agent = "assistant"
prompt = "Draft ${input.topic}."
[[workflows.soak.steps]]
id = "done"
map = '{"text": steps.draft.text}'
`, dbURL, modelURL, calc)
}

// injectFaults repeats a cycle of instance and database faults, once per
// minute (once in all for a run of a minute or less): kill -9 of an
// instance (started again half a second later) at a quarter of the cycle,
// Postgres stopped for two seconds at half, a SIGTERM restart at three
// quarters. Model faults and client disconnects happen all along
// (fakeModel, client).
func injectFaults(ctx context.Context, o options, f *fleet, pg *pgtest.Cluster, r *report) {
	cycle := min(o.duration, time.Minute)
	begin := r.started
	at := func(frac float64) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(begin.Add(time.Duration(frac * float64(cycle))))):
			return true
		}
	}
	pick := func() *instance { all := f.all(); return all[rand.IntN(len(all))] }
	for ; ctx.Err() == nil; begin = begin.Add(cycle) {
		if at(0.25) {
			in := pick()
			r.fault("kill -9 %s", in.name)
			in.kill()
			time.Sleep(500 * time.Millisecond) // as a supervisor's restart delay
			if err := in.restart(context.Background()); err != nil {
				r.fault("restart of %s failed: %v", in.name, err)
			}
		}
		if at(0.5) {
			r.fault("postgres stopped")
			if err := pg.Stop(); err != nil {
				r.fault("pg stop: %v", err)
			}
			time.Sleep(2 * time.Second)
			if err := pg.Start(); err != nil {
				r.fault("pg start: %v", err)
			}
			r.fault("postgres started")
		}
		if at(0.75) {
			in := pick()
			r.fault("SIGTERM %s", in.name)
			if err := in.terminate(); err == nil {
				if err := in.restart(context.Background()); err != nil {
					r.fault("restart of %s failed: %v", in.name, err)
				}
			}
		}
		if !at(1) {
			return
		}
	}
}
