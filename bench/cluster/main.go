// Command cluster measures the throughput of 1, 2, … N mastra-server
// instances on one Postgres behind HAProxy, set up as examples/cluster sets
// it up, on this machine:
//
//	go run ./bench/cluster                        # n = 1..3, 16 clients, 15 s a point
//	go run ./bench/cluster -instances 2 -duration 5s -clients 8
//
// For each n it drives -clients closed-loop clients for -duration through
// the balancer with (a) POST /agent/generate on the echo model and (b) POST
// /agent/stream read to [DONE] against a fake OpenAI-compatible model that
// streams -tokens tokens, and prints one table: requests/s, p50/p99
// latency, how the balancer split the turns, the CPU seconds of each
// instance, of HAProxy, of Postgres and of this tool (clients and fake
// model), and the whole machine's. A first row per load goes to one
// instance directly, without the balancer: the difference to n = 1 is
// the balancer's own cost.
//
// Everything runs on this machine: when it has few cores, the load
// generator, HAProxy, Postgres and the instances share them, and the
// figures show how far the cores, not the server, bound scaling out.
//
// Each group of points (direct; n = 1; n = 2; …) runs on a new, empty
// database with freshly started instances, so that the rows do not drift
// with the order they are measured in (in one database, later points run
// on ever more rows).
//
// HAProxy's settings are examples/cluster/haproxy.cfg's: the tool reads
// that file and replaces only the backend's server lines with the n
// instances it runs. Postgres is a throwaway cluster of the tool's own
// (internal/pgtest), so that its CPU can be counted; -postgres env uses
// MEMORY_DATABASE_URL as is, or a new database on TEST_DATABASE_URL.
// Everything listens on 127.0.0.1 and stops when the tool ends.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	o := defaultOptions()
	var loads string
	flag.IntVar(&o.instances, "instances", o.instances, "largest number of instances behind the balancer (points n = 1..instances)")
	flag.IntVar(&o.clients, "clients", o.clients, "concurrent closed-loop clients")
	flag.DurationVar(&o.duration, "duration", o.duration, "measured time of each point")
	flag.DurationVar(&o.warmup, "warmup", o.warmup, "unmeasured load before each point (connections, pools)")
	flag.DurationVar(&o.idle, "idle", o.idle, "after the loads, measure all instances at rest this long (0: not)")
	flag.IntVar(&o.tokens, "tokens", o.tokens, "tokens the fake model streams per reply")
	flag.StringVar(&loads, "loads", strings.Join(o.loads, ","), "loads to run: generate, stream")
	flag.BoolVar(&o.direct, "direct", o.direct, "also measure one instance without the balancer")
	flag.StringVar(&o.postgres, "postgres", o.postgres, `"own" (a throwaway cluster, its CPU counted) or "env" (MEMORY_DATABASE_URL, else TEST_DATABASE_URL)`)
	flag.IntVar(&o.gomaxprocs, "instance-gomaxprocs", 0, "GOMAXPROCS of each instance (0: Go's default, the cores; or this tool's GOMAXPROCS variable)")
	flag.StringVar(&o.bin, "bin", "", "mastra-server binary (default: go build ./cmd/mastra-server)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (configs, logs)")
	flag.Parse()
	o.loads = strings.Split(loads, ",")
	o.out = os.Stdout
	o.log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	r.print(o.out)
	if r.failures() > 0 {
		os.Exit(1)
	}
}

// options are the benchmark's settings (the flags of main).
type options struct {
	instances  int
	clients    int
	duration   time.Duration
	warmup     time.Duration
	idle       time.Duration
	tokens     int
	loads      []string
	direct     bool
	postgres   string
	gomaxprocs int // of each instance; 0 for Go's default
	bin        string
	keep       bool
	out, log   io.Writer
}

func defaultOptions() options {
	return options{instances: 3, clients: 16, duration: 15 * time.Second, warmup: 2 * time.Second, idle: 5 * time.Second,
		tokens: 20, loads: []string{"generate", "stream"}, direct: true, postgres: "own"}
}
