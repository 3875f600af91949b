package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// testClock is the limiters' clock: fixed in the middle of a window, so no
// test straddles a window's edge, and moved on by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Now().Truncate(time.Minute).Add(30 * time.Second)}
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) next() {
	c.mu.Lock()
	c.t = c.t.Add(time.Minute)
	c.mu.Unlock()
}

// limitedServer is one instance: the auth of withAuth, an echo agent
// ("assistant") and one on fake ("gpt"), limits as set, counting where
// store says (shared on Postgres).
func limitedServer(t *testing.T, store *memory.Store, fake *llmtest.Server, clk *testClock, lim Limits, tokenLims map[string]Limits) string {
	t.Helper()
	openai, err := llm.NewOpenAI(fake.Config(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	agents := []*agent.Agent{
		{ID: "assistant", Name: "Assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10},
		{ID: "gpt", Name: "GPT", Model: openai, Provider: "openai", ModelID: "gpt-4o-mini", LastMessages: 10},
	}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	l := limits.NewMemory(quietLogger())
	if store.Kind() == "postgres" {
		l = limits.NewStore(store, quietLogger())
	}
	l.Now = clk.now
	svc.SetObserver(l.Agents(svc, nil, lim))
	cfg := testConfig()
	withAuth(&cfg)
	cfg.Budgets = limits.Budgets{Global: lim, Tokens: tokenLims}
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon", Limiter: l})
	return ts.URL
}

// twoInstances opens two stores on one Postgres database, as two server
// processes would.
func twoInstances(t *testing.T) (a, b *memory.Store) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	return openStore(t, memory.Options{DatabaseURL: url}), openStore(t, memory.Options{DatabaseURL: url})
}

func is429(r response, what string) bool {
	return r.status == 429 && r.header.Get("Retry-After") != "" && r.body["code"] == "rate_limited" &&
		strings.Contains(r.body["error"].(string), what)
}

// TestRateLimitAcrossInstances: two instances on one Postgres share the
// count; the fifth request of a minute is 429 with Retry-After on either;
// another token's resource is unaffected; a token's own limit replaces the
// global one; the next minute starts afresh.
func TestRateLimitAcrossInstances(t *testing.T) {
	storeA, storeB := twoInstances(t)
	clk := newTestClock()
	fake := upstream(t, hello)
	lim := Limits{RequestsPerMinute: 4}
	own := map[string]Limits{"ops": {RequestsPerMinute: 0}} // the admin token is not limited
	urls := []string{limitedServer(t, storeA, fake, clk, lim, own), limitedServer(t, storeB, fake, clk, lim, own)}

	for i := range 4 {
		if r := do(t, "GET", urls[i%2]+"/api/memory/threads", "", bearer(aliceToken)...); r.status != 200 {
			t.Fatalf("alice request %d = %d %s; want 200", i+1, r.status, r.raw)
		}
	}
	for _, u := range urls {
		r := do(t, "GET", u+"/api/memory/threads", "", bearer(aliceToken)...)
		if !is429(r, "4 requests per minute") || r.header.Get("Retry-After") != "30" {
			t.Errorf("alice's 5th request = %d %s (Retry-After %q); want 429 rate_limited, Retry-After 30", r.status, r.raw, r.header.Get("Retry-After"))
		}
	}
	// A refused generate saves nothing.
	if r := do(t, "POST", urls[0]+"/agent/generate", `{"message":"over","threadId":"a-over"}`, bearer(aliceToken)...); r.status != 429 {
		t.Errorf("alice generate over the limit = %d %s; want 429", r.status, r.raw)
	}
	if _, err := storeA.Thread(context.Background(), "res-alice", "a-over"); err == nil {
		t.Errorf("a refused generate saved its thread")
	}
	for i := range 4 {
		if r := do(t, "GET", urls[(i+1)%2]+"/api/memory/threads", "", bearer(bobToken)...); r.status != 200 {
			t.Fatalf("bob request %d = %d %s; want 200: alice's limit is hers", i+1, r.status, r.raw)
		}
	}
	for i := range 8 {
		if r := do(t, "GET", urls[i%2]+"/api/memory/threads", "", bearer(adminToken)...); r.status != 200 {
			t.Fatalf("admin request %d = %d %s; want 200 (its own limit is 0: none)", i+1, r.status, r.raw)
		}
	}
	clk.next()
	if r := do(t, "GET", urls[1]+"/api/memory/threads", "", bearer(aliceToken)...); r.status != 200 {
		t.Errorf("alice in the next minute = %d %s; want 200", r.status, r.raw)
	}
}

// TestTokenBudget: the model tokens of each call count against the
// resource; once a minute's budget is spent, a turn is refused with 429
// before any model call, on generate and on stream, while another resource
// goes on.
func TestTokenBudget(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		clk := newTestClock()
		fake := upstream(t, hello) // 12 tokens a call
		base := limitedServer(t, store, fake, clk, Limits{TokensPerMinute: 20}, nil)
		for i := range 2 { // 0 then 12 tokens spent: under 20
			if r := do(t, "POST", base+"/agent/generate", `{"message":"hi","agentId":"gpt"}`, bearer(aliceToken)...); r.status != 200 {
				t.Fatalf("alice generate %d = %d %s; want 200", i+1, r.status, r.raw)
			}
		}
		calls := len(fake.Requests())
		r := do(t, "POST", base+"/agent/generate", `{"message":"hi","agentId":"gpt"}`, bearer(aliceToken)...)
		if !is429(r, "20 model tokens per minute") {
			t.Errorf("alice generate over budget = %d %s; want 429", r.status, r.raw)
		}
		r = do(t, "POST", base+"/agent/stream", `{"message":"hi","agentId":"gpt"}`, bearer(aliceToken)...)
		if !is429(r, "model tokens") {
			t.Errorf("alice stream over budget = %d %s; want a 429 JSON answer", r.status, r.raw)
		}
		if n := len(fake.Requests()); n != calls {
			t.Errorf("the model got %d calls after the budget was spent; want none", n-calls)
		}
		if r = do(t, "POST", base+"/agent/generate", `{"message":"hi","agentId":"gpt"}`, bearer(bobToken)...); r.status != 200 {
			t.Errorf("bob generate = %d %s; want 200", r.status, r.raw)
		}
		clk.next()
		if r = do(t, "POST", base+"/agent/generate", `{"message":"hi","agentId":"gpt"}`, bearer(aliceToken)...); r.status != 200 {
			t.Errorf("alice generate in the next minute = %d %s; want 200", r.status, r.raw)
		}
	})
}

