package server

import (
	"net/http"
	"testing"
)

// A plugin route reads its parameters as path values, whatever the router.
func TestPluginRouteParamsArePathValues(t *testing.T) {
	cfg := testConfig()
	routes := []Route{{Name: "docs", Method: "GET", Path: "/docs/:id/*rest", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.PathValue("id") + " " + r.PathValue("rest") + " [" + r.PathValue("other") + "]"))
	})}}
	_, ts := newTestServer(t, Options{Config: cfg, Store: openSQLite(t), Routes: routes})
	if r := do(t, "GET", ts.URL+"/docs/42/a/b", ""); r.status != 200 || r.raw != "42 /a/b []" {
		t.Errorf("route = %d %q; want 42 /a/b []", r.status, r.raw)
	}
}
