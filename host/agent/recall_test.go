package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// syncEmbeds runs each embedding job at once, inside Enqueue, so a test
// knows a saved turn is embedded when the turn returns.
type syncEmbeds struct {
	t   *testing.T
	svc *Service
}

func (q *syncEmbeds) Enqueue(ctx context.Context, job EmbedJob) error {
	if err := q.svc.Embed(ctx, job); err != nil {
		q.t.Errorf("embed job: %v", err)
	}
	return nil
}

// events records recall events.
type events struct {
	mu  sync.Mutex
	got []RecallEvent
}

func (e *events) add(ev RecallEvent) { e.mu.Lock(); e.got = append(e.got, ev); e.mu.Unlock() }
func (e *events) count(op, outcome string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.got {
		if ev.Op == op && ev.Outcome == outcome {
			n++
		}
	}
	return n
}

func recallAgent(f *llmtest.Server, sr SemanticRecall) *Agent {
	sr.Embedder, sr.EmbedderRef, sr.Model = f.Model(10*time.Second), "openai/text-embedding-3-small", "text-embedding-3-small"
	return &Agent{ID: "a", Model: f.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test", LastMessages: 2,
		SemanticRecall: &sr}
}

func say(t *testing.T, svc *Service, resource, thread, text string) *Result {
	t.Helper()
	res, err := svc.Generate(context.Background(), Input{AgentID: "a", ResourceID: resource, ThreadID: thread, Messages: user(text)})
	if err != nil {
		t.Fatalf("turn %q: %v", text, err)
	}
	return res
}

// Recall brings back what the user said in another thread (as Mastra's
// system block) or earlier in this one (among the history, in order),
// never another resource's messages, never a message twice; every saved
// message and every query is embedded exactly once.
func TestSemanticRecall(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		var replies []llmtest.Reply
		for i := range 10 {
			replies = append(replies, llmtest.Reply{Text: fmt.Sprintf("Noted %d.", i)})
		}
		f := newFake(t, replies...)
		svc := newService(t, store, recallAgent(f, SemanticRecall{TopK: 1, Before: 0, After: 1, Scope: "resource"}))
		svc.SetEmbedQueue(&syncEmbeds{t, svc})
		var ev events
		svc.SetRecallObserver(ev.add)

		say(t, svc, "alice", "A", "My dog is called Rex")
		say(t, svc, "alice", "A", "The invoice is due on Friday")
		say(t, svc, "alice", "A", "I like green tea")

		// Another thread of alice: the dog message and its neighbour after.
		say(t, svc, "alice", "B", "what is my dog called?")
		sys := f.Requests()[3].Messages[0]
		if sys.Role != "system" || !strings.Contains(sys.Text(), "<remembered_from_other_conversation>") ||
			!strings.Contains(sys.Text(), ": User: My dog is called Rex\n") || !strings.Contains(sys.Text(), ": Assistant: Noted 0.\n") ||
			strings.Contains(sys.Text(), "invoice") {
			t.Errorf("thread B's prompt: %s", f.Requests()[3].Dump())
		}
		// bob has no such message.
		say(t, svc, "bob", "C", "what is my dog called?")
		if d := f.Requests()[4].Dump(); strings.Contains(d, "Rex") || strings.Contains(d, "remembered") {
			t.Errorf("bob's prompt holds alice's messages: %s", d)
		}
		// Thread A again: the last 2 messages are green tea and its reply;
		// the dog message comes back among the history, before them.
		say(t, svc, "alice", "A", "my dog is called Rex, right?")
		want := "user:My dog is called Rex | assistant:Noted 0. | user:I like green tea | assistant:Noted 2. | user:my dog is called Rex, right?"
		if got := f.Requests()[5].Dump(); got != want {
			t.Errorf("thread A's prompt:\n got %s\nwant %s", got, want)
		}

		// Each text once: 6 turns, 12 saved messages; the repeated query
		// "what is my dog called?" was embedded once (cached).
		seen := map[string]int{}
		for _, text := range f.Embedded() {
			seen[text]++
		}
		for text, n := range seen {
			if n != 1 {
				t.Errorf("%q embedded %d times", text, n)
			}
		}
		if len(seen) != 11 {
			t.Errorf("%d texts embedded; want 11 (12 saved messages, one text twice): %v", len(seen), f.Embedded())
		}
		if n := len(f.EmbedRequests()); n != 6+5 {
			t.Errorf("%d embedding requests; want one per turn's query (5, one cached) and one per saved turn (6)", n)
		}
		if ev.count("query", "ok") != 6 || ev.count("embed", "ok") != 6 {
			t.Errorf("events %v", ev.got)
		}
	})
}

