package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// BenchmarkTurnRecall compares turns with semantic recall on and off, side
// by side in one run, on SQLite with the offline echo model and echo
// embedder (no network): the cost recall adds to a turn (embedding the
// query, the top-k query, loading the hits, and the saved turn's embedding
// job, run inline here; "query-only" leaves the job out). The resource has
// 1,000 earlier messages.
//
//	go test ./host/agent -run '^$' -bench TurnRecall -benchtime 300x
func BenchmarkTurnRecall(b *testing.B) {
	for _, mode := range []string{"off", "on", "query-only"} {
		on := mode != "off"
		b.Run("recall="+mode, func(b *testing.B) {
			ctx := context.Background()
			store, err := memory.Open(ctx, memory.Options{SQLitePath: filepath.Join(b.TempDir(), "m.db"), MaxOpenConns: 4})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			if _, err := store.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			a := &Agent{ID: "a", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}
			if on {
				a.SemanticRecall = &SemanticRecall{Embedder: llm.EchoEmbedder{}, EmbedderRef: "echo", TopK: 4, Before: 1, After: 1, Scope: "resource"}
			}
			svc, err := NewService(store, []*Agent{a}, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer svc.Close(ctx)
			svc.SetEmbedQueue(embedInline{svc})
			turn := func(thread string, i int) {
				_, err := svc.Generate(ctx, Input{AgentID: "a", ResourceID: "alice", ThreadID: thread,
					Messages: user(fmt.Sprintf("message %d about topic %d and item %d", i, i%37, i%101))})
				if err != nil {
					b.Fatal(err)
				}
			}
			for i := range 500 { // 1,000 messages in 50 threads
				turn(fmt.Sprintf("seed-%d", i%50), i)
			}
			if mode == "query-only" {
				svc.SetEmbedQueue(embedNone{})
			}
			b.ResetTimer()
			i := 0
			for b.Loop() {
				turn("live", i)
				i++
			}
		})
	}
}

type embedInline struct{ s *Service }

func (e embedInline) Enqueue(ctx context.Context, job EmbedJob) error { return e.s.Embed(ctx, job) }

// embedNone drops jobs: the turn's own cost of recall, without embedding
// what it saved.
type embedNone struct{}

func (embedNone) Enqueue(context.Context, EmbedJob) error { return nil }
