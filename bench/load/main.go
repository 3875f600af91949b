// Command load measures mastra-server as a client sees it, on this
// machine, against the real binary: an instant fake OpenAI-compatible model
// (served by this tool), Postgres memory, and loopback HTTP only.
//
//	go run ./bench/load                       # every phase, defaults
//	go run ./bench/load -phases generate,stream -clients 32 -duration 20s
//
// Phases (-phases, comma-separated; default all):
//
//	generate  POST /agent/generate with -clients concurrent clients for -duration:
//	          turns/s, p50/p99 latency, server CPU per turn (/proc/<pid>/stat)
//	stream    the same with POST /agent/stream (SSE read to the end)
//	firsttoken one client streaming: time from the fake model flushing its first
//	          token to the client reading it
//	wasm      GET /hello-wat (examples/wat/hello.wasm as a [[routes]] entry) on the
//	          server against the same JSON from a native Go handler in this tool,
//	          and the server's /health, in alternating 1 s slices
//	slow      -streams concurrent streams on a model that sends a token a
//	          second for -hold: server RSS, fds and threads with all of them open
//	startup   exec to /health 200 with the example plugins: once with an empty
//	          compile cache, then -startups times warm
//
// Not in the default set:
//
//	peer      the server and the Mastra 1.x app of bench/peer (npm, Node 22; the
//	          same agent, fake model and Postgres) in alternated runs of
//	          /api/agents/fast/generate and /stream: each one's CPU per turn
//	          (/proc, children included) and the ratio, -peer-rounds times
//	open      turns arriving at -rate per second whatever the server's pace:
//	          client latency, and mastra_server_overhead_seconds p50/p99 from
//	          /metrics scraped before and after (bench/compare.sh runs it)
//
// Every measured thread first gets -warm turns (20 messages of history).
//
// Every loop is bounded in time and count, talks to 127.0.0.1 only and
// stops by itself. Postgres: MEMORY_DATABASE_URL as is, else a new database
// on TEST_DATABASE_URL, else a throwaway cluster (internal/pgtest).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mastra-server/mastra-server/bench/internal/procfs"
)

type options struct {
	bin        string
	clients    int
	duration   time.Duration
	tokens     int
	streams    int
	hold       int
	startups   int
	phases     map[string]bool
	keep       bool
	maxPerConn int
	warm       int

	peerClients  int
	peerRounds   int
	peerDuration time.Duration

	rates       []float64
	openThreads int

	// cpuProfile, when set, turns on the server's pprof listener and
	// saves a CPU profile of the server during the generate and stream
	// phases to <cpuProfile>-generate.pprof and -stream.pprof.
	cpuProfile string
}

