package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	seed        uint64 // every random choice of the run derives from it
	duration    time.Duration
	instances   int
	workers     int
	bin         string
	faults      bool
	rssLimitMiB int64
	settle      time.Duration // how long after the heal runs get to end or suspend
	out, log    io.Writer
}

// run sets everything up, sends traffic with faults for o.duration, heals
// every fault, lets workflow runs settle and checks the history against
// the database.
func run(ctx context.Context, o options) (*report, error) {
	if o.instances < 1 || o.workers < 1 || o.duration <= 0 {
		return nil, errors.New("need at least one instance, one worker and a duration")
	}
	var cl llmtest.Cleanups
	defer cl.Run()
	began := time.Now()
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
		if bin, err = buildServer(ctx, dir); err != nil {
			return nil, err
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
	if err := os.WriteFile(cfg, []byte(serverConfig(model.URL, calc)), 0o600); err != nil {
		return nil, err
	}
	tenants := [2]*tenant{{name: "tenant-a"}, {name: "tenant-b"}}
	fleet := &fleet{bin: bin, cfg: cfg, dir: dir, log: o.log, dbName: "soak",
		pgSocket: filepath.Join(pg.Dir, "sock", fmt.Sprintf(".s.PGSQL.%d", pg.Port))}
	for i, t := range tenants {
		t.token = fmt.Sprintf("soak-token-%c-%d", 'a'+i, o.seed)
		fleet.env = append(fleet.env, fmt.Sprintf("SOAK_TOKEN_%c=%s", 'A'+i, t.token))
		for j := range 3 {
			t.threads = append(t.threads, threadOf(t.name, j))
		}
	}
	cl.Cleanup(fleet.stop)
	for i := 0; i < o.instances; i++ {
		if _, err := fleet.add(ctx, fmt.Sprintf("i%d", i+1)); err != nil {
			return nil, err
		}
	}
	// Nothing before the traffic counts against its clock.
	r.started = time.Now()
	fmt.Fprintf(o.log, "soak: seed %d: set up in %s; traffic for %s\n", o.seed, r.started.Sub(began).Round(100*time.Millisecond), o.duration)
	r.h.start = r.started

	trafficCtx, stopTraffic := context.WithTimeout(ctx, o.duration)
	defer stopTraffic()
	var sampling, faults sync.WaitGroup
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer func() { stopSampling(); sampling.Wait() }()
	sampling.Add(1)
	go func() { defer sampling.Done(); fleet.sampleRSS(sampleCtx, r) }()
	sampling.Add(1)
	go func() {
		// The fake keeps every request; a long run needs none of them.
		defer sampling.Done()
		for tick := time.NewTicker(10 * time.Second); ; {
			select {
			case <-sampleCtx.Done():
				tick.Stop()
				return
			case <-tick.C:
				model.ForgetRequests()
			}
		}
	}()
	sh := &shared{}
	if o.faults {
		r.model.faulty.Store(true)
		plan := faultPlan(o)
		faults.Add(1)
		go func() { defer faults.Done(); inject(trafficCtx, plan, fleet, pg, sh, r) }()
	}
	var clients sync.WaitGroup
	for w := 0; w < o.workers; w++ {
		clients.Add(1)
		go func(w int) {
			defer clients.Done()
			me, other := tenants[w%2], tenants[(w+1)%2]
			newClient(w+1, me, other, o.seed, fleet, r, sh).loop(trafficCtx)
		}(w)
	}
	clients.Wait()
	stopTraffic()
	faults.Wait() // the fault under way heals first
	r.model.faulty.Store(false)
	r.model.resume()
	r.trafficEnded = time.Now()

	// The final heal: every instance up and running.
	for _, in := range fleet.all() {
		in.cont()
	}
	err = fleet.allUp(ctx)
	r.healed = time.Now()
	fmt.Fprintf(o.log, "soak: seed %d: healed %s after the traffic; checking\n", o.seed, r.healed.Sub(r.trafficEnded).Round(100*time.Millisecond))
	r.holds(err == nil, "every instance up after the heal", "%v", errOrNone(err))
	if err := check(ctx, dbURL, r); err != nil {
		return r, err
	}
	stopSampling()
	sampling.Wait()
	r.finish(fleet)
	fmt.Fprintf(o.log, "soak: seed %d: checked in %s\n", o.seed, time.Since(r.healed).Round(100*time.Millisecond))
	return r, nil
}

func errOrNone(err error) any {
	if err == nil {
		return "all answer /health"
	}
	return err
}

// buildServer builds the server binary of this checkout into dir.
func buildServer(ctx context.Context, dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mastra-server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mastra-server")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
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

// serverConfig is every instance's configuration (each instance gets its
// database URL, through its own proxy, and the two tokens' values from its
// environment): auth on with one token per tenant, short model timeouts and
// no retries, so that model faults fail turns quickly, short stream leases,
// so that a frozen instance loses its streams within a fault, and two
// workflows whose first step calls the model: soak ends by itself, approve
// suspends for a resume.
func serverConfig(modelURL, calc string) string {
	return fmt.Sprintf(`[server]
host = "127.0.0.1"
port = 0
drain_timeout = "3s"
[server.streams]
lease = "2s"
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "SOAK_TOKEN_A"
user = "a"
resource_id = "tenant-a"
[[server.auth.tokens]]
env = "SOAK_TOKEN_B"
user = "b"
resource_id = "tenant-b"
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
[workflows.approve]
step_timeout = "2s"
[[workflows.approve.steps]]
id = "draft"
agent = "assistant"
prompt = "Draft ${input.topic}."
[[workflows.approve.steps]]
id = "approval"
suspend = '{"draft": steps.draft.text}'
resume_schema = '{"type":"object","required":["by"]}'
[[workflows.approve.steps]]
id = "done"
map = '{"text": steps.draft.text, "by": steps.approval.by}'
`, modelURL, calc)
}
