package memory

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// Vectors (semantic recall and Mastra's vector API) live in
// mastra_server_vectors, a table of ours that needs no extension: the vector
// is a float4[] on Postgres and a BLOB of little-endian float32 on SQLite,
// stored with its length. A query is exact: every row that passes the
// tenant filter (an indexed equality on store, namespace, index and
// resource_id or thread_id) is scored in Go (on Postgres the float4[]
// arrives in binary) and the best k are kept in a heap.
//
// An index is a row of mastra_server_vector_indexes: its dimension and
// metric. Indexes and vectors are kept per store (a [vectors.<name>] table,
// or "" for the memory's own recall index) and per namespace (a tenant).

// Vector metrics, as Mastra spells them.
const (
	MetricCosine     = "cosine"
	MetricEuclidean  = "euclidean"
	MetricDotProduct = "dotproduct"
)

// Errors of the vector methods, wrapped with detail. Callers answer 404
// for ErrNoVectorIndex and 400 for ErrVectorMismatch and ErrInvalidFilter.
var (
	ErrNoVectorIndex  = errors.New("memory: vector index not found")
	ErrVectorMismatch = errors.New("memory: vector does not fit the index")
)

// VectorSpace names where an index lives: a store and a namespace.
type VectorSpace struct {
	Store, Namespace string
}

// VectorIndex describes one index.
type VectorIndex struct {
	Name      string
	Dimension int
	Metric    string
	// Count is the number of vectors in the index (DescribeVectorIndex
	// only).
	Count int
}

// VectorRecord is one vector to upsert.
type VectorRecord struct {
	ID       string
	Vector   []float32
	Metadata map[string]any
}

// VectorQuery asks an index for its nearest vectors.
type VectorQuery struct {
	Vector []float32
	// TopK is how many hits are returned at most (at least 1).
	TopK int
	// Filter is a Mastra vector filter on the metadata (see
	// parseVectorFilter); nil for none.
	Filter map[string]any
	// MinScore drops hits that score at or below it (Mastra's minScore);
	// nil keeps all.
	MinScore *float64
	// IncludeVector returns each hit's vector.
	IncludeVector bool
}

// VectorHit is one result of a query, best first.
type VectorHit struct {
	ID       string
	Score    float64
	Metadata map[string]any
	Vector   []float32 // only with IncludeVector
}

