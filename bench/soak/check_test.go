package main

import (
	"strings"
	"testing"
	"time"
)

// The checks themselves, on small hand-made histories: each broken
// guarantee is a violation naming the operations that show it, and a
// history that keeps them all passes.

func turnOp(id, process int, kind, thread, marker string, invoke, complete time.Duration, text string) op {
	return op{id: id, process: process, tenant: threadTenant(thread), kind: kind, thread: thread, marker: marker,
		invoke: invoke, complete: complete, outcome: ok, text: text}
}

func turnMsgs(thread, resource string, markers ...string) []storedMessage {
	var out []storedMessage
	for _, m := range markers {
		out = append(out, storedMessage{thread: thread, role: "user", text: m, resource: resource, marker: m},
			storedMessage{thread: thread, role: "assistant", text: "ok " + m + " w0", resource: resource, marker: m})
	}
	return out
}

const s = time.Second

// violationsOf runs judge on a fresh report and returns it with what it
// printed.
func violationsOf(t *testing.T, judge func(r *report)) (*report, string) {
	t.Helper()
	r := newReport(options{seed: 7, duration: time.Minute, instances: 2, workers: 4})
	judge(r)
	var out strings.Builder
	r.print(&out)
	return r, out.String()
}

func wantViolation(t *testing.T, r *report, out, check string, opIDs ...string) {
	t.Helper()
	if r.passed() {
		t.Fatalf("the history passed; want a %q violation:\n%s", check, out)
	}
	found := false
	for _, v := range r.violations {
		found = found || v.check == check
	}
	if !found {
		t.Errorf("no %q violation:\n%s", check, out)
	}
	for _, id := range opIDs {
		if !strings.Contains(out, id) {
			t.Errorf("the printed history lacks operation %s:\n%s", id, out)
		}
	}
	if !strings.Contains(out, "-seed 7") {
		t.Errorf("the report does not say how to replay the seed:\n%s", out)
	}
}

func TestCheckTurns(t *testing.T) {
	const th = "tenant-a-thread-0"
	a := turnOp(1, 1, "generate", th, "soak-1-1", 0, 1*s, "ok soak-1-1 w0")
	b := turnOp(2, 3, "stream", th, "soak-3-1", 2*s, 3*s, "ok soak-3-1 w0")

	t.Run("a history that keeps every guarantee passes", func(t *testing.T) {
		r, out := violationsOf(t, func(r *report) {
			checkTurns(r, []op{a, b}, map[string][]storedMessage{th: turnMsgs(th, "tenant-a", "soak-1-1", "soak-3-1")})
		})
		if !r.passed() {
			t.Fatalf("a good history failed:\n%s", out)
		}
	})
	t.Run("lost", func(t *testing.T) {
		r, out := violationsOf(t, func(r *report) {
			checkTurns(r, []op{a, b}, map[string][]storedMessage{th: turnMsgs(th, "tenant-a", "soak-3-1")})
		})
		wantViolation(t, r, out, "no acknowledged turn lost", "#1 ")
	})
	t.Run("stored twice", func(t *testing.T) {
		r, out := violationsOf(t, func(r *report) {
			checkTurns(r, []op{a, b}, map[string][]storedMessage{th: turnMsgs(th, "tenant-a", "soak-1-1", "soak-3-1", "soak-1-1")})
		})
		wantViolation(t, r, out, "no turn stored twice", "#1 ")
	})
	t.Run("against real-time order", func(t *testing.T) {
		r, out := violationsOf(t, func(r *report) {
			checkTurns(r, []op{a, b}, map[string][]storedMessage{th: turnMsgs(th, "tenant-a", "soak-3-1", "soak-1-1")})
		})
		wantViolation(t, r, out, "per-thread order", "#1 ", "#2 ")
	})
	t.Run("overlapping turns may be stored in either order", func(t *testing.T) {
		b := b
		b.invoke = 500 * time.Millisecond
		r, out := violationsOf(t, func(r *report) {
			checkTurns(r, []op{a, b}, map[string][]storedMessage{th: turnMsgs(th, "tenant-a", "soak-3-1", "soak-1-1")})
		})
		if !r.passed() {
			t.Fatalf("overlapping turns failed:\n%s", out)
		}
	})
	t.Run("interleaved", func(t *testing.T) {
		msgs := turnMsgs(th, "tenant-a", "soak-1-1", "soak-3-1")
		msgs[1], msgs[2] = msgs[2], msgs[1]
		r, out := violationsOf(t, func(r *report) { checkTurns(r, []op{a, b}, map[string][]storedMessage{th: msgs}) })
		wantViolation(t, r, out, "per-thread order", "#1 ")
	})
	t.Run("a resumed stream read with a repeat", func(t *testing.T) {
		b := b
		b.resumes, b.text = 1, "ok soak-3-1 w0 w0"
		r, out := violationsOf(t, func(r *report) {
			checkTurns(r, []op{a, b}, map[string][]storedMessage{th: turnMsgs(th, "tenant-a", "soak-1-1", "soak-3-1")})
		})
		wantViolation(t, r, out, "resumed streams exact", "#2 ")
	})
	t.Run("in another tenant's thread", func(t *testing.T) {
		const other = "tenant-b-thread-1"
		r, out := violationsOf(t, func(r *report) {
			checkTurns(r, []op{a}, map[string][]storedMessage{th: turnMsgs(th, "tenant-a", "soak-1-1"),
				other: turnMsgs(other, "tenant-a", "soak-1-9")})
		})
		wantViolation(t, r, out, "tenant isolation")
	})
}

