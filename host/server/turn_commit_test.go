package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// manualTimer makes the first-byte timer fire only when the test says so:
// fire runs the callback of the latest request's timer.
func manualTimer(t *testing.T) (fire func()) {
	t.Helper()
	var mu sync.Mutex
	var last func()
	prev := afterFunc
	afterFunc = func(_ time.Duration, f func()) *time.Timer {
		mu.Lock()
		last = f
		mu.Unlock()
		return time.AfterFunc(time.Hour, func() {}) // never fires on its own
	}
	t.Cleanup(func() { afterFunc = prev })
	return func() {
		mu.Lock()
		f := last
		mu.Unlock()
		f()
	}
}

// fakeModelServer serves agent "assistant" on the scripted fake model, with
// mws inside the timeout and edit applied to the config.
func fakeModelServer(t *testing.T, store *memory.Store, fake *llmtest.Server, edit func(*Config), mws ...Middleware) string {
	t.Helper()
	agents := []*agent.Agent{{ID: "assistant", Model: fake.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test", LastMessages: 10}}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon", Middleware: mws})
	return ts.URL
}

// gateHook wraps the commit gate of every generate with around(orig).
func gateHook(around func(orig func() bool) bool) Middleware {
	return Middleware{Name: "gate-hook", Path: "/agent/*", Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			orig := agent.CommitGate(r.Context())
			ctx := agent.WithCommitGate(r.Context(), func() bool { return around(orig) })
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}}
}

func countMessages(t *testing.T, store *memory.Store, resource, thread string) int {
	t.Helper()
	page, err := store.ListMessages(context.Background(), memory.MessageQuery{ThreadID: thread, ResourceID: resource, PerPage: -1})
	if errors.Is(err, memory.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

// F6: the model's answer arrives right at the first-byte timeout. If the
// timeout fires before the save begins, the client gets 504 and nothing is
// saved; if it fires once the save has begun, the client gets the saved
// turn (200), never a 504 hiding it.
func TestTimeoutAndSaveAgree(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		fire := manualTimer(t)
		fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "the answer"}))
		var timeoutFirst bool
		base := fakeModelServer(t, store, fake, nil, gateHook(func(orig func() bool) bool {
			if timeoutFirst {
				fire() // the timer wins the race: it fires just before the save
				return orig()
			}
			ok := orig() // the save wins: the timer fires just after it began
			fire()
			return ok
		}))

		timeoutFirst = true
		r := do(t, "POST", base+"/agent/generate", `{"message":"hi","threadId":"t-late","resourceId":"alice"}`, "Content-Type", jsonCT)
		if r.status != 504 {
			t.Errorf("timeout before the save = %d %s; want 504", r.status, r.raw)
		}
		if n := countMessages(t, store, "alice", "t-late"); n != 0 {
			t.Errorf("a 504 left %d messages saved; want 0", n)
		}

		timeoutFirst = false
		r = do(t, "POST", base+"/agent/generate", `{"message":"hi","threadId":"t-saved","resourceId":"alice"}`, "Content-Type", jsonCT)
		if r.status != 200 || r.body["text"] != "the answer" {
			t.Errorf("timeout after the save began = %d %s; want 200 with the reply", r.status, r.raw)
		}
		if n := countMessages(t, store, "alice", "t-saved"); n != 2 {
			t.Errorf("saved %d messages; want the turn's 2", n)
		}
	})
}

// F6: a retried generate with the same Idempotency-Key stores its turn once
// and answers with the stored reply without calling the model again; keys
// are per resource, and a Mastra body's user-message id works as a key.
func TestIdempotentGenerate(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "first answer"}, llmtest.Reply{Text: "second answer"},
			llmtest.Reply{Text: "bob's answer"}, llmtest.Reply{Text: "mastra answer"}, llmtest.Reply{Text: "too many calls"}))
		base := fakeModelServer(t, store, fake, withAuth)
		gen := func(tok, body string, headers ...string) response {
			t.Helper()
			h := append([]string{"Authorization", "Bearer " + tok, "Content-Type", jsonCT}, headers...)
			return do(t, "POST", base+"/agent/generate", body, h...)
		}
		body := `{"message":"hello","threadId":"t-idem"}`
		first := gen(aliceToken, body, "Idempotency-Key", "key-1")
		retry := gen(aliceToken, body, "Idempotency-Key", "key-1")
		if first.status != 200 || retry.status != 200 || retry.body["text"] != "first answer" {
			t.Fatalf("generate, retry = %d %s / %d %s; want 200 twice with the first answer", first.status, first.raw, retry.status, retry.raw)
		}
		id := func(r response) any { return r.body["response"].(map[string]any)["id"] }
		if id(first) != id(retry) {
			t.Errorf("retry answered message %v; want the stored %v", id(retry), id(first))
		}
		if n := len(fake.Requests()); n != 1 {
			t.Errorf("model called %d times; want once", n)
		}
		if n := countMessages(t, store, "res-alice", "t-idem"); n != 2 {
			t.Errorf("thread has %d messages after a retry; want 2 (one turn)", n)
		}

		// A new key is a new turn; bob's equal key is his own.
		if r := gen(aliceToken, body, "Idempotency-Key", "key-2"); r.body["text"] != "second answer" {
			t.Errorf("new key = %s; want a new turn", r.raw)
		}
		if r := gen(bobToken, `{"message":"hello","threadId":"t-bob"}`, "Idempotency-Key", "key-1"); r.status != 200 || r.body["text"] != "bob's answer" {
			t.Errorf("bob with alice's key = %d %s; want his own turn", r.status, r.raw)
		}
		if a, b := countMessages(t, store, "res-alice", "t-idem"), countMessages(t, store, "res-bob", "t-bob"); a != 4 || b != 2 {
			t.Errorf("alice has %d, bob %d messages; want 4 and 2", a, b)
		}

		// Mastra's route: the user message's id makes the retry the same request.
		mastra := `{"messages":[{"id":"ui-msg-7","role":"user","content":"hi from the UI"}],"memory":{"thread":"t-ui"}}`
		for i := 0; i < 2; i++ {
			r := do(t, "POST", base+"/api/agents/assistant/generate", mastra, "Authorization", "Bearer "+aliceToken, "Content-Type", jsonCT)
			if r.status != 200 || r.body["text"] != "mastra answer" {
				t.Errorf("mastra generate %d = %d %s; want the mastra answer", i, r.status, r.raw)
			}
		}
		if n := countMessages(t, store, "res-alice", "t-ui"); n != 2 {
			t.Errorf("t-ui has %d messages after a retry; want 2", n)
		}
		if n := len(fake.Requests()); n != 4 {
			t.Errorf("model called %d times in all; want 4", n)
		}

		r := gen(aliceToken, body, "Idempotency-Key", strings.Repeat("k", agent.MaxIdempotencyKey+1))
		if r.status != 400 || !strings.Contains(r.raw, "Idempotency-Key") {
			t.Errorf("oversized key = %d %s; want 400 naming Idempotency-Key", r.status, r.raw)
		}
	})
}
