package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// Two attempts of one request (same idempotency key) that both reach the
// model before either saves: one turn is stored, and both answer with it.
func TestConcurrentRetriesStoreOneTurn(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		var arrived sync.WaitGroup
		arrived.Add(2)
		var mu sync.Mutex
		n := 0
		fake := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply {
			arrived.Done()
			arrived.Wait() // both attempts are past their replay look-up
			mu.Lock()
			defer mu.Unlock()
			n++
			if n == 1 {
				return llmtest.Reply{Text: "answer one"}
			}
			return llmtest.Reply{Text: "answer two"}
		})
		svc := newService(t, store, &Agent{ID: "a", Model: fake.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test", LastMessages: 10})
		in := Input{ThreadID: "t", ResourceID: "alice", Messages: user("hello"), IdempotencyKey: "k"}
		results := make([]*Result, 2)
		errs := make([]error, 2)
		var done sync.WaitGroup
		for i := range results {
			done.Add(1)
			go func(i int) {
				defer done.Done()
				results[i], errs[i] = svc.Generate(context.Background(), in)
			}(i)
		}
		done.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		if results[0].Text != results[1].Text || results[0].MessageID != results[1].MessageID {
			t.Errorf("attempts answered %q (%s) and %q (%s); want the same stored reply",
				results[0].Text, results[0].MessageID, results[1].Text, results[1].MessageID)
		}
		if results[0].Replayed == results[1].Replayed {
			t.Errorf("replayed = %v, %v; want exactly one attempt answered from the store", results[0].Replayed, results[1].Replayed)
		}
		page, err := store.ListMessages(context.Background(), memory.MessageQuery{ThreadID: "t", ResourceID: "alice", PerPage: -1})
		if err != nil || page.Total != 2 {
			t.Errorf("thread has %d messages (%v); want one turn's 2", page.Total, err)
		}
	})
}
