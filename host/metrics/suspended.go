package metrics

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WatchSuspended reports the agent turns waiting for a human (tool
// approval or a suspended tool), per agent, as
// mastra_agent_suspended_runs. count reads them from the database, which
// every instance shares, so each instance reports the same totals; a
// scrape reuses a count younger than five seconds, and a count that fails
// reports nothing rather than zero.
func (m *Metrics) WatchSuspended(count func(ctx context.Context) (map[string]int, error)) {
	m.reg.MustRegister(&suspendedCollector{count: count})
}

var suspendedRuns = prometheus.NewDesc("mastra_agent_suspended_runs",
	"Agent turns waiting for a tool approval or a suspended tool's resume data (all instances).", []string{"agent"}, nil)

type suspendedCollector struct {
	count func(ctx context.Context) (map[string]int, error)
	mu    sync.Mutex // guards last and at
	last  map[string]int
	at    time.Time
}

func (c *suspendedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- suspendedRuns }

func (c *suspendedCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.last == nil || time.Since(c.at) >= 5*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, err := c.count(ctx)
		cancel()
		if err == nil {
			c.last, c.at = n, time.Now()
		}
	}
	last := c.last
	c.mu.Unlock()
	ids := make([]string, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ch <- prometheus.MustNewConstMetric(suspendedRuns, prometheus.GaugeValue, float64(last[id]), id)
	}
}