func main() {
	var o options
	var phases string
	flag.StringVar(&o.bin, "bin", "", "mastra-server binary (default: go build ./cmd/mastra-server)")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients for generate, stream and wasm")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each timed phase")
	flag.IntVar(&o.tokens, "tokens", 5, "tokens in each instant reply")
	flag.IntVar(&o.streams, "streams", 2000, "concurrent slow streams")
	flag.IntVar(&o.hold, "hold", 15, "tokens (one a second) in each slow stream")
	flag.IntVar(&o.startups, "startups", 5, "warm start-ups to time")
	flag.IntVar(&o.maxPerConn, "max-requests", 1_000_000, "cap on requests per client per phase")
	flag.IntVar(&o.warm, "warm", 10, "generate turns each thread gets before it is measured (10 = 20 messages of history)")
	flag.IntVar(&o.peerClients, "peer-clients", 8, "peer: concurrent clients on each side")
	flag.IntVar(&o.peerRounds, "peer-rounds", 3, "peer: alternated rounds (each: generate then stream, mastra-server then Mastra)")
	flag.DurationVar(&o.peerDuration, "peer-duration", 8*time.Second, "peer: length of each run")
	rates := flag.String("rate", "500", "open: turns per second, or a comma-separated list of rates run one after another")
	flag.IntVar(&o.openThreads, "open-threads", 250, "open: threads the turns go round")
	flag.StringVar(&phases, "phases", "generate,stream,firsttoken,wasm,slow,startup", "phases to run (also: peer, open)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (config, logs)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "save the server's CPU profile of the generate and stream phases to `PREFIX`-generate.pprof and PREFIX-stream.pprof (pprof_addr on)")
	summary := flag.String("summarize", "", "print the ranges in a bench/compare.sh log and exit")
	flag.Parse()
	if *summary != "" {
		f, err := os.Open(*summary)
		if err == nil {
			err = summarize(f, os.Stdout)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	for _, r := range strings.Split(*rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "load: -rate %q: want positive numbers\n", *rates)
			os.Exit(2)
		}
		o.rates = append(o.rates, v)
	}
	o.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		o.phases[strings.TrimSpace(p)] = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func run(ctx context.Context, o options) error {
	// Each slow stream holds a client socket here, a server socket and an
	// upstream socket in the server, and the fake model's socket here.
	limit, err := raiseFDLimit(uint64(2*o.streams + 256))
	if err != nil && o.phases["slow"] {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "mastra-load-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("work directory: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin := o.bin
	if bin == "" {
		if bin, err = buildServer(root, work); err != nil {
			return err
		}
	}
	db, err := openDatabase(work)
	if err != nil {
		return err
	}
	defer db.cleanup()
	model, err := startFakeModel(o.tokens, o.hold)
	if err != nil {
		return err
	}
	defer model.close()
	native, err := startNative()
	if err != nil {
		return err
	}
	defer native.Close()

	logf("# mastra-server load run  %s  GOMAXPROCS/cores=%d  clients=%d  duration=%s  tokens=%d",
		time.Now().UTC().Format(time.RFC3339), numCPU(), o.clients, o.duration, o.tokens)
	logf("postgres: %s; fd limit here: %d", db.what, limit)

	if o.phases["generate"] || o.phases["stream"] || o.phases["firsttoken"] || o.phases["wasm"] || o.phases["slow"] ||
		o.phases["peer"] || o.phases["open"] {
		if err := loadPhases(ctx, o, root, work, bin, db, model, native); err != nil {
			return err
		}
	}
	if o.phases["startup"] {
		if err := startupPhase(ctx, o, root, work, bin, db, model); err != nil {
			return err
		}
	}
	return nil
}

func numCPU() int {
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "\nprocessor")
		if strings.HasPrefix(string(b), "processor") {
			n++
		}
	}
	return n
}

