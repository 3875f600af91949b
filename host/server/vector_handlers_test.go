package server

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// The vector API as client-js Vector uses it, on both stores: Mastra's
// shapes, its defaults (cosine, topK 10), its 404 for an unknown store, and
// a 400 naming the field for every bad input.
func TestVectorRoutes(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			opts := memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}
			if kind == "postgres" {
				opts = memory.Options{DatabaseURL: pgtest.NewDatabase(t)}
			}
			_, ts := newTestServer(t, Options{Config: testConfig(), Store: openStore(t, opts), Vectors: []string{"docs", "faq"}, Embedders: MastraEmbedders})
			u := ts.URL + "/api"
			post := func(path, body string) response {
				return do(t, "POST", u+path, body, "Content-Type", "application/json")
			}
			if r := post("/vector/docs/create-index", `{"indexName":"items","dimension":2,"metric":"euclidean"}`); r.status != 200 || strings.TrimSpace(r.raw) != `{"success":true}` {
				t.Fatalf("create-index = %d %s", r.status, r.raw)
			}
			r := post("/vector/docs/upsert", `{"indexName":"items","vectors":[[1,0],[0,1],[3,4]],"metadata":[{"k":"a"},{"k":"b"},{"k":"a"}],"ids":["x","y","z"]}`)
			if r.status != 200 || strings.TrimSpace(r.raw) != `{"ids":["x","y","z"]}` {
				t.Fatalf("upsert = %d %s", r.status, r.raw)
			}
			r = post("/vector/docs/upsert", `{"indexName":"items","vectors":[[0.5,0.5]]}`)
			var made struct{ IDs []string }
			json.Unmarshal([]byte(r.raw), &made)
			if r.status != 200 || len(made.IDs) != 1 || len(made.IDs[0]) != 36 {
				t.Errorf("upsert without ids = %d %s; want a new uuid", r.status, r.raw)
			}
			r = post("/vector/docs/query", `{"indexName":"items","queryVector":[1,0],"topK":2,"filter":{"k":"a"},"includeVector":true}`)
			var hits []struct {
				ID       string
				Score    float64
				Metadata map[string]any
				Vector   []float64
			}
			json.Unmarshal([]byte(r.raw), &hits)
			if r.status != 200 || len(hits) != 2 || hits[0].ID != "x" || hits[0].Score != 1 || hits[1].ID != "z" ||
				hits[0].Metadata["k"] != "a" || len(hits[1].Vector) != 2 || hits[1].Vector[1] != 4 {
				t.Errorf("query = %d %s", r.status, r.raw)
			}
			if r := do(t, "GET", u+"/vector/docs/indexes", ""); strings.TrimSpace(r.raw) != `["items"]` {
				t.Errorf("indexes = %s", r.raw)
			}
			if r := do(t, "GET", u+"/vector/faq/indexes", ""); strings.TrimSpace(r.raw) != `[]` {
				t.Errorf("another store's indexes = %s", r.raw)
			}
			if r := do(t, "GET", u+"/vector/docs/indexes/items", ""); r.status != 200 || strings.TrimSpace(r.raw) != `{"count":4,"dimension":2,"metric":"euclidean"}` {
				t.Errorf("describe = %d %s", r.status, r.raw)
			}
			if r := do(t, "GET", u+"/vectors", ""); !strings.Contains(r.raw, `{"id":"docs","name":"docs","type":"MastraServerVector"}`) {
				t.Errorf("vectors = %s", r.raw)
			}
			if r := do(t, "GET", u+"/embedders", ""); !strings.Contains(r.raw, `"id":"openai/text-embedding-3-small"`) || !strings.Contains(r.raw, `"dimensions":1536`) {
				t.Errorf("embedders = %s", r.raw)
			}
			for _, c := range []struct {
				method, path, body string
				status             int
				field              string
			}{
				{"POST", "/vector/nosuch/query", `{"indexName":"items","queryVector":[1,0]}`, 404, ""},
				{"GET", "/vector/nosuch/indexes", ``, 404, ""},
				{"POST", "/vector/docs/query", `{"indexName":"nosuch","queryVector":[1,0]}`, 404, ""},
				{"GET", "/vector/docs/indexes/nosuch", ``, 404, ""},
				{"POST", "/vector/docs/create-index", `{"indexName":"items","dimension":3}`, 400, "dimension"},
				{"POST", "/vector/docs/create-index", `{"indexName":"9lives","dimension":3}`, 400, "indexName"},
				{"POST", "/vector/docs/create-index", `{"indexName":"ok","dimension":0}`, 400, "dimension"},
				{"POST", "/vector/docs/create-index", `{"indexName":"ok","dimension":3,"metric":"manhattan"}`, 400, "metric"},
				{"POST", "/vector/docs/upsert", `{"indexName":"items","vectors":[[1,2,3]]}`, 400, "vectors"},
				{"POST", "/vector/docs/upsert", `{"indexName":"items","vectors":[[1,2]],"ids":["a","b"]}`, 400, "ids"},
				{"POST", "/vector/docs/upsert", `{"indexName":"items","vectors":[[1,2]],"metadata":[]}`, 400, "metadata"},
				{"POST", "/vector/docs/upsert", `{"indexName":"items","vectors":[[1e300,2]]}`, 400, "vectors[0]"},
				{"POST", "/vector/docs/upsert", `{"indexName":"items","vectors":[]}`, 400, "vectors"},
				{"POST", "/vector/docs/query", `{"indexName":"items","queryVector":[1,0,0]}`, 400, "queryVector"},
				{"POST", "/vector/docs/query", `{"indexName":"items","queryVector":[1,0],"topK":0}`, 400, "topK"},
				{"POST", "/vector/docs/query", `{"indexName":"items","queryVector":[1,0],"filter":{"k":{"$regex":"a"}}}`, 400, "filter"},
				{"POST", "/vector/docs/query", `{"indexName":"items","queryVector":[1,0],"topK":"many"}`, 400, ""},
			} {
				r := do(t, c.method, u+c.path, c.body, "Content-Type", "application/json")
				if r.status != c.status || (c.field != "" && !strings.Contains(r.raw, `"field":"`+c.field+`"`)) {
					t.Errorf("%s %s %s = %d %s; want %d naming %q", c.method, c.path, c.body, r.status, r.raw, c.status, c.field)
				}
			}
			if r := do(t, "POST", u+"/vector/nosuch/indexes", ""); r.status != 405 && r.status != 404 {
				t.Errorf("POST indexes = %d", r.status)
			}
			if r := do(t, "DELETE", u+"/vector/docs/indexes/items", ""); r.status != 200 || strings.TrimSpace(r.raw) != `{"success":true}` {
				t.Errorf("delete = %d %s", r.status, r.raw)
			}
			if r := do(t, "GET", u+"/vector/docs/indexes", ""); strings.TrimSpace(r.raw) != `[]` {
				t.Errorf("indexes after delete = %s", r.raw)
			}
		})
	}
}