// validIndexName is Mastra's rule for index names.
func validIndexName(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for i, r := range name {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// CheckVectorIndex checks an index's name, dimension and metric as
// CreateVectorIndex does, for callers that answer 400 before any work.
func CheckVectorIndex(name string, dimension int, metric string) error {
	switch {
	case !validIndexName(name):
		return fmt.Errorf("%w: index name %q: expected letters, digits and _, not starting with a digit, at most 63", ErrVectorMismatch, name)
	case dimension < 1 || dimension > 16000:
		return fmt.Errorf("%w: dimension %d: expected 1 to 16000", ErrVectorMismatch, dimension)
	case metric != MetricCosine && metric != MetricEuclidean && metric != MetricDotProduct:
		return fmt.Errorf("%w: metric %q: expected cosine, euclidean or dotproduct", ErrVectorMismatch, metric)
	}
	return nil
}

// IndexConfig is Mastra's semanticRecall.indexConfig: the approximate
// index a recall table gets in pgvector mode. Type is "hnsw" (the
// default: M 8, EfConstruction 32), "ivfflat" (Lists, 100 by default) or
// "flat" (none: every query exact). An index that exists is kept as it
// is. EfSearch is HNSW's candidate list per query (hnsw.ef_search; 0:
// max(40, topK)). The other stores' queries are exact and ignore it.
type IndexConfig struct {
	Type              string
	M, EfConstruction int
	Lists             int
	EfSearch          int
}

// CreateVectorIndex creates an index, or does nothing when it exists with
// the same dimension (Mastra's createIndex is idempotent); another
// dimension is ErrVectorMismatch. An empty metric is cosine.
func (s *Store) CreateVectorIndex(ctx context.Context, sp VectorSpace, name string, dimension int, metric string) error {
	return s.CreateRecallIndex(ctx, sp, name, dimension, metric, IndexConfig{})
}

// CreateRecallIndex is CreateVectorIndex with cfg for a pgvector table.
func (s *Store) CreateRecallIndex(ctx context.Context, sp VectorSpace, name string, dimension int, metric string, cfg IndexConfig) error {
	if metric == "" {
		metric = MetricCosine
	}
	if err := CheckVectorIndex(name, dimension, metric); err != nil {
		return err
	}
	if on, err := s.pgRecall(ctx, sp); err != nil || on {
		if err != nil {
			return err
		}
		if metric != MetricCosine {
			return fmt.Errorf("%w: recall indexes are cosine", ErrVectorMismatch)
		}
		return s.createPgvectorIndex(ctx, sp, name, dimension, cfg)
	}
	_, err := s.db.NewRaw(`INSERT INTO mastra_server_vector_indexes (store, namespace, name, dimension, metric)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (store, namespace, name) DO NOTHING`,
		sp.Store, sp.Namespace, name, dimension, metric).Exec(ctx)
	if err != nil {
		return classify(fmt.Errorf("memory: create vector index %s: %w", name, err))
	}
	ix, err := s.vectorIndex(ctx, s.db, sp, name)
	if err != nil {
		return err
	}
	if ix.Dimension != dimension {
		return fmt.Errorf("%w: index %s exists with dimension %d, not %d", ErrVectorMismatch, name, ix.Dimension, dimension)
	}
	return nil
}

func (s *Store) vectorIndex(ctx context.Context, db bun.IDB, sp VectorSpace, name string) (VectorIndex, error) {
	ix := VectorIndex{Name: name}
	err := db.NewRaw(`SELECT dimension, metric FROM mastra_server_vector_indexes WHERE store = ? AND namespace = ? AND name = ?`,
		sp.Store, sp.Namespace, name).Scan(ctx, &ix.Dimension, &ix.Metric)
	if errors.Is(err, sql.ErrNoRows) {
		return VectorIndex{}, fmt.Errorf("%w: %s", ErrNoVectorIndex, name)
	}
	if err != nil {
		return VectorIndex{}, classify(fmt.Errorf("memory: vector index %s: %w", name, err))
	}
	return ix, nil
}

// VectorIndexes lists the space's index names, sorted.
func (s *Store) VectorIndexes(ctx context.Context, sp VectorSpace) ([]string, error) {
	var names []string
	err := s.db.NewRaw(`SELECT name FROM mastra_server_vector_indexes WHERE store = ? AND namespace = ? ORDER BY name`,
		sp.Store, sp.Namespace).Scan(ctx, &names)
	if err != nil {
		return nil, classify(fmt.Errorf("memory: list vector indexes: %w", err))
	}
	return names, nil
}

// DescribeVectorIndex returns an index with its vector count.
func (s *Store) DescribeVectorIndex(ctx context.Context, sp VectorSpace, name string) (VectorIndex, error) {
	if on, err := s.pgRecall(ctx, sp); err != nil || on {
		if err != nil {
			return VectorIndex{}, err
		}
		return s.countPgvector(ctx, sp, name)
	}
	ix, err := s.vectorIndex(ctx, s.db, sp, name)
	if err != nil {
		return VectorIndex{}, err
	}
	err = s.db.NewRaw(`SELECT count(*) FROM mastra_server_vectors WHERE store = ? AND namespace = ? AND index_name = ?`,
		sp.Store, sp.Namespace, name).Scan(ctx, &ix.Count)
	if err != nil {
		return VectorIndex{}, classify(fmt.Errorf("memory: count vectors of %s: %w", name, err))
	}
	return ix, nil
}

// DeleteVectorIndex removes an index and its vectors.
func (s *Store) DeleteVectorIndex(ctx context.Context, sp VectorSpace, name string) error {
	defer s.vcache.wrote(indexKey(sp, name))
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewRaw(`DELETE FROM mastra_server_vector_indexes WHERE store = ? AND namespace = ? AND name = ?`,
			sp.Store, sp.Namespace, name).Exec(ctx)
		if err != nil {
			return classify(fmt.Errorf("memory: delete vector index %s: %w", name, err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNoVectorIndex, name)
		}
		_, err = tx.NewRaw(`DELETE FROM mastra_server_vectors WHERE store = ? AND namespace = ? AND index_name = ?`,
			sp.Store, sp.Namespace, name).Exec(ctx)
		return classify(err)
	})
}

// upsertBatch bounds the rows of one INSERT (and its bind values).
const upsertBatch = 500

// UpsertVectors inserts or replaces vectors of an existing index. Every
// vector must have the index's dimension and finite values. A record's
// metadata resource_id and thread_id (strings) are what tenant filters
// match.
func (s *Store) UpsertVectors(ctx context.Context, sp VectorSpace, index string, recs []VectorRecord) error {
	if on, err := s.pgRecall(ctx, sp); err != nil || on {
		if err != nil {
			return err
		}
		return s.upsertPgvector(ctx, sp, index, recs)
	}
	ix, err := s.vectorIndex(ctx, s.db, sp, index)
	if err != nil {
		return err
	}
	if err := checkRecords(recs, ix.Dimension); err != nil {
		return err
	}
	pg := s.kind == "postgres"
	var seq int64
	if !pg {
		defer s.vcache.wrote(indexKey(sp, index))
		if seq, err = s.sqliteSeqs(ctx, len(recs)); err != nil {
			return err
		}
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if pg {
			if err := lockTenants(ctx, tx, sp, index, recs); err != nil {
				return err
			}
			moved, err := movesTenant(ctx, tx, sp, index, recs)
			if err != nil {
				return err
			}
			if moved {
				if err := newEpoch(ctx, tx, sp, index); err != nil {
					return err
				}
			}
		}
		for start := 0; start < len(recs); start += upsertBatch {
			batch := recs[start:min(start+upsertBatch, len(recs))]
			var q strings.Builder
			q.WriteString(`INSERT INTO mastra_server_vectors
				(store, namespace, index_name, vector_id, resource_id, thread_id, embedding, norm, metadata, seq) VALUES `)
			args := make([]any, 0, 10*len(batch))
			for i, r := range batch {
				if i > 0 {
					q.WriteString(", ")
				}
				md := r.Metadata
				if md == nil {
					md = map[string]any{}
				}
				mdJSON, err := json.Marshal(md)
				if err != nil {
					return fmt.Errorf("%w: metadata of %s: %v", ErrVectorMismatch, r.ID, err)
				}
				rid, _ := md["resource_id"].(string)
				tid, _ := md["thread_id"].(string)
				args = append(args, sp.Store, sp.Namespace, index, r.ID, rid, tid)
				if pg {
					q.WriteString("(?, ?, ?, ?, ?, ?, ?::real[], ?, ?::jsonb, DEFAULT)")
					args = append(args, pgArray(r.Vector), norm(r.Vector), string(mdJSON))
				} else {
					q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
					seq++
					args = append(args, blob(r.Vector), norm(r.Vector), string(mdJSON), seq)
				}
			}
			// A replaced row takes a new seq too: caches reread it.
			q.WriteString(` ON CONFLICT (store, namespace, index_name, vector_id) DO UPDATE SET
				resource_id = excluded.resource_id, thread_id = excluded.thread_id, embedding = excluded.embedding,
				norm = excluded.norm, metadata = excluded.metadata, seq = excluded.seq`)
			if _, err := tx.NewRaw(q.String(), args...).Exec(ctx); err != nil {
				return classify(fmt.Errorf("memory: upsert vectors into %s: %w", index, err))
			}
		}
		if s.vectorWritten != nil {
			s.vectorWritten()
		}
		return nil
	})
}