// Scope thread recalls nothing from other threads; a threshold drops
// weak hits.
func TestSemanticRecallScopeAndThreshold(t *testing.T) {
	store := sqliteStore(t)
	f := newFake(t, llmtest.Reply{Text: "ok"})
	high := 0.99
	svc := newService(t, store, recallAgent(f, SemanticRecall{TopK: 3, Scope: "thread", Threshold: &high}))
	svc.SetEmbedQueue(&syncEmbeds{t, svc})
	say(t, svc, "alice", "A", "My dog is called Rex")
	say(t, svc, "alice", "B", "what is my dog called?")
	if d := f.Requests()[1].Dump(); strings.Contains(d, "Rex") {
		t.Errorf("scope thread recalled another thread: %s", d)
	}
	say(t, svc, "alice", "B", "one")
	say(t, svc, "alice", "B", "two")
	say(t, svc, "alice", "B", "dog called")
	if d := f.Requests()[4].Dump(); strings.Contains(d, "what is my dog") {
		t.Errorf("a hit below the threshold was recalled: %s", d)
	}
}

// A provider that cannot embed fails no turn: the query's failure and the
// job's are counted, and the local queue retries the job and then gives up.
func TestSemanticRecallFailuresNeverFailTheTurn(t *testing.T) {
	store := sqliteStore(t)
	f := newFake(t, llmtest.Reply{Text: "fine"})
	f.EmbedStatus = func(int) int { return http.StatusInternalServerError }
	svc := newService(t, store, recallAgent(f, SemanticRecall{TopK: 2, Scope: "resource"}))
	svc.embedBackoff = time.Millisecond
	var ev events
	svc.SetRecallObserver(ev.add)
	t.Cleanup(func() { svc.Close(context.Background()) })
	res := say(t, svc, "alice", "A", "hello there")
	if res.Text != "fine" {
		t.Fatalf("turn = %+v", res)
	}
	if ev.count("query", "error") != 1 {
		t.Errorf("query failures counted: %v", ev.got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ev.count("embed", "error") < embedAttempts && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := ev.count("embed", "error"); n != embedAttempts {
		t.Errorf("%d failed embedding attempts; want %d", n, embedAttempts)
	}
	// One query request, then the job's attempts.
	if n := len(f.EmbedRequests()); n != 1+embedAttempts {
		t.Errorf("%d embedding requests; want %d", n, 1+embedAttempts)
	}
}

// A job that fails once is retried by the local queue and then stores
// the vectors.
func TestLocalEmbedQueueRetries(t *testing.T) {
	store := sqliteStore(t)
	f := newFake(t, llmtest.Reply{Text: "fine"})
	f.EmbedStatus = func(n int) int { return map[int]int{1: 503}[n] } // the job's first try
	svc := newService(t, store, recallAgent(f, SemanticRecall{TopK: 2, Scope: "resource"}))
	svc.embedBackoff = time.Millisecond
	var ev events
	svc.SetRecallObserver(ev.add)
	t.Cleanup(func() { svc.Close(context.Background()) })
	say(t, svc, "alice", "A", "hello there")
	deadline := time.Now().Add(10 * time.Second)
	for ev.count("embed", "ok") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	d, err := store.DescribeVectorIndex(context.Background(), RecallSpace, "memory_messages")
	if err != nil || d.Count != 2 || ev.count("embed", "error") != 1 {
		t.Errorf("index %+v, %v; events %v", d, err, ev.got)
	}
}

// A ReadOnly turn (Mastra's memory.readOnly) reads the thread's history,
// its working memory and semantic recall as any turn does, and writes
// nothing: no message, no thread, no embedding (neither of its messages
// nor a job), and the working memory is shown without its tool.
func TestReadOnlyTurnReadsAndWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		f := newFake(t, llmtest.Reply{Text: "Noted."}, llmtest.Reply{Text: "Noted again."}, llmtest.Reply{Text: "Rex."}, llmtest.Reply{Text: "Rex, yes."})
		a := recallAgent(f, SemanticRecall{TopK: 1, Scope: "resource"})
		a.WorkingMemory = &WorkingMemory{Scope: ScopeResource, Template: "# User\n- Name:"}
		svc := newService(t, store, a)
		svc.SetEmbedQueue(&syncEmbeds{t, svc})
		ctx := context.Background()
		say(t, svc, "alice", "A", "My dog is called Rex")
		say(t, svc, "alice", "B", "I like green tea")
		embeds := len(f.EmbedRequests())

		res, err := svc.Generate(ctx, Input{AgentID: "a", ResourceID: "alice", ThreadID: "B", ReadOnly: true,
			Messages: user("what is my dog called?")})
		if err != nil {
			t.Fatal(err)
		}
		req := f.Requests()[2]
		d := req.Dump()
		if !strings.Contains(d, "I like green tea") || !strings.Contains(d, "My dog is called Rex") || !strings.Contains(d, "<working_memory_data>") {
			t.Errorf("the read-only turn's prompt lacks its history, recall or working memory: %s", d)
		}
		for _, tool := range req.Tools {
			if tool.Function.Name == WorkingMemoryTool {
				t.Errorf("the read-only turn was offered %s", WorkingMemoryTool)
			}
		}
		if len(res.Messages) != 0 {
			t.Errorf("the read-only turn's result names %d saved messages", len(res.Messages))
		}
		msgs, err := store.LastMessages(ctx, "B", 10)
		if err != nil || len(msgs) != 2 {
			t.Errorf("thread B after the read-only turn: %d messages, %v; want the 2 saved before", len(msgs), err)
		}
		// One query embedding, no job.
		if n := len(f.EmbedRequests()) - embeds; n != 1 {
			t.Errorf("%d embedding requests for the read-only turn; want 1 (its query), none for its messages", n)
		}
		// A read-only turn on a new thread creates nothing.
		if _, err := svc.Generate(ctx, Input{AgentID: "a", ResourceID: "alice", ThreadID: "C", ReadOnly: true, Messages: user("hello")}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Thread(ctx, "alice", "C"); !errors.Is(err, memory.ErrNotFound) {
			t.Errorf("thread C after a read-only turn: %v; want not found", err)
		}
	})
}

