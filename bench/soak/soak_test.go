package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSoak is the short soak of the test suite: two instances, eight
// seconds of mixed traffic with every fault once. MASTRA_SOAK_DURATION
// (e.g. 10m) makes it a long one.
func TestSoak(t *testing.T) {
	o := options{duration: 8 * time.Second, instances: 2, workers: 6, faults: true, rssLimitMiB: 512,
		settle: 2 * time.Minute, log: testWriter{t}}
	if d := os.Getenv("MASTRA_SOAK_DURATION"); d != "" {
		var err error
		if o.duration, err = time.ParseDuration(d); err != nil {
			t.Fatalf("MASTRA_SOAK_DURATION: %v", err)
		}
	}
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
		t.Fatal("an invariant failed (report above)")
	}
	// The faults happened: otherwise the run proved nothing.
	if len(r.faults) < 4 || r.model.errors.Load()+r.model.midStream.Load()+r.model.stall.Load() == 0 {
		t.Fatalf("the soak injected too few faults: %v", r.faults)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
