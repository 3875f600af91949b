package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// The peer phase: mastra-server and a Mastra 1.x app (bench/peer: the
// same agent, memory on the same Postgres, the same fake model) answer the
// same requests on the same route, in alternated runs, so that the
// machine's noise falls on both alike. What it compares is each server's
// CPU per turn, read from /proc; Postgres and this tool are outside both.

// peerApp is a running bench/peer app.
type peerApp struct {
	*server
	dbURL string
}

// ensurePeerApp installs bench/peer's pinned packages (Node 22 among
// them) when node_modules is missing or older than the lock file, as the
// npm stages of tests/* do.
func ensurePeerApp(dir string) error {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("bench/peer: %w", err)
	}
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err == nil && !lock.ModTime().After(installed.ModTime()) {
		return nil
	}
	logf("bench/peer: npm ci (first run: about a minute)")
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bench/peer: npm ci: %v\n%s", err, b)
	}
	return nil
}

// startPeerApp runs bench/peer/server.mjs on Node 22 from its
// node_modules and waits until it lists its agents.
func startPeerApp(dir, work, dbURL, modelURL string) (*peerApp, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	logPath := filepath.Join(work, "peer.log")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "node"), "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", port), "DATABASE_URL="+dbURL, "MODEL_URL="+modelURL,
		// `mastra start` runs the build output in production mode; the
		// telemetry ping would only fail here (no network) and cost CPU.
		"NODE_ENV=production", "MASTRA_TELEMETRY_DISABLED=1")
	cmd.Stdout, cmd.Stderr = out, out
	s, ready, err := startCmd(cmd, out, logPath, fmt.Sprintf("http://127.0.0.1:%d", port), "/api/agents", 2*time.Minute)
	if err != nil {
		return nil, 0, err
	}
	return &peerApp{server: s, dbURL: dbURL}, ready, nil
}

// apiBody is a Mastra 1.x agent request remembered on thread.
func apiBody(thread, msg string) string {
	return fmt.Sprintf(`{"messages":%q,"memory":{"thread":%q,"resource":"bench"}}`, msg, thread)
}

// apiGenerate makes one POST /api/agents/fast/generate turn and checks
// the reply holds the model's whole text.
func apiGenerate(ctx context.Context, c *http.Client, base, thread, msg string, tokens []string) (time.Duration, error) {
	resp, start, err := post(ctx, c, base+"/api/agents/fast/generate", apiBody(thread, msg))
	if err != nil {
		return 0, err
	}
	b, err := readAll(resp)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), strings.Join(tokens, "")) {
		return 0, fmt.Errorf("generate %s: %d %.300s", base, resp.StatusCode, b)
	}
	return time.Since(start), nil
}

// apiStream makes one POST /api/agents/fast/stream turn, read to the end.
func apiStream(ctx context.Context, c *http.Client, base, thread, msg string, model *fakeModel) (time.Duration, error) {
	last := strings.TrimSpace(model.tokens[len(model.tokens)-1])
	l, _, err := streamTurn(ctx, c, base+"/api/agents/fast/stream", apiBody(thread, msg), model.firstToken, last)
	return l, err
}

// warmThreads gives threads 0..n-1 (thread(i)) o.warm generate turns each,
// clients at a time, so every measured turn reads a full 20-message
// history (and a JIT has compiled the hot path).
func warmThreads(ctx context.Context, o options, clients, n int, c *http.Client, base string, thread func(int) string, model *fakeModel) error {
	clients = min(clients, n)
	per := o.warm * ((n + clients - 1) / clients)
	res := closedLoop(ctx, clients, 10*time.Minute, per, func(ctx context.Context, cl, i int) (time.Duration, error) {
		t := cl + clients*(i/o.warm)
		if t >= n {
			return 0, nil
		}
		return apiGenerate(ctx, c, base, thread(t), fmt.Sprintf("warm %d", i), model.tokens)
	})
	if res.failed > 0 {
		return fmt.Errorf("warming %s: %d turns failed, first: %v", base, res.failed, res.firstErr)
	}
	return nil
}