// openStream starts a stream and reads until its first event, so the
// stream is known to be running; cancel ends it.
func openStream(t *testing.T, url, body, token string) (cancel func()) {
	t.Helper()
	ctx, cancelReq := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", jsonCT)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("stream = %d; want 200", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "data: ") {
	}
	return func() { cancelReq(); res.Body.Close() }
}

// TestStreamCap: one stream per resource at a time, across two instances
// on one Postgres (and on SQLite's one node). A second stream of the same
// resource is 429 while the first runs, on either instance; other
// resources and non-streamed turns go on; the slot is free once the
// stream ends.
func TestStreamCap(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var a, b *memory.Store
			if kind == "sqlite" {
				a = openSQLite(t)
				b = a
			} else {
				a, b = twoInstances(t)
			}
			clk := newTestClock()
			fake := upstream(t, llmtest.Reply{Text: "Hello world", HangAfterFirstToken: true})
			lim := Limits{MaxStreams: 1}
			urlA := limitedServer(t, a, fake, clk, lim, nil)
			urlB := urlA
			if kind == "postgres" {
				urlB = limitedServer(t, b, fake, clk, lim, nil)
			}
			stop := openStream(t, urlA+"/agent/stream", `{"message":"hi","agentId":"gpt"}`, aliceToken)
			defer stop()
			for _, u := range []string{urlA + "/agent/stream", urlB + "/api/agents/assistant/stream"} {
				body := `{"message":"again"}`
				if strings.Contains(u, "/api/") {
					body = `{"messages":"again"}`
				}
				r := do(t, "POST", u, body, bearer(aliceToken)...)
				if !is429(r, "1 already open") {
					t.Errorf("alice's second stream (%s) = %d %s; want 429", u, r.status, r.raw)
				}
			}
			if r := do(t, "POST", urlB+"/agent/stream", `{"message":"hi"}`, bearer(bobToken)...); r.status != 200 {
				t.Errorf("bob's stream = %d %s; want 200", r.status, r.raw)
			}
			if r := do(t, "POST", urlB+"/agent/generate", `{"message":"hi"}`, bearer(aliceToken)...); r.status != 200 {
				t.Errorf("alice's generate while she streams = %d %s; want 200", r.status, r.raw)
			}
			stop()
			deadline := time.Now().Add(5 * time.Second) // the handler ends once it sees the client gone
			var r response
			for {
				r = do(t, "POST", urlB+"/agent/stream", `{"message":"hi"}`, bearer(aliceToken)...)
				if r.status != 429 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if r.status != 200 {
				t.Errorf("alice's stream after the first ended = %d %s; want 200", r.status, r.raw)
			}
		})
	}
}
