package memory

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// BenchmarkAppendStreamChunks is one batch write of a resumable stream's
// log (20 text-delta chunks, the lease, the notification) on Postgres; it
// reports this process's CPU per write, the part a stream turn pays.
func BenchmarkAppendStreamChunks(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	chunks := make([][]byte, 20)
	for i := range chunks {
		chunks[i] = fmt.Appendf(nil, `{"type":"text-delta","runId":"4f1c1d7e-1f4e-4a51-9a57-52b2d6f0c3aa","from":"AGENT","payload":{"id":"txt-0","text":"word%d "}}`, i)
	}
	now := time.Now().UnixMilli()
	if err := s.CreateStreamRun(ctx, StreamRun{RunID: "bench", ResourceID: "r", AgentID: "a", ThreadID: "t", Owner: "me", LeaseUntil: now + 60_000, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.AppendStreamChunks(ctx, "bench", "me", int64(i*len(chunks)), chunks, now+60_000, now, StreamRunning); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/write")
}
