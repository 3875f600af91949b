package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func hitIDs(hits []VectorHit) string {
	var out []string
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return fmt.Sprint(out)
}

// Both stores answer the same exact top-k for each metric, filtered by
// tenant and metadata, and keep spaces (stores, namespaces) apart.
func TestVectorIndexLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a := VectorSpace{Store: "docs", Namespace: "tenant-a"}
		b := VectorSpace{Store: "docs", Namespace: "tenant-b"}
		if err := s.CreateVectorIndex(ctx, a, "items", 3, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateVectorIndex(ctx, a, "items", 3, MetricCosine); err != nil {
			t.Errorf("create again: %v; want idempotent", err)
		}
		if err := s.CreateVectorIndex(ctx, a, "items", 4, ""); !errors.Is(err, ErrVectorMismatch) {
			t.Errorf("other dimension: %v", err)
		}
		for _, bad := range []string{"", "1abc", "a-b", "robert'); drop"} {
			if err := s.CreateVectorIndex(ctx, a, bad, 3, ""); !errors.Is(err, ErrVectorMismatch) {
				t.Errorf("name %q: %v", bad, err)
			}
		}
		recs := []VectorRecord{
			{ID: "x", Vector: []float32{1, 0, 0}, Metadata: map[string]any{"resource_id": "r1", "kind": "fruit", "n": 1.0}},
			{ID: "y", Vector: []float32{0.9, 0.1, 0}, Metadata: map[string]any{"resource_id": "r2", "kind": "fruit", "n": 2.0}},
			{ID: "z", Vector: []float32{0, 1, 0}, Metadata: map[string]any{"resource_id": "r1", "kind": "veg", "n": 3.0, "tags": []any{"green"}}},
			{ID: "w", Vector: []float32{-1, 0, 0}, Metadata: map[string]any{"resource_id": "r1", "nested": map[string]any{"k": "v"}}},
		}
		if err := s.UpsertVectors(ctx, a, "items", recs); err != nil {
			t.Fatal(err)
		}
		q := []float32{1, 0.05, 0}
		hits, err := s.QueryVectors(ctx, a, "items", VectorQuery{Vector: q, TopK: 3})
		if err != nil {
			t.Fatal(err)
		}
		if hitIDs(hits) != "[x y z]" || math.Abs(hits[0].Score-1/math.Sqrt(1.0025)) > 1e-5 {
			t.Errorf("top 3 = %s, first score %v", hitIDs(hits), hits)
		}
		if hits[0].Metadata["kind"] != "fruit" || hits[0].Vector != nil {
			t.Errorf("hit = %+v", hits[0])
		}
		for _, c := range []struct {
			filter map[string]any
			want   string
		}{
			{map[string]any{"resource_id": "r1"}, "[x z w]"},
			{map[string]any{"resource_id": "r1", "kind": "fruit"}, "[x]"},
			{map[string]any{"kind": map[string]any{"$in": []any{"veg", "fruit"}}, "n": map[string]any{"$gte": 2.0}}, "[y z]"},
			{map[string]any{"$or": []any{map[string]any{"kind": "veg"}, map[string]any{"nested.k": "v"}}}, "[z w]"},
			{map[string]any{"tags": map[string]any{"$in": []any{"green"}}}, "[z]"},
			{map[string]any{"kind": map[string]any{"$exists": false}}, "[w]"},
			{map[string]any{"resource_id": "nobody"}, "[]"},
		} {
			hits, err := s.QueryVectors(ctx, a, "items", VectorQuery{Vector: q, TopK: 10, Filter: c.filter})
			if err != nil || hitIDs(hits) != c.want {
				t.Errorf("filter %v = %s, %v; want %s", c.filter, hitIDs(hits), err, c.want)
			}
		}
		if _, err := s.QueryVectors(ctx, a, "items", VectorQuery{Vector: q, TopK: 1, Filter: map[string]any{"k": map[string]any{"$regex": "x"}}}); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("$regex: %v; want ErrInvalidFilter", err)
		}
		min := 0.5
		hits, _ = s.QueryVectors(ctx, a, "items", VectorQuery{Vector: q, TopK: 10, MinScore: &min, IncludeVector: true})
		if hitIDs(hits) != "[x y]" || fmt.Sprint(hits[1].Vector) != "[0.9 0.1 0]" {
			t.Errorf("minScore 0.5 = %s %v", hitIDs(hits), hits)
		}
		if _, err := s.QueryVectors(ctx, a, "items", VectorQuery{Vector: []float32{1, 0}, TopK: 1}); !errors.Is(err, ErrVectorMismatch) {
			t.Errorf("short query vector: %v", err)
		}
		if err := s.UpsertVectors(ctx, a, "items", []VectorRecord{{ID: "q", Vector: []float32{1, float32(math.NaN()), 0}}}); !errors.Is(err, ErrVectorMismatch) {
			t.Errorf("NaN: %v", err)
		}
		// Upsert replaces; another namespace sees nothing.
		if err := s.UpsertVectors(ctx, a, "items", []VectorRecord{{ID: "w", Vector: []float32{1, 0.05, 0}, Metadata: map[string]any{"resource_id": "r3"}}}); err != nil {
			t.Fatal(err)
		}
		hits, _ = s.QueryVectors(ctx, a, "items", VectorQuery{Vector: q, TopK: 1, Filter: map[string]any{"resource_id": "r3"}})
		if hitIDs(hits) != "[w]" || hits[0].Score < 0.9999 {
			t.Errorf("after upsert: %v", hits)
		}
		if _, err := s.QueryVectors(ctx, b, "items", VectorQuery{Vector: q, TopK: 1}); !errors.Is(err, ErrNoVectorIndex) {
			t.Errorf("tenant b queries a's index: %v", err)
		}
		if names, _ := s.VectorIndexes(ctx, b); len(names) != 0 {
			t.Errorf("tenant b lists %v", names)
		}
		d, err := s.DescribeVectorIndex(ctx, a, "items")
		if err != nil || d.Count != 4 || d.Dimension != 3 || d.Metric != MetricCosine {
			t.Errorf("describe = %+v, %v", d, err)
		}
		if err := s.DeleteVectorIndex(ctx, b, "items"); !errors.Is(err, ErrNoVectorIndex) {
			t.Errorf("tenant b deletes a's index: %v", err)
		}
		if err := s.DeleteVectorIndex(ctx, a, "items"); err != nil {
			t.Fatal(err)
		}
		if names, _ := s.VectorIndexes(ctx, a); len(names) != 0 {
			t.Errorf("after delete: %v", names)
		}
		if err := s.CreateVectorIndex(ctx, a, "items", 3, ""); err != nil {
			t.Fatal(err)
		}
		if d, _ := s.DescribeVectorIndex(ctx, a, "items"); d.Count != 0 {
			t.Errorf("recreated index has %d vectors of the old one", d.Count)
		}
	})
}

