package main

import (
	"math"
	"strings"
	"testing"
)

// A /metrics page as the server writes it: two routes, buckets out of
// order for one, and other metrics around.
const page = `# HELP mastra_server_overhead_seconds Time the server spent.
# TYPE mastra_server_overhead_seconds histogram
mastra_server_overhead_seconds_bucket{route="/api/agents/:agentId/generate",le="0.001"} 10
mastra_server_overhead_seconds_bucket{route="/api/agents/:agentId/generate",le="0.0025"} 90
mastra_server_overhead_seconds_bucket{route="/api/agents/:agentId/generate",le="0.005"} 100
mastra_server_overhead_seconds_bucket{route="/api/agents/:agentId/generate",le="+Inf"} 100
mastra_server_overhead_seconds_sum{route="/api/agents/:agentId/generate"} 0.2
mastra_server_overhead_seconds_count{route="/api/agents/:agentId/generate"} 100
mastra_server_overhead_seconds_bucket{route="/agent/stream",le="+Inf"} 4
mastra_server_overhead_seconds_bucket{route="/agent/stream",le="0.001"} 0
mastra_server_overhead_seconds_bucket{route="/agent/stream",le="0.0025"} 2
mastra_server_overhead_seconds_sum{route="/agent/stream"} 1
mastra_http_requests_total{method="GET",route="/health",status="200"} 3
`

func TestOverheadQuantiles(t *testing.T) {
	hs, err := parseHistograms(strings.NewReader(page), "mastra_server_overhead_seconds", "route")
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 {
		t.Fatalf("got %d routes, want 2", len(hs))
	}
	g := hs["/api/agents/:agentId/generate"]
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	// p50: rank 50 lies in (0.001, 0.0025], 40 of its 80 → halfway.
	near("generate p50", g.quantile(0.5), 0.00175)
	// p99: rank 99 in (0.0025, 0.005], 9 of its 10.
	near("generate p99", g.quantile(0.99), 0.0025+0.0025*0.9)
	// p05: rank 5 in the first bucket, from 0.
	near("generate p05", g.quantile(0.05), 0.0005)

	// Only the difference of two scrapes counts.
	before := &histogram{le: g.le, count: []float64{10, 50, 60, 60}, sum: 0.1}
	d := g.minus(before)
	near("delta total", d.total(), 40)
	near("delta sum", d.sum, 0.1)
	// Cumulative 0, 40, 40, 40: rank 20 is halfway through (0.001, 0.0025].
	near("delta p50", d.quantile(0.5), 0.00175)
	near("delta p99", d.quantile(0.99), 0.001+0.0015*0.99)
	// Past the last finite bound the estimate is that bound, a floor.
	s := hs["/agent/stream"]
	near("stream p99", s.quantile(0.99), 0.0025)
	if !math.IsNaN((&histogram{}).quantile(0.5)) {
		t.Error("an empty histogram has no quantile")
	}
}
