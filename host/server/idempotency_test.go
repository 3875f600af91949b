package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// idemServer serves agents "assistant" and "helper" on fake, with alice's
// and bob's tokens (withAuth), over store.
func idemServer(t *testing.T, store *memory.Store, fake *llmtest.Server) string {
	t.Helper()
	var agents []*agent.Agent
	for _, id := range []string{"assistant", "helper"} {
		agents = append(agents, &agent.Agent{ID: id, Model: fake.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test", LastMessages: 10})
	}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	withAuth(&cfg)
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon"})
	return ts.URL
}

// sendAs sends body as tok, with the Idempotency-Key key when not "".
func sendAs(t *testing.T, url, tok, key, body string) response {
	t.Helper()
	h := []string{"Authorization", "Bearer " + tok, "Content-Type", jsonCT}
	if key != "" {
		h = append(h, "Idempotency-Key", key)
	}
	return do(t, "POST", url, body, h...)
}

func replyID(r response) any {
	resp, _ := r.body["response"].(map[string]any)
	return resp["id"]
}

// N7: the ids an idempotency key derives are keyed by a secret of the
// database. Bob knows alice's resource and the key she will use, saves
// messages at the ids the key used to derive, and alice's turn goes
// through all the same; the same resource and key on another database
// derive other ids, so knowing them is not enough to compute the ids.
func TestIdempotencyIDsCannotBeClaimed(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "your order"}, llmtest.Reply{Text: "elsewhere"}))
		base := idemServer(t, store, fake)

		// The derivation before the fix: UUIDv5 under a namespace that was
		// in the source.
		ns := uuid.MustParse("0b8f5e4e-6f1c-4c55-9d43-7a0f6f0e2c11")
		old := func(part string) string {
			return uuid.NewSHA1(ns, []byte("res-alice\x00order-42\x00"+part)).String()
		}
		squat := fmt.Sprintf(`{"messages":[{"id":%q,"role":"user","content":"squat","threadId":"tb-api"},`+
			`{"id":%q,"role":"assistant","content":"squat","threadId":"tb-api"}]}`, old("input\x000"), old("reply"))
		if r := sendAs(t, base+"/api/memory/threads?agentId=assistant", bobToken, "", `{"threadId":"tb-api"}`); r.status != 200 {
			t.Fatalf("bob's thread = %d %s", r.status, r.raw)
		}
		if r := sendAs(t, base+"/api/memory/save-messages?agentId=assistant", bobToken, "", squat); r.status != 200 {
			t.Fatalf("bob's save-messages = %d %s", r.status, r.raw)
		}

		order := `{"message":"my order","threadId":"ta-order"}`
		first := sendAs(t, base+"/agent/generate", aliceToken, "order-42", order)
		if first.status != 200 || first.body["text"] != "your order" {
			t.Fatalf("alice's turn after bob's squat = %d %s; want 200 with the model's reply", first.status, first.raw)
		}
		retry := sendAs(t, base+"/agent/generate", aliceToken, "order-42", order)
		if retry.status != 200 || replyID(retry) != replyID(first) || len(fake.Requests()) != 1 {
			t.Errorf("alice's retry = %d %s after %d model calls; want the stored reply %v, one call",
				retry.status, retry.raw, len(fake.Requests()), replyID(first))
		}
		if n := countMessages(t, store, "res-bob", "tb-api"); n != 2 {
			t.Errorf("bob's thread has %d messages; want his 2, untouched", n)
		}

		elsewhere := sendAs(t, idemServer(t, openSQLite(t), fake)+"/agent/generate", aliceToken, "order-42", order)
		if elsewhere.status != 200 || replyID(elsewhere) == replyID(first) {
			t.Errorf("same resource and key on another database = %d, reply id %v; want 200 and an id other than %v",
				elsewhere.status, replyID(elsewhere), replyID(first))
		}
	})
}

// N7: instances on one Postgres share the secret, so a retry that lands on
// the other instance is recognised and answered from the store.
func TestIdempotencyAcrossInstances(t *testing.T) {
	url := pgtest.NewDatabase(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "once"}, llmtest.Reply{Text: "twice"}))
	one := idemServer(t, openStore(t, memory.Options{DatabaseURL: url}), fake)
	two := idemServer(t, openStore(t, memory.Options{DatabaseURL: url}), fake)

	body := `{"message":"pay","threadId":"ta-pay"}`
	first := sendAs(t, one+"/agent/generate", aliceToken, "pay-7", body)
	retry := sendAs(t, two+"/agent/generate", aliceToken, "pay-7", body)
	if first.status != 200 || retry.status != 200 || retry.body["text"] != "once" || replyID(retry) != replyID(first) {
		t.Errorf("generate on one, retry on two = %d %s / %d %s; want the stored reply twice", first.status, first.raw, retry.status, retry.raw)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("model called %d times; want once", n)
	}
}

