package server

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
)

const (
	aliceToken = "tok-alice-0123456789"
	bobToken   = "tok-bob-9876543210"
	adminToken = "tok-admin-5555555555"
)

func withAuth(s *Config) {
	s.Auth.Enabled = true
	s.Auth.Tokens = []Token{
		{User: "alice", ResourceID: "res-alice", Value: aliceToken},
		{User: "bob", ResourceID: "res-bob", Value: bobToken},
		{User: "ops", Admin: true, Value: adminToken},
	}
	s.CORS.Origins = []string{"https://app.example"}
	s.CORS.Credentials = true
}

// TestTenantIsolation: two tokens, two resources. Alice tries every route
// on Bob's data, by id guess, by listing, and by naming Bob's resource in
// the query, the body, memory.resource and requestContext (body, JSON query
// and base64 query). Nothing of Bob's reaches her, and Bob's data is intact.
func TestTenantIsolation(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		base := memoryServer(t, store, withAuth)
		var seen []string // every body Alice got back
		as := func(tok, method, path, body string) response {
			t.Helper()
			h := []string{"Authorization", "Bearer " + tok}
			if body != "" {
				h = append(h, "Content-Type", jsonCT)
			}
			r := do(t, method, base+path, body, h...)
			if tok == aliceToken {
				seen = append(seen, r.raw)
			}
			return r
		}
		alice := func(method, path, body string) response { t.Helper(); return as(aliceToken, method, path, body) }
		ctxB64 := url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(`{"mastra__resourceId":"res-bob","mastra__user":"bob"}`)))
		ctxJSON := url.QueryEscape(`{"mastra__resourceId":"res-bob"}`)

		// Bob writes a secret through the root route, claiming Alice's
		// resource: the token decides, so it is Bob's.
		r := as(bobToken, "POST", "/agent/generate", `{"message":"bob-secret","threadId":"b-thread","resourceId":"res-alice"}`)
		if r.status != 200 || r.body["resourceId"] != "res-bob" {
			t.Fatalf("bob generate = %d %s; want it saved under res-bob", r.status, r.raw)
		}
		// Alice writes through /api, naming Bob's resource in memory.resource.
		r = alice("POST", "/api/agents/assistant/generate", `{"messages":"hello","memory":{"thread":"a-thread","resource":"res-bob"}}`)
		if r.status != 200 || r.body["resourceId"] != "res-alice" || r.body["text"] != "Echo: hello" {
			t.Fatalf("alice generate = %d %s; want it saved under res-alice", r.status, r.raw)
		}
		// memory without resource works when the token scopes the request.
		r = alice("POST", "/api/agents/assistant/generate", `{"messages":"again","memory":{"thread":"a-thread"}}`)
		if r.status != 200 || r.body["resourceId"] != "res-alice" {
			t.Errorf("alice generate without memory.resource = %d %s", r.status, r.raw)
		}

		// Listing: never Bob's, whatever Alice names.
		for _, q := range []string{"", "?resourceId=res-bob", "?resourceid=res-bob", "?resourceId=res-bob&requestContext=" + ctxB64,
			"?requestContext=" + ctxJSON, "?agentId=assistant&perPage=1000"} {
			r = alice("GET", "/api/memory/threads"+q, "")
			if ids := threadIDs(t, r); r.status != 200 || strings.Join(ids, ",") != "a-thread" || r.body["total"] != 1.0 {
				t.Errorf("list %q = %d %v; want only a-thread", q, r.status, ids)
			}
		}
		r = alice("GET", "/threads?resourceId=res-bob", "")
		if ids := threadIDs(t, r); strings.Join(ids, ",") != "a-thread" {
			t.Errorf("root list naming res-bob = %v; want only a-thread", ids)
		}

		// Every route on Bob's thread id: 404.
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/api/memory/threads/b-thread", ""},
			{"GET", "/api/memory/threads/b-thread?resourceId=res-bob&agentId=assistant", ""},
			{"GET", "/api/memory/threads/b-thread?requestContext=" + ctxB64, ""},
			{"GET", "/api/memory/threads/b-thread/messages", ""},
			{"GET", "/api/memory/threads/b-thread/messages?resourceId=res-bob&requestContext=" + ctxJSON, ""},
			{"PATCH", "/api/memory/threads/b-thread?agentId=assistant&resourceId=res-bob", `{"title":"pwned","resourceId":"res-alice","requestContext":{"mastra__resourceId":"res-bob"}}`},
			{"DELETE", "/api/memory/threads/b-thread?agentId=assistant&resourceId=res-bob", ""},
			{"GET", "/threads/b-thread?resourceId=res-bob", ""},
			{"DELETE", "/threads/b-thread?resourceId=res-bob", ""},
		} {
			r = alice(tc.method, tc.path, tc.body)
			if r.status != 404 {
				t.Errorf("%s %s = %d %s; want 404", tc.method, tc.path, r.status, r.raw)
			}
		}
		// Creating a thread names the caller's resource, whatever the body
		// says; Bob's id is taken (409) and is not overwritten.
		r = alice("POST", "/api/memory/threads?agentId=assistant&resourceId=res-bob", `{"resourceId":"res-bob","title":"mine","requestContext":{"mastra__resourceId":"res-bob"}}`)
		if r.status != 200 || r.body["resourceId"] != "res-alice" {
			t.Errorf("create naming res-bob = %d %s; want a thread of res-alice", r.status, r.raw)
		}
		// F12: thread ids are global, so "taken" cannot be hidden, but it
		// is all Alice learns: creating Bob's id and creating her own taken
		// id get the same answer, and so does a turn on Bob's id.
		own := alice("POST", "/api/memory/threads?agentId=assistant", `{"threadId":"a-thread"}`)
		if own.status != 409 {
			t.Fatalf("create over her own a-thread = %d %s; want 409", own.status, own.raw)
		}
		for _, tc := range []struct{ path, body string }{
			{"/api/memory/threads?agentId=assistant", `{"resourceId":"res-bob","threadId":"b-thread","title":"hijack"}`},
			{"/api/agents/assistant/generate", `{"messages":"leak?","memory":{"thread":"b-thread","resource":"res-bob"}}`},
			{"/api/agents/assistant/generate", `{"messages":"leak?","memory":{"thread":{"id":"b-thread"},"resource":"res-bob"},"requestContext":{"mastra__resourceId":"res-bob"}}`},
			{"/api/agents/assistant/stream", `{"messages":"leak?","memory":{"thread":"b-thread","resource":"res-bob"}}`},
			{"/agent/generate", `{"message":"leak?","threadId":"b-thread","resourceId":"res-bob"}`},
			{"/agent/stream", `{"message":"leak?","threadId":"b-thread","resourceId":"res-bob","requestContext":{"mastra__resourceId":"res-bob"}}`},
		} {
			r = alice("POST", tc.path, tc.body)
			if r.status != own.status || r.raw != own.raw {
				t.Errorf("POST %s on b-thread = %d %s; want exactly the answer for her own taken id: %d %s", tc.path, r.status, r.raw, own.status, own.raw)
			}
		}
		// Updating her own thread cannot hand it to Bob.
		r = alice("PATCH", "/api/memory/threads/a-thread?agentId=assistant", `{"title":"t","resourceId":"res-bob"}`)
		if r.status != 200 || r.body["resourceId"] != "res-alice" {
			t.Errorf("update moving a-thread to res-bob = %d %s; want it kept by res-alice", r.status, r.raw)
		}

		// Messages: Alice cannot save into Bob's thread, nor delete his
		// messages even knowing their ids.
		r = alice("POST", "/api/memory/save-messages?agentId=assistant",
			`{"messages":[{"role":"user","content":"planted","threadId":"b-thread","resourceId":"res-bob"}]}`)
		if r.status != 404 {
			t.Errorf("save into b-thread = %d %s; want 404", r.status, r.raw)
		}
		var bobIDs []string
		for _, m := range as(bobToken, "GET", "/api/memory/threads/b-thread/messages", "").body["messages"].([]any) {
			bobIDs = append(bobIDs, `"`+m.(map[string]any)["id"].(string)+`"`)
		}
		r = alice("POST", "/api/memory/messages/delete?agentId=assistant&resourceId=res-bob", `{"messageIds":[`+strings.Join(bobIDs, ",")+`]}`)
		if r.status != 200 || r.body["message"] != "0 message(s) deleted" {
			t.Errorf("delete of bob's messages = %d %s; want nothing deleted", r.status, r.raw)
		}

		for _, body := range seen {
			if strings.Contains(body, "bob-secret") || strings.Contains(body, "res-bob") || strings.Contains(body, "b-thread") {
				t.Errorf("alice saw bob's data: %s", body)
			}
		}

		// Bob's thread is intact: its title, its one turn.
		r = as(bobToken, "GET", "/api/memory/threads/b-thread", "")
		if r.status != 200 || r.body["title"] != "" || r.body["resourceId"] != "res-bob" {
			t.Errorf("bob's thread = %d %s; want it untouched", r.status, r.raw)
		}
		r = as(bobToken, "GET", "/api/memory/threads/b-thread/messages", "")
		if r.body["total"] != 2.0 || !strings.Contains(r.raw, "bob-secret") {
			t.Errorf("bob's messages = %s; want his one turn", r.raw)
		}
		r = as(bobToken, "GET", "/api/memory/threads", "")
		if ids := threadIDs(t, r); strings.Join(ids, ",") != "b-thread" {
			t.Errorf("bob's list = %v; want only b-thread", ids)
		}
	})
}