// refusingBudget refuses the embeddings of one resource a few times, then
// lets them through; it counts what is spent per resource.
type refusingBudget struct {
	mu      sync.Mutex
	refuse  map[string]int
	spent   map[string]int
	refused int
}

func (b *refusingBudget) Principal(context.Context) string { return "" }

func (b *refusingBudget) CheckEmbed(_ context.Context, _, resourceID string) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse[resourceID] > 0 {
		b.refuse[resourceID]--
		b.refused++
		return time.Millisecond, fmt.Errorf("over budget")
	}
	return 0, nil
}

func (b *refusingBudget) SpendEmbed(_ context.Context, _, resourceID string, tokens int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spent[resourceID] += tokens
}

// The local queue defers a job its budget refuses, without holding a
// worker or spending an attempt, and runs it once the budget has room;
// another resource's job goes through meanwhile.
func TestLocalQueueDefersOverBudget(t *testing.T) {
	store := sqliteStore(t)
	f := newFake(t, llmtest.Reply{Text: "fine"})
	svc := newService(t, store, recallAgent(f, SemanticRecall{TopK: 2, Scope: "resource"}))
	budget := &refusingBudget{refuse: map[string]int{"alice": 1 + embedAttempts + 2}, spent: map[string]int{}}
	svc.SetEmbedBudget(budget)
	var ev events
	svc.SetRecallObserver(ev.add)
	t.Cleanup(func() { svc.Close(context.Background()) })
	say(t, svc, "alice", "A", "hello there") // its query refused: recall skipped, the turn goes on
	say(t, svc, "bob", "B", "hello there too")
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := store.DescribeVectorIndex(context.Background(), RecallSpace, "memory_messages")
		if err == nil && d.Count == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index %+v, %v; want alice's and bob's 2 messages each, once alice's budget had room; events %v", d, err, ev.got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	budget.mu.Lock()
	defer budget.mu.Unlock()
	if budget.spent["alice"] == 0 || budget.spent["bob"] == 0 || budget.refused != 1+embedAttempts+2 {
		t.Errorf("spent %v, refused %d; want both resources charged, alice refused %d times", budget.spent, budget.refused, 1+embedAttempts+2)
	}
	if ev.count("query", "over_budget") != 1 || ev.count("embed", "over_budget") != embedAttempts+2 || ev.count("embed", "error") != 0 {
		t.Errorf("events %v; want alice's query and %d job runs counted over_budget, none as errors", ev.got, embedAttempts+2)
	}
}