// Each metric scores as Mastra's PgVector does, on both stores, and the
// top k equal a brute-force ranking of random vectors.
func TestVectorMetricsAgainstBruteForce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sp := VectorSpace{Store: "m", Namespace: "default"}
		rng := rand.New(rand.NewPCG(1, 2))
		var recs []VectorRecord
		for i := range 300 {
			v := make([]float32, 16)
			for j := range v {
				v[j] = float32(rng.NormFloat64())
			}
			recs = append(recs, VectorRecord{ID: fmt.Sprintf("v%03d", i), Vector: v})
		}
		q := recs[7].Vector
		for _, metric := range []string{MetricCosine, MetricEuclidean, MetricDotProduct} {
			if err := s.CreateVectorIndex(ctx, sp, metric, 16, metric); err != nil {
				t.Fatal(err)
			}
			if err := s.UpsertVectors(ctx, sp, metric, recs); err != nil {
				t.Fatal(err)
			}
			type scored struct {
				id string
				s  float64
			}
			var want []scored
			for _, r := range recs {
				var dot float64
				for j := range q {
					dot += float64(q[j]) * float64(r.Vector[j])
				}
				want = append(want, scored{r.ID, scoreOf(metric, dot, norm(r.Vector), norm(q))})
			}
			sort.Slice(want, func(i, j int) bool { return better(want[i].s, want[i].id, want[j].s, want[j].id) })
			hits, err := s.QueryVectors(ctx, sp, metric, VectorQuery{Vector: q, TopK: 5})
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range hits {
				if h.ID != want[i].id || math.Abs(h.Score-want[i].s) > 1e-4*math.Max(1, math.Abs(want[i].s)) {
					t.Errorf("%s: hit %d = %s %.6f; want %s %.6f", metric, i, h.ID, h.Score, want[i].id, want[i].s)
				}
			}
			if len(hits) != 5 || (metric != MetricDotProduct && hits[0].ID != "v007") {
				t.Errorf("%s: %s", metric, hitIDs(hits))
			}
		}
	})
}