// vectorLockClass is the first key of the vector writers' advisory locks
// ("vect").
const vectorLockClass = 0x76656374

// lockTenants takes, for the rest of tx, a lock on each resource and
// thread recs are written for, in one order (no deadlock). Writers of one
// tenant thus take their rows' seq and commit one after the other: a
// tenant's rows become visible in seq order, and a cache that read up to
// max(seq) misses nothing below it (vectorcache.go). Writers of other
// tenants run side by side.
func lockTenants(ctx context.Context, tx bun.Tx, sp VectorSpace, index string, recs []VectorRecord) error {
	seen := map[int32]bool{}
	for _, r := range recs {
		rid, _ := r.Metadata["resource_id"].(string)
		tid, _ := r.Metadata["thread_id"].(string)
		seen[tenantLockKey(sp, index, "r", rid)] = true
		seen[tenantLockKey(sp, index, "t", tid)] = true
	}
	keys := make([]int32, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		if _, err := tx.NewRaw(`SELECT pg_advisory_xact_lock(?::int, ?::int)`, vectorLockClass, k).Exec(ctx); err != nil {
			return classify(fmt.Errorf("memory: lock vector tenants of %s: %w", index, err))
		}
	}
	return nil
}

// tenantLockKey hashes a tenant to a lock key (a collision only makes two
// tenants' writers wait for each other).
func tenantLockKey(sp VectorSpace, index, kind, id string) int32 {
	h := fnv.New32a()
	for _, s := range []string{sp.Store, sp.Namespace, index, kind, id} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return int32(h.Sum32())
}

