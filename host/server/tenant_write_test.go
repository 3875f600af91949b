package server

import (
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/memory"
)

// F1: with two tokens, save-messages with the id of Bob's message into
// Alice's thread is refused (409, without naming the owner) and Bob's
// message stays where it was, as it was.
func TestSaveMessagesCannotTakeAnotherTenantsMessage(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		as := asTenant(t, memoryServer(t, store, withAuth))
		r := as(bobToken, "POST", "/api/memory/threads?agentId=assistant", `{"threadId":"tb-api"}`)
		if r.status != 200 {
			t.Fatalf("bob create = %d %s", r.status, r.raw)
		}
		r = as(bobToken, "POST", "/api/memory/save-messages?agentId=assistant",
			`{"messages":[{"id":"shared-msg-1","role":"user","content":"bob private note","threadId":"tb-api"}]}`)
		if r.status != 200 {
			t.Fatalf("bob save = %d %s", r.status, r.raw)
		}
		r = as(aliceToken, "POST", "/agent/generate", `{"message":"x","threadId":"ta-own"}`)
		if r.status != 200 {
			t.Fatalf("alice generate = %d %s", r.status, r.raw)
		}
		r = as(aliceToken, "POST", "/api/memory/save-messages?agentId=assistant",
			`{"messages":[{"id":"shared-msg-1","role":"user","content":"overwritten by alice","threadId":"ta-own"}]}`)
		if r.status != 409 {
			t.Errorf("alice saving bob's message id = %d %s; want 409", r.status, r.raw)
		}
		if strings.Contains(r.raw, "bob") || strings.Contains(r.raw, "tb-api") {
			t.Errorf("409 body %s names the owner", r.raw)
		}
		r = as(bobToken, "GET", "/api/memory/threads/tb-api/messages?agentId=assistant", "")
		if !strings.Contains(r.raw, "bob private note") || strings.Contains(r.raw, "overwritten") {
			t.Errorf("bob's thread after alice's try = %s; want his note unchanged", r.raw)
		}
		r = as(aliceToken, "GET", "/threads/ta-own", "")
		if r.status != 200 || strings.Contains(r.raw, "shared-msg-1") {
			t.Errorf("alice's thread = %d %s; want no stolen message", r.status, r.raw)
		}
	})
}

// asTenant sends JSON requests to the server at base with a token.
func asTenant(t *testing.T, base string) func(tok, method, path, body string) response {
	return func(tok, method, path, body string) response {
		t.Helper()
		return do(t, method, base+path, body, "Authorization", "Bearer "+tok, "Content-Type", jsonCT)
	}
}