// A hit comes with its neighbours in its own thread, each message once,
// oldest first; another resource's thread is never read.
func TestMessagesAround(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Now().UTC().Add(-time.Hour)
		ids := map[string]string{}
		for _, th := range []Thread{{ID: "t1", ResourceID: "alice"}, {ID: "t2", ResourceID: "alice"}, {ID: "t3", ResourceID: "bob"}} {
			for i := 0; i < 6; i++ {
				m := userMsg(fmt.Sprintf("%s-%d", th.ID, i), base.Add(time.Duration(i)*time.Second))
				ids[textOfMsg(m)] = m.ID
				if err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{m}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		texts := func(ms []Message) string {
			var out []string
			for _, m := range ms {
				out = append(out, textOf(t, m))
			}
			return fmt.Sprint(out)
		}
		got, err := s.MessagesAround(ctx, "alice", []MessageRef{
			{"t1", ids["t1-2"]}, {"t1", ids["t1-3"]}, {"t2", ids["t2-0"]}, {"t3", ids["t3-3"]}, {"t1", "gone"},
		}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		// Oldest first within each thread (AppendTurn stamps the times).
		var t1, t2 []Message
		for _, m := range got {
			if m.ThreadID == "t1" {
				t1 = append(t1, m)
			} else {
				t2 = append(t2, m)
			}
		}
		if texts(t1) != "[t1-1 t1-2 t1-3 t1-4]" || texts(t2) != "[t2-0 t2-1]" {
			t.Errorf("around = %s", texts(got))
		}
		got, _ = s.MessagesAround(ctx, "alice", []MessageRef{{"t1", ids["t1-5"]}}, 3, 0)
		if want := "[t1-2 t1-3 t1-4 t1-5]"; texts(got) != want {
			t.Errorf("before 3 = %s; want %s", texts(got), want)
		}
		if got, _ := s.MessagesAround(ctx, "bob", []MessageRef{{"t1", ids["t1-2"]}}, 2, 2); len(got) != 0 {
			t.Errorf("bob reads alice's thread: %s", texts(got))
		}
	})
}

func textOfMsg(m Message) string {
	c, _ := ParseContent(m.Content)
	return c.Text()
}

// An instance keeps a tenant's vectors in memory between queries; another
// instance's writes (new, replaced, deleted vectors, a re-created index)
// are seen by its next query all the same.
func TestVectorCacheSeesOtherInstancesWrites(t *testing.T) {
	u := pgtest.NewDatabase(t)
	a, b := openStore(t, Options{DatabaseURL: u}), openStore(t, Options{DatabaseURL: u})
	ctx := context.Background()
	sp := VectorSpace{Store: "s", Namespace: "n"}
	q := VectorQuery{Vector: []float32{1, 0}, TopK: 10, Filter: map[string]any{"resource_id": "r"}}
	md := map[string]any{"resource_id": "r"}
	if err := a.CreateVectorIndex(ctx, sp, "ix", 2, ""); err != nil {
		t.Fatal(err)
	}
	up := func(s *Store, id string, v ...float32) {
		t.Helper()
		if err := s.UpsertVectors(ctx, sp, "ix", []VectorRecord{{ID: id, Vector: v, Metadata: md}}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want string) {
		t.Helper()
		hits, err := a.QueryVectors(ctx, sp, "ix", q)
		if err != nil || hitIDs(hits) != want {
			t.Errorf("A sees %s, %v; want %s", hitIDs(hits), err, want)
		}
	}
	up(a, "x", 1, 0)
	up(a, "y", 0, 1)
	check("[x y]")
	up(b, "z", 1, 0.1) // new
	check("[x z y]")
	up(b, "y", 1, 0.01) // replaced
	check("[x y z]")
	if err := b.DeleteVectors(ctx, sp, "ix", []string{"x"}); err != nil {
		t.Fatal(err)
	}
	check("[y z]")
	if err := b.DeleteVectorIndex(ctx, sp, "ix"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateVectorIndex(ctx, sp, "ix", 2, ""); err != nil {
		t.Fatal(err)
	}
	up(b, "w", 0, 1)
	check("[w]")
}

// A write that commits after a later-numbered write of the same tenant is
// still seen: writers of a tenant take turns (an advisory lock), so a
// cache that read up to max(seq) misses nothing below it. Writer A holds
// its transaction open after writing; writer B of the same resource,
// another instance, waits for it rather than committing first.
func TestVectorCacheSeesLateCommits(t *testing.T) {
	u := pgtest.NewDatabase(t)
	a, b, c := openStore(t, Options{DatabaseURL: u}), openStore(t, Options{DatabaseURL: u}), openStore(t, Options{DatabaseURL: u})
	ctx := context.Background()
	sp := VectorSpace{Store: "s", Namespace: "n"}
	q := VectorQuery{Vector: []float32{1, 0}, TopK: 10, Filter: map[string]any{"resource_id": "r"}}
	md := map[string]any{"resource_id": "r", "thread_id": "t"}
	if err := c.CreateVectorIndex(ctx, sp, "ix", 2, ""); err != nil {
		t.Fatal(err)
	}
	up := func(s *Store, id string, v ...float32) error {
		return s.UpsertVectors(ctx, sp, "ix", []VectorRecord{{ID: id, Vector: v, Metadata: md}})
	}
	if err := up(a, "x", 1, 0); err != nil {
		t.Fatal(err)
	}
	if hits, err := c.QueryVectors(ctx, sp, "ix", q); err != nil || hitIDs(hits) != "[x]" {
		t.Fatalf("C sees %s, %v; want [x]", hitIDs(hits), err)
	}
	inTx, release := make(chan struct{}), make(chan struct{})
	a.vectorWritten = func() { close(inTx); <-release }
	aDone, bDone := make(chan error, 1), make(chan error, 1)
	go func() { aDone <- up(a, "late", 1, 0.5) }()
	<-inTx
	go func() { bDone <- up(b, "early", 1, 0.1) }()
	// B either waits for A's lock or (without one) commits first.
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var bErr error
	bFinished := false
	for waiting := 0; waiting == 0 && !bFinished; {
		select {
		case bErr = <-bDone:
			bFinished = true
		case <-time.After(5 * time.Millisecond):
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
		}
	}
	if bErr != nil {
		t.Fatal(bErr)
	}
	// C reads now, while A's row is not committed.
	if _, err := c.QueryVectors(ctx, sp, "ix", q); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if !bFinished {
		if err := <-bDone; err != nil {
			t.Fatal(err)
		}
	}
	if hits, err := c.QueryVectors(ctx, sp, "ix", q); err != nil || hitIDs(hits) != "[x early late]" {
		t.Errorf("C sees %s, %v; want [x early late]: a write committed late was missed", hitIDs(hits), err)
	}
	// A vector moved to another resource leaves this one's cache (a new
	// epoch), and the other resource's sees it.
	// (x, the oldest: r's max(seq) does not change.)
	if err := b.UpsertVectors(ctx, sp, "ix", []VectorRecord{{ID: "x", Vector: []float32{1, 0}, Metadata: map[string]any{"resource_id": "r2"}}}); err != nil {
		t.Fatal(err)
	}
	if hits, err := c.QueryVectors(ctx, sp, "ix", q); err != nil || hitIDs(hits) != "[early late]" {
		t.Errorf("C sees %s, %v for r; want [early late] after x moved to r2", hitIDs(hits), err)
	}
	q.Filter = map[string]any{"resource_id": "r2"}
	if hits, err := c.QueryVectors(ctx, sp, "ix", q); err != nil || hitIDs(hits) != "[x]" {
		t.Errorf("C sees %s, %v for r2; want [x]", hitIDs(hits), err)
	}
}
