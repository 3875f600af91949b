package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

type outcome int

const (
	outcomeOK outcome = iota
	outcomeFailed
	outcomeCancelled // the client went away on purpose
	outcomeRefused   // the instance was down
)

// fakeModel answers every turn "ok <marker>", and while faulty is set
// fails about one request in six: an HTTP 500, an error in the middle of
// the stream, or no answer until the provider's timeout.
type fakeModel struct {
	faulty                   atomic.Bool
	errors, midStream, stall atomic.Int64
}

func (m *fakeModel) reply(req llmtest.Request) llmtest.Reply {
	text := "ok " + strings.TrimSpace(req.Last().Text())
	r := llmtest.Reply{Text: text, PauseAfterFirstToken: 20 * time.Millisecond}
	if !m.faulty.Load() {
		return r
	}
	switch rand.IntN(18) {
	case 0:
		m.errors.Add(1)
		r.Status = 500
	case 1:
		m.midStream.Add(1)
		r.MidStreamError = true
	case 2:
		m.stall.Add(1)
		r.StallBeforeAnswer = true
	}
	return r
}

// report collects what the clients saw and what check found.
type report struct {
	opts         options
	started      time.Time
	trafficEnded time.Time
	model        fakeModel

	mu        sync.Mutex
	counts    map[string]map[outcome]int
	latencies map[string][]time.Duration
	faults    []string
	turns     map[string]ackedTurn // by marker
	runs      []string
	toolWrong []string

	invariants []invariant
	rssMaxMiB  map[string]int64
	restarts   map[string]int
	died       map[string]int64
}

type ackedTurn struct{ threadID, text string }

type invariant struct {
	ok   bool
	name string
	info string
}

func newReport(o options) *report {
	return &report{opts: o, started: time.Now(), counts: map[string]map[outcome]int{},
		latencies: map[string][]time.Duration{}, turns: map[string]ackedTurn{}}
}

func (r *report) record(kind string, o outcome, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts[kind] == nil {
		r.counts[kind] = map[outcome]int{}
	}
	r.counts[kind][o]++
	if o == outcomeOK {
		r.latencies[kind] = append(r.latencies[kind], d)
	}
}

// pause is how long a client waits after a failure, as a real client
// would back off (and so that an outage is not a busy loop).
const pause = 25 * time.Millisecond

func (r *report) ackTurn(marker, threadID, text string) {
	r.mu.Lock()
	r.turns[marker] = ackedTurn{threadID, text}
	r.mu.Unlock()
}

func (r *report) ackRun(runID string) {
	r.mu.Lock()
	r.runs = append(r.runs, runID)
	r.mu.Unlock()
}

func (r *report) wrongTool(s string) {
	r.mu.Lock()
	r.toolWrong = append(r.toolWrong, s)
	r.mu.Unlock()
}

func (r *report) fault(format string, args ...any) {
	r.mu.Lock()
	r.faults = append(r.faults, fmt.Sprintf("%5.1fs ", time.Since(r.started).Seconds())+fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *report) holds(ok bool, name, format string, args ...any) {
	r.mu.Lock()
	r.invariants = append(r.invariants, invariant{ok, name, fmt.Sprintf(format, args...)})
	r.mu.Unlock()
}

// finish adds the process invariants: no instance died on its own, and
// none grew past the memory limit.
func (r *report) finish(f *fleet) {
	r.rssMaxMiB, r.restarts, r.died = map[string]int64{}, map[string]int{}, map[string]int64{}
	var worst int64
	var died int64
	for _, in := range f.all() {
		mib := in.rssMaxKiB.Load() / 1024
		r.rssMaxMiB[in.name] = mib
		worst = max(worst, mib)
		in.mu.Lock()
		r.restarts[in.name] = in.starts - 1
		in.mu.Unlock()
		died += in.unexpected.Load()
	}
	r.holds(died == 0, "no instance died on its own", "%d unexpected exits", died)
	r.holds(worst <= r.opts.rssLimitMiB, "memory bounded", "largest RSS %d MiB (limit %d MiB)", worst, r.opts.rssLimitMiB)
	r.holds(len(r.toolWrong) == 0, "tool answers right", "%d wrong%s", len(r.toolWrong), firstOf(r.toolWrong))
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return ", first: " + s[0]
}

func (r *report) passed() bool {
	for _, inv := range r.invariants {
		if !inv.ok {
			return false
		}
	}
	return len(r.invariants) > 0
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// print writes the one-screen report.
func (r *report) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	faults := "on"
	if !r.opts.faults {
		faults = "off"
	}
	fmt.Fprintf(w, "soak: %d instances, %d clients, %s of traffic, faults %s\n",
		r.opts.instances, r.opts.workers, r.trafficEnded.Sub(r.started).Round(100*time.Millisecond), faults)
	fmt.Fprintf(w, "%-10s %7s %7s %7s %9s %9s %9s\n", "traffic", "ok", "failed", "left", "refused", "p50", "p99")
	for _, kind := range []string{"generate", "stream", "tool", "workflow", "refused"} {
		c := r.counts[kind]
		if c == nil {
			continue
		}
		lat := r.latencies[kind]
		fmt.Fprintf(w, "%-10s %7d %7d %7d %9d %9s %9s\n", kind, c[outcomeOK], c[outcomeFailed], c[outcomeCancelled],
			c[outcomeRefused], percentile(lat, 0.5).Round(100*time.Microsecond), percentile(lat, 0.99).Round(100*time.Microsecond))
	}
	fmt.Fprintf(w, "model faults: %d HTTP 500, %d mid-stream errors, %d stalls past the timeout\n",
		r.model.errors.Load(), r.model.midStream.Load(), r.model.stall.Load())
	fmt.Fprintln(w, "faults:")
	for i, f := range r.faults {
		if i == 8 && len(r.faults) > 9 {
			fmt.Fprintf(w, "  … and %d more of the same cycle (%s)\n", len(r.faults)-8, tally(r.faults[8:]))
			break
		}
		fmt.Fprintln(w, "  "+f)
	}
	var names []string
	for n := range r.rssMaxMiB {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Fprint(w, "instances:")
	for _, n := range names {
		fmt.Fprintf(w, " %s (max RSS %d MiB, %d restarts)", n, r.rssMaxMiB[n], r.restarts[n])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "invariants:")
	for _, inv := range r.invariants {
		mark := "ok  "
		if !inv.ok {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, inv.name, inv.info)
	}
	if r.passed() {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
}

// tally counts faults by kind: their text without the time and the
// instance's name.
func tally(faults []string) string {
	n := map[string]int{}
	var kinds []string
	for _, f := range faults {
		fields := strings.Fields(f)[1:] // the time
		if len(fields) > 1 && strings.HasPrefix(fields[len(fields)-1], "i") {
			fields = fields[:len(fields)-1]
		}
		k := strings.Join(fields, " ")
		if n[k] == 0 {
			kinds = append(kinds, k)
		}
		n[k]++
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d× %s", n[k], k)
	}
	return strings.Join(parts, ", ")
}
