package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// report is every point of a run, printed as one table.
type report struct {
	o       options
	started time.Time
	loadAvg string
	pgWhat  string
	points  []*point
}

func (r *report) failures() int {
	n := 0
	for _, p := range r.points {
		n += p.res.failed
	}
	return n
}

// find is the point of load at n instances (direct or through the
// balancer), or nil.
func (r *report) find(load string, direct bool, n int) *point {
	for _, p := range r.points {
		if p.load == load && p.direct == direct && p.n == n {
			return p
		}
	}
	return nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *report) print(w io.Writer) {
	o := r.o
	fmt.Fprintf(w, "# bench/cluster  %s  cores=%d  clients=%d  %s a point (after %s warm-up)  stream: %d tokens\n",
		r.started.UTC().Format(time.RFC3339), cores(), o.clients, o.duration, o.warmup, o.tokens)
	procs := "Go's default (the cores)"
	if o.gomaxprocs > 0 {
		procs = fmt.Sprint(o.gomaxprocs)
	}
	fmt.Fprintf(w, "# postgres: %s\n# balancer: HAProxy with examples/cluster/haproxy.cfg's settings; GOMAXPROCS of each instance: %s; load average at start %s\n",
		r.pgWhat, procs, r.loadAvg)
	fmt.Fprintf(w, "# This machine has %d cores, shared by the load generator (this tool and its fake model), HAProxy,\n", cores())
	fmt.Fprintln(w, "# Postgres, every instance and whatever else runs here (\"machine\" counts all of it). When the")
	fmt.Fprintln(w, "# cores are busy, more instances cannot add throughput: scaling is bounded by CPU, not by the server.")
	fmt.Fprintln(w)
	const head = "%-8s %-8s %1s %8s %7s %7s %4s  %-11s %-17s %6s %6s %7s %6s %6s  %5s %7s\n"
	fmt.Fprintf(w, head, "load", "path", "n", "req/s", "p50 ms", "p99 ms", "fail", "split %", "inst CPU s",
		"ms/req", "lb s", "lb new", "pg s", "tool s", "ours", "machine")
	fmt.Fprintf(w, head, "", "", "", "", "", "", "", "(turns)", "(each)", "(inst)", "", "conns", "", "", "cores", "cores")
	for _, p := range r.points {
		path := "balancer"
		if p.direct {
			path = "direct"
		}
		var split, cpu []string
		var turns float64
		var instTotal time.Duration
		for i := range p.instCPU {
			turns += p.turns[i]
			instTotal += p.instCPU[i]
		}
		for i := range p.instCPU {
			if turns > 0 {
				split = append(split, fmt.Sprintf("%.0f", 100*p.turns[i]/turns))
			}
			cpu = append(cpu, fmt.Sprintf("%.2f", p.instCPU[i].Seconds()))
		}
		rate, p50, p99, perReq := "-", "-", "-", "-"
		if p.res.ok > 0 {
			rate = fmt.Sprintf("%.1f", p.res.rate())
			p50, p99 = fmt.Sprintf("%.2f", msOf(p.res.pct(50))), fmt.Sprintf("%.2f", msOf(p.res.pct(99)))
			perReq = fmt.Sprintf("%.3f", msOf(instTotal)/float64(p.res.ok))
		}
		if p.load == "idle" {
			split = nil // a turn cut at the end of the last point may be counted late
		}
		if len(split) == 0 {
			split = []string{"-"}
		}
		lb, conns, pg := "-", "-", "-"
		if !p.direct {
			lb = fmt.Sprintf("%.2f", p.lbCPU.Seconds())
		}
		if p.lbConns >= 0 {
			conns = fmt.Sprint(p.lbConns)
		}
		if p.pgCPU >= 0 {
			pg = fmt.Sprintf("%.2f", p.pgCPU.Seconds())
		}
		ours := instTotal + p.lbCPU + max(p.pgCPU, 0) + p.selfCPU
		el := p.res.elapsed.Seconds()
		fmt.Fprintf(w, "%-8s %-8s %1d %8s %7s %7s %4d  %-11s %-17s %6s %6s %7s %6s %6.2f  %5.2f %7.2f\n",
			p.load, path, p.n, rate, p50, p99, p.res.failed, strings.Join(split, "/"), strings.Join(cpu, " "),
			perReq, lb, conns, pg, p.selfCPU.Seconds(), ours.Seconds()/el, p.machine.Seconds()/el)
		if p.res.firstErr != nil {
			fmt.Fprintf(w, "         first error: %.200v\n", p.res.firstErr)
		}
	}
	fmt.Fprintln(w)
	for _, load := range o.loads {
		base := r.find(load, false, 1)
		if base == nil || base.res.rate() == 0 {
			continue
		}
		var scale []string
		for n := 2; n <= o.instances; n++ {
			if p := r.find(load, false, n); p != nil {
				scale = append(scale, fmt.Sprintf("n=%d ×%.2f", n, p.res.rate()/base.res.rate()))
			}
		}
		line := fmt.Sprintf("%-8s req/s vs 1 instance behind the balancer: %s", load, strings.Join(scale, ", "))
		if d := r.find(load, true, 1); d != nil && d.res.rate() > 0 && base.res.ok > 0 {
			line += fmt.Sprintf("; the balancer (direct → n=1): %+.0f%% req/s, p50 %+.2f ms, HAProxy %.3f ms CPU/req",
				100*(base.res.rate()/d.res.rate()-1), msOf(base.res.pct(50)-d.res.pct(50)),
				msOf(base.lbCPU)/float64(base.res.ok))
		}
		fmt.Fprintln(w, line)
	}
	if len(r.points) > 0 {
		lo, hi := 1e9, -1e9
		for _, p := range r.points {
			ours := p.selfCPU + p.lbCPU + max(p.pgCPU, 0)
			for _, c := range p.instCPU {
				ours += c
			}
			other := (p.machine - ours).Seconds() / p.res.elapsed.Seconds()
			lo, hi = min(lo, other), max(hi, other)
		}
		fmt.Fprintf(w, "other processes on this machine used %.2f–%.2f of its %d cores during the points\n", max(lo, 0), max(hi, 0), cores())
	}
	fmt.Fprintln(w, "split: each instance's share of the turns (its /metrics); inst CPU: seconds each instance used in the")
	fmt.Fprintln(w, "point; ms/req: all instances' CPU per request; lb/pg/tool: HAProxy, Postgres (all its processes),")
	fmt.Fprintln(w, "this tool (clients + fake model); lb new conns: connections HAProxy opened to the instances;")
	fmt.Fprintln(w, "cores: CPU seconds per second, ours and the whole machine's; idle: no traffic, all instances up.")
}
