package memory

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPgvectorHNSWLatency measures recall query latency, HNSW against the
// exact scan on the same rows, at TEST_PGVECTOR_BENCH rows (e.g. 10000)
// of 128 dimensions in 10 tenants, at each hnsw.ef_search of
// TEST_PGVECTOR_EF (e.g. "40,100,200"; default 40); off unless
// TEST_PGVECTOR_BENCH is set. Random vectors are HNSW's hardest case:
// recall on real embeddings, which cluster, is higher. Figures are
// wall time, so noisy on a shared machine; on PGlite they are of one Wasm
// session, not of a Postgres server.
func TestPgvectorHNSWLatency(t *testing.T) {
	url := pgvectorURL(t)
	n, _ := strconv.Atoi(os.Getenv("TEST_PGVECTOR_BENCH"))
	if n <= 0 {
		t.Skip("TEST_PGVECTOR_BENCH is not set (rows to load, e.g. 10000)")
	}
	const dim, tenants, queries, topK = 128, 10, 200, 4
	ctx := context.Background()
	s := openStore(t, Options{DatabaseURL: url, MaxOpenConns: 4})
	if _, err := s.RecallMode(ctx); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("memory_messages_bench_%d", time.Now().UnixNano()%1_000_000_000)
	sp := VectorSpace{Namespace: "default"}
	if err := s.CreateRecallIndex(ctx, sp, name, dim, MetricCosine, IndexConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+quoteIdent(name)) })
	rng := rand.New(rand.NewPCG(3, 4))
	vec := func() []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	start := time.Now()
	for lo := 0; lo < n; lo += 2000 {
		var recs []VectorRecord
		for i := lo; i < min(lo+2000, n); i++ {
			recs = append(recs, VectorRecord{ID: fmt.Sprintf("v-%07d", i), Vector: vec(),
				Metadata: map[string]any{"resource_id": fmt.Sprintf("r%d", i%tenants), "thread_id": fmt.Sprintf("t%d", i%100)}})
		}
		if err := s.UpsertVectors(ctx, sp, name, recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE `+quoteIdent(name)); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d rows × %d dims with the HNSW index in %s", n, dim, time.Since(start).Round(time.Second))
	qs := make([][]float32, queries)
	for i := range qs {
		qs[i] = vec()
	}
	run := func(label string, filter func(i int) map[string]any) [][]string {
		var took []time.Duration
		var ids [][]string
		for i, v := range qs {
			t0 := time.Now()
			hits, err := s.QueryVectors(ctx, sp, name, VectorQuery{Vector: v, TopK: topK, Filter: filter(i)})
			took = append(took, time.Since(t0))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.ID)
			}
			ids = append(ids, got)
		}
		slices.Sort(took)
		t.Logf("%-44s p50 %7.2f ms  p99 %7.2f ms", label, ms(took[len(took)/2]), ms(took[len(took)*99/100]))
		return ids
	}
	tenant := func(i int) map[string]any { return map[string]any{"resource_id": fmt.Sprintf("r%d", i%tenants)} }
	none := func(int) map[string]any { return nil }
	t.Logf("plan, tenant filter:\n%s", explainHNSW(t, s, name, VectorQuery{Vector: []float32{1, 2}, TopK: topK, Filter: tenant(0)}))
	var hnswT, hnswA [][][]string
	efs := strings.Split(cmp.Or(os.Getenv("TEST_PGVECTOR_EF"), "40"), ",")
	for _, e := range efs {
		ef, err := strconv.Atoi(e)
		if err != nil {
			t.Fatal(err)
		}
		s.pgv.efSearch.Store(name, ef)
		hnswT = append(hnswT, run("hnsw ef_search "+e+", tenant filter (1/10)", tenant))
		hnswA = append(hnswA, run("hnsw ef_search "+e+", no filter", none))
	}
	if _, err := s.db.ExecContext(ctx, `DROP INDEX `+quoteIdent(name+"_vector_idx")); err != nil {
		t.Fatal(err)
	}
	s.pgv.ann.Delete(name)
	exactT := run("exact, tenant filter (1/10)", tenant)
	exactA := run("exact, no filter", none)
	for i, e := range efs {
		t.Logf("recall@%d of hnsw ef_search %s against exact: tenant %.3f, no filter %.3f", topK, e, recallAt(hnswT[i], exactT), recallAt(hnswA[i], exactA))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func recallAt(got, want [][]string) float64 {
	var hit, all int
	for i := range want {
		for _, id := range want[i] {
			all++
			if slices.Contains(got[i], id) {
				hit++
			}
		}
	}
	return float64(hit) / float64(max(all, 1))
}