func TestAuth(t *testing.T) {
	store := openSQLite(t)
	base := memoryServer(t, store, withAuth)
	list := base + "/api/memory/threads"

	for _, tc := range []struct {
		name    string
		url     string
		headers []string
		invalid bool // a token was sent
	}{
		{"no token", list, nil, false},
		{"wrong token", list, []string{"Authorization", "Bearer nope"}, true},
		{"token prefix", list, []string{"Authorization", "Bearer " + aliceToken[:8]}, true},
		{"not bearer", list, []string{"Authorization", "Basic " + aliceToken}, false},
		{"wrong apiKey", list + "?apiKey=nope", nil, true},
		{"unknown /api path", base + "/api/nope", nil, false},
		{"agents", base + "/api/agents", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "GET", tc.url, "", tc.headers...)
			ch := r.header.Get("WWW-Authenticate")
			if r.status != 401 || r.body["error"] != "Invalid or expired token" || !strings.HasPrefix(ch, "Bearer ") ||
				strings.Contains(ch, "invalid_token") != tc.invalid {
				t.Errorf("GET %s = %d %q %s; want 401 with a Bearer challenge", tc.url, r.status, ch, r.raw)
			}
		})
	}
	if r := do(t, "GET", list+"?apiKey="+aliceToken, ""); r.status != 200 {
		t.Errorf("apiKey = %d %s; want 200", r.status, r.raw)
	}
	if r := do(t, "GET", list, "", "Authorization", "bearer "+aliceToken); r.status != 200 {
		t.Errorf("lowercase bearer = %d %s; want 200", r.status, r.raw)
	}
	// Auth runs before routing: with a token the unknown path is a 404.
	if r := do(t, "GET", base+"/api/nope", "", "Authorization", "Bearer "+aliceToken); r.status != 404 {
		t.Errorf("unknown path with token = %d; want 404", r.status)
	}
	if r := do(t, "GET", base+"/health", ""); r.status != 200 || r.body["success"] != true {
		t.Errorf("health without token = %d %s; want 200", r.status, r.raw)
	}
	// A preflight never needs a token; a 401 still carries CORS headers so
	// the browser can read it; credentials only for the listed origin.
	r := do(t, "OPTIONS", list, "", "Origin", "https://app.example", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "authorization")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight = %d %v; want 204 allowing the origin", r.status, r.header)
	}
	r = do(t, "GET", list, "", "Origin", "https://app.example")
	if r.status != 401 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("401 cross-origin = %d %v; want CORS headers on it", r.status, r.header)
	}
	r = do(t, "OPTIONS", list, "", "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight from another origin = %v; want no grant", r.header)
	}
	// Root routes are protected by default too (F5).
	if r = do(t, "GET", base+"/threads?resourceId=x", ""); r.status != 401 {
		t.Errorf("root list without token = %d; want 401 (everything is protected by default)", r.status)
	}
}

