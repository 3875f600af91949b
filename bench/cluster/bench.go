package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// point is one row of the table: a load at n instances, through the
// balancer or directly to one instance.
type point struct {
	load    string // "generate" or "stream"
	direct  bool   // to the first instance, no balancer
	n       int
	res     *result
	turns   []float64       // ok turns each instance answered (its /metrics)
	instCPU []time.Duration // each instance
	lbCPU   time.Duration   // HAProxy; 0 when direct
	lbConns int64           // connections HAProxy opened to the instances; -1 when unknown
	pgCPU   time.Duration   // Postgres; -1 when not the tool's own
	selfCPU time.Duration   // this tool: clients and fake model
	machine time.Duration   // every core of the machine, whoever used it
}

// cpuSample is the CPU counters the tool reads around a point.
type cpuSample struct {
	inst             []time.Duration
	turns            []float64
	lb, pg, self, mc time.Duration
	lbConns          int64 // -1 when unknown
}

// bench is the running setup shared by the points.
type bench struct {
	o         options
	root, dir string
	bin       string
	adminURL  string // where each group's database is created
	fixedURL  string // or the one database of every group (MEMORY_DATABASE_URL)
	pgPID     int    // the throwaway cluster's postmaster; 0 for a database from the environment
	pgWhat    string
	lastToken string
	model     *llmtest.Server
	instances []*instance
	seq       atomic.Int64 // nonces and thread ids
	runID     int64
}

// run sets everything up and measures every point.
func run(ctx context.Context, o options) (*report, error) {
	if o.instances < 1 || o.clients < 1 || o.duration <= 0 || o.tokens < 1 {
		return nil, errors.New("need at least one instance, one client, one token and a duration")
	}
	for _, l := range o.loads {
		if l != "generate" && l != "stream" {
			return nil, fmt.Errorf("unknown load %q (generate, stream)", l)
		}
	}
	setupStart := time.Now()
	var cl llmtest.Cleanups
	defer cl.Run()
	b := &bench{o: o, runID: time.Now().UnixNano() % 1_000_000}
	var err error
	if b.root, err = repoRoot(); err != nil {
		return nil, err
	}
	if b.dir, err = os.MkdirTemp("", "mastra-cluster-bench-"); err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintf(o.log, "cluster: work directory %s\n", b.dir)
	} else {
		cl.Cleanup(func() { os.RemoveAll(b.dir) })
	}
	if b.bin = o.bin; b.bin == "" {
		b.bin = filepath.Join(b.dir, "mastra-server")
		build := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "./cmd/mastra-server")
		build.Dir = b.root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	if err := b.openPostgres(&cl); err != nil {
		return nil, err
	}

	words := make([]string, o.tokens)
	for i := range words {
		words[i] = fmt.Sprintf("tok%02d", i+1)
	}
	b.lastToken = words[len(words)-1]
	reply := strings.Join(words, " ")
	b.model = llmtest.NewServer(&cl, func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Text: reply} })

	fmt.Fprintf(o.log, "cluster: server binary and postgres ready in %s (%s)\n", time.Since(setupStart).Round(time.Millisecond), b.pgWhat)
	r := &report{o: o, started: time.Now(), loadAvg: loadAverage(), pgWhat: b.pgWhat}
	var groups []group
	if o.direct {
		groups = append(groups, group{n: 1, direct: true, loads: o.loads})
	}
	for n := 1; n <= o.instances; n++ {
		g := group{n: n, loads: o.loads}
		if n == o.instances && o.idle > 0 {
			g.loads = append(slices.Clone(g.loads), "idle")
		}
		groups = append(groups, g)
	}
	for i, g := range groups {
		points, err := b.runGroup(ctx, i, g)
		if err != nil {
			return nil, err
		}
		r.points = append(r.points, points...)
	}
	return r, nil
}

// group is the points measured on one setup: n instances, behind the
// balancer or (direct) one without it.
type group struct {
	n      int
	direct bool
	loads  []string
}

