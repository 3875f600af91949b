package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Outcomes of an operation, as Jepsen names them: ok (it happened), fail
// (it did not: a definite refusal such as a 409), info (unknown: the
// connection broke, or the server answered 5xx, so it may have happened).
const (
	pending = ""
	ok      = "ok"
	fail    = "fail"
	info    = "info"
)

// op is one client operation of the history, from its invocation to its
// completion (real time, both by the checker's clock).
type op struct {
	id       int
	process  int // the client
	tenant   string
	kind     string // generate, stream, start, resume, cancel, read-thread, read-threads, read-runs, read-run, tool
	invoke   time.Duration
	complete time.Duration // 0 while pending
	outcome  string
	note     string // what the client saw, for the printed history

	thread, run, marker string
	workflow            string
	fault               string   // a nemesis operation's fault and target
	on                  []string // the instances its requests went to
	answers             []int    // the HTTP status of each answer it got
	text                string   // the reply a turn's client read (joined, for a stream)
	attempts            int      // requests sent for a turn (retries share its Idempotency-Key)
	resumes             int      // reconnections of a stream with Last-Event-ID
	race                int      // two resumes raced on one run share this number
	resumeData          string   // what a resume sent
	seen                []string // thread and run ids a read returned, "thread:" or "run:" before each
}

// history is every operation of a run, in invocation order.
type history struct {
	start time.Time

	mu  sync.Mutex
	ops []*op
}

func newHistory() *history { return &history{start: time.Now()} }

func (h *history) now() time.Duration { return time.Since(h.start) }

// invoke logs o as begun now and gives it its id.
func (h *history) invoke(o *op) *op {
	h.mu.Lock()
	defer h.mu.Unlock()
	o.id = len(h.ops) + 1
	o.invoke = h.now()
	h.ops = append(h.ops, o)
	return o
}

// done completes o with an outcome and what the client saw.
func (h *history) done(o *op, outcome, format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o.complete = h.now()
	if o.complete == 0 {
		o.complete = 1
	}
	o.outcome = outcome
	if format != "" {
		o.note = fmt.Sprintf(format, args...)
	}
}

// answered notes an HTTP answer to o.
func (h *history) answered(o *op, status int) {
	h.mu.Lock()
	o.answers = append(o.answers, status)
	h.mu.Unlock()
}

// snapshot is a copy of the operations (each a copy) for the checks.
func (h *history) snapshot() []op {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]op, len(h.ops))
	for i, o := range h.ops {
		out[i] = *o
		out[i].seen = slices.Clone(o.seen)
	}
	return out
}

// ownerOfRun is the tenant whose start created run id ("" if none did).
func ownerOfRun(ops []op) map[string]string {
	m := map[string]string{}
	for _, o := range ops {
		if o.kind == "start" && o.run != "" {
			m[o.run] = o.tenant
		}
	}
	return m
}

// touching is the operations on thread or run (either may be ""), in
// invocation order: the minimal history that shows a violation there.
// Listings that merely returned the id are left out.
func touching(ops []op, thread, run string) []op {
	var out []op
	for _, o := range ops {
		if (thread != "" && o.thread == thread) || (run != "" && o.run == run) {
			out = append(out, o)
		}
	}
	return out
}

// withFaults adds to shown the nemesis operations of all that overlap
// shown's span of time, in invocation order.
func withFaults(all, shown []op) []op {
	if len(shown) == 0 {
		return shown
	}
	from, to := shown[0].invoke, time.Duration(0)
	for _, o := range shown {
		from = min(from, o.invoke)
		to = max(to, o.complete, o.invoke)
	}
	out := slices.Clone(shown)
	for _, o := range all {
		if o.kind == "nemesis" && o.invoke <= to && (o.complete == 0 || o.complete >= from) &&
			!slices.ContainsFunc(shown, func(x op) bool { return x.id == o.id }) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b op) int { return a.id - b.id })
	return out
}

// printHistory writes ops as Jepsen does: an invoke line for each, and a
// completion line at its time, all in real-time order.
func printHistory(w io.Writer, ops []op) {
	type event struct {
		at   time.Duration
		line string
	}
	var evs []event
	for _, o := range ops {
		what := o.kind
		if o.fault != "" {
			what += " " + o.fault
		}
		if o.workflow != "" {
			what += " " + o.workflow
		}
		for _, kv := range [][2]string{{"thread", o.thread}, {"run", o.run}, {"marker", o.marker}, {"resumeData", o.resumeData}} {
			if kv[1] != "" {
				what += " " + kv[0] + "=" + kv[1]
			}
		}
		if o.race != 0 {
			what += fmt.Sprintf(" race=%d", o.race)
		}
		head := fmt.Sprintf("p%-2d %-8s #%-5d", o.process, o.tenant, o.id)
		evs = append(evs, event{o.invoke, fmt.Sprintf("%9.3fs %s invoke %s", o.invoke.Seconds(), head, what)})
		if o.outcome != pending {
			detail := o.note
			if o.text != "" {
				detail = strings.TrimSpace(detail + fmt.Sprintf(" text=%q", o.text))
			}
			if len(o.on) > 0 {
				detail += " on " + strings.Join(o.on, ",")
			}
			if o.attempts > 1 {
				detail += fmt.Sprintf(" (%d attempts)", o.attempts)
			}
			if o.resumes > 0 {
				detail += fmt.Sprintf(" (%d reconnects)", o.resumes)
			}
			evs = append(evs, event{o.complete, fmt.Sprintf("%9.3fs %s %-6s %s %s", o.complete.Seconds(), head, o.outcome, o.kind, detail)})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.at - b.at) })
	for _, e := range evs {
		fmt.Fprintln(w, "    "+e.line)
	}
}
