package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/bench/internal/procfs"
)

// The open phase: turns arrive at a fixed rate whatever the server's
// pace (an open loop: a slow answer does not hold the next request back),
// and the server's own figure of what it adds, the histogram
// mastra_server_overhead_seconds{route}, is read from /metrics before and
// after, so its p50/p99 are those of this run alone.

// openLoop starts do at rate per second for d; each call's latency counts
// from when it was due, so a server that falls behind shows it. At most
// maxInFlight calls run at once; arrivals beyond are counted as dropped.
func openLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int,
	do func(ctx context.Context, i int) error) (res *result, dropped int) {
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d.Seconds() * rate)
	sem := make(chan struct{}, maxInFlight)
	res = &result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			waitCtx(ctx, w)
		}
		select {
		case sem <- struct{}{}:
		default:
			dropped++
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := do(cctx, i)
			cancel()
			lat := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.failed++
				if res.firstErr == nil {
					res.firstErr = err
				}
				return
			}
			res.ok++
			res.lat = append(res.lat, lat)
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, dropped
}

// histogram is one series of a Prometheus histogram: cumulative counts by
// upper bound (the last +Inf), and the sum of the observations.
type histogram struct {
	le    []float64
	count []float64
	sum   float64
}

// scrapeHistograms reads the histogram name from a Prometheus text
// /metrics page, one per value of the label key.
func scrapeHistograms(ctx context.Context, c *http.Client, url, name, key string) (map[string]*histogram, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: %d %.200s", url, resp.StatusCode, b)
	}
	return parseHistograms(resp.Body, name, key)
}

func parseHistograms(r io.Reader, name, key string) (map[string]*histogram, error) {
	out := map[string]*histogram{}
	get := func(k string) *histogram {
		h := out[k]
		if h == nil {
			h = &histogram{}
			out[k] = h
		}
		return h
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		suffix, labels, value, ok := splitSample(rest)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		switch suffix {
		case "_bucket":
			le, err := strconv.ParseFloat(labels["le"], 64) // "+Inf" parses as +Inf
			if err != nil {
				return nil, fmt.Errorf("%s: le: %w", line, err)
			}
			h := get(labels[key])
			h.le = append(h.le, le)
			h.count = append(h.count, v)
		case "_sum":
			get(labels[key]).sum = v
		}
	}
	for _, h := range out {
		idx := make([]int, len(h.le))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return h.le[idx[a]] < h.le[idx[b]] })
		le, count := make([]float64, len(idx)), make([]float64, len(idx))
		for i, j := range idx {
			le[i], count[i] = h.le[j], h.count[j]
		}
		h.le, h.count = le, count
	}
	return out, sc.Err()
}