// movesTenant reports whether recs replace a vector of another resource
// or thread: for that tenant the vector disappears, which caches learn
// from a new epoch, as for a delete.
func movesTenant(ctx context.Context, tx bun.Tx, sp VectorSpace, index string, recs []VectorRecord) (bool, error) {
	want := make(map[string][2]string, len(recs))
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		rid, _ := r.Metadata["resource_id"].(string)
		tid, _ := r.Metadata["thread_id"].(string)
		want[r.ID] = [2]string{rid, tid}
		ids = append(ids, r.ID)
	}
	for start := 0; start < len(ids); start += upsertBatch {
		var old []struct {
			ID         string `bun:"vector_id"`
			ResourceID string `bun:"resource_id"`
			ThreadID   string `bun:"thread_id"`
		}
		err := tx.NewRaw(`SELECT vector_id, resource_id, thread_id FROM mastra_server_vectors
			WHERE store = ? AND namespace = ? AND index_name = ? AND vector_id IN (?)`,
			sp.Store, sp.Namespace, index, bun.In(ids[start:min(start+upsertBatch, len(ids))])).Scan(ctx, &old)
		if err != nil {
			return false, classify(fmt.Errorf("memory: vectors replaced in %s: %w", index, err))
		}
		for _, o := range old {
			if want[o.ID] != [2]string{o.ResourceID, o.ThreadID} {
				return true, nil
			}
		}
	}
	return false, nil
}

// newEpoch gives the index a new epoch (Postgres): its vectors were
// deleted or moved.
func newEpoch(ctx context.Context, tx bun.Tx, sp VectorSpace, index string) error {
	_, err := tx.NewRaw(`UPDATE mastra_server_vector_indexes SET epoch = nextval('mastra_server_vectors_seq')
		WHERE store = ? AND namespace = ? AND name = ?`, sp.Store, sp.Namespace, index).Exec(ctx)
	if err != nil {
		return classify(fmt.Errorf("memory: new epoch of %s: %w", index, err))
	}
	return nil
}

// checkRecords checks vectors against an index's dimension, and their ids.
func checkRecords(recs []VectorRecord, dim int) error {
	seen := make(map[string]bool, len(recs))
	for i, r := range recs {
		if err := checkVector(r.Vector, dim); err != nil {
			return fmt.Errorf("vector %d: %w", i, err)
		}
		if r.ID == "" || seen[r.ID] {
			return fmt.Errorf("%w: vector %d: id %q is empty or repeated", ErrVectorMismatch, i, r.ID)
		}
		seen[r.ID] = true
	}
	return nil
}

// DeleteVectors removes vectors of an index by id; missing ones are
// skipped.
func (s *Store) DeleteVectors(ctx context.Context, sp VectorSpace, index string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	defer s.vcache.wrote(indexKey(sp, index))
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewRaw(`DELETE FROM mastra_server_vectors WHERE store = ? AND namespace = ? AND index_name = ? AND vector_id IN (?)`,
			sp.Store, sp.Namespace, index, bun.In(ids)).Exec(ctx)
		if err != nil {
			return classify(err)
		}
		if s.kind == "postgres" {
			return newEpoch(ctx, tx, sp, index)
		}
		return nil
	})
}

func checkVector(v []float32, dim int) error {
	if len(v) != dim {
		return fmt.Errorf("%w: %d dimensions, the index has %d", ErrVectorMismatch, len(v), dim)
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: a value is not a finite number", ErrVectorMismatch)
		}
	}
	return nil
}