func TestCheckReads(t *testing.T) {
	start := op{id: 1, process: 2, tenant: "tenant-b", kind: "start", workflow: "soak", run: "run-b", outcome: ok, complete: s}
	read := op{id: 2, process: 1, tenant: "tenant-a", kind: "read-runs", outcome: ok, invoke: 2 * s, complete: 3 * s,
		seen: []string{"resource:tenant-a", "run:run-a"}}
	r, out := violationsOf(t, func(r *report) { checkReads(r, []op{start, read}) })
	if !r.passed() {
		t.Fatalf("a read of the tenant's own ids failed:\n%s", out)
	}
	read.seen = append(read.seen, "run:run-b")
	r, out = violationsOf(t, func(r *report) { checkReads(r, []op{start, read}) })
	wantViolation(t, r, out, "tenant isolation", "#1 ", "#2 ")
}

func TestCheckRuns(t *testing.T) {
	start := op{id: 1, process: 1, tenant: "tenant-a", kind: "start", workflow: "approve", run: "r1", outcome: ok, complete: s}
	resume := func(id int, side, outcome string) op {
		return op{id: id, process: 1, tenant: "tenant-a", kind: "resume", workflow: "approve", run: "r1", race: 1,
			resumeData: "p1-race1-" + side, outcome: outcome, invoke: 2 * s, complete: 3 * s}
	}
	done := func(by string) map[string]*storedRun {
		return map[string]*storedRun{"r1": {workflow: "approve", status: "success", approvedBy: by, settled: true,
			stepsDone: []string{"draft", "approval", "done"}, finishes: []string{"success"},
			results: map[string]int{"draft": 1, "approval": 1, "done": 1}}}
	}
	t.Run("one resume wins, the other is refused", func(t *testing.T) {
		r, out := violationsOf(t, func(r *report) {
			checkRunStates(r, []op{start, resume(2, "a", ok), resume(3, "b", fail)}, done("p1-race1-a"), 30*s)
		})
		if !r.passed() {
			t.Fatalf("a good race failed:\n%s", out)
		}
	})
	t.Run("both resumes answered 200", func(t *testing.T) {
		r, out := violationsOf(t, func(r *report) {
			checkRunStates(r, []op{start, resume(2, "a", ok), resume(3, "b", ok)}, done("p1-race1-a"), 30*s)
		})
		wantViolation(t, r, out, "one resume wins", "#2 ", "#3 ")
	})
	t.Run("the refused resume applied", func(t *testing.T) {
		r, out := violationsOf(t, func(r *report) {
			checkRunStates(r, []op{start, resume(2, "a", info), resume(3, "b", fail)}, done("p1-race1-b"), 30*s)
		})
		wantViolation(t, r, out, "one resume wins", "#3 ")
	})
	t.Run("still running after the heal", func(t *testing.T) {
		runs := done("")
		runs["r1"].status, runs["r1"].finishes, runs["r1"].settled = "running", nil, false
		r, out := violationsOf(t, func(r *report) { checkRunStates(r, []op{start}, runs, 30*s) })
		wantViolation(t, r, out, "runs end or suspend", "#1 ")
	})
	t.Run("two outcomes and a step recorded twice", func(t *testing.T) {
		runs := done("")
		runs["r1"].finishes = []string{"success", "canceled"}
		runs["r1"].results["draft"] = 2
		r, out := violationsOf(t, func(r *report) { checkRunStates(r, []op{start}, runs, 30*s) })
		wantViolation(t, r, out, "one outcome per run", "#1 ")
	})
}

func TestCheckAnswers(t *testing.T) {
	read := op{id: 1, process: 1, tenant: "tenant-a", kind: "read-run", run: "r1", outcome: info, complete: s, answers: []int{500}}
	r, out := violationsOf(t, func(r *report) { checkAnswers(r, []op{read}) })
	wantViolation(t, r, out, "no 500 answers", "#1 ")
}