// splitSample splits `_bucket{a="x",le="0.1"} 12` into its parts.
func splitSample(s string) (suffix string, labels map[string]string, value string, ok bool) {
	open := strings.IndexByte(s, '{')
	shut := strings.LastIndexByte(s, '}')
	if open < 0 || shut < open {
		return "", nil, "", false
	}
	suffix = s[:open]
	labels = map[string]string{}
	for _, kv := range strings.Split(s[open+1:shut], ",") {
		k, v, found := strings.Cut(kv, "=")
		if found {
			labels[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	f := strings.Fields(s[shut+1:])
	if len(f) == 0 {
		return "", nil, "", false
	}
	return suffix, labels, f[0], true
}

// minus is h less an earlier scrape of the same series (nil: nothing).
func (h *histogram) minus(before *histogram) *histogram {
	d := &histogram{le: h.le, count: append([]float64(nil), h.count...), sum: h.sum}
	if before == nil {
		return d
	}
	d.sum -= before.sum
	for i := range d.count {
		if i < len(before.count) && before.le[i] == h.le[i] {
			d.count[i] -= before.count[i]
		}
	}
	return d
}

// total is the number of observations.
func (h *histogram) total() float64 {
	if len(h.count) == 0 {
		return 0
	}
	return h.count[len(h.count)-1]
}

// quantile estimates the q-quantile (0..1) by linear interpolation within
// the bucket that holds it, the first bucket starting at 0, as Prometheus's
// histogram_quantile does. In the +Inf bucket it returns the last finite
// bound (a floor: the true value is above it).
func (h *histogram) quantile(q float64) float64 {
	n := h.total()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	for i, c := range h.count {
		if c < rank {
			continue
		}
		lower, below := 0.0, 0.0
		if i > 0 {
			lower, below = h.le[i-1], h.count[i-1]
		}
		if math.IsInf(h.le[i], 1) {
			return lower
		}
		if c == below {
			return h.le[i]
		}
		return lower + (h.le[i]-lower)*(rank-below)/(c-below)
	}
	return h.le[len(h.le)-1]
}

// quantileMS formats quantile(q) in milliseconds, "≥ x ms" when it lies
// past the last finite bucket.
func (h *histogram) quantileMS(q float64) string {
	v := h.quantile(q)
	if len(h.le) > 1 && q*h.total() > h.count[len(h.count)-2] {
		return fmt.Sprintf("≥ %.3f ms", 1000*v)
	}
	return fmt.Sprintf("%.3f ms", 1000*v)
}

// openPhase sends generate, then stream, turns at each of o.rates per second for
// o.duration each, over o.openThreads warmed threads, and prints the
// client's latency, the server's CPU per turn and the p50/p99 of
// mastra_server_overhead_seconds for the run.
func openPhase(ctx context.Context, o options, srv *server, model *fakeModel) error {
	client := newClient(512)
	run := time.Now().UnixNano() % 1_000_000
	thread := func(t int) string { return fmt.Sprintf("open-%d-%d", run, t) }
	t0 := time.Now()
	if err := warmThreads(ctx, o, 50, o.openThreads, client, srv.base, thread, model); err != nil {
		return err
	}
	logf("open loop: %d threads warmed with %d turns each in %s", o.openThreads, o.warm, time.Since(t0).Round(time.Millisecond))
	var seq atomic.Int64
	for _, rate := range o.rates {
		for _, kind := range []string{"generate", "stream"} {
			if err := openRun(ctx, o, rate, kind, client, srv, model, thread, &seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// openRun is one open-loop run of kind at rate.
func openRun(ctx context.Context, o options, rate float64, kind string, client *http.Client, srv *server, model *fakeModel,
	thread func(int) string, seq *atomic.Int64) error {
	before, err := scrapeHistograms(ctx, client, srv.base+"/metrics", "mastra_server_overhead_seconds", "route")
	if err != nil {
		return err
	}
	cpu0, _ := procfs.CPU(srv.pid)
	res, dropped := openLoop(ctx, rate, o.duration, 4000, func(ctx context.Context, i int) error {
		msg := fmt.Sprintf("open %d", seq.Add(1))
		var err error
		if kind == "generate" {
			_, err = apiGenerate(ctx, client, srv.base, thread(i%o.openThreads), msg, model.tokens)
		} else {
			_, err = apiStream(ctx, client, srv.base, thread(i%o.openThreads), msg, model)
		}
		return err
	})
	cpu1, _ := procfs.CPU(srv.pid)
	after, err := scrapeHistograms(ctx, client, srv.base+"/metrics", "mastra_server_overhead_seconds", "route")
	if err != nil {
		return err
	}
	logf("open %-8s at %.0f/s for %s: %d ok %d failed %d dropped (%.1f turns/s done)  client p50 %s  p99 %s  server CPU %.3f ms/turn",
		kind, rate, o.duration, res.ok, res.failed, dropped, res.rate(), ms(res.pct(50)), ms(res.pct(99)),
		float64((cpu1-cpu0).Microseconds())/1000/float64(max(1, res.ok)))
	if res.firstErr != nil {
		logf("           first error: %v", res.firstErr)
	}
	if res.rate() < 0.95*rate {
		logf("           fell behind the offered rate: the figures below are mostly queueing on this machine's cores")
	}
	routes := make([]string, 0, len(after))
	for r := range after {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		d := after[r].minus(before[r])
		n := d.total()
		if n == 0 {
			continue
		}
		logf("  mastra_server_overhead_seconds{route=%q}: %.0f observed  p50 %s  p99 %s  mean %.3f ms",
			r, n, d.quantileMS(0.50), d.quantileMS(0.99), 1000*d.sum/n)
	}
	return nil
}
