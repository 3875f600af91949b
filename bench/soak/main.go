// Command soak drives mixed traffic (generate, stream, tool, workflow) at
// mastra-server instances for a set time while it injects faults — kill -9
// and restart of an instance, a SIGTERM restart, Postgres stopped and
// started, model errors and stalls, clients that go away mid-stream — then
// checks invariants in the database and prints a one-screen report:
//
//	go run ./bench/soak -duration 10m -instances 3
//
// It starts everything it needs: a throwaway PostgreSQL cluster (so that it
// may stop it), a fake OpenAI-compatible model, and the server binary
// (built from this checkout unless -bin names one). The Wasm calc tool must
// be built (scripts/build-plugins.sh). It exits 1 when an invariant fails.
// A short run is part of the test suite (soak_test.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long to send traffic")
	flag.IntVar(&o.instances, "instances", 2, "server instances on the one database")
	flag.IntVar(&o.workers, "workers", 6, "concurrent clients")
	flag.StringVar(&o.bin, "bin", "", "server binary (default: go build ./cmd/mastra-server)")
	flag.BoolVar(&o.faults, "faults", true, "inject instance, database, model and client faults")
	flag.Int64Var(&o.rssLimitMiB, "rss-limit", 512, "largest resident memory of one instance, MiB")
	flag.DurationVar(&o.settle, "settle", 2*time.Minute, "how long acknowledged workflow runs get to end after the traffic")
	flag.Parse()
	o.out = os.Stdout
	o.log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := run(ctx, o)
	if r != nil {
		r.print(o.out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !r.passed() {
		os.Exit(1)
	}
}