// loadPhases runs the server with only the hello-wat route (no middleware),
// so the figures are the core's.
func loadPhases(ctx context.Context, o options, root, work, bin string, db *database, model *fakeModel, native *http.Server) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(work, "load.toml")
	wat := helloWat(root)
	var plugins []pluginEntry
	if _, err := os.Stat(wat.module); err == nil {
		plugins = append(plugins, wat)
	} else if o.phases["wasm"] {
		return fmt.Errorf("%s is missing: run scripts/build-plugins.sh examples/wat", wat.module)
	}
	sc := serverConfig{port: port, dbURL: db.url, modelURL: model.baseURL(),
		cacheDir: filepath.Join(work, "cache-load"), plugins: plugins}
	if o.cpuProfile != "" {
		pport, err := freePort()
		if err != nil {
			return err
		}
		sc.pprofAddr = fmt.Sprintf("127.0.0.1:%d", pport)
	}
	if err := writeConfig(cfgPath, sc); err != nil {
		return err
	}
	srv, ready, err := startServer(bin, cfgPath, filepath.Join(work, "load.log"), port, 30*time.Second)
	if err != nil {
		return err
	}
	defer srv.stop()
	if sc.pprofAddr != "" {
		srv.pprof = "http://" + sc.pprofAddr
	}
	logf("server pid %d ready in %s (cold cache, hello-wat only); server fd limit: %s", srv.pid, ready.Round(time.Millisecond), fdLimit(srv.pid))
	waitCtx(ctx, time.Second)
	logf("RSS idle (1 s after ready): %s", mib(rss(srv.pid)))

	if o.phases["peer"] {
		if err := peerPhase(ctx, o, root, work, db, model, srv); err != nil {
			return err
		}
	}

	client := newClient(o.clients)
	var turn atomic.Int64
	run := time.Now().UnixNano() % 1_000_000
	// warm gives each client's thread o.warm turns (2 messages each), so
	// the measured turns read a full history; it warms connections and the
	// Postgres pool too.
	warm := func(prefix string) {
		closedLoop(ctx, o.clients, 2*time.Minute, o.warm, func(ctx context.Context, c, i int) (time.Duration, error) {
			body := fmt.Sprintf(`{"message":"warm %d","threadId":"%s-%d-%d"}`, i, prefix, run, c)
			return generate(ctx, client, srv.base, body, model.tokens)
		})
	}

	if o.phases["generate"] {
		genBody := func(c int) string {
			return fmt.Sprintf(`{"message":"hello nonce:g%d","threadId":"gen-%d-%d"}`, turn.Add(1), run, c)
		}
		warm("gen")
		phase(ctx, "generate", o, srv, model, func() *result {
			return closedLoop(ctx, o.clients, o.duration, o.maxPerConn, func(ctx context.Context, c, i int) (time.Duration, error) {
				return generate(ctx, client, srv.base, genBody(c), model.tokens)
			})
		})
	}
	last := strings.TrimSpace(model.tokens[len(model.tokens)-1])
	if o.phases["stream"] {
		warm("stream")
		phase(ctx, "stream", o, srv, model, func() *result {
			return closedLoop(ctx, o.clients, o.duration, o.maxPerConn, func(ctx context.Context, c, i int) (time.Duration, error) {
				body := fmt.Sprintf(`{"message":"hello nonce:s%d","threadId":"stream-%d-%d"}`, turn.Add(1), run, c)
				l, _, err := streamTurn(ctx, client, srv.base+"/agent/stream", body, model.firstToken, last)
				return l, err
			})
		})
	}
	if o.phases["firsttoken"] {
		for _, n := range []int{1, o.clients} {
			firstTokenPhase(ctx, o, n, client, srv, model, run, last)
		}
	}
	if o.phases["stream"] || o.phases["generate"] {
		logf("RSS after generate/stream load: %s (peak %s)", mib(rss(srv.pid)), mib(hwm(srv.pid)))
	}
	if o.phases["open"] {
		if err := openPhase(ctx, o, srv, model); err != nil {
			return err
		}
	}
	if o.phases["wasm"] {
		wasmPhase(ctx, o, client, srv, native)
	}
	if o.phases["slow"] {
		slowPhase(ctx, o, srv, model)
	}
	return nil
}

// generate makes one /agent/generate turn and checks the reply's text.
func generate(ctx context.Context, c *http.Client, base, body string, tokens []string) (time.Duration, error) {
	resp, start, err := post(ctx, c, base+"/agent/generate", body)
	if err != nil {
		return 0, err
	}
	b, err := readAll(resp)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), strings.Join(tokens, "")) {
		return 0, fmt.Errorf("generate: %d %.300s", resp.StatusCode, b)
	}
	return time.Since(start), nil
}

