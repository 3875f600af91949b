package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// The playground is served only when configured; with auth on, the page
// opens without a token (a browser cannot send one when it opens a page)
// while everything it calls, and every path beside it, still needs one.
func TestPlayground(t *testing.T) {
	store := openSQLite(t)
	cfg := testConfig()
	withAuth(&cfg)

	_, off := newTestServer(t, Options{Config: cfg, Store: store})
	if r := do(t, "GET", off.URL+"/playground", "", "Authorization", "Bearer "+aliceToken); r.status != 404 {
		t.Errorf("playground off: GET /playground = %d; want 404", r.status)
	}

	cfg.Playground = true
	cfg.OpenAPI = true
	_, ts := newTestServer(t, Options{Config: cfg, Store: store})
	r := do(t, "GET", ts.URL+"/playground", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /playground without a token = %d %s; want the HTML page", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{`id="token"`, `"api/agents"`, `"api/tools"`, `"api/workflows"`, "api/memory/threads"} {
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
	// The document says so: the page needs no token.
	var doc struct {
		Paths map[string]map[string]struct {
			Security *[]any `json:"security"`
		} `json:"paths"`
	}
	if r := do(t, "GET", ts.URL+"/api/openapi.json", "", "Authorization", "Bearer "+aliceToken); r.status != 200 {
		t.Fatalf("GET /api/openapi.json = %d", r.status)
	} else if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	if sec := doc.Paths["/playground"]["get"].Security; sec == nil || len(*sec) != 0 {
		t.Errorf("the document's GET /playground security = %v; want [] (public)", sec)
	}
	for _, p := range []string{"/api/agents", "/playground/x", "/playgroundx"} {
		if r := do(t, "GET", ts.URL+p, ""); r.status != 401 {
			t.Errorf("GET %s without a token = %d; want 401 (only the page itself is public)", p, r.status)
		}
	}
}