// N9: a key used again with a different request (message, thread, agent)
// is 422 idempotency_key_reused and calls no model, on every route that
// honours a key; the same request, however its JSON is spelled, gets the
// stored reply.
func TestIdempotencyKeyReused(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "first"}, llmtest.Reply{Text: "bob's"},
			llmtest.Reply{Text: "unnamed thread"}, llmtest.Reply{Text: "ui"}, llmtest.Reply{Text: "chat"}, llmtest.Reply{Text: "too many"}))
		base := idemServer(t, store, fake)
		calls := func() int { return len(fake.Requests()) }

		first := sendAs(t, base+"/agent/generate", aliceToken, "idem-1", `{"message":"idem","threadId":"ta-idem"}`)
		if first.status != 200 || first.body["text"] != "first" {
			t.Fatalf("generate = %d %s", first.status, first.raw)
		}
		reused := []struct{ what, route, body string }{
			{"another message and thread", "/agent/generate", `{"message":"DIFFERENT","threadId":"ta-other"}`},
			{"another message", "/agent/generate", `{"message":"DIFFERENT","threadId":"ta-idem"}`},
			{"another thread", "/agent/generate", `{"message":"idem","threadId":"ta-other"}`},
			{"no thread", "/agent/generate", `{"message":"idem"}`},
			{"another agent", "/agent/generate", `{"message":"idem","threadId":"ta-idem","agentId":"helper"}`},
			{"another message, streamed", "/agent/stream", `{"message":"DIFFERENT","threadId":"ta-idem"}`},
		}
		for _, c := range reused {
			r := sendAs(t, base+c.route, aliceToken, "idem-1", c.body)
			if r.status != 422 || r.body["code"] != "idempotency_key_reused" {
				t.Errorf("key reused with %s = %d %s; want 422 idempotency_key_reused", c.what, r.status, r.raw)
			}
		}
		if n := calls(); n != 1 {
			t.Errorf("model called %d times; want once (no call for a reused key)", n)
		}
		if n := countMessages(t, store, "res-alice", "ta-other"); n != 0 {
			t.Errorf("ta-other has %d messages; want none", n)
		}

		// The same request, spelled otherwise, is answered from the store.
		same := sendAs(t, base+"/agent/generate", aliceToken, "idem-1", "{ \"threadId\" : \"ta-idem\",\n \"message\":\"idem\" }")
		if same.status != 200 || same.body["text"] != "first" || replyID(same) != replyID(first) {
			t.Errorf("same request = %d %s; want the stored reply", same.status, same.raw)
		}
		if r := sendAs(t, base+"/agent/stream", aliceToken, "idem-1", `{"message":"idem","threadId":"ta-idem"}`); r.status != 200 ||
			!strings.Contains(r.raw, `"text":"first"`) {
			t.Errorf("same request, streamed = %d %.300s; want the stored reply", r.status, r.raw)
		}
		if n := calls(); n != 1 {
			t.Errorf("model called %d times after retries; want once", n)
		}

		// Keys are per resource: bob's idem-1 is his own.
		if r := sendAs(t, base+"/agent/generate", bobToken, "idem-1", `{"message":"DIFFERENT","threadId":"tb-idem"}`); r.status != 200 || r.body["text"] != "bob's" {
			t.Errorf("bob with alice's key = %d %s; want his own turn", r.status, r.raw)
		}

		// A request naming no thread is the same request when retried: the
		// thread the server made for it is not part of it.
		a := sendAs(t, base+"/agent/generate", aliceToken, "idem-2", `{"message":"no thread"}`)
		b := sendAs(t, base+"/agent/generate", aliceToken, "idem-2", `{"message":"no thread"}`)
		if a.status != 200 || b.status != 200 || b.body["text"] != "unnamed thread" || b.body["threadId"] != a.body["threadId"] {
			t.Errorf("retry naming no thread = %d %s / %d %s; want the stored reply in the first's thread", a.status, a.raw, b.status, b.raw)
		}

		// Mastra's and useChat's user message ids are keys too.
		mastra := func(text string) response {
			return sendAs(t, base+"/api/agents/assistant/generate", aliceToken, "",
				`{"messages":[{"id":"ui-msg-7","role":"user","content":"`+text+`"}],"memory":{"thread":"ta-ui"}}`)
		}
		if r := mastra("hi"); r.status != 200 || r.body["text"] != "ui" {
			t.Errorf("mastra generate = %d %s", r.status, r.raw)
		}
		parts := `{"messages":[{"role":"user","id":"ui-msg-7","content":[{"type":"text","text":"hi"}]}],"memory":{"thread":{"id":"ta-ui"}}}`
		if r := sendAs(t, base+"/api/agents/assistant/generate", aliceToken, "", parts); r.status != 200 || r.body["text"] != "ui" {
			t.Errorf("mastra retry with the text as a part = %d %s; want the stored reply", r.status, r.raw)
		}
		if r := mastra("bye"); r.status != 422 || r.body["code"] != "idempotency_key_reused" {
			t.Errorf("mastra message id reused with another text = %d %s; want 422", r.status, r.raw)
		}
		chat := func(text string) response {
			return sendAs(t, base+"/chat/assistant", aliceToken, "", chatBodyJSON("ta-chat", "", uiMsg("u-9", "user", text)))
		}
		if r := chat("hello"); r.status != 200 || !strings.Contains(r.raw, `"delta":"chat"`) {
			t.Errorf("chat = %d %.300s", r.status, r.raw)
		}
		if r := chat("goodbye"); r.status != 422 || r.body["code"] != "idempotency_key_reused" {
			t.Errorf("chat message id reused with another text = %d %.300s; want 422", r.status, r.raw)
		}
		if n := calls(); n != 5 {
			t.Errorf("model called %d times in all; want 5", n)
		}
	})
}