// phase runs fn and reports turns/s, latency and the server's CPU per turn.
func phase(ctx context.Context, name string, o options, srv *server, model *fakeModel, fn func() *result) *result {
	pid := srv.pid
	var profiled func() (string, error)
	if o.cpuProfile != "" && srv.pprof != "" {
		profiled = cpuProfile(ctx, srv.pprof, o.duration, o.cpuProfile+"-"+name+".pprof")
	}
	st0, _ := procfs.ReadStat(pid)
	cpu0 := st0.OwnCPU
	io0, ioErr := procfs.ReadIO(pid)
	self0 := selfCPU()
	conns0 := model.newConns.Load()
	res := fn()
	st1, _ := procfs.ReadStat(pid)
	cpu1 := st1.OwnCPU
	io1, _ := procfs.ReadIO(pid)
	self1 := selfCPU()
	conns := model.newConns.Load() - conns0
	cpuPer := time.Duration(0)
	if res.ok > 0 {
		cpuPer = (cpu1 - cpu0) / time.Duration(res.ok)
	}
	logf("%-10s %6d ok %4d failed in %5.1fs: %8.1f turns/s  p50 %7s  p99 %7s  server CPU %6.3f ms/turn (%s in all)  upstream conns opened %d",
		name, res.ok, res.failed, res.elapsed.Seconds(), res.rate(), ms(res.pct(50)), ms(res.pct(99)),
		float64(cpuPer.Microseconds())/1000, (cpu1 - cpu0).Round(10*time.Millisecond), conns)
	logf("           this tool (clients + fake model) used %.3f ms CPU/turn; upstream conns opened per turn %.2f",
		float64((self1-self0).Microseconds())/1000/float64(max(1, res.ok)), float64(conns)/float64(max(1, res.ok)))
	if n := float64(max(1, res.ok)); ioErr == nil {
		logf("           server system calls per turn: %.1f reads, %.1f writes (/proc/<pid>/io); system CPU %.3f ms/turn",
			float64(io1.ReadCalls-io0.ReadCalls)/n, float64(io1.WriteCalls-io0.WriteCalls)/n,
			float64((st1.SystemCPU-st0.SystemCPU).Microseconds())/1000/n)
	}
	if res.firstErr != nil {
		logf("           first error: %v", res.firstErr)
	}
	if profiled != nil {
		if path, err := profiled(); err != nil {
			logf("           CPU profile: %v", err)
		} else {
			logf("           server CPU profile (its sampling is in the figures above): %s", path)
		}
	}
	return res
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// firstTokenPhase streams with n clients and reports how long the model's
// first token took to reach the client after the model flushed it.
func firstTokenPhase(ctx context.Context, o options, n int, client *http.Client, srv *server, model *fakeModel, run int64, last string) {
	model.trackOn.Store(true)
	defer model.trackOn.Store(false)
	var mu sync.Mutex
	var gaps []time.Duration
	var seq atomic.Int64
	d := o.duration / 2
	res := closedLoop(ctx, n, d, 2000, func(ctx context.Context, c, i int) (time.Duration, error) {
		nonce := fmt.Sprintf("ft%d-%d", run, seq.Add(1))
		body := fmt.Sprintf(`{"message":"hello nonce:%s","threadId":"ft-%d-%d-%d"}`, nonce, run, n, c)
		l, firstAt, err := streamTurn(ctx, client, srv.base+"/agent/stream", body, model.firstToken, last)
		if err != nil {
			return 0, err
		}
		if sent, ok := model.firstTokenAt(nonce); ok && !firstAt.IsZero() {
			mu.Lock()
			gaps = append(gaps, firstAt.Sub(sent))
			mu.Unlock()
		}
		return l, nil
	})
	logf("first token, %2d client(s): %5d streams: model flush -> client read  p50 %s  p99 %s  (turn p50 %s)",
		n, len(gaps), ms(percentile(gaps, 50)), ms(percentile(gaps, 99)), ms(res.pct(50)))
}

// wasmPhase alternates 1 s slices of the Wasm route, the native Go
// handler and /health, so the machine's noise falls on all three alike.
func wasmPhase(ctx context.Context, o options, client *http.Client, srv *server, native *http.Server) {
	targets := []struct {
		name, url, want string
		n               int
		spent           time.Duration
		lat             []time.Duration
	}{
		{name: "wasm route /hello-wat (server)", url: srv.base + "/hello-wat", want: `"hello":"wasm"`},
		{name: "native Go route (bare net/http)", url: "http://" + native.Addr + "/hello-native", want: `"hello":"native"`},
		{name: "/health (server, native)", url: srv.base + "/health", want: `"success":true`},
	}
	// Warm up each.
	for i := range targets {
		closedLoop(ctx, o.clients, 300*time.Millisecond, 1000, func(ctx context.Context, c, _ int) (time.Duration, error) {
			return get(ctx, client, targets[i].url, targets[i].want)
		})
	}
	cpuWasm := time.Duration(0)
	rounds := max(1, int(o.duration/(3*time.Second)))
	for range rounds {
		for i := range targets {
			t := &targets[i]
			cpu0, _ := procfs.CPU(srv.pid)
			res := closedLoop(ctx, o.clients, time.Second, o.maxPerConn, func(ctx context.Context, c, _ int) (time.Duration, error) {
				return get(ctx, client, t.url, t.want)
			})
			cpu1, _ := procfs.CPU(srv.pid)
			if i == 0 {
				cpuWasm += cpu1 - cpu0
			}
			t.n += res.ok
			t.spent += res.elapsed
			t.lat = append(t.lat, res.lat...)
			if res.firstErr != nil {
				logf("  %s: %d failed, first: %v", t.name, res.failed, res.firstErr)
			}
		}
	}
	rate := func(i int) float64 { return float64(targets[i].n) / targets[i].spent.Seconds() }
	for i, t := range targets {
		logf("%-32s %9.0f req/s  p50 %s  p99 %s", t.name, rate(i), ms(percentile(t.lat, 50)), ms(percentile(t.lat, 99)))
	}
	logf("wasm/native = %.2f   wasm/health = %.2f   (%d rounds of 1 s each, %d clients)  server CPU per wasm request %.1f µs",
		rate(0)/rate(1), rate(0)/rate(2), rounds, o.clients, float64(cpuWasm.Nanoseconds())/1000/float64(max(1, targets[0].n)))
}

// slowPhase opens o.streams streams on the slow model, measures the
// server with all of them open, then waits for them to finish.
func slowPhase(ctx context.Context, o options, srv *server, model *fakeModel) {
	client := newClient(o.streams)
	rss0 := rss(srv.pid)
	cpu0, _ := procfs.CPU(srv.pid)
	var opened, done, failed atomic.Int64
	var firstErr atomic.Value
	gate := make(chan struct{}, 100) // at most 100 streams being set up at once
	allOpen := make(chan struct{})
	var wg sync.WaitGroup
	hold := time.Duration(o.hold) * time.Second
	sctx, cancel := context.WithTimeout(ctx, hold+2*time.Minute)
	defer cancel()
	start := time.Now()
	lastTick := fmt.Sprintf("tick%d", o.hold-1)
	for i := range o.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case gate <- struct{}{}:
			case <-sctx.Done():
				return
			}
			released := false
			release := func() {
				if !released {
					released = true
					<-gate
					if opened.Add(1) == int64(o.streams) {
						close(allOpen)
					}
				}
			}
			defer release()
			body := fmt.Sprintf(`{"message":"slow %d","agentId":"slow"}`, i)
			resp, _, err := post(sctx, client, srv.base+"/agent/stream", body)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 4096)
			var got []byte
			for {
				n, err := resp.Body.Read(buf)
				got = append(got, buf[:n]...)
				if !released && strings.Contains(string(got), model.firstToken) {
					release()
					got = got[:0]
				}
				if len(got) > 8192 {
					got = got[len(got)-256:]
				}
				if err != nil {
					if strings.Contains(string(got), lastTick) && released {
						done.Add(1)
					} else {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Errorf("stream %d ended early: %v: %.200s", i, err, got))
					}
					return
				}
			}
		}()
	}
	select {
	case <-allOpen:
	case <-time.After(hold):
	}
	openTime := time.Since(start)
	waitCtx(ctx, 2*time.Second)
	logf("slow streams: %d of %d open (first token received) after %s", opened.Load()-failed.Load(), o.streams, openTime.Round(time.Millisecond))
	logf("  with them open: server RSS %s (was %s before), %d fds open (limit %s), %d threads",
		mib(rss(srv.pid)), mib(rss0), openFDs(srv.pid), fdLimit(srv.pid), threads(srv.pid))
	wg.Wait()
	cpu1, _ := procfs.CPU(srv.pid)
	logf("  all ended after %s: %d completed, %d failed; server peak RSS %s; server CPU %s for them (%.2f ms/stream)",
		time.Since(start).Round(time.Millisecond), done.Load(), failed.Load(), mib(hwm(srv.pid)),
		(cpu1 - cpu0).Round(10*time.Millisecond), float64((cpu1-cpu0).Microseconds())/1000/float64(max(1, done.Load())))
	if e := firstErr.Load(); e != nil {
		logf("  first error: %v", e)
	}
	waitCtx(ctx, 2*time.Second)
	logf("  RSS 2 s after they ended: %s", mib(rss(srv.pid)))
}

