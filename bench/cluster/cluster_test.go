package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchmarkRuns runs the benchmark for about a second a point with one
// and two instances, so that it cannot rot: every point must have served
// requests without a failure, and with two instances the balancer must
// have sent turns to both.
func TestBenchmarkRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs a balanced cluster of servers (scripts/test.sh --quick)")
	}
	o := defaultOptions()
	o.instances, o.clients, o.duration, o.warmup, o.idle = 2, 4, time.Second, 100*time.Millisecond, 300*time.Millisecond
	var progress strings.Builder
	o.log = &progress
	r, err := run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var out strings.Builder
	r.print(&out)
	t.Log("\n" + out.String())

	want := []struct {
		load   string
		direct bool
		n      int
	}{{"generate", true, 1}, {"stream", true, 1}, {"generate", false, 1}, {"stream", false, 1},
		{"generate", false, 2}, {"stream", false, 2}, {"idle", false, 2}}
	if len(r.points) != len(want) {
		t.Fatalf("%d points measured; want %d", len(r.points), len(want))
	}
	for _, w := range want {
		p := r.find(w.load, w.direct, w.n)
		if p == nil {
			t.Fatalf("no point for %s direct=%v n=%d", w.load, w.direct, w.n)
		}
		if w.load == "idle" {
			if p.res.ok != 0 || p.res.failed != 0 {
				t.Errorf("the idle point sent requests: %d ok, %d failed", p.res.ok, p.res.failed)
			}
			continue
		}
		if p.res.ok == 0 || p.res.failed > 0 {
			t.Errorf("%s direct=%v n=%d: %d ok, %d failed (first error %v)", w.load, w.direct, w.n, p.res.ok, p.res.failed, p.res.firstErr)
		}
		if p.instCPU[0] <= 0 {
			t.Errorf("%s direct=%v n=%d: instance a used no CPU by /proc", w.load, w.direct, w.n)
		}
		if p.n == 2 && (p.turns[0] == 0 || p.turns[1] == 0) {
			t.Errorf("%s through the balancer to 2 instances: turns per instance %v; want both served", w.load, p.turns)
		}
	}
	if !strings.Contains(out.String(), "bounded by CPU") {
		t.Error("the report does not say that scaling on this machine is bounded by its cores")
	}
}

// TestBalancerConfigKeepsTheExamplesSettings: the generated HAProxy
// configuration is examples/cluster/haproxy.cfg with only the backend's
// server lines replaced, one per instance, with the example's options.
func TestBalancerConfigKeepsTheExamplesSettings(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, exampleHAProxy))
	if err != nil {
		t.Fatal(err)
	}
	got, err := balancerConfig(string(example), []*instance{{name: "a", addr: "127.0.0.1:5001"}, {name: "b", addr: "127.0.0.1:5002"}})
	if err != nil {
		t.Fatal(err)
	}
	var servers, others []string
	for _, line := range strings.Split(got, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "server" {
			servers = append(servers, strings.Join(f, " "))
		} else {
			others = append(others, line)
		}
	}
	if want := []string{"server a 127.0.0.1:5001 check", "server b 127.0.0.1:5002 check"}; strings.Join(servers, "\n") != strings.Join(want, "\n") {
		t.Errorf("server lines = %q; want %q", servers, want)
	}
	var exampleOthers []string
	for _, line := range strings.Split(string(example), "\n") {
		if f := strings.Fields(line); len(f) == 0 || f[0] != "server" {
			exampleOthers = append(exampleOthers, line)
		}
	}
	if strings.Join(others, "\n") != strings.Join(exampleOthers, "\n") {
		t.Errorf("the lines other than servers differ from the example's:\n%s", got)
	}
	if _, err := balancerConfig("backend other\n    server x 1.2.3.4:5 check\n", nil); err == nil {
		t.Error("a configuration without backend mastra's server lines was accepted")
	}
}