// QueryVectors returns the index's nearest vectors to q.Vector that pass
// q.Filter, best first, scored as Mastra scores: cosine similarity,
// 1/(1+distance) for euclidean, the dot product for dotproduct.
func (s *Store) QueryVectors(ctx context.Context, sp VectorSpace, index string, q VectorQuery) ([]VectorHit, error) {
	if q.TopK < 1 {
		return nil, fmt.Errorf("%w: topK %d: expected at least 1", ErrVectorMismatch, q.TopK)
	}
	vf, err := parseVectorFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	if !validIndexName(index) {
		return nil, fmt.Errorf("%w: %s", ErrNoVectorIndex, index)
	}
	if on, err := s.pgRecall(ctx, sp); err != nil || on {
		if err != nil {
			return nil, err
		}
		return s.queryPgvector(ctx, sp, index, q, vf)
	}
	ix, err := s.vectorIndex(ctx, s.db, sp, index)
	if err != nil {
		return nil, err
	}
	if err := checkVector(q.Vector, ix.Dimension); err != nil {
		return nil, err
	}
	where := `store = ? AND namespace = ? AND index_name = ?`
	args := []any{sp.Store, sp.Namespace, index}
	if vf.resourceID != nil {
		where += ` AND resource_id = ?`
		args = append(args, *vf.resourceID)
	}
	if vf.threadID != nil {
		where += ` AND thread_id = ?`
		args = append(args, *vf.threadID)
	}
	return s.queryCached(ctx, ix, sp, vf, where, args, q)
}

// scanVectors reads the rows that pass where (and seq > after), handing
// each to each with its own copy of the vector. On Postgres the float4[]
// comes in binary and its bytes are read directly (pgx's generic array
// codec costs some 50 times more a value), which made a scan about 3 times
// faster than scoring in SQL with unnest, measured side by side.
func (s *Store) scanVectors(ctx context.Context, where string, args []any, after int64,
	each func(id, md string, n float64, seq int64, vec []float32)) error {
	where += ` AND seq > ?`
	args = append(args[:len(args):len(args)], after)
	const cols = `SELECT vector_id, metadata, embedding, norm, seq FROM mastra_server_vectors WHERE `
	if s.kind != "postgres" {
		rows, err := s.db.QueryContext(ctx, cols+where, args...)
		if err != nil {
			return classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id, md string
				emb    []byte
				n      float64
				seq    int64
			)
			if err := rows.Scan(&id, &md, &emb, &n, &seq); err != nil {
				return classify(err)
			}
			vec := make([]float32, len(emb)/4)
			for i := range vec {
				vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(emb[4*i:]))
			}
			each(id, md, n, seq, vec)
		}
		return classify(rows.Err())
	}
	// pgx numbers its parameters.
	var b strings.Builder
	n := 0
	for _, r := range where {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return classify(err)
	}
	defer conn.Close()
	return classify(conn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("memory: unexpected postgres driver %T", dc)
		}
		// Described first, so that results come in binary; unnamed
		// statements, as with PgBouncer.
		rows, err := c.Conn().Query(ctx, `SELECT vector_id, metadata::text, embedding, norm, seq FROM mastra_server_vectors WHERE `+b.String(),
			append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id, md string
				nrm    float64
				seq    int64
			)
			if err := rows.Scan(&id, &md, nil, &nrm, &seq); err != nil {
				return err
			}
			raw := rows.RawValues()[2]
			dim, ok := float4Array(raw)
			if !ok {
				continue // not a plain float4[]: not a vector of ours
			}
			vec := make([]float32, dim)
			for i := range vec {
				vec[i] = math.Float32frombits(binary.BigEndian.Uint32(raw[24+8*i:]))
			}
			each(id, md, nrm, seq, vec)
		}
		return rows.Err()
	}))
}

// float4Array checks a one-dimensional float4[] without nulls in
// Postgres's binary format (ndim, flags, element type, then per dimension
// its size and lower bound; then each element as a length, 4, and the
// value, big-endian) and returns its length. Reading the values straight
// from these bytes is some 50 times faster than pgx's generic array codec.
func float4Array(b []byte) (int, bool) {
	if len(b) < 12 || binary.BigEndian.Uint32(b) != 1 {
		return 0, len(b) >= 12 && binary.BigEndian.Uint32(b) == 0 // ndim 0: empty
	}
	if len(b) < 20 || binary.BigEndian.Uint32(b[8:]) != 700 { // float4's oid
		return 0, false
	}
	n := int(binary.BigEndian.Uint32(b[12:]))
	if n < 0 || len(b) != 20+8*n {
		return 0, false
	}
	for i := 0; i < n; i++ {
		if binary.BigEndian.Uint32(b[20+8*i:]) != 4 {
			return 0, false // a null
		}
	}
	return n, true
}

