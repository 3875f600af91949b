package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// fakeModel answers every turn "ok <marker>" and a few more words, a word
// every few milliseconds. While faulty is set it fails about one request in
// six: an HTTP 500, an error in the middle of the stream, or no answer
// until the provider's timeout; while paused it answers nothing until the
// pause ends. What it does with a request is drawn from the run's seed and
// the request's last message (and how often that message came before), not
// from the order requests arrive in, so a seed replays the same answers.
type fakeModel struct {
	seed   uint64
	faulty atomic.Bool

	mu     sync.Mutex
	asked  map[string]int // times each last message was asked, for retries
	paused chan struct{}  // closed when the pause ends; nil when not paused

	errors, midStream, stall, held atomic.Int64
}

func (m *fakeModel) reply(req llmtest.Request) llmtest.Reply {
	last := strings.TrimSpace(req.Last().Text())
	m.mu.Lock()
	if m.asked == nil {
		m.asked = map[string]int{}
	}
	n := m.asked[last]
	m.asked[last]++
	paused := m.paused
	m.mu.Unlock()
	h := fnv.New64a()
	h.Write([]byte(last))
	rng := rand.New(rand.NewPCG(m.seed, h.Sum64()+uint64(n)))

	words := []string{"ok", last}
	for i := range 2 + rng.IntN(10) {
		words = append(words, fmt.Sprintf("w%d", i))
	}
	r := llmtest.Reply{Text: strings.Join(words, " "), TokenDelay: time.Duration(5+rng.IntN(25)) * time.Millisecond}
	if paused != nil {
		m.held.Add(1)
		<-paused
	}
	if !m.faulty.Load() {
		return r
	}
	switch rng.IntN(18) {
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

// pause holds every model answer not yet begun until resume.
func (m *fakeModel) pause() {
	m.mu.Lock()
	if m.paused == nil {
		m.paused = make(chan struct{})
	}
	m.mu.Unlock()
}

func (m *fakeModel) resume() {
	m.mu.Lock()
	if m.paused != nil {
		close(m.paused)
		m.paused = nil
	}
	m.mu.Unlock()
}

// report collects the history, the faults and what the checks found.
type report struct {
	opts         options
	started      time.Time
	trafficEnded time.Time
	healed       time.Time // the last fault healed and the traffic over
	model        fakeModel
	h            *history

	mu         sync.Mutex
	faults     []string       // the timeline
	faultKinds map[string]int // injected, by kind
	toolWrong  []string

	invariants []invariant
	violations []violation
	all        []op // the history, once the traffic is over
	rssMaxMiB  map[string]int64
	restarts   map[string]int
	died       map[string]int64
}

type invariant struct {
	ok   bool
	name string
	info string
}

// violation is one broken check and the history that shows it.
type violation struct {
	check, what string
	ops         []op
}

func newReport(o options) *report {
	r := &report{opts: o, started: time.Now(), h: newHistory(), faultKinds: map[string]int{}}
	r.model.seed = o.seed
	return r
}

// pause is how long a client waits after a failure, as a real client
// would back off (and so that an outage is not a busy loop).
const pause = 25 * time.Millisecond

func (r *report) wrongTool(s string) {
	r.mu.Lock()
	r.toolWrong = append(r.toolWrong, s)
	r.mu.Unlock()
}

// fault logs one injected fault of kind on the timeline.
func (r *report) fault(kind, format string, args ...any) {
	r.mu.Lock()
	if kind != "" {
		r.faultKinds[kind]++
	}
	r.faults = append(r.faults, fmt.Sprintf("%6.1fs ", time.Since(r.started).Seconds())+fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *report) holds(ok bool, name, format string, args ...any) {
	r.mu.Lock()
	r.invariants = append(r.invariants, invariant{ok: ok, name: name, info: fmt.Sprintf(format, args...)})
	r.mu.Unlock()
}

// violated records a broken check with its minimal history, and the
// faults injected meanwhile.
func (r *report) violated(check, what string, ops []op) {
	r.mu.Lock()
	ops = withFaults(r.all, ops)
	r.violations = append(r.violations, violation{check, what, ops})
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
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inv := range r.invariants {
		if !inv.ok {
			return false
		}
	}
	return len(r.invariants) > 0 && len(r.violations) == 0
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// opKinds is the order of the operations table.
var opKinds = []string{"generate", "stream", "start", "resume", "cancel", "read-thread", "read-threads", "read-run", "read-runs", "probe", "tool"}

// replay is the command that runs this seed again.
func (r *report) replay() string {
	o := r.opts
	cmd := fmt.Sprintf("go run ./bench/soak -seed %d -duration %s -instances %d -workers %d", o.seed, o.duration, o.instances, o.workers)
	for _, f := range []struct {
		on   bool
		flag string
	}{{!o.faults, "-faults=false"}, {o.settle != 30*time.Second, "-settle " + o.settle.String()}} {
		if f.on {
			cmd += " " + f.flag
		}
	}
	return cmd
}

// print writes the figures: operations by kind and outcome, faults by
// kind, the invariants, and each violation with its minimal history.
func (r *report) print(w io.Writer) {
	passed := r.passed()
	ops := r.h.snapshot()
	r.mu.Lock()
	defer r.mu.Unlock()
	faults := "on"
	if !r.opts.faults {
		faults = "off"
	}
	fmt.Fprintf(w, "soak: seed %d, %d instances, %d clients, %s of traffic, faults %s\n",
		r.opts.seed, r.opts.instances, r.opts.workers, r.trafficEnded.Sub(r.started).Round(100*time.Millisecond), faults)
	type row struct {
		n   map[string]int
		lat []time.Duration
	}
	rows := map[string]*row{}
	streamsResumed, turnsRetried := 0, 0
	for _, o := range ops {
		rw := rows[o.kind]
		if rw == nil {
			rw = &row{n: map[string]int{}}
			rows[o.kind] = rw
		}
		rw.n[o.outcome]++
		if o.outcome == ok {
			rw.lat = append(rw.lat, o.complete-o.invoke)
		}
		if o.kind == "stream" && o.outcome == ok && o.resumes > 0 {
			streamsResumed++
		}
		if o.outcome == ok && o.attempts > 1 {
			turnsRetried++
		}
	}
	fmt.Fprintf(w, "%-13s %7s %7s %7s %7s %9s %9s\n", "operations", "ok", "fail", "info", "pending", "p50", "p99")
	for _, kind := range opKinds {
		rw := rows[kind]
		if rw == nil {
			continue
		}
		fmt.Fprintf(w, "%-13s %7d %7d %7d %7d %9s %9s\n", kind, rw.n[ok], rw.n[fail], rw.n[info], rw.n[pending],
			percentile(rw.lat, 0.5).Round(time.Millisecond), percentile(rw.lat, 0.99).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "acknowledged: %d streams after a reconnect with Last-Event-ID, %d turns after a retry with their Idempotency-Key\n",
		streamsResumed, turnsRetried)
	fmt.Fprintf(w, "model: %d HTTP 500, %d mid-stream errors, %d stalls past the timeout, %d answers held by a pause\n",
		r.model.errors.Load(), r.model.midStream.Load(), r.model.stall.Load(), r.model.held.Load())
	fmt.Fprint(w, "faults injected:")
	for _, k := range slices.Sorted(maps.Keys(r.faultKinds)) {
		fmt.Fprintf(w, " %s %d,", k, r.faultKinds[k])
	}
	fmt.Fprintln(w)
	for i, f := range r.faults {
		if i == 12 && len(r.faults) > 13 {
			fmt.Fprintf(w, "  … and %d more\n", len(r.faults)-12)
			break
		}
		fmt.Fprintln(w, "  "+f)
	}
	fmt.Fprint(w, "instances:")
	for _, n := range slices.Sorted(maps.Keys(r.rssMaxMiB)) {
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
	fmt.Fprintf(w, "violations: %d\n", len(r.violations))
	for i, v := range r.violations {
		if i == 5 {
			fmt.Fprintf(w, "  … and %d more\n", len(r.violations)-5)
			break
		}
		fmt.Fprintf(w, "  %s: %s\n", v.check, v.what)
		shown := v.ops
		if len(shown) > 60 {
			fmt.Fprintf(w, "    (the last 60 of %d operations)\n", len(shown))
			shown = shown[len(shown)-60:]
		}
		printHistory(w, shown)
	}
	if passed {
		fmt.Fprintf(w, "PASS (seed %d)\n", r.opts.seed)
	} else {
		fmt.Fprintf(w, "FAIL (seed %d; replay: %s)\n", r.opts.seed, r.replay())
	}
}
