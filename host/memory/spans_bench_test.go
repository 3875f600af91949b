package memory

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// BenchmarkSaveTurnSpans writes what host/observe writes per turn with a
// model call and a tool call (3 spans, 5 metric events), in batches of
// ~500 spans, on Postgres, and reports this process's CPU per turn
// (cpu-µs/turn) during the writes: an upper bound of the client side
// (it counts the runtime's spinning while Postgres works; pprof puts the
// statements' own work at about a third of it). Postgres's CPU is not
// counted.
func BenchmarkSaveTurnSpans(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: testConns})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	const turns = 166 // ~500 spans a batch
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		spans := make([]Span, 0, 3*turns)
		metrics := make([]MetricEvent, 0, 5*turns)
		for j := range turns {
			id := fmt.Sprintf("%08x%08x", i, j)
			tr := testTrace(id+id, "res", time.Now())
			spans = append(spans, tr...)
			spans = append(spans, Span{TraceID: id + id, SpanID: id + "t", Name: "tool: 'x'", SpanType: "tool_call",
				StartedAt: tr[0].StartedAt, EndedAt: tr[0].EndedAt, CreatedAt: tr[0].CreatedAt})
			for k := range 5 {
				metrics = append(metrics, MetricEvent{MetricID: fmt.Sprintf("%s:%d", id, k), Timestamp: *tr[0].EndedAt,
					Name: "mastra_model_duration_ms", Value: 1, Labels: SpanJSON(`{"status":"ok"}`)})
			}
		}
		before := rusage()
		if err := s.SaveSpans(ctx, spans); err != nil {
			b.Fatal(err)
		}
		if err := s.SaveMetrics(ctx, metrics); err != nil {
			b.Fatal(err)
		}
		cpu += rusage() - before
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*turns), "cpu-µs/turn")
}

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