// peerPhase alternates runs of mastra-server (ours) and the Mastra app,
// generate then stream, o.peerRounds times, and reports each one's CPU per
// turn and their ratio.
func peerPhase(ctx context.Context, o options, root, work string, db *database, model *fakeModel, ours *server) error {
	dir := filepath.Join(root, "bench", "peer")
	if err := ensurePeerApp(dir); err != nil {
		return err
	}
	dbURL, err := db.another("mastra_peer")
	if err != nil {
		return fmt.Errorf("peer database: %w", err)
	}
	app, ready, err := startPeerApp(dir, work, dbURL, model.baseURL())
	if err != nil {
		return err
	}
	defer app.stop()
	logf("mastra 1.x peer (bench/peer, Node %s) pid %d ready in %s; %d clients, %d rounds of %s per side and kind, threads warmed with %d turns",
		nodeVersion(dir), app.pid, ready.Round(time.Millisecond), o.peerClients, o.peerRounds, o.peerDuration, o.warm)

	sides := []struct {
		name string
		srv  *server
	}{{"mastra-server", ours}, {"mastra 1.x", app.server}}
	client := newClient(2 * o.peerClients)
	run := time.Now().UnixNano() % 1_000_000
	thread := func(side, c int) string { return fmt.Sprintf("peer-%d-%d-%d", run, side, c) }
	for si, s := range sides {
		t0 := time.Now()
		if err := warmThreads(ctx, o, o.peerClients, o.peerClients, client, s.srv.base, func(c int) string { return thread(si, c) }, model); err != nil {
			return err
		}
		// A few stream turns too, for the JIT.
		closedLoop(ctx, o.peerClients, time.Minute, 3, func(ctx context.Context, c, i int) (time.Duration, error) {
			return apiStream(ctx, client, s.srv.base, thread(si, c), "warm stream", model)
		})
		logf("  %s warmed in %s", s.name, time.Since(t0).Round(time.Millisecond))
	}
	// And one unmeasured run of each kind on each side, alternated like
	// the measured ones: Node's JIT keeps improving over the first
	// hundreds of turns, and the first measured round should not pay it.
	for _, kind := range []string{"generate", "stream"} {
		for si, s := range sides {
			closedLoop(ctx, o.peerClients, o.peerDuration, o.maxPerConn, func(ctx context.Context, c, i int) (time.Duration, error) {
				if kind == "generate" {
					return apiGenerate(ctx, client, s.srv.base, thread(si, c), "warm", model.tokens)
				}
				return apiStream(ctx, client, s.srv.base, thread(si, c), "warm", model)
			})
		}
	}

	kinds := []string{"generate", "stream"}
	type runFig struct {
		cpu      float64 // ms per turn
		rate     float64
		p50, p99 time.Duration
	}
	figs := map[string][2][]runFig{}
	var seq atomic.Int64
	for r := 1; r <= o.peerRounds && ctx.Err() == nil; r++ {
		for _, kind := range kinds {
			var pair [2]float64
			for si, s := range sides {
				cpu0, err := treeCPU(s.srv.pid)
				if err != nil {
					return fmt.Errorf("%s: %w", s.name, err)
				}
				req0, msgs0 := model.requests.Load(), model.messages.Load()
				res := closedLoop(ctx, o.peerClients, o.peerDuration, o.maxPerConn, func(ctx context.Context, c, i int) (time.Duration, error) {
					msg := fmt.Sprintf("hello %d", seq.Add(1))
					if kind == "generate" {
						return apiGenerate(ctx, client, s.srv.base, thread(si, c), msg, model.tokens)
					}
					return apiStream(ctx, client, s.srv.base, thread(si, c), msg, model)
				})
				cpu1, _ := treeCPU(s.srv.pid)
				// What the model was sent per call: system prompt, the
				// history and the new message, the same on both sides.
				perCall := float64(model.messages.Load()-msgs0) / float64(max(1, model.requests.Load()-req0))
				f := runFig{rate: res.rate(), p50: res.pct(50), p99: res.pct(99)}
				if res.ok > 0 {
					f.cpu = float64((cpu1 - cpu0).Microseconds()) / 1000 / float64(res.ok)
				}
				pair[si] = f.cpu
				all := figs[kind]
				all[si] = append(all[si], f)
				figs[kind] = all
				logf("  round %d %-8s %-13s %5d ok %3d failed %7.1f turns/s  p50 %8s  p99 %8s  CPU %7.3f ms/turn  (%.1f messages per model call)",
					r, kind, s.name, res.ok, res.failed, f.rate, ms(f.p50), ms(f.p99), f.cpu, perCall)
				if res.firstErr != nil {
					logf("    first error: %v", res.firstErr)
				}
			}
			if pair[0] > 0 {
				logf("  round %d %-8s mastra 1.x / mastra-server CPU per turn = %.1f×", r, kind, pair[1]/pair[0])
			}
		}
	}
	for _, kind := range kinds {
		f := figs[kind]
		var cpu [2][]float64
		var ratios []float64
		for si := range sides {
			for i, x := range f[si] {
				cpu[si] = append(cpu[si], x.cpu)
				if si == 1 && i < len(f[0]) && f[0][i].cpu > 0 {
					ratios = append(ratios, x.cpu/f[0][i].cpu)
				}
			}
		}
		logf("peer %-8s CPU per turn: mastra-server %s ms, mastra 1.x %s ms; ratio %s× (%d rounds, %d clients, %d tokens, 20-message history)",
			kind, span(cpu[0], "%.3f"), span(cpu[1], "%.1f"), span(ratios, "%.0f"), len(ratios), o.peerClients, len(model.tokens))
	}
	return nil
}

// span formats the range of xs as "min–max" (one value alone).
func span(xs []float64, format string) string {
	if len(xs) == 0 {
		return "?"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if s[0] == s[len(s)-1] {
		return fmt.Sprintf(format, s[0])
	}
	return fmt.Sprintf(format+"–"+format, s[0], s[len(s)-1])
}

// nodeVersion is the version of bench/peer's Node.
func nodeVersion(dir string) string {
	b, err := exec.Command(filepath.Join(dir, "node_modules", ".bin", "node"), "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
