package server

import (
	"strings"
	"testing"
)

// The playground is served only when configured. With auth on it is
// protected like every path (DESIGN §10): a browser opens it with
// ?apiKey=<token>, or the operator lists it in server.auth.public as
// /docs; every path beside it still needs a token.
func TestPlayground(t *testing.T) {
	store := openSQLite(t)
	cfg := testConfig()
	withAuth(&cfg)

	_, off := newTestServer(t, Options{Config: cfg, Store: store})
	if r := do(t, "GET", off.URL+"/playground", "", "Authorization", "Bearer "+aliceToken); r.status != 404 {
		t.Errorf("playground off: GET /playground = %d; want 404", r.status)
	}

	cfg.Playground = true
	_, ts := newTestServer(t, Options{Config: cfg, Store: store})
	if r := do(t, "GET", ts.URL+"/playground", ""); r.status != 401 {
		t.Errorf("GET /playground without a token, auth on = %d; want 401", r.status)
	}
	r := do(t, "GET", ts.URL+"/playground?apiKey="+aliceToken, "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /playground?apiKey= = %d %s; want the HTML page", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{`id="token"`, `"api/agents"`, `"api/tools"`, `"api/workflows"`, "api/memory/threads", `searchParams.get("apiKey")`} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Nothing from another origin: no CDN, no fonts.
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy = %q; want default-src 'none' and connect-src 'self'", csp)
	}
	for _, bad := range []string{"http://", "https://", "<script src", "<link"} {
		if strings.Contains(r.raw, bad) {
			t.Errorf("the page contains %q: it must load nothing from elsewhere", bad)
		}
	}

	// Listed in public, the page opens without a token; nothing beside it.
	cfg.Auth.Public = append(cfg.Auth.Public, "/playground")
	_, pub := newTestServer(t, Options{Config: cfg, Store: store})
	if r := do(t, "GET", pub.URL+"/playground", ""); r.status != 200 {
		t.Errorf("GET /playground listed in public = %d; want 200", r.status)
	}
	for _, p := range []string{"/api/agents", "/playground/x", "/playgroundx"} {
		if r := do(t, "GET", pub.URL+p, ""); r.status != 401 {
			t.Errorf("GET %s without a token = %d; want 401 (only the page itself is public)", p, r.status)
		}
	}
}