// selfCPU is this process's user+system CPU.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func threads(pid int) int64 { n, _ := procfs.Status(pid, "Threads"); return n }

// startupPhase times exec -> /health 200: with the example plugins once
// with an empty compile cache, then o.startups times warm; then warm with
// no plugin and with each plugin alone, to show where the time goes.
func startupPhase(ctx context.Context, o options, root, work, bin string, db *database, model *fakeModel) error {
	plugins, missing := examplePlugins(root)
	for _, m := range missing {
		logf("startup: plugin not built, left out: %s (scripts/build-plugins.sh)", m)
	}
	cache := filepath.Join(work, "cache-startup")
	n := 0
	// times starts the server runs+1 times with plugins; the first run's
	// time is returned apart (it fills the cache when the cache is new).
	var selfs []string // the server's own "startup" log figures, in run order
	times := func(plugins []pluginEntry, runs int, idleRSS bool) (first time.Duration, warm []time.Duration, rssAt []int64, err error) {
		selfs = selfs[:0]
		for i := 0; i <= runs && ctx.Err() == nil; i++ {
			port, err := freePort()
			if err != nil {
				return 0, nil, nil, err
			}
			n++
			cfgPath := filepath.Join(work, fmt.Sprintf("startup-%d.toml", n))
			if err := writeConfig(cfgPath, serverConfig{port: port, dbURL: db.url, modelURL: model.baseURL(), cacheDir: cache, plugins: plugins, logLevel: "info"}); err != nil {
				return 0, nil, nil, err
			}
			srv, ready, err := startServer(bin, cfgPath, filepath.Join(work, fmt.Sprintf("startup-%d.log", n)), port, 60*time.Second)
			if err != nil {
				return 0, nil, nil, err
			}
			if i == 0 {
				first = ready
			} else {
				warm = append(warm, ready)
				rssAt = append(rssAt, rss(srv.pid))
			}
			selfs = append(selfs, srv.selfReported())
			if idleRSS && i == runs {
				// One request through the routes, then the idle RSS.
				c := newClient(1)
				for _, u := range []string{"/hello-wat", "/hello-as", "/health"} {
					_, _ = get(ctx, c, srv.base+u, "")
				}
				waitCtx(ctx, time.Second)
				logf("idle RSS with the example plugins, 1 s after a request to each route: %s", mib(rss(srv.pid)))
			}
			srv.stop()
		}
		return first, warm, rssAt, nil
	}
	cold, warm, rssAt, err := times(plugins, o.startups, true)
	if err != nil {
		return err
	}
	logf("startup with %d example plugins, empty compile cache: ready in %s", len(plugins), ms(cold))
	logf("  the server's own startup_ms= log figures (main to listening), cold first: %s", strings.Join(selfs, " "))
	if len(warm) > 0 {
		logf("startup with %d example plugins, warm compile cache, %d runs: min %s  median %s  max %s; RSS at ready median %s",
			len(plugins), len(warm), ms(percentile(warm, 0)), ms(percentile(warm, 50)), ms(percentile(warm, 100)),
			mib(medianInt(rssAt)))
	}
	// Breakdown, warm cache (every module is in it by now).
	runs := max(1, o.startups/2)
	sets := [][]pluginEntry{nil}
	for _, p := range plugins {
		sets = append(sets, []pluginEntry{p})
	}
	for _, set := range sets {
		_, warm, rssAt, err := times(set, runs, false)
		if err != nil {
			return err
		}
		name := "no plugin"
		if len(set) == 1 {
			name = filepath.Base(set[0].module) + " alone"
		}
		logf("  startup, warm cache, %-26s median %s of %d  RSS at ready %s  (server's startup_ms= %s)",
			name+":", ms(percentile(warm, 50)), len(warm), mib(medianInt(rssAt)), strings.Join(selfs[1:], " "))
	}
	return nil
}

func medianInt(v []int64) int64 {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x)
	}
	return int64(percentile(d, 50))
}

// startNative serves the native Go twin of examples/wat/hello.wat.
func startNative() (*http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello-native", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Plugin", "native")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"hello":"native","method":"` + r.Method + `"}`))
	})
	srv := &http.Server{Handler: mux, Addr: ln.Addr().String()}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