// F5: with auth on and the default config, every built-in route, unknown
// paths and plugin-like paths answer 401 without a token; /health and
// preflights do not need one; `public` lists the exceptions.
func TestAuthProtectsEverythingByDefault(t *testing.T) {
	store := openSQLite(t)
	seed(t, store, "res-bob", "tb-secret", "bob private")
	cfg := testConfig() // protected = ["/*"], the default that config's tests check
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}}, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	withAuth(&cfg)
	s, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc})
	paths := []RouteInfo{{Method: "GET", Path: "/nope"}, {Method: "GET", Path: "/plug/agent"}}
	for _, rt := range append(s.Routes(), paths...) {
		path := strings.NewReplacer(":threadId", "tb-secret", ":agentId", "assistant", ":toolId", "t").Replace(rt.Path) + "?resourceId=res-bob"
		body := ""
		if rt.Method == "POST" || rt.Method == "PATCH" {
			body = `{"message":"intruder","threadId":"tb-secret","resourceId":"res-bob"}`
		}
		r := do(t, rt.Method, ts.URL+path, body, "Content-Type", jsonCT)
		if r.status != 401 || strings.Contains(r.raw, "bob private") {
			t.Errorf("%s %s without a token = %d %s; want 401", rt.Method, path, r.status, r.raw)
		}
	}
	if r := do(t, "GET", ts.URL+"/health", ""); r.status != 200 {
		t.Errorf("/health without a token = %d; want 200", r.status)
	}
	r := do(t, "OPTIONS", ts.URL+"/agent/generate", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if r.status != 204 {
		t.Errorf("preflight without a token = %d; want 204", r.status)
	}
	// Bob's thread is intact.
	if m, err := store.ListMessages(context.Background(), memory.MessageQuery{ThreadID: "tb-secret", ResourceID: "res-bob"}); err != nil || m.Total != 1 {
		t.Errorf("bob's thread after the attempts: %v %v; want its one message", m.Total, err)
	}

	// `public` opens exactly what it lists.
	cfg.Auth.Public = []string{"/health", "/api/agents"}
	_, ts = newTestServer(t, Options{Config: cfg, Store: store, Agents: svc})
	if r := do(t, "GET", ts.URL+"/api/agents", ""); r.status != 200 {
		t.Errorf("public /api/agents = %d; want 200", r.status)
	}
	if r := do(t, "GET", ts.URL+"/api/agents/assistant", ""); r.status != 401 {
		t.Errorf("/api/agents/assistant (not listed) = %d; want 401", r.status)
	}
}

