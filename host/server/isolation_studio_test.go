package server

import (
	"strings"
	"testing"
)

// The two-token cases of the routes Mastra Studio calls (studio_handlers.go,
// thread_clone.go). Most hold no tenant data and answer every token alike;
// auth capabilities name the caller only; a clone reaches only the caller's
// threads and makes the copy in the source's resource.

var studioIsolationCases = map[string]func(t *testing.T, e *isoEnv){
	"GET /":                                       caseNoTenantData("/"),
	"GET /api/auth/capabilities":                  caseAuthCapabilities,
	"GET /api/editor/builder/settings":            caseNoTenantData("/api/editor/builder/settings"),
	"GET /api/editor/builder/models/available":    caseNoTenantData("/api/editor/builder/models/available"),
	"POST /api/agents/:agentId/threads/subscribe": caseSubscribe,
	"GET /api/agents/:agentId/voice/speakers":     caseNoTenantData("/api/agents/assistant/voice/speakers"),
	"POST /api/memory/threads/:threadId/clone":    caseCloneThread,
	"GET /api/system/packages":                    caseNoTenantData("/api/system/packages"),
	"GET /api/schedules":                          caseNoTenantData("/api/schedules?workflowId=approve"),
	"GET /api/channels/platforms":                 caseNoTenantData("/api/channels/platforms"),
	"GET /api/processors":                         caseNoTenantData("/api/processors"),
	"GET /api/scores/scorers":                     caseNoTenantData("/api/scores/scorers"),
	"GET /api/scores/scorers/:scorerId":           caseNoTenantData("/api/scores/scorers/tone"),
	"GET /api/workspaces":                         caseNoTenantData("/api/workspaces"),
	"GET /api/datasets":                           caseNoTenantData("/api/datasets"),
	"GET /api/experiments":                        caseNoTenantData("/api/experiments"),
	"GET /api/experiments/review-summary":         caseNoTenantData("/api/experiments/review-summary"),
	"POST /api/observability/traces/query/fields": casePostNoTenantData("/api/observability/traces/query/fields"),
	"GET /api/observability/discovery/tags":       caseNoTenantData("/api/observability/discovery/tags"),
}

// caseAuthCapabilities: each token sees its own user, B never A's.
func caseAuthCapabilities(t *testing.T, e *isoEnv) {
	for _, q := range e.probes() {
		r := e.b("GET", "/api/auth/capabilities?"+q, "")
		user, _ := r.body["user"].(map[string]any)
		if r.status != 200 || r.body["enabled"] != true || user["id"] != "bob" {
			t.Errorf("B GET /api/auth/capabilities?%s = %d %s; want enabled, user bob", q, r.status, r.raw)
		}
	}
	r := e.as(aliceToken, "GET", "/api/auth/capabilities", "")
	if user, _ := r.body["user"].(map[string]any); user["id"] != "alice" {
		t.Errorf("A GET /api/auth/capabilities = %s; want user alice", r.raw)
	}
}

// casePostNoTenantData: a POST of a feature this server lacks answers B
// exactly as A, whatever B names.
func casePostNoTenantData(path string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		want := e.as(aliceToken, "POST", path, `{}`)
		if want.status != 200 {
			t.Fatalf("A POST %s = %d %s", path, want.status, want.raw)
		}
		for _, q := range e.probes() {
			body := `{"filters":{"resourceId":"res-alice","threadId":"a-thread"},"requestContext":{"mastra__resourceId":"res-alice"}}`
			if r := e.b("POST", path+"?"+q, body); r.status != 200 || r.raw != want.raw {
				t.Errorf("B POST %s?%s = %d %s; want A's answer %s", path, q, r.status, r.raw, want.raw)
			}
		}
	}
}

// caseSubscribe: the subscription is not supported; A's threads get exactly
// the answer any thread gets, so nothing says they exist.
func caseSubscribe(t *testing.T, e *isoEnv) {
	path := "/api/agents/assistant/threads/subscribe"
	nobody := e.b("POST", path, `{"threadId":"no-such-thread"}`)
	wantStatus(t, nobody, 405, "B subscribing to a missing thread")
	for _, th := range []string{"a-thread", "a-second", "b-thread"} {
		for _, q := range e.probes() {
			r := e.b("POST", path+"?"+q, `{"threadId":"`+th+`","resourceId":"res-alice"}`)
			if r.status != nobody.status || r.body["error"] != nobody.body["error"] {
				t.Errorf("B subscribing to %s?%s = %d %s; want the missing thread's %s", th, q, r.status, r.raw, nobody.raw)
			}
		}
	}
}

// caseCloneThread: B cloning A's threads gets the 404 of a thread nobody
// has, whatever resource he names, and no thread of anyone's is made; an
// id A holds as the copy's id is the taken answer; B's own clone is his,
// with his messages; the admin's clone of Carol's thread is Carol's.
func caseCloneThread(t *testing.T, e *isoEnv) {
	nobody := e.b("POST", "/api/memory/threads/no-such-thread/clone", `{}`)
	for _, id := range []string{"a-thread", "a-second"} {
		for _, q := range e.probes() {
			for _, body := range []string{`{}`, `{"resourceId":"res-alice"}`,
				`{"newThreadId":"` + e.fresh("b-clone") + `","resourceId":"res-alice","requestContext":{"mastra__resourceId":"res-alice"}}`} {
				path := "/api/memory/threads/" + id + "/clone?agentId=assistant&" + q
				e.wantNotFound(t, e.b("POST", path, body), nobody, "B POST "+path+" "+body)
			}
		}
	}
	e.wantTaken(t, e.b("POST", "/api/memory/threads/b-thread/clone", `{"newThreadId":"a-thread"}`), "B cloning onto A's thread id")

	id := e.fresh("b-copy")
	r := e.b("POST", "/api/memory/threads/b-thread/clone?resourceId=res-alice", `{"newThreadId":"`+id+`","resourceId":"res-alice"}`)
	th, _ := r.body["thread"].(map[string]any)
	msgs, _ := r.body["clonedMessages"].([]any)
	if r.status != 200 || th["id"] != id || th["resourceId"] != "res-bob" || len(msgs) != 2 || !strings.Contains(r.raw, "bob own") {
		t.Errorf("B cloning b-thread = %d %s; want %s under res-bob with his 2 messages", r.status, r.raw, id)
	}
	if got := e.as(bobToken, "GET", "/api/memory/threads/"+id+"/messages", ""); !strings.Contains(got.raw, "Echo: bob own") {
		t.Errorf("B's clone reads back %s; want his messages", got.raw)
	}

	id = e.fresh("c-copy")
	r = e.admin("POST", "/api/memory/threads/c-thread/clone", `{"newThreadId":"`+id+`"}`)
	if th, _ := r.body["thread"].(map[string]any); r.status != 200 || th["resourceId"] != "res-carol" {
		t.Errorf("admin cloning c-thread = %d %s; want a thread of res-carol", r.status, r.raw)
	}
}
