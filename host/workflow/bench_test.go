package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// benchEngine opens a started engine on Postgres database url.
func benchEngine(b *testing.B, url string, agent AgentRunner, defs ...Definition) *Engine {
	b.Helper()
	ctx := context.Background()
	e, err := Open(ctx, Options{DatabaseURL: url, Definitions: defs, Agents: agent})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close(ctx) })
	return e
}

func benchDB(b *testing.B) string {
	db := target{name: "postgres", url: pgtest.NewDatabase(b)}
	migrate(b, db)
	return db.url
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkEmptyStep measures the per-step overhead on Postgres: a run of
// 20 steps that only pass their input on, timed per step.
func BenchmarkEmptyStep(b *testing.B) {
	const n = 20
	def := Definition{ID: "chain", StepTimeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		def.Steps = append(def.Steps, StepDef{ID: fmt.Sprintf("s%d", i), Kind: "map", Map: "prev"})
	}
	e := benchEngine(b, benchDB(b), nil, def)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r, err := e.CreateRun(ctx, "chain", "", "")
		if err != nil {
			b.Fatal(err)
		}
		if err := e.StartRun(ctx, StartParams{Workflow: "chain", RunID: r.RunID, Input: map[string]any{"x": 1}}); err != nil {
			b.Fatal(err)
		}
		got, err := e.Wait(ctx, "chain", r.RunID, "")
		if err != nil || got.Snapshot.Status != StatusSuccess {
			b.Fatalf("run: %v %v", err, got.Snapshot.Status)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*n)/1000, "ms/step")
}

// stampAgent records when each call begins.
type stampAgent struct{ began chan time.Time }

func (a *stampAgent) RunAgent(ctx context.Context, agentID, prompt, resourceID string) (string, error) {
	a.began <- time.Now()
	return "ok", nil
}

// BenchmarkResumeToNextStep measures, on Postgres, the time from a resume
// call to the start of the step after the resumed one (p50 and p95).
func BenchmarkResumeToNextStep(b *testing.B) {
	def := Definition{ID: "approve", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "ask", Kind: "suspend", Suspend: "{}"},
		{ID: "after", Kind: "agent", Agent: "a", Prompt: "go"},
	}}
	agent := &stampAgent{began: make(chan time.Time, 1)}
	e := benchEngine(b, benchDB(b), agent, def)
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r, err := e.CreateRun(ctx, "approve", "", "")
		if err != nil {
			b.Fatal(err)
		}
		if err := e.StartRun(ctx, StartParams{Workflow: "approve", RunID: r.RunID}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		if err := e.Resume(ctx, "approve", r.RunID, "", nil, map[string]any{"ok": true}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-agent.began).Sub(t0))
		b.StopTimer()
		if got, err := e.Wait(ctx, "approve", r.RunID, ""); err != nil || got.Snapshot.Status != StatusSuccess {
			b.Fatalf("run: %v", err)
		}
		b.StartTimer()
	}
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.95)), "p95-ms")
}

// BenchmarkRunsTwoInstances measures runs/s of a 5-step workflow (agent,
// map, map, map, map) with two engines on one Postgres, 64 runs at a time,
// started alternately on each.
func BenchmarkRunsTwoInstances(b *testing.B) {
	def := Definition{ID: "five", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "ask", Kind: "agent", Agent: "a", Prompt: "hi ${input.n}"},
		{ID: "m1", Kind: "map", Map: "steps.ask.text"},
		{ID: "m2", Kind: "map", Map: "prev + '!'"},
		{ID: "m3", Kind: "map", Map: "len(prev)"},
		{ID: "m4", Kind: "map", Map: `{"n": prev}`},
	}}
	url := benchDB(b)
	engines := []*Engine{benchEngine(b, url, &fakeAgent{}, def), benchEngine(b, url, &fakeAgent{}, def)}
	ctx := context.Background()
	const inFlight = 64
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				e := engines[i%2]
				r, err := e.CreateRun(ctx, "five", "", "")
				if err == nil {
					err = e.StartRun(ctx, StartParams{Workflow: "five", RunID: r.RunID, Input: map[string]any{"n": i}})
				}
				if err != nil {
					b.Error(err)
					return
				}
				if got, err := e.Wait(ctx, "five", r.RunID, ""); err != nil || got.Snapshot.Status != StatusSuccess {
					b.Errorf("run %s: %v %+v", r.RunID, err, got.Snapshot.Error)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}

