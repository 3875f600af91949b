package memory

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// hnswFixture makes an HNSW recall table of 8 dimensions: bob's n vectors
// around e1, alice's n around e2, and alice's three "targets" between
// them, nearer e1 than the rest of hers (cosine 0.8, 0.7, 0.6) and
// farther than all of bob's. A query near e1 scoped to alice must find
// the targets, in that order, past every one of bob's rows.
func hnswFixture(t *testing.T, s *Store, n int) (string, []string) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("memory_messages_hnsw_%d", time.Now().UnixNano()%1_000_000_000)
	sp := VectorSpace{Namespace: "default"}
	if err := s.CreateRecallIndex(ctx, sp, name, 8, MetricCosine, IndexConfig{}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	around := func(axis int) []float32 {
		v := make([]float32, 8)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.05)
		}
		v[axis] += 1
		return v
	}
	var recs []VectorRecord
	for i := range n {
		recs = append(recs,
			VectorRecord{ID: fmt.Sprintf("b-%05d", i), Vector: around(0), Metadata: map[string]any{"resource_id": "bob", "thread_id": "tb"}},
			VectorRecord{ID: fmt.Sprintf("a-%05d", i), Vector: around(1), Metadata: map[string]any{"resource_id": "alice", "thread_id": "ta"}})
	}
	var targets []string
	for i, c := range []float64{0.8, 0.7, 0.6} {
		id := fmt.Sprintf("a-target-%d", i)
		targets = append(targets, id)
		v := make([]float32, 8)
		v[0], v[1] = float32(c), float32(math.Sqrt(1-c*c))
		recs = append(recs, VectorRecord{ID: id, Vector: v, Metadata: map[string]any{"resource_id": "alice", "thread_id": "ta"}})
	}
	if err := s.UpsertVectors(ctx, sp, name, recs); err != nil {
		t.Fatal(err)
	}
	// What autovacuum would do on a live table: the planner's row counts.
	if _, err := s.db.ExecContext(ctx, `ANALYZE `+quoteIdent(name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+quoteIdent(name)) })
	return name, targets
}

// explainHNSW is the plan of the recall query the store runs for q, in
// the transaction it runs it in.
func explainHNSW(t *testing.T, s *Store, name string, q VectorQuery) string {
	t.Helper()
	ctx := context.Background()
	vf, err := parseVectorFilter(q.Filter)
	if err != nil {
		t.Fatal(err)
	}
	sqlText, args := hnswRecallSQL(name, VectorSpace{Namespace: "default"}, q, vf)
	tx, err := s.hnswTx(ctx, name, q.TopK)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `EXPLAIN `+sqlText, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var l string
		rows.Scan(&l)
		plan = append(plan, l)
	}
	return strings.Join(plan, "\n")
}

