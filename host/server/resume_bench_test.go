package server

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/runlog"
	"github.com/mastra-server/mastra-server/internal/pgtest"
	"github.com/uptrace/bun"
)

// pacedModel streams n one-word tokens, one every gap, as a model does.
type pacedModel struct {
	n   int
	gap time.Duration
}

func (m pacedModel) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return &llm.Response{Text: strings.Repeat("tok ", m.n), FinishReason: llm.FinishStop}, nil
}

func (m pacedModel) Stream(ctx context.Context, req llm.Request, onDelta func(llm.Delta) error) (*llm.Response, error) {
	for i := 0; i < m.n; i++ {
		if i > 0 {
			time.Sleep(m.gap)
		}
		if err := onDelta(llm.Delta{Text: "tok "}); err != nil {
			return nil, err
		}
	}
	return &llm.Response{Text: strings.Repeat("tok ", m.n), FinishReason: llm.FinishStop,
		Usage: llm.Usage{InputTokens: 10, OutputTokens: m.n, TotalTokens: 10 + m.n}}, nil
}

// countQueries counts the statements a store runs.
type countQueries struct{ n atomic.Int64 }

func (c *countQueries) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}
func (c *countQueries) AfterQuery(context.Context, *bun.QueryEvent) { c.n.Add(1) }

// BenchmarkStreamTurnLog is the cost of logging a resumable stream: one
// /agent/stream turn of 100 tokens, 10 ms apart (a model at 100 tokens/s),
// on Postgres, 20 at a time, plain and resumable at four flush intervals. It reports this process's CPU per
// turn (user + system, from getrusage: the handler, the agent, the HTTP
// writes and the log's writes; Postgres's own CPU is not in it) and the
// statements per turn. The log's cost is resumable's CPU minus plain's;
// on a shared machine that difference is noisy, and the share of the log
// in a CPU profile is steadier:
//
//	go test -run '^$' -bench 'StreamTurnLog/resumable/flush=200ms' -benchtime=600x -cpuprofile cpu.out ./host/server
//	go tool pprof -top -focus 'runlog\.|ListenStreams' cpu.out
func BenchmarkStreamTurnLog(b *testing.B) {
	url := pgtest.NewDatabase(b)
	for _, tc := range []struct {
		name      string
		resumable bool
		flush     time.Duration
	}{
		{"plain", false, 0},
		{"resumable/flush=50ms", true, 50 * time.Millisecond},
		{"resumable/flush=100ms", true, 100 * time.Millisecond},
		{"resumable/flush=200ms", true, 200 * time.Millisecond},
		{"resumable/flush=250ms", true, 250 * time.Millisecond},
	} {
		b.Run(tc.name, func(b *testing.B) {
			store, err := memory.Open(b.Context(), memory.Options{DatabaseURL: url, MaxOpenConns: 10})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			if _, err := store.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			var q countQueries
			store.AddQueryHook(&q)
			runs, err := runlog.Open(runlog.Options{Store: store, FlushInterval: tc.flush, Terminate: agent.EndLost, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer runs.Close()
			svc, err := agent.NewService(store, []*agent.Agent{{ID: "a", Model: pacedModel{n: 100, gap: 10 * time.Millisecond}, Provider: "fake", LastMessages: 20}}, "a", quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			s, err := New(Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "d", Logger: quietLogger(), Runs: runs})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			resumable := strconv.FormatBool(tc.resumable)
			prefix := "t-" + strings.NewReplacer("/", "-", "=", "-").Replace(tc.name) + "-"
			var n atomic.Int64
			before := cpuTime()
			q.n.Store(0)
			b.SetParallelism(10) // 20 streams at once on 2 cores, as a busy server has
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := `{"message":"count","threadId":"` + prefix + strconv.FormatInt(n.Add(1), 10) + `","resourceId":"r","resumable":` + resumable + `}`
					req := httptest.NewRequest("POST", "/agent/stream", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 || !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") {
						b.Error(rec.Code, rec.Body.String())
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/turn")
			b.ReportMetric(float64(q.n.Load())/float64(b.N), "stmts/turn")
		})
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