// BenchmarkSuspendedRuns measures what 10,000 suspended runs cost: the
// engine's Go heap (nothing of a suspended run stays in a process) and the
// database (snapshot, side row, chunk log), per run.
func BenchmarkSuspendedRuns(b *testing.B) {
	const runs = 10000
	def := Definition{ID: "wait", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "ask", Kind: "suspend", Suspend: `{"topic": input.topic}`},
		{ID: "after", Kind: "map", Map: "1"},
	}}
	for i := 0; i < b.N; i++ {
		url := benchDB(b)
		e := benchEngine(b, url, nil, def)
		ctx := context.Background()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= runs {
					r, err := e.CreateRun(ctx, "wait", "", "someone")
					if err == nil {
						err = e.StartRun(ctx, StartParams{Workflow: "wait", RunID: r.RunID, ResourceID: "someone", Input: map[string]any{"topic": "a topic of some length"}})
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		c, err := e.RunCounts(ctx, "someone")
		if err != nil || c["wait"].Suspended != runs {
			b.Fatalf("counts %v %v", c, err)
		}
		var dbBytes int64
		if err := (dbq{e.db}).queryRow(ctx, `SELECT pg_total_relation_size('mastra_workflow_snapshot') + pg_total_relation_size('mastra_server_workflow_runs')
			+ pg_total_relation_size('mastra_server_workflow_chunks')`).Scan(&dbBytes); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/runs, "heap-B/run")
		b.ReportMetric(float64(dbBytes)/runs, "db-B/run")
	}
}

// BenchmarkSleepLateness measures, on Postgres, how late the step after a
// 100 ms sleep starts (p50 and p95 of the time past the 100 ms).
func BenchmarkSleepLateness(b *testing.B) {
	const nap = 100 * time.Millisecond
	def := Definition{ID: "nap", StepTimeout: 10 * time.Second, Steps: []StepDef{
		{ID: "nap", Kind: "sleep", Sleep: nap},
		{ID: "after", Kind: "agent", Agent: "a", Prompt: "go"},
	}}
	agent := &stampAgent{began: make(chan time.Time, 1)}
	e := benchEngine(b, benchDB(b), agent, def)
	ctx := context.Background()
	var late []time.Duration
	for i := 0; i < b.N; i++ {
		r, err := e.CreateRun(ctx, "nap", "", "")
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := e.StartRun(ctx, StartParams{Workflow: "nap", RunID: r.RunID}); err != nil {
			b.Fatal(err)
		}
		late = append(late, (<-agent.began).Sub(t0)-nap)
		if got, err := e.Wait(ctx, "nap", r.RunID, ""); err != nil || got.Snapshot.Status != StatusSuccess {
			b.Fatalf("run: %v", err)
		}
	}
	b.ReportMetric(ms(percentile(late, 0.5)), "p50-late-ms")
	b.ReportMetric(ms(percentile(late, 0.95)), "p95-late-ms")
}

// BenchmarkForeachElement measures what one foreach element costs on
// Postgres, for a list of 200 and of 20,000 (a map step over input.items,
// concurrency 4): time and bytes written per element. Without a cost that
// grows with the list, both lines read about the same.
func BenchmarkForeachElement(b *testing.B) {
	for _, n := range []int{200, 20000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			e := benchEngine(b, benchDB(b), nil, fanDef(n, 4))
			ctx := context.Background()
			input := map[string]any{"items": numbers(n)}
			b.ResetTimer()
			start, written := time.Now(), e.db.written.Load()
			for i := 0; i < b.N; i++ {
				r, err := e.CreateRun(ctx, "fan", "", "")
				if err != nil {
					b.Fatal(err)
				}
				if err := e.StartRun(ctx, StartParams{Workflow: "fan", RunID: r.RunID, Input: input}); err != nil {
					b.Fatal(err)
				}
				got, err := e.Wait(ctx, "fan", r.RunID, "")
				if err != nil || got.Snapshot.Status != StatusSuccess {
					b.Fatalf("run: %v %v", err, got.Snapshot.Status)
				}
			}
			elements := float64(b.N * n)
			b.ReportMetric(float64(time.Since(start).Microseconds())/elements/1000, "ms/element")
			b.ReportMetric(float64(e.db.written.Load()-written)/elements, "written-B/element")
		})
	}
}

// BenchmarkWatchers measures what 250 watchers of one run cost the
// database: statements run for them per commit of the run (each commit is
// one notification, so one wake-up), and the run's time per step.
func BenchmarkWatchers(b *testing.B) {
	const steps, watchers = 20, 250
	def := Definition{ID: "chain", StepTimeout: 10 * time.Second}
	for i := 0; i < steps; i++ {
		def.Steps = append(def.Steps, StepDef{ID: fmt.Sprintf("s%d", i), Kind: "map", Map: "prev"})
	}
	e := benchEngine(b, benchDB(b), nil, def)
	ctx := context.Background()
	var reads, commits int64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r, err := e.CreateRun(ctx, "chain", "", "")
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for range watchers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.Watch(ctx, "chain", r.RunID, "", 0, false, func(int64, json.RawMessage) error { return nil }); err != nil {
					b.Error(err)
				}
			}()
		}
		time.Sleep(100 * time.Millisecond) // let them join: a join's own reads are not the point
		before := e.watchReads.Load()
		if err := e.StartRun(ctx, StartParams{Workflow: "chain", RunID: r.RunID, Input: map[string]any{"x": 1}}); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		reads += e.watchReads.Load() - before
		var v int64
		if err := (dbq{e.db}).queryRow(ctx, `SELECT version FROM mastra_server_workflow_runs WHERE workflow_name = 'chain' AND run_id = $1`, r.RunID).Scan(&v); err != nil {
			b.Fatal(err)
		}
		commits += v
	}
	b.ReportMetric(float64(reads)/float64(commits), "reads/commit")
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*steps)/1000, "ms/step")
}