// A recall query on an HNSW table is planned as a scan of the HNSW index
// (an ORDER BY with a second key would be a sort of every row), with and
// without a tenant filter; a flat table keeps the exact query.
func TestPgvectorHNSWPlan(t *testing.T) {
	url := pgvectorURL(t)
	s := openStore(t, Options{DatabaseURL: url, MaxOpenConns: 4})
	if _, err := s.RecallMode(context.Background()); err != nil {
		t.Fatal(err)
	}
	name, _ := hnswFixture(t, s, 1000)
	if ann, err := s.pgvectorANN(context.Background(), name); err != nil || ann != "hnsw" {
		t.Fatalf("index kind = %q, %v; want hnsw", ann, err)
	}
	q := []float32{1, 0, 0, 0, 0, 0, 0, 0}
	for _, filter := range []map[string]any{nil, {"resource_id": "alice"}} {
		plan := explainHNSW(t, s, name, VectorQuery{Vector: q, TopK: 4, Filter: filter})
		if !strings.Contains(plan, "Index Scan using "+name+"_vector_idx") || strings.Contains(plan, "Sort") {
			t.Errorf("filter %v: the plan does not walk the HNSW index:\n%s", filter, plan)
		}
	}

	// index_config's ef_search reaches the query's transaction, and its
	// settings end with it (PGlite's one session would show a leak).
	ctx := context.Background()
	show := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) string {
		var ef, it string
		if err := q.QueryRowContext(ctx, `SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')`).Scan(&ef, &it); err != nil {
			t.Fatal(err)
		}
		return ef + " " + it
	}
	if err := s.CreateRecallIndex(ctx, VectorSpace{Namespace: "default"}, name, 8, MetricCosine, IndexConfig{EfSearch: 150}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		topK int
		want string
	}{{4, "150"}, {2000, "150"}} {
		tx, err := s.hnswTx(ctx, name, c.topK)
		if err != nil {
			t.Fatal(err)
		}
		want := c.want + " off"
		if s.pgv.iterative {
			want = c.want + " relaxed_order"
		}
		if got := show(tx); got != want {
			t.Errorf("top %d: in the transaction %q; want %q", c.topK, got, want)
		}
		tx.Rollback()
	}
	if got := show(s.db); got != "40 off" {
		t.Errorf("after it %q; want pgvector's defaults", got)
	}
	s.pgv.efSearch.Delete(name)
	if got := s.efSearch(name, 4); got != 40 {
		t.Errorf("default ef_search at top 4 = %d; want 40", got)
	}
	if got := s.efSearch(name, 64); got != 64 {
		t.Errorf("default ef_search at top 64 = %d; want 64", got)
	}
}

// A tenant whose vectors are all farther from the query than another
// tenant's thousand still gets its top-k, best first: iterative scan
// carries the index walk past ef_search (40) until rows pass the filter.
// Without it the same query on the same plan finds none of them.
func TestPgvectorHNSWTenantFilter(t *testing.T) {
	url := pgvectorURL(t)
	ctx := context.Background()
	s := openStore(t, Options{DatabaseURL: url, MaxOpenConns: 4})
	if _, err := s.RecallMode(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.pgv.iterative {
		t.Skip("pgvector before 0.8: no iterative scan; tenant-scoped queries stay exact")
	}
	name, targets := hnswFixture(t, s, 1000)
	sp := VectorSpace{Namespace: "default"}
	q := VectorQuery{Vector: []float32{1, 0, 0, 0, 0, 0, 0, 0}, TopK: 3, Filter: map[string]any{"resource_id": "alice"}}
	hits, err := s.QueryVectors(ctx, sp, name, q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, h.ID)
		if h.Metadata["resource_id"] != "alice" {
			t.Errorf("hit %s of %v", h.ID, h.Metadata["resource_id"])
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(targets) {
		t.Errorf("alice's recall = %v; want %v", got, targets)
	}
	if len(hits) == 3 && (hits[0].Score < 0.79 || hits[2].Score > 0.61) {
		t.Errorf("scores %v, %v; want 0.8 … 0.6", hits[0].Score, hits[2].Score)
	}
	// A threshold keeps the prefix that passes it.
	min := 0.65
	q.MinScore = &min
	if hits, _ := s.QueryVectors(ctx, sp, name, q); len(hits) != 2 || hits[1].ID != targets[1] {
		t.Errorf("threshold 0.65 = %+v; want the first two targets", hits)
	}
	// Bob, unscoped by ef_search, gets his own nearest.
	hits, err = s.QueryVectors(ctx, sp, name, VectorQuery{Vector: q.Vector, TopK: 50, Filter: map[string]any{"resource_id": "bob"}})
	if err != nil || len(hits) != 50 || !strings.HasPrefix(hits[49].ID, "b-") || hits[0].Score < hits[49].Score {
		t.Errorf("bob's top 50 = %d hits, %v", len(hits), err)
	}

	// The same query with iterative scan off starves: the scenario is real.
	vf, _ := parseVectorFilter(q.Filter)
	q.MinScore = nil
	sqlText, args := hnswRecallSQL(name, sp, q, vf)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT set_config('hnsw.ef_search', '40', true), set_config('hnsw.iterative_scan', 'off', true)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (`+sqlText+`) r`, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n >= 3 {
		t.Errorf("without iterative scan alice still got %d rows: the test proves nothing", n)
	}
}
