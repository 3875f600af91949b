// Command soak is a seeded history checker: it drives two tenants' traffic
// (generate and resumable stream turns, workflow starts, raced resumes,
// cancels, reads of threads and runs) at mastra-server instances for a set
// time while it injects faults on the seed's schedule — kill -9 and
// restart, SIGSTOP past the stream leases, one instance cut off Postgres
// through its proxy, SSE connections dropped, the model paused, Postgres
// stopped, a SIGTERM restart — then heals everything and checks the
// history of operations against the database:
//
//	go run ./bench/soak -duration 10m -seed 42
//
// Every random choice (the model's answers and failures, the clients'
// operations and instances, the fault schedule) derives from the one
// printed seed, so -seed replays a failing run. On a violation it prints
// the operations that show it and exits 1.
//
// It starts everything it needs: a throwaway PostgreSQL cluster (so that it
// may stop it), a fake OpenAI-compatible model, and the server binary
// (built from this checkout unless -bin names one). The Wasm calc tool must
// be built (scripts/build-plugins.sh). A short run is part of the test
// suite (soak_test.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"
)

func main() {
	var o options
	flag.Uint64Var(&o.seed, "seed", rand.Uint64(), "seed of every random choice (default: a random one, printed)")
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long to send traffic")
	flag.IntVar(&o.instances, "instances", 2, "server instances on the one database")
	flag.IntVar(&o.workers, "workers", 6, "concurrent clients")
	flag.StringVar(&o.bin, "bin", "", "server binary (default: go build ./cmd/mastra-server)")
	flag.BoolVar(&o.faults, "faults", true, "inject instance, database, model and client faults")
	flag.Int64Var(&o.rssLimitMiB, "rss-limit", 512, "largest resident memory of one instance, MiB")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "how long after the heal every started run must have ended or suspended")
	flag.Parse()
	o.out = os.Stdout
	o.log = os.Stderr
	fmt.Fprintf(os.Stderr, "soak: seed %d\n", o.seed)

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