// An admin token is unbound: it lists across resources and may name any
// resource; the tenants' tokens stay confined.
func TestAdminToken(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		seed(t, store, "res-alice", "ta", "alice data")
		seed(t, store, "res-bob", "tb", "bob data")
		base := memoryServer(t, store, withAuth)
		as := func(tok, method, path string) response {
			t.Helper()
			return do(t, method, base+path, "", "Authorization", "Bearer "+tok)
		}
		for _, p := range []string{"/api/memory/threads", "/threads"} {
			r := as(adminToken, "GET", p)
			if ids := threadIDs(t, r); r.status != 200 || len(ids) != 2 {
				t.Errorf("admin GET %s = %d %v; want both tenants' threads", p, r.status, ids)
			}
			r = as(adminToken, "GET", p+"?resourceId=res-bob")
			if ids := threadIDs(t, r); strings.Join(ids, ",") != "tb" {
				t.Errorf("admin GET %s?resourceId=res-bob = %v; want tb", p, ids)
			}
			r = as(aliceToken, "GET", p+"?resourceId=res-bob")
			if ids := threadIDs(t, r); strings.Join(ids, ",") != "ta" {
				t.Errorf("alice GET %s naming res-bob = %v; want only ta", p, ids)
			}
		}
		if r := as(adminToken, "GET", "/api/memory/threads/tb/messages"); r.status != 200 || !strings.Contains(r.raw, "bob data") {
			t.Errorf("admin reads tb = %d %s; want bob's messages", r.status, r.raw)
		}
		if r := as(aliceToken, "GET", "/api/memory/threads/tb/messages"); r.status != 404 {
			t.Errorf("alice reads tb = %d; want 404", r.status)
		}
		// An admin turn must name its resource: it is bound to none.
		r := do(t, "POST", base+"/api/agents/assistant/generate", `{"messages":"hi","memory":{"thread":"t-admin"}}`,
			"Authorization", "Bearer "+adminToken, "Content-Type", jsonCT)
		if r.status != 400 || !strings.Contains(r.raw, "memory.resource") {
			t.Errorf("admin turn without memory.resource = %d %s; want 400", r.status, r.raw)
		}
		// The admin marker cannot be forged through requestContext.
		r = as(aliceToken, "GET", "/api/memory/threads?requestContext="+url.QueryEscape(`{"admin":true,"mastra__admin":true}`))
		if ids := threadIDs(t, r); strings.Join(ids, ",") != "ta" {
			t.Errorf("alice with a forged admin context = %v; want only ta", ids)
		}
	})
}

