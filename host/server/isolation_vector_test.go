package server

import (
	"strings"
	"testing"
)

// The vector API's cases of the two-token suite: A keeps an index a_index
// (3 dimensions, one vector whose metadata names her) in the store docs;
// B, naming A's resource every way he can, only ever reaches indexes of
// his own, and A's index reads back the same after each case.
var vectorIsolationCases = map[string]func(t *testing.T, e *isoEnv){
	"POST /api/vector/:vectorName/create-index": caseVector(func(t *testing.T, e *isoEnv, p string) {
		// B's a_index is his own: another dimension is no conflict.
		if r := e.b("POST", "/api/vector/docs/create-index?"+p, `{"indexName":"a_index","dimension":5}`); r.status != 200 {
			t.Errorf("B create-index ?%s = %d %s; want his own index", p, r.status, r.raw)
		}
	}),
	"POST /api/vector/:vectorName/upsert": caseVector(func(t *testing.T, e *isoEnv, p string) {
		r := e.b("POST", "/api/vector/docs/upsert?"+p, `{"indexName":"a_index","vectors":[[9,9,9]],"ids":["a-vec-1"],"metadata":[{"owner":"bob"}]}`)
		if r.status != 404 && r.status != 400 && r.status != 200 {
			t.Errorf("B upsert ?%s = %d %s", p, r.status, r.raw)
		}
	}),
	"POST /api/vector/:vectorName/query": caseVector(func(t *testing.T, e *isoEnv, p string) {
		r := e.b("POST", "/api/vector/docs/query?"+p, `{"indexName":"a_index","queryVector":[1,0,0],"topK":10}`)
		if r.status == 200 && strings.Contains(r.raw, "a-vec-1") {
			t.Errorf("B query ?%s = %s", p, r.raw)
		}
	}),
	"GET /api/vector/:vectorName/indexes": caseVector(func(t *testing.T, e *isoEnv, p string) {
		own := e.b("GET", "/api/vector/docs/indexes", "")
		if r := e.b("GET", "/api/vector/docs/indexes?"+p, ""); r.status != 200 || r.raw != own.raw {
			t.Errorf("B indexes ?%s = %d %s; want his own %s", p, r.status, r.raw, own.raw)
		}
	}),
	"GET /api/vector/:vectorName/indexes/:indexName": caseVector(func(t *testing.T, e *isoEnv, p string) {
		if r := e.b("GET", "/api/vector/docs/indexes/a_index?"+p, ""); r.status == 200 && r.body["dimension"] == 3.0 {
			t.Errorf("B describe ?%s = %s: A's index", p, r.raw)
		}
	}),
	"DELETE /api/vector/:vectorName/indexes/:indexName": caseVector(func(t *testing.T, e *isoEnv, p string) {
		if r := e.b("DELETE", "/api/vector/docs/indexes/a_index?"+p, ""); r.status != 200 && r.status != 404 {
			t.Errorf("B delete ?%s = %d %s", p, r.status, r.raw)
		}
	}),
	"GET /api/vectors":   caseNoTenantData("/api/vectors"),
	"GET /api/embedders": caseNoTenantData("/api/embedders"),
}

func init() {
	for k, v := range vectorIsolationCases {
		isolationCases[k] = v
	}
}

// caseVector seeds A's index (once), runs attack with every probe, then
// checks A's index and that the admin reaches it by naming res-alice.
func caseVector(attack func(t *testing.T, e *isoEnv, probe string)) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		for _, step := range []struct{ path, body string }{
			{"/api/vector/docs/create-index", `{"indexName":"a_index","dimension":3}`},
			{"/api/vector/docs/upsert", `{"indexName":"a_index","vectors":[[1,0,0]],"ids":["a-vec-1"],"metadata":[{"owner":"alice-vec"}]}`},
		} {
			if r := e.as(aliceToken, "POST", step.path, step.body); r.status != 200 {
				t.Fatalf("A %s = %d %s", step.path, r.status, r.raw)
			}
		}
		for _, p := range e.probes() {
			attack(t, e, p)
		}
		d := e.as(aliceToken, "GET", "/api/vector/docs/indexes/a_index", "")
		q := e.as(aliceToken, "POST", "/api/vector/docs/query", `{"indexName":"a_index","queryVector":[1,0,0],"includeVector":true}`)
		if d.status != 200 || d.body["dimension"] != 3.0 || d.body["count"] != 1.0 ||
			!strings.Contains(q.raw, `"id":"a-vec-1"`) || !strings.Contains(q.raw, `"owner":"alice-vec"`) || !strings.Contains(q.raw, `"vector":[1,0,0]`) {
			t.Errorf("A's index after B's case: %s %s", d.raw, q.raw)
		}
		if r := e.admin("GET", "/api/vector/docs/indexes?resourceId=res-alice", ""); r.status != 200 || !strings.Contains(r.raw, "a_index") {
			t.Errorf("admin listing res-alice's indexes = %d %s", r.status, r.raw)
		}
	}
}
