package memory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// pgvectorURL is a Postgres with the pgvector extension, or the test is
// skipped. scripts/pglite-pgvector.sh starts one (PGlite with pgvector,
// from npm) and prints the URL.
func pgvectorURL(t *testing.T) string {
	u := os.Getenv("TEST_PGVECTOR_URL")
	if u == "" {
		t.Skip("TEST_PGVECTOR_URL is not set: no Postgres with pgvector to test against (scripts/pglite-pgvector.sh starts one)")
	}
	return u
}

// With pgvector, recall vectors live in Mastra's own table, indexes and
// metadata keys: rows this server writes answer Mastra's PgVector query,
// and rows written as @mastra/pg writes them (random vector ids, the
// thread's metadata spread in) are recalled by the server, with their
// messages; another resource sees none of them.
func TestPgvectorSharedWithMastra(t *testing.T) {
	url := pgvectorURL(t)
	ctx := context.Background()
	s := openStore(t, Options{DatabaseURL: url, MaxOpenConns: 4})
	if mode, err := s.RecallMode(ctx); err != nil || mode != RecallPgvector {
		t.Fatalf("RecallMode = %q, %v; want pgvector", mode, err)
	}
	conn, err := pgx.Connect(ctx, url+"&default_query_exec_mode=exec")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// PGlite is one shared database: a name of this run's own.
	name := fmt.Sprintf("memory_messages_%d", 3)
	if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
		t.Fatal(err)
	}
	sp := VectorSpace{Store: "", Namespace: "default"}
	if err := s.CreateVectorIndex(ctx, sp, name, 3, MetricCosine); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVectorIndex(ctx, sp, name, 4, MetricCosine); err == nil {
		t.Error("the same table with another dimension was accepted")
	}
	var idx []string
	rows, _ := conn.Query(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, name)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		idx = append(idx, n)
	}
	want := "[memory_messages_3_md_57d95f6b_idx memory_messages_3_md_5a823b81_idx memory_messages_3_namespace_vector_id_idx memory_messages_3_pkey memory_messages_3_vector_idx]"
	if fmt.Sprint(idx) != want {
		t.Errorf("indexes %v; want Mastra's %s", idx, want)
	}

	// Messages of alice in two threads, one of bob.
	at := time.Now().UTC().Add(-time.Hour)
	run := uuid.NewString()[:8]
	t1, t2, tb := "t1-"+run, "t2-"+run, "tb-"+run
	m1, m2, m3, mb := userMsg("my dog is Rex", at), userMsg("I like tea", at.Add(time.Second)), userMsg("the cat is Tom", at.Add(2*time.Second)), userMsg("bob's dog", at)
	for _, turn := range []Turn{{Thread: Thread{ID: t1, ResourceID: "alice"}, Messages: []Message{m1, m2}},
		{Thread: Thread{ID: t2, ResourceID: "alice"}, Messages: []Message{m3}},
		{Thread: Thread{ID: tb, ResourceID: "bob"}, Messages: []Message{mb}}} {
		if err := s.AppendTurn(ctx, turn); err != nil {
			t.Fatal(err)
		}
	}
	md := func(m Message, thread, resource string) map[string]any {
		return map[string]any{"message_id": m.ID, "thread_id": thread, "resource_id": resource, "role": "user",
			"content": "x", "created_at": m.CreatedAt.Format(time.RFC3339Nano)}
	}
	// This server's rows.
	err = s.UpsertVectors(ctx, sp, name, []VectorRecord{
		{ID: m1.ID, Vector: []float32{1, 0, 0}, Metadata: md(m1, t1, "alice")},
		{ID: m2.ID, Vector: []float32{0, 0, 1}, Metadata: md(m2, t1, "alice")},
		{ID: mb.ID, Vector: []float32{1, 0, 0}, Metadata: md(mb, tb, "bob")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A row as @mastra/pg's Memory.saveMessages writes it.
	mastraMD := md(m3, t2, "alice")
	mastraMD["topic"] = "pets" // the thread's metadata, spread first
	b, _ := json.Marshal(mastraMD)
	if _, err := conn.Exec(ctx, `INSERT INTO `+name+` (vector_id, embedding, metadata, namespace) VALUES ($1, $2::vector, $3::jsonb, $4)
		ON CONFLICT (namespace, vector_id) DO UPDATE SET embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata`,
		uuid.NewString(), "[0,1,0]", string(b), "default"); err != nil {
		t.Fatal(err)
	}

	// Mastra's query shape reads this server's rows.
	var got []string
	rows, err = conn.Query(ctx, `WITH vector_scores AS (
		SELECT vector_id AS id, 1 - (embedding <=> '[1,0.1,0]'::vector) AS score, metadata FROM `+name+`
		WHERE namespace = $3 AND (CASE WHEN $4::text IS NULL THEN metadata->>'resource_id' IS NULL ELSE metadata->>'resource_id' = $4::text END))
		SELECT * FROM vector_scores WHERE score > $1 ORDER BY score DESC LIMIT $2`, -1.0, 10, "default", "alice")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var score float64
		var meta map[string]any
		if err := rows.Scan(&id, &score, &meta); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%v:%.0f:%v", id == meta["message_id"], score, meta["thread_id"] == t1))
	}
	if fmt.Sprint(got) != "[true:1:true false:0:false true:0:true]" {
		t.Errorf("Mastra's query over this server's rows = %v", got)
	}

	// The server recalls the Mastra-written row, with its message.
	hits, err := s.QueryVectors(ctx, sp, name, VectorQuery{Vector: []float32{0, 0.9, 0.1}, TopK: 1, Filter: map[string]any{"resource_id": "alice"}})
	if err != nil || len(hits) != 1 || hits[0].Metadata["message_id"] != m3.ID || hits[0].Metadata["topic"] != "pets" {
		t.Fatalf("recall of Mastra's row = %+v, %v", hits, err)
	}
	msgs, err := s.MessagesAround(ctx, "alice", []MessageRef{{ThreadID: t2, MessageID: m3.ID}}, 1, 1)
	if err != nil || len(msgs) != 1 || textOf(t, msgs[0]) != "the cat is Tom" {
		t.Errorf("its message = %v, %v", msgs, err)
	}
	hits, _ = s.QueryVectors(ctx, sp, name, VectorQuery{Vector: []float32{1, 0, 0}, TopK: 10, Filter: map[string]any{"resource_id": "bob"}, IncludeVector: true})
	if len(hits) != 1 || hits[0].ID != mb.ID || fmt.Sprint(hits[0].Vector) != "[1 0 0]" || hits[0].Score < 0.999 {
		t.Errorf("bob's recall = %+v", hits)
	}
	hits, _ = s.QueryVectors(ctx, sp, name, VectorQuery{Vector: []float32{1, 0, 0}, TopK: 10, Filter: map[string]any{"thread_id": t1}})
	if len(hits) != 2 || hits[0].ID != m1.ID {
		t.Errorf("thread scope = %+v", hits)
	}
	if d, err := s.DescribeVectorIndex(ctx, sp, name); err != nil || d.Count != 4 || d.Dimension != 3 {
		t.Errorf("describe = %+v, %v", d, err)
	}
	// The plan: the recall filter is served by Mastra's resource_id B-tree.
	var plan []string
	tx, _ := conn.Begin(ctx)
	defer tx.Rollback(ctx)
	tx.Exec(ctx, `SET LOCAL enable_seqscan = off`)
	rows, _ = tx.Query(ctx, `EXPLAIN SELECT vector_id FROM `+name+` WHERE namespace = 'default' AND metadata->>'resource_id' = $1
		ORDER BY embedding <=> '[1,0,0]'::vector LIMIT 4`, "alice")
	for rows.Next() {
		var l string
		rows.Scan(&l)
		plan = append(plan, l)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "md_5a823b81_idx") && !strings.Contains(p, "vector_idx") {
		t.Errorf("recall plan uses no index:\n%s", p)
	}
}

// semantic_recall.index_config chooses the recall table's approximate
// index as Mastra's indexConfig does: HNSW with its m and ef_construction,
// IVFFlat with its lists, or none (flat); queries answer the same in each.
func TestPgvectorIndexConfig(t *testing.T) {
	url := pgvectorURL(t)
	ctx := context.Background()
	s := openStore(t, Options{DatabaseURL: url, MaxOpenConns: 4})
	suffix := fmt.Sprint(time.Now().UnixNano() % 1_000_000)
	for _, c := range []struct {
		cfg  IndexConfig
		want []string // in the index's definition; nil: no index
	}{
		{IndexConfig{}, []string{"USING hnsw", "m='8'", "ef_construction='32'"}},
		{IndexConfig{Type: "hnsw", M: 16, EfConstruction: 64}, []string{"USING hnsw", "m='16'", "ef_construction='64'"}},
		{IndexConfig{Type: "ivfflat", Lists: 10}, []string{"USING ivfflat", "lists='10'"}},
		{IndexConfig{Type: "flat"}, nil},
	} {
		name := fmt.Sprintf("memory_messages_cfg_%s_%s", cmp.Or(c.cfg.Type, "default"), suffix)
		if err := CheckIndexConfig(c.cfg); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRecallIndex(ctx, VectorSpace{Namespace: "default"}, name, 3, MetricCosine, c.cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var def string
		err := s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT indexdef FROM pg_indexes WHERE indexname = ?), '')`, name+"_vector_idx").Scan(&def)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(def, w) {
				t.Errorf("%+v: index %q; want %s in it", c.cfg, def, w)
			}
		}
		if c.want == nil && def != "" {
			t.Errorf("flat: index %q; want none", def)
		}
		sp := VectorSpace{Namespace: "default"}
		recs := []VectorRecord{
			{ID: "a-" + suffix, Vector: []float32{1, 0, 0}, Metadata: map[string]any{"resource_id": "r", "thread_id": "t"}},
			{ID: "b-" + suffix, Vector: []float32{0, 1, 0}, Metadata: map[string]any{"resource_id": "r", "thread_id": "t"}},
		}
		if err := s.UpsertVectors(ctx, sp, name, recs); err != nil {
			t.Fatal(err)
		}
		hits, err := s.QueryVectors(ctx, sp, name, VectorQuery{Vector: []float32{0.9, 0.1, 0}, TopK: 1, Filter: map[string]any{"resource_id": "r"}})
		if err != nil || len(hits) != 1 || hits[0].ID != "a-"+suffix {
			t.Errorf("%+v: query = %+v, %v; want a", c.cfg, hits, err)
		}
	}
	for _, bad := range []IndexConfig{{Type: "diskann"}, {M: 1}, {M: 16, EfConstruction: 20}, {Lists: -1}, {EfSearch: -1}, {EfSearch: 1001}} {
		if CheckIndexConfig(bad) == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
