package workflow

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// BenchmarkEmptyStep measures the per-step overhead on Postgres: a run of
// 20 steps that only pass their input on, timed per step.
func BenchmarkEmptyStep(b *testing.B) {
	const n = 20
	def := Definition{ID: "chain", StepTimeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		def.Steps = append(def.Steps, StepDef{ID: fmt.Sprintf("s%d", i), Kind: "map", Map: "prev"})
	}
	db := target{name: "postgres", url: pgtest.NewDatabase(b)}
	migrate(b, db)
	ctx := context.Background()
	e, err := Open(ctx, Options{DatabaseURL: db.url, Definitions: []Definition{def}})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r, err := e.CreateRun(ctx, "chain", "", "")
		if err != nil {
			b.Fatal(err)
		}
		if err := e.StartRun(ctx, "chain", r.RunID, "", map[string]any{"x": 1}, nil); err != nil {
			b.Fatal(err)
		}
		got, err := e.Wait(ctx, "chain", r.RunID, "")
		if err != nil || got.Snapshot.Status != StatusSuccess {
			b.Fatalf("run: %v %v", err, got.Snapshot.Status)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*n)/1000, "ms/step")
}
