package server

import (
	"strings"
	"testing"
)

// Every observability listing reads its page, order and refused filters
// alike (obs_listing.go): a bad page or perPage, a direction that is not
// ASC/DESC or a filter this server cannot apply is a 400 naming the
// parameter, delta mode a 501; a good query is a 200.
func TestObservabilityListingParams(t *testing.T) {
	s, base, eng := isoServer(t, "sqlite")
	e := newIsoEnv(t, s.store, eng, base)
	routes := []string{"/api/observability/traces", "/api/observability/traces/light", "/api/observability/scores",
		"/api/observability/feedback", "/api/observability/logs", "/api/observability/metrics",
		"/api/scores/run/run-1", "/api/scores/scorer/tone", "/api/scores/entity/AGENT/assistant"}
	cases := []struct {
		query  string
		status int
		field  string
	}{
		{"perPage=5&page=1", 200, ""},
		{"perPage=0", 400, "perPage"},
		{"perPage=101", 400, "perPage"},
		{"perPage=false", 400, "perPage"},
		{"page=-1", 400, "page"},
		{"mode=delta", 501, ""},
	}
	for _, route := range routes {
		for _, c := range cases {
			r := e.as(aliceToken, "GET", route+"?"+c.query, "")
			if r.status != c.status || (c.field != "" && !strings.Contains(r.raw, c.field)) {
				t.Errorf("GET %s?%s = %d %s; want %d naming %q", route, c.query, r.status, r.raw, c.status, c.field)
			}
		}
	}
	// The listings with an order and filters of their own.
	for _, route := range routes[:6] {
		for query, field := range map[string]string{"direction=sideways": "direction", "tags=%5B%22a%22%5D": "tags",
			"entityType=planet": "entityType"} {
			if r := e.as(aliceToken, "GET", route+"?"+query, ""); r.status != 400 || !strings.Contains(r.raw, field) {
				t.Errorf("GET %s?%s = %d %s; want 400 naming %s", route, query, r.status, r.raw, field)
			}
		}
	}
	if r := e.as(aliceToken, "GET", "/api/observability/metrics?labels=%7B%7D", ""); r.status != 400 || !strings.Contains(r.raw, "labels") {
		t.Errorf("metrics by labels = %d %s; want 400", r.status, r.raw)
	}
}