// With auth enabled, a request that is not scoped (a path the config leaves
// unprotected) must name its resource: no listing of every tenant.
func TestAuthUnscopedMustNameResource(t *testing.T) {
	store := openSQLite(t)
	seed(t, store, "res-bob", "b1", "bob-secret")
	base := memoryServer(t, store, func(s *Config) {
		withAuth(s)
		s.Auth.Protected = []string{"/api/agents/*"}
	})
	for _, p := range []string{"/api/memory/threads", "/api/memory/threads/b1", "/api/memory/threads/b1/messages"} {
		r := do(t, "GET", base+p, "")
		if r.status != 400 || strings.Contains(r.raw, "bob-secret") || !strings.Contains(r.raw, "resourceId") {
			t.Errorf("unscoped GET %s = %d %s; want 400 asking for resourceId", p, r.status, r.raw)
		}
	}
	if r := do(t, "DELETE", base+"/api/memory/threads/b1?agentId=assistant", ""); r.status != 400 {
		t.Errorf("unscoped DELETE = %d; want 400", r.status)
	}
	if r := do(t, "GET", base+"/api/agents", ""); r.status != 401 {
		t.Errorf("protected /api/agents = %d; want 401", r.status)
	}
}

// A trusted middleware (a Wasm plugin in production) that sets the reserved
// resource key scopes the request just as built-in auth does.
func TestMiddlewareScopesResource(t *testing.T) {
	store := openSQLite(t)
	seed(t, store, "acme", "t-acme", "acme data")
	seed(t, store, "globex", "t-globex", "globex-secret")
	tenant := Middleware{Name: "tenant", Path: "/*", Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id := r.Header.Get("X-Tenant"); id != "" {
				reqctx.From(r.Context()).SetString(reqctx.ResourceIDKey, id)
			}
			next.ServeHTTP(w, r)
		})
	}}
	base := memoryServer(t, store, nil, tenant)
	r := do(t, "GET", base+"/api/memory/threads?resourceId=globex", "", "X-Tenant", "acme")
	if ids := threadIDs(t, r); strings.Join(ids, ",") != "t-acme" {
		t.Errorf("scoped list = %v; want only t-acme", ids)
	}
	for _, p := range []string{"/api/memory/threads/t-globex", "/api/memory/threads/t-globex/messages?resourceId=globex", "/threads/t-globex?resourceId=globex"} {
		if r = do(t, "GET", base+p, "", "X-Tenant", "acme"); r.status != 404 || strings.Contains(r.raw, "globex-secret") {
			t.Errorf("GET %s as acme = %d %s; want 404", p, r.status, r.raw)
		}
	}
	r = do(t, "POST", base+"/api/agents/assistant/generate", `{"messages":"hi","memory":{"thread":"t-globex","resource":"globex"}}`,
		"X-Tenant", "acme", "Content-Type", jsonCT)
	if r.status != 409 || strings.Contains(r.raw, "globex") {
		t.Errorf("generate on globex's thread as acme = %d %s; want 409 (id taken), nothing more", r.status, r.raw)
	}
}

// I2: two Authorization headers are 400, with auth on or off, so the
// server and a proxy (or a plugin) reading the other one never disagree on
// who calls; nothing runs and nothing is read.
func TestRepeatedAuthorization(t *testing.T) {
	store := openSQLite(t)
	seed(t, store, "res-bob", "b-thread", "bob-secret")
	for name, edit := range map[string]func(*Config){"auth on": withAuth, "auth off": nil} {
		base := memoryServer(t, store, edit)
		for _, path := range []string{"/api/memory/threads/b-thread/messages", "/agent/generate"} {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Add("Authorization", "Bearer "+bobToken)
			req.Header.Add("Authorization", "Bearer "+aliceToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 400 || !strings.Contains(string(b), `"error":"Only one Authorization header is allowed"`) || strings.Contains(string(b), "bob-secret") {
				t.Errorf("%s: GET %s with two Authorization headers = %d %s; want 400", name, path, res.StatusCode, b)
			}
		}
	}
	// One header still works.
	base := memoryServer(t, store, withAuth)
	if r := do(t, "GET", base+"/api/memory/threads/b-thread/messages", "", "Authorization", "Bearer "+bobToken); r.status != 200 {
		t.Errorf("one Authorization header = %d %s; want 200", r.status, r.raw)
	}
}