func scoreOf(metric string, dot, n, qn float64) float64 {
	switch metric {
	case MetricEuclidean:
		return 1 / (1 + math.Sqrt(math.Max(n*n+qn*qn-2*dot, 0)))
	case MetricDotProduct:
		return dot
	}
	if n == 0 || qn == 0 {
		return 0
	}
	return dot / (n * qn)
}

// better orders hits: higher score first, then id, as the SQL does.
func better(s1 float64, id1 string, s2 float64, id2 string) bool {
	if s1 != s2 {
		return s1 > s2
	}
	return id1 < id2
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// pgArray is v as a Postgres array literal, {1.5,-2,…}.
func pgArray(v []float32) string {
	b := make([]byte, 0, 12*len(v)+2)
	b = append(b, '{')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	}
	return string(append(b, '}'))
}

func parsePGArray(s string) ([]float32, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if s == "" {
		return []float32{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]float32, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 32)
		if err != nil {
			return nil, fmt.Errorf("reading the vector: %w", err)
		}
		out[i] = float32(f)
	}
	return out, nil
}

func blob(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// MessageRef names a message of a thread (a recall hit).
type MessageRef struct {
	ThreadID, MessageID string
}

// MessagesAround returns the messages hits name, with up to before
// messages ahead of each and after messages behind it in its thread, in
// two statements: the hits by id (those of resourceID's threads), then per
// hit two reads of the (thread_id, createdAt) index with a LIMIT, never a
// window over the table. The result has each message once, oldest first.
func (s *Store) MessagesAround(ctx context.Context, resourceID string, hits []MessageRef, before, after int) ([]Message, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	// The hits that are messages of the resource's threads, with their
	// times: one read by primary key.
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.MessageID
	}
	var found []struct {
		ID        string    `bun:"id"`
		ThreadID  string    `bun:"thread_id"`
		CreatedAt time.Time `bun:"createdAt"`
	}
	err := s.db.NewRaw(`SELECT m.id, m.thread_id, m."createdAt" FROM mastra_messages m
		WHERE m.id IN (?) AND m.thread_id IN (SELECT id FROM mastra_threads WHERE "resourceId" = ?)`,
		bun.In(ids), resourceID).Scan(ctx, &found)
	if err != nil {
		return nil, classify(fmt.Errorf("memory: load recalled messages: %w", err))
	}
	if len(found) == 0 {
		return nil, nil
	}
	const cols = `id, thread_id, content, role, type, "createdAt", "resourceId", "createdAtZ"`
	var q strings.Builder
	var args []any
	for i, h := range found {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		// The hit and those before it, newest first, then those after:
		// each a read of the (thread_id, createdAt) index with a LIMIT.
		fmt.Fprintf(&q, `SELECT * FROM (SELECT %s FROM mastra_messages WHERE thread_id = ? AND "createdAt" <= ?
			ORDER BY "createdAt" DESC LIMIT ?) b%d`, cols, i)
		args = append(args, h.ThreadID, h.CreatedAt, before+1)
		if after > 0 {
			fmt.Fprintf(&q, ` UNION ALL SELECT * FROM (SELECT %s FROM mastra_messages WHERE thread_id = ? AND "createdAt" > ?
				ORDER BY "createdAt" ASC LIMIT ?) a%d`, cols, i)
			args = append(args, h.ThreadID, h.CreatedAt, after)
		}
	}
	var rows []messageRow
	if err := s.db.NewRaw(q.String(), args...).Scan(ctx, &rows); err != nil {
		return nil, classify(fmt.Errorf("memory: load recalled messages: %w", err))
	}
	seen := make(map[string]bool, len(rows))
	out := make([]Message, 0, len(rows))
	for i := range rows {
		if !seen[rows[i].ID] {
			seen[rows[i].ID] = true
			out = append(out, rows[i].message())
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
