package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkMCPThroughBalancer: tools/call latency as an MCP client sees
// it, over TCP, through a round-robin balancer in front of two instances
// (the stateless mode: consecutive calls land on different instances), for
// the Wasm counter tool and ask_assistant on the echo model (an ephemeral
// turn). Reports p50 and p99.
//
//	go test ./host/app -run '^$' -bench MCPThroughBalancer -benchtime 2000x
func BenchmarkMCPThroughBalancer(b *testing.B) {
	toml := strings.Replace(mcpTOML, "%s", wasm(b, "counter"), 1)
	env := []string{"TOKEN_A=tok-a-0123456789abcdef", "TOKEN_B=tok-b-0123456789abcdef"}
	a1, s1 := build(b, toml, env...)
	a2, s2 := build(b, toml, env...)
	defer func() {
		s1.Close()
		s2.Close()
		a1.Close(context.Background())
		a2.Close(context.Background())
	}()
	var n atomic.Int64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			a1.Server.Handler().ServeHTTP(w, r)
			return
		}
		a2.Server.Handler().ServeHTTP(w, r)
	}))
	defer lb.Close()
	cs := mcpSession(b, lb.URL+"/api/mcp/main/mcp", "tok-a-0123456789abcdef")
	for _, c := range []struct {
		tool string
		args map[string]any
	}{{"counter", map[string]any{}}, {"ask_assistant", map[string]any{"message": "bench"}}} {
		b.Run(c.tool, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, isErr := callText(b, cs, c.tool, c.args); isErr {
					b.Fatalf("%s failed", c.tool)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
