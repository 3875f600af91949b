package limits

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// countingEmbedder is the echo embedder, counting its calls per text.
type countingEmbedder struct {
	mu    sync.Mutex
	calls int
}

func (c *countingEmbedder) Embed(ctx context.Context, req llm.EmbedRequest) (*llm.Embeddings, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return llm.EchoEmbedder{}.Embed(ctx, req)
}

func (c *countingEmbedder) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// keptJobs keeps the embedding jobs turns queue, for the test to run.
type keptJobs struct {
	mu   sync.Mutex
	jobs []agent.EmbedJob
}

func (k *keptJobs) Enqueue(_ context.Context, job agent.EmbedJob) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.jobs = append(k.jobs, job)
	return nil
}

func (k *keptJobs) take() []agent.EmbedJob {
	k.mu.Lock()
	defer k.mu.Unlock()
	j := k.jobs
	k.jobs = nil
	return j
}

func words(text string) int {
	_, n := llm.HashEmbedding(text, 8)
	return n
}

// Semantic recall's embedding calls count against the model-token budget
// of whom they are for: the query of alice's turn and the embedding of
// what it saved are alice's tokens, never bob's; a job queued by a turn
// carries its principal, so it is charged (and refused) as the turn
// would be, even on another instance. Once alice's minute is spent, her
// jobs wait (deferred, the embedder not called) and her searches are
// refused, while bob's go on.
func TestEmbeddingsCountAgainstTheirTenant(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := memory.Open(ctx, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db"), MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	emb := &countingEmbedder{}
	a := &agent.Agent{ID: "a", Model: llm.Echo{}, Provider: "echo", LastMessages: 10,
		SemanticRecall: &agent.SemanticRecall{Embedder: emb, EmbedderRef: "echo/e", TopK: 2, Scope: "resource"}}
	svc, err := agent.NewService(store, []*agent.Agent{a}, "a", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(ctx) })
	jobs := &keptJobs{}
	svc.SetEmbedQueue(jobs)
	var events []agent.RecallEvent
	var evMu sync.Mutex
	svc.SetRecallObserver(func(ev agent.RecallEvent) {
		evMu.Lock()
		events = append(events, ev)
		evMu.Unlock()
	})
	l := NewMemory(log)
	budgets := Budgets{Global: Limits{TokensPerMinute: 1_000_000},
		Tokens: map[string]Limits{"alice": {TokensPerMinute: 500}, "bob": {TokensPerMinute: 500}}}
	svc.SetObserver(l.Agents(svc, nil, budgets.Global))
	svc.SetEmbedBudget(l.Embeddings(budgets))
	alice := budgets.For("resource:alice", "alice")
	bob := budgets.For("resource:bob", "bob")
	tokens := func(s Subject) int64 {
		w, _ := window(l.Now())
		n, err := l.c.Count(ctx, s.Key+"|tokens", w)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A turn: the model's tokens, the query's and (once its job ran) the
	// reply's embedding, all alice's. Her input was embedded as the query.
	question := "what did we say about the blue harbour ferry"
	res, err := svc.Generate(WithSubject(ctx, alice), agent.Input{ResourceID: "alice", ThreadID: "t-alice",
		Messages: []llm.Message{{Role: "user", Content: question}}})
	if err != nil {
		t.Fatal(err)
	}
	model := int64(res.Usage.TotalTokens)
	if got, want := tokens(alice), model+int64(words(question)); got != want {
		t.Errorf("alice's tokens after the turn = %d; want the model's %d + the query's %d", got, model, words(question))
	}
	aliceJobs := jobs.take()
	if len(aliceJobs) != 1 || aliceJobs[0].Principal == "" {
		t.Fatalf("queued jobs = %+v; want one, naming its principal", aliceJobs)
	}
	if err := svc.Embed(ctx, aliceJobs[0]); err != nil {
		t.Fatalf("alice's embedding job: %v", err)
	}
	if got, want := tokens(alice), model+int64(words(question))+int64(words(res.Text)); got != want {
		t.Errorf("alice's tokens after her job = %d; want %d (+ the reply's %d)", got, want, words(res.Text))
	}
	if n := tokens(bob); n != 0 {
		t.Errorf("bob's tokens = %d; want 0: alice's embeddings charged to bob", n)
	}

	// Bob's turn, then alice's minute is spent.
	if _, err := svc.Generate(WithSubject(ctx, bob), agent.Input{ResourceID: "bob", ThreadID: "t-bob",
		Messages: []llm.Message{{Role: "user", Content: "the red lighthouse keeper"}}}); err != nil {
		t.Fatal(err)
	}
	bobJobs := jobs.take()
	if err := l.SpendTokens(ctx, alice, 500); err != nil {
		t.Fatal(err)
	}
	// A job of alice's (as a retry would run it) is deferred to the next
	// window without calling the embedder.
	before := emb.n()
	err = svc.Embed(ctx, aliceJobs[0])
	var deferred *agent.EmbedDeferredError
	var over *ExceededError
	if !errors.As(err, &deferred) || !errors.As(err, &over) || deferred.Wait <= 0 {
		t.Fatalf("alice's job over her budget: %v; want an *agent.EmbedDeferredError with a wait, from an *ExceededError", err)
	}
	if emb.n() != before {
		t.Errorf("the embedder was called for a refused job")
	}
	// Her search is refused; bob's job and search go on.
	if _, err := svc.Search(WithSubject(ctx, alice), agent.SearchQuery{AgentID: "a", ResourceID: "alice", Text: "a new question about ferries"}); !errors.As(err, &over) {
		t.Errorf("alice's search over her budget: %v; want *ExceededError", err)
	}
	bobBefore := tokens(bob)
	if err := svc.Embed(ctx, bobJobs[0]); err != nil {
		t.Fatalf("bob's job while alice is over budget: %v", err)
	}
	if _, err := svc.Search(WithSubject(ctx, bob), agent.SearchQuery{AgentID: "a", ResourceID: "bob", Text: "lighthouse keepers at night"}); err != nil {
		t.Fatalf("bob's search while alice is over budget: %v", err)
	}
	if got := tokens(bob); got <= bobBefore {
		t.Errorf("bob's tokens %d → %d; want his job's and search's embeddings counted", bobBefore, got)
	}
	evMu.Lock()
	defer evMu.Unlock()
	found := false
	for _, ev := range events {
		found = found || ev.Op == "embed" && ev.Outcome == "over_budget"
	}
	if !found {
		t.Errorf("recall events %+v; want the refused job counted as embed/over_budget", events)
	}
}

// A job with no principal (a message saved by a workflow step or a
// server-side call) counts against its resource with the global limits.
func TestEmbeddingJobWithoutPrincipalCountsAgainstItsResource(t *testing.T) {
	ctx := context.Background()
	l := NewMemory(slog.New(slog.NewTextHandler(io.Discard, nil)))
	b := l.Embeddings(Budgets{Global: Limits{TokensPerMinute: 10}})
	b.SpendEmbed(ctx, "", "carol", 10)
	if _, err := b.CheckEmbed(ctx, "", "carol"); err == nil {
		t.Errorf("carol's embedding after her resource's 10 tokens: allowed; want refused")
	}
	if _, err := b.CheckEmbed(ctx, "", "dave"); err != nil {
		t.Errorf("dave's embedding: %v; want allowed", err)
	}
	if (*Limiter)(nil).Embeddings(Budgets{}) != nil {
		t.Errorf("a nil limiter's budget is not nil: embeddings would be checked with no limits configured")
	}
}
