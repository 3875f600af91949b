package main

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSoak is the history checker of the test suite: a minute of traffic
// from four clients (two per tenant) at two instances, every kind of fault
// on the seed's schedule, with a fixed seed and with a random one (printed,
// so that a failure replays with -seed), the two side by side (each keeps
// a fraction of a core busy). MASTRA_SOAK_DURATION (e.g. 10m) makes each
// run a long one, and MASTRA_SOAK_SEED runs that seed alone.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the soak runs two servers for a minute (scripts/test.sh --quick)")
	}
	d := time.Minute
	if v := os.Getenv("MASTRA_SOAK_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("MASTRA_SOAK_DURATION: %v", err)
		}
	}
	seeds := []uint64{1, rand.Uint64()}
	if v := os.Getenv("MASTRA_SOAK_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("MASTRA_SOAK_SEED: %v", err)
		}
		seeds = []uint64{seed}
	}
	bin, err := buildServer(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range seeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			t.Logf("seed %d", seed)
			o := options{seed: seed, duration: d, instances: 2, workers: 4, faults: true, rssLimitMiB: 512, bin: bin,
				settle: 30 * time.Second, log: testWriter{t}}
			r, err := run(context.Background(), o)
			if r != nil {
				var out strings.Builder
				r.print(&out)
				t.Log("\n" + out.String())
			}
			if err != nil {
				t.Fatal(err)
			}
			if !r.passed() {
				t.Fatalf("the history broke an invariant (report above); replay: %s", r.replay())
			}
			// Every kind of fault happened: otherwise the run proved less.
			for _, kind := range faultKinds {
				if r.faultKinds[kind] == 0 {
					t.Errorf("no %s fault was injected: %v", kind, r.faults)
				}
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