// runGroup measures a group's loads on a setup of its own: a new, empty
// database and freshly started instances, so that no group inherits
// another's tables, caches or heap — in one database, the later groups
// would run on ever more rows, and the rows would drift with the order.
func (b *bench) runGroup(ctx context.Context, i int, g group) ([]*point, error) {
	dir := filepath.Join(b.dir, fmt.Sprintf("group-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dbURL, drop, err := b.newDatabase(i)
	if err != nil {
		return nil, err
	}
	defer drop()
	cfg := filepath.Join(dir, "mastra.toml")
	if err := os.WriteFile(cfg, []byte(instanceConfig(dbURL, b.model.URL)), 0o644); err != nil {
		return nil, err
	}
	b.instances = nil
	defer func() {
		for _, in := range b.instances {
			in.stop()
		}
		b.instances = nil
	}()
	for k := 0; k < g.n; k++ {
		start := time.Now()
		in, err := startInstance(ctx, b.bin, cfg, dir, string(rune('a'+k)), b.o.gomaxprocs)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(b.o.log, "cluster: instance %s up in %s\n", in.name, time.Since(start).Round(time.Millisecond))
		b.instances = append(b.instances, in)
	}
	var lb *balancer
	if !g.direct {
		start := time.Now()
		if lb, err = startBalancer(ctx, b.root, dir, b.instances); err != nil {
			return nil, err
		}
		defer lb.stop()
		fmt.Fprintf(b.o.log, "cluster: HAProxy up with %d instance(s) in %s\n", g.n, time.Since(start).Round(time.Millisecond))
	}
	var points []*point
	for _, load := range g.loads {
		p, err := b.measure(ctx, load, lb)
		if err != nil {
			return nil, err
		}
		points = append(points, p)
	}
	return points, nil
}

// measure runs one point: o.warmup of load unmeasured, then o.duration
// measured, to the balancer lb or (nil) to the first instance directly.
func (b *bench) measure(ctx context.Context, load string, lb *balancer) (*point, error) {
	n := len(b.instances)
	target := b.instances[0].base
	if lb != nil {
		target = lb.base
	}
	client := newHTTPClient(b.o.clients)
	defer client.CloseIdleConnections()
	pointID := b.seq.Add(1)
	do := func(ctx context.Context, c, i int) (time.Duration, error) {
		// A thread per client and point: its history grows as a
		// conversation's does, and each turn reads the last 20 messages.
		thread := fmt.Sprintf("%s-%d-%d-%d", load, b.runID, pointID, c)
		if load == "generate" {
			return generateTurn(ctx, client, target, thread, fmt.Sprintf("n%d", b.seq.Add(1)))
		}
		return streamTurn(ctx, client, target, thread, b.lastToken)
	}
	via := "to instance a directly"
	if lb != nil {
		via = fmt.Sprintf("through the balancer to %d instance(s)", n)
	}
	d := b.o.duration
	if load == "idle" {
		d = b.o.idle
	}
	if load == "idle" {
		fmt.Fprintf(b.o.log, "cluster: %d instance(s) behind the balancer at rest for %s\n", n, d)
	} else {
		fmt.Fprintf(b.o.log, "cluster: %s %s for %s\n", load, via, d)
	}
	if b.o.warmup > 0 && load != "idle" {
		closedLoop(ctx, b.o.clients, b.o.warmup, do)
	}
	before, err := b.sample(lb)
	if err != nil {
		return nil, err
	}
	var res *result
	if load == "idle" {
		// No traffic: what n instances cost at rest (HAProxy's health
		// checks, each instance's background work, Postgres).
		start := time.Now()
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
		res = &result{elapsed: time.Since(start)}
	} else {
		res = closedLoop(ctx, b.o.clients, d, do)
	}
	after, err := b.sample(lb)
	if err != nil {
		return nil, err
	}
	b.model.ForgetRequests()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, in := range b.instances {
		if in.exited() {
			out, _ := os.ReadFile(in.log)
			return nil, fmt.Errorf("instance %s exited during the %s load:\n%s", in.name, load, out)
		}
	}
	p := &point{load: load, direct: lb == nil, n: n, res: res, pgCPU: -1,
		selfCPU: after.self - before.self, machine: after.mc - before.mc}
	p.lbConns = -1
	if lb != nil {
		p.lbCPU = after.lb - before.lb
		if before.lbConns >= 0 && after.lbConns >= 0 {
			p.lbConns = after.lbConns - before.lbConns
		}
	} else {
		p.n = 1
	}
	for i := range b.instances {
		p.instCPU = append(p.instCPU, after.inst[i]-before.inst[i])
		p.turns = append(p.turns, after.turns[i]-before.turns[i])
	}
	if b.pgPID != 0 {
		p.pgCPU = after.pg - before.pg
	}
	return p, nil
}

func (b *bench) sample(lb *balancer) (cpuSample, error) {
	var s cpuSample
	for _, in := range b.instances {
		t, err := in.turns()
		if err != nil {
			return s, fmt.Errorf("instance %s: %w", in.name, err)
		}
		s.turns = append(s.turns, t)
		s.inst = append(s.inst, cpuOf(in.pid))
	}
	s.lbConns = -1
	if lb != nil {
		s.lb = cpuOf(lb.pid)
		if opened, _, err := lb.connections(); err == nil {
			s.lbConns = opened
		}
	}
	if b.pgPID != 0 {
		s.pg = treeCPU(b.pgPID)
	}
	s.self = selfCPU()
	s.mc = machineBusy()
	return s, nil
}

// openPostgres readies where the groups' databases come from: a throwaway
// cluster of the tool's own (o.postgres "own"), whose CPU it can count, or
// (o.postgres "env") TEST_DATABASE_URL's server, or MEMORY_DATABASE_URL
// as is.
func (b *bench) openPostgres(cl *llmtest.Cleanups) error {
	switch b.o.postgres {
	case "own":
		pg, err := pgtest.StartCluster(filepath.Join(b.dir, "pg"))
		if err != nil {
			return err
		}
		cl.Cleanup(func() { _ = pg.Remove() })
		if b.pgPID, err = postmasterPID(filepath.Join(pg.Dir, "data")); err != nil {
			return fmt.Errorf("the throwaway cluster's postmaster: %w", err)
		}
		b.adminURL = pg.URL("postgres")
		b.pgWhat = "own throwaway cluster (internal/pgtest: unix socket, fsync off), a new database per group"
		return nil
	case "env":
		if u := os.Getenv("MEMORY_DATABASE_URL"); u != "" {
			b.fixedURL = u
			b.pgWhat = "MEMORY_DATABASE_URL, shared by every group (later rows run on more rows; its CPU not counted)"
			return nil
		}
		if b.adminURL = os.Getenv("TEST_DATABASE_URL"); b.adminURL == "" {
			return errors.New("-postgres env: set MEMORY_DATABASE_URL or TEST_DATABASE_URL")
		}
		b.pgWhat = "TEST_DATABASE_URL's server, a new database per group (its CPU not counted)"
		return nil
	}
	return fmt.Errorf("-postgres %q: want own or env", b.o.postgres)
}

// newDatabase is group i's database and what drops it.
func (b *bench) newDatabase(i int) (string, func(), error) {
	if b.fixedURL != "" {
		return b.fixedURL, func() {}, nil
	}
	name := fmt.Sprintf("mastra_cluster_bench_%d_%d", os.Getpid(), i)
	u, err := pgtest.CreateDatabase(b.adminURL, name)
	if err != nil {
		return "", nil, err
	}
	return u, func() { _ = pgtest.DropDatabase(b.adminURL, name) }, nil
}

// repoRoot is the main module's directory (the benchmark reads the
// example's haproxy.cfg and builds the server there).
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the benchmark inside the mastra-server checkout")
	}
	return filepath.Dir(mod), nil
}
