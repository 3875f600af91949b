package memory

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/uptrace/bun"
)

// Semantic recall on a Postgres with the pgvector extension keeps its
// vectors where @mastra/pg's PgVector keeps them, so that a Mastra app on
// the same database and this server recall each other's messages: one
// table per index (memory_messages, memory_messages_<dim>) of shape
// (id serial, vector_id text, embedding vector(dim), metadata jsonb,
// namespace varchar), the unique (namespace, vector_id) index, B-trees on
// metadata->>'thread_id' and ->>'resource_id' under Mastra's names, and an
// HNSW index (cosine, m = 8, ef_construction = 32) named <index>_vector_idx.
// Only the recall space (store "") goes there; [vectors.*] stores keep
// mastra_server_vectors in every mode.
//
// A recall query filters by the plain equality metadata->>'resource_id' =
// $1 (never Mastra's CASE, which a generic plan turns into a sequential
// scan) and orders by the cosine distance with a LIMIT. On a table with
// an HNSW index it orders by the distance alone, so that Postgres walks
// the index instead of scoring every row of the tenant, inside a
// transaction that sets hnsw.ef_search and, on pgvector 0.8 or later,
// hnsw.iterative_scan = relaxed_order: without it the index yields its
// ef_search nearest rows of all tenants and the tenant filter can leave
// fewer than top-k of them, or none. Ties and the relaxed order are put
// right in Go. An answer short of top-k is asked again exactly. Without an HNSW index (flat, IVFFlat) the query stays
// exact, as it was.

// Recall modes, as RecallMode reports them.
const (
	RecallPgvector = "pgvector"
	RecallTable    = "table"
	RecallSQLite   = "sqlite"
)

// Mastra's metadata index names: "<index>_md_<xxh32(field), hex>_idx".
const (
	mdThreadHash   = "57d95f6b" // xxh32("thread_id")
	mdResourceHash = "5a823b81" // xxh32("resource_id")
)

// pgvectorState is what the store learnt of the extension.
type pgvectorState struct {
	mu      sync.Mutex
	checked bool
	on      bool
	// iterative is whether the extension has hnsw.iterative_scan (0.8+).
	iterative bool
	// dims caches the dimension of each recall table known to exist.
	dims sync.Map // index name → int
	// ann caches each table's cosine approximate index: "hnsw",
	// "ivfflat" or "" (none).
	ann sync.Map // index name → string
	// efSearch is each table's configured hnsw.ef_search (the last
	// CreateRecallIndex with one wins).
	efSearch sync.Map // index name → int
}

// RecallMode reports where semantic recall keeps its vectors:
// RecallPgvector (Mastra's tables), RecallTable (mastra_server_vectors on
// a Postgres without the extension, or with Options.NoPgvector) or
// RecallSQLite. On Postgres the first call looks for the extension and
// creates it when the database offers it; the answer is kept once known.
func (s *Store) RecallMode(ctx context.Context) (string, error) {
	if s.kind == "sqlite" {
		return RecallSQLite, nil
	}
	on, err := s.usePgvector(ctx)
	if err != nil {
		return "", err
	}
	if on {
		return RecallPgvector, nil
	}
	return RecallTable, nil
}

func (s *Store) usePgvector(ctx context.Context) (bool, error) {
	if s.kind != "postgres" || s.noPgvector {
		return false, nil
	}
	p := &s.pgv
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.checked {
		return p.on, nil
	}
	var installed, available bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&installed, &available)
	if err != nil {
		return false, classify(fmt.Errorf("memory: look for pgvector: %w", err))
	}
	if !installed && available {
		// Mastra's PgVector creates it too; without the privilege the
		// server stays on its own table.
		if _, err := s.db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS vector`); err == nil {
			installed = true
		} else if errors.Is(classify(err), ErrUnavailable) {
			return false, classify(err)
		}
	}
	if installed {
		var version string
		if err := s.db.QueryRowContext(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&version); err != nil {
			return false, classify(fmt.Errorf("memory: pgvector version: %w", err))
		}
		p.iterative = versionAtLeast(version, 0, 8)
	}
	p.checked, p.on = true, installed
	return installed, nil
}

// versionAtLeast reports whether an extversion "major.minor[.patch]" is
// at least major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	ma, err1 := strconv.Atoi(parts[0])
	mi := 0
	var err2 error
	if len(parts) > 1 {
		mi, err2 = strconv.Atoi(parts[1])
	}
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// pgRecall reports whether sp is the recall space and goes to pgvector.
func (s *Store) pgRecall(ctx context.Context, sp VectorSpace) (bool, error) {
	if sp.Store != "" || s.kind != "postgres" {
		return false, nil
	}
	return s.usePgvector(ctx)
}

// quoteIdent quotes a checked index name.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// mdIndexName is Mastra's name of a metadata index of table name.
func mdIndexName(name, hash string) string {
	prefix := name
	if n := 63 - len("_md__idx") - len(hash); len(prefix) > n {
		prefix = prefix[:n]
	}
	return prefix + "_md_" + hash + "_idx"
}

// maxHNSWDims is the most dimensions pgvector's HNSW indexes a vector of.
const maxHNSWDims = 2000

func (s *Store) createPgvectorIndex(ctx context.Context, sp VectorSpace, name string, dim int, cfg IndexConfig) error {
	if cfg.EfSearch > 0 {
		s.pgv.efSearch.Store(name, cfg.EfSearch)
	}
	if d, ok := s.pgv.dims.Load(name); ok {
		if d.(int) != dim {
			return fmt.Errorf("%w: index %s exists with dimension %d, not %d", ErrVectorMismatch, name, d, dim)
		}
		return nil
	}
	t := quoteIdent(name)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			id SERIAL PRIMARY KEY,
			vector_id TEXT NOT NULL,
			embedding vector(` + strconv.Itoa(dim) + `),
			metadata JSONB DEFAULT '{}'::jsonb,
			namespace VARCHAR(255) NOT NULL DEFAULT 'default')`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + quoteIdent(name+"_namespace_vector_id_idx") + ` ON ` + t + ` (namespace, vector_id)`,
		// Outside a transaction, as Mastra builds them: a table in use
		// keeps taking writes.
		`CREATE INDEX CONCURRENTLY IF NOT EXISTS ` + quoteIdent(mdIndexName(name, mdThreadHash)) + ` ON ` + t + ` ((metadata->>'thread_id'))`,
		`CREATE INDEX CONCURRENTLY IF NOT EXISTS ` + quoteIdent(mdIndexName(name, mdResourceHash)) + ` ON ` + t + ` ((metadata->>'resource_id'))`,
	}
	if ann := annIndex(cfg); ann != "" && dim <= maxHNSWDims {
		stmts = append(stmts, `CREATE INDEX CONCURRENTLY IF NOT EXISTS `+quoteIdent(name+"_vector_idx")+` ON `+t+ann)
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return classify(fmt.Errorf("memory: create recall table %s: %w", name, err))
		}
	}
	got, err := s.pgvectorDim(ctx, name)
	if err != nil {
		return err
	}
	if got != dim {
		return fmt.Errorf("%w: index %s exists with dimension %d, not %d", ErrVectorMismatch, name, got, dim)
	}
	s.pgv.dims.Store(name, dim)
	s.pgv.ann.Delete(name) // look again: this call may have made it
	return nil
}

// pgvectorANN is the access method of a recall table's cosine
// approximate index ("hnsw", "ivfflat"), "" when it has none.
func (s *Store) pgvectorANN(ctx context.Context, name string) (string, error) {
	if a, ok := s.pgv.ann.Load(name); ok {
		return a.(string), nil
	}
	var am string
	err := s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT am.amname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		JOIN pg_opclass o ON o.oid = i.indclass[0] AND o.opcname = 'vector_cosine_ops'
		WHERE i.indrelid = to_regclass(?) AND am.amname IN ('hnsw', 'ivfflat')
		ORDER BY am.amname = 'hnsw' DESC LIMIT 1), '')`, quoteIdent(name)).Scan(&am)
	if err != nil {
		return "", classify(fmt.Errorf("memory: recall table %s: index: %w", name, err))
	}
	s.pgv.ann.Store(name, am)
	return am, nil
}

// efSearch is the hnsw.ef_search of a query of topK on table name: the
// configured one, else pgvector's 40 raised to topK; at most pgvector's
// 1000 (iterative scan goes on past it).
func (s *Store) efSearch(name string, topK int) int {
	ef := max(40, topK)
	if v, ok := s.pgv.efSearch.Load(name); ok {
		ef = v.(int)
	}
	return min(ef, 1000)
}

// pgvectorDim reads a recall table's dimension (the typmod of its
// embedding column); ErrNoVectorIndex when there is no such table.
func (s *Store) pgvectorDim(ctx context.Context, name string) (int, error) {
	if d, ok := s.pgv.dims.Load(name); ok {
		return d.(int), nil
	}
	var dim *int
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT atttypmod FROM pg_attribute WHERE attrelid = c.oid AND attname = 'embedding')
		FROM pg_class c WHERE c.oid = to_regclass(?)`, quoteIdent(name)).Scan(&dim)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && dim == nil) {
		return 0, fmt.Errorf("%w: %s", ErrNoVectorIndex, name)
	}
	if err != nil {
		return 0, classify(fmt.Errorf("memory: recall table %s: %w", name, err))
	}
	s.pgv.dims.Store(name, *dim)
	return *dim, nil
}

// annIndex is the USING clause of a recall table's approximate index, ""
// for none (flat). Values are numbers the caller checked (CheckIndexConfig).
func annIndex(cfg IndexConfig) string {
	switch cfg = cfg.Effective(); cfg.Type {
	case "flat":
		return ""
	case "ivfflat":
		return fmt.Sprintf(" USING ivfflat (embedding vector_cosine_ops) WITH (lists = %d)", cfg.Lists)
	}
	return fmt.Sprintf(" USING hnsw (embedding vector_cosine_ops) WITH (m = %d, ef_construction = %d)", cfg.M, cfg.EfConstruction)
}

// Effective is cfg with its defaults filled in and the settings its type
// does not use cleared, so two configs that build the same index and
// query it the same way are equal. EfSearch stays 0 when unset: max(40,
// topK), per query.
func (cfg IndexConfig) Effective() IndexConfig {
	switch cfg.Type {
	case "flat":
		return IndexConfig{Type: "flat"}
	case "ivfflat":
		return IndexConfig{Type: "ivfflat", Lists: cmp.Or(cfg.Lists, 100)}
	}
	return IndexConfig{Type: "hnsw", M: cmp.Or(cfg.M, 8), EfConstruction: cmp.Or(cfg.EfConstruction, 32), EfSearch: cfg.EfSearch}
}

// String is cfg as a config reader would write it, for errors.
func (cfg IndexConfig) String() string {
	switch cfg = cfg.Effective(); cfg.Type {
	case "flat":
		return `type "flat"`
	case "ivfflat":
		return fmt.Sprintf(`type "ivfflat", lists %d`, cfg.Lists)
	}
	ef := "unset"
	if cfg.EfSearch > 0 {
		ef = strconv.Itoa(cfg.EfSearch)
	}
	return fmt.Sprintf(`type "hnsw", m %d, ef_construction %d, ef_search %s`, cfg.M, cfg.EfConstruction, ef)
}

// CheckIndexConfig checks cfg against pgvector's limits.
func CheckIndexConfig(cfg IndexConfig) error {
	m, ef := cmp.Or(cfg.M, 8), cmp.Or(cfg.EfConstruction, 32)
	switch {
	case cfg.Type != "" && cfg.Type != "hnsw" && cfg.Type != "ivfflat" && cfg.Type != "flat":
		return fmt.Errorf("type %q: expected \"hnsw\", \"ivfflat\" or \"flat\"", cfg.Type)
	case m < 2 || m > 100:
		return fmt.Errorf("m = %d: expected 2 to 100", m)
	case ef < 4 || ef > 1000 || ef < 2*m:
		return fmt.Errorf("ef_construction = %d: expected 4 to 1000 and at least 2 × m", ef)
	case cfg.Lists < 0 || cfg.Lists > 32768:
		return fmt.Errorf("lists = %d: expected 1 to 32768", cfg.Lists)
	case cfg.EfSearch < 0 || cfg.EfSearch > 1000:
		return fmt.Errorf("ef_search = %d: expected 1 to 1000", cfg.EfSearch)
	}
	return nil
}

// vectorLiteral is v as pgvector's text form, [1.5,-2,…].
func vectorLiteral(v []float32) string {
	b := make([]byte, 0, 12*len(v)+2)
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	}
	return string(append(b, ']'))
}

func (s *Store) upsertPgvector(ctx context.Context, sp VectorSpace, name string, recs []VectorRecord) error {
	dim, err := s.pgvectorDim(ctx, name)
	if err != nil {
		return err
	}
	if err := checkRecords(recs, dim); err != nil {
		return err
	}
	for start := 0; start < len(recs); start += upsertBatch {
		batch := recs[start:min(start+upsertBatch, len(recs))]
		var q strings.Builder
		q.WriteString(`INSERT INTO ` + quoteIdent(name) + ` (vector_id, embedding, metadata, namespace) VALUES `)
		args := make([]any, 0, 4*len(batch))
		for i, r := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			md, err := json.Marshal(nonNilMap(r.Metadata))
			if err != nil {
				return fmt.Errorf("%w: metadata of %s: %v", ErrVectorMismatch, r.ID, err)
			}
			q.WriteString("(?, ?::vector, ?::jsonb, ?)")
			args = append(args, r.ID, vectorLiteral(r.Vector), string(md), sp.Namespace)
		}
		q.WriteString(` ON CONFLICT (namespace, vector_id) DO UPDATE SET embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata`)
		if _, err := s.db.ExecContext(ctx, q.String(), args...); err != nil {
			return classify(fmt.Errorf("memory: upsert into %s: %w", name, err))
		}
	}
	return nil
}

func (s *Store) queryPgvector(ctx context.Context, sp VectorSpace, name string, q VectorQuery, vf vectorFilter) ([]VectorHit, error) {
	dim, err := s.pgvectorDim(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := checkVector(q.Vector, dim); err != nil {
		return nil, err
	}
	ann, err := s.pgvectorANN(ctx, name)
	if err != nil {
		return nil, err
	}
	// The index serves a LIMIT on the distance order; a filter the SQL
	// cannot say (vf.rest) needs every row, and a tenant filter without
	// iterative scan could starve, so both stay exact.
	scoped := vf.resourceID != nil || vf.threadID != nil
	if ann == "hnsw" && vf.rest == nil && (!scoped || s.pgv.iterative) {
		hits, err := s.queryPgvectorHNSW(ctx, sp, name, q, vf)
		if err != nil {
			return nil, err
		}
		// Iterative scan can still stop short of top-k rows of a tenant
		// whose rows the graph links poorly to the query's neighbourhood
		// (seen on pgvector 0.8.7 with one tenant's rows all nearer than
		// another's); a short answer may also mean the scope holds fewer
		// rows. Either way the exact query says which, cheaply for the
		// small scopes that cause it.
		if len(hits) == q.TopK {
			if q.MinScore != nil {
				hits = slices.DeleteFunc(hits, func(h VectorHit) bool { return h.Score <= *q.MinScore })
			}
			return hits, nil
		}
	}
	lit := vectorLiteral(q.Vector)
	sqlText, args := pgvectorSelect(name, sp, q, vf, lit)
	if q.MinScore != nil {
		sqlText += ` AND 1 - (embedding <=> ?::vector) > ?`
		args = append(args, lit, *q.MinScore)
	}
	// Ordered by the score, not by the distance operator: Postgres can
	// read "<=>, vector_id" off an HNSW or IVFFlat index (an incremental
	// sort over the index scan) and that plan, with no iterative scan,
	// returns none of a tenant whose rows are all farther than ef_search
	// rows of others. The score it cannot, so this stays exact. vector_id
	// breaks ties, so that equal scores come back in one order.
	sqlText += ` ORDER BY score DESC, vector_id`
	if vf.rest == nil {
		sqlText += ` LIMIT ?`
		args = append(args, q.TopK)
	}
	rows, err := s.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("memory: query %s: %w", name, err))
	}
	return scanPgvectorHits(name, rows, q, vf.rest)
}

// pgvectorSelect is a recall query up to its WHERE's scope equalities.
func pgvectorSelect(name string, sp VectorSpace, q VectorQuery, vf vectorFilter, lit string) (string, []any) {
	vecCol := `''`
	if q.IncludeVector {
		vecCol = `embedding::text`
	}
	sqlText := `SELECT vector_id, metadata::text, ` + vecCol + `, 1 - (embedding <=> ?::vector) AS score FROM ` + quoteIdent(name) +
		` WHERE namespace = ?`
	args := []any{lit, sp.Namespace}
	// Plain equalities: the B-trees serve them under any plan.
	if vf.resourceID != nil {
		sqlText += ` AND metadata->>'resource_id' = ?`
		args = append(args, *vf.resourceID)
	}
	if vf.threadID != nil {
		sqlText += ` AND metadata->>'thread_id' = ?`
		args = append(args, *vf.threadID)
	}
	return sqlText, args
}

// queryPgvectorHNSW is a recall query through the HNSW index: ORDER BY
// the distance alone (a second key would make Postgres sort every row),
// in a read-only transaction whose SET LOCALs end with it. The caller
// applies q.MinScore.
func (s *Store) queryPgvectorHNSW(ctx context.Context, sp VectorSpace, name string, q VectorQuery, vf vectorFilter) ([]VectorHit, error) {
	sqlText, args := hnswRecallSQL(name, sp, q, vf)
	tx, err := s.hnswTx(ctx, name, q.TopK)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("memory: query %s: %w", name, err))
	}
	hits, err := scanPgvectorHits(name, rows, q, nil)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, classify(fmt.Errorf("memory: query %s: %w", name, err))
	}
	slices.SortStableFunc(hits, func(a, b VectorHit) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.ID, b.ID))
	})
	return hits, nil
}

// hnswRecallSQL is the recall query that the HNSW index serves.
func hnswRecallSQL(name string, sp VectorSpace, q VectorQuery, vf vectorFilter) (string, []any) {
	lit := vectorLiteral(q.Vector)
	sqlText, args := pgvectorSelect(name, sp, q, vf, lit)
	// The score threshold is applied in Go: it keeps a prefix of the
	// distance order, and in the SQL it would make iterative scan walk
	// the whole index when few rows pass.
	return sqlText + ` ORDER BY embedding <=> ?::vector LIMIT ?`, append(args, lit, q.TopK)
}

// hnswTx begins the read-only transaction of an HNSW query of topK on
// table name, its hnsw settings made local to it.
func (s *Store) hnswTx(ctx context.Context, name string, topK int) (bun.Tx, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return tx, classify(fmt.Errorf("memory: query %s: %w", name, err))
	}
	set := `SELECT set_config('hnsw.ef_search', ?, true)`
	if s.pgv.iterative {
		// relaxed_order: the scan goes on past ef_search until LIMIT rows
		// pass the filter; the caller puts the order right.
		set += `, set_config('hnsw.iterative_scan', 'relaxed_order', true)`
	}
	if _, err := tx.ExecContext(ctx, set, strconv.Itoa(s.efSearch(name, topK))); err != nil {
		tx.Rollback()
		return tx, classify(fmt.Errorf("memory: query %s: set hnsw: %w", name, err))
	}
	return tx, nil
}

// scanPgvectorHits reads up to q.TopK hits that pass rest (nil: all) and
// closes rows.
func scanPgvectorHits(name string, rows *sql.Rows, q VectorQuery, rest func(map[string]any) bool) ([]VectorHit, error) {
	defer rows.Close()
	var hits []VectorHit
	for rows.Next() && len(hits) < q.TopK {
		var (
			h       VectorHit
			md, vec string
			err     error
		)
		if err := rows.Scan(&h.ID, &md, &vec, &h.Score); err != nil {
			return nil, classify(fmt.Errorf("memory: query %s: %w", name, err))
		}
		if err := json.Unmarshal([]byte(md), &h.Metadata); err != nil {
			return nil, fmt.Errorf("memory: vector %s: metadata: %w", h.ID, err)
		}
		if rest != nil && !rest(h.Metadata) {
			continue
		}
		if q.IncludeVector {
			if h.Vector, err = parsePGArray("{" + strings.Trim(vec, "[]") + "}"); err != nil {
				return nil, fmt.Errorf("memory: vector %s: %w", h.ID, err)
			}
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("memory: query %s: %w", name, err))
	}
	return hits, nil
}

func (s *Store) countPgvector(ctx context.Context, sp VectorSpace, name string) (VectorIndex, error) {
	dim, err := s.pgvectorDim(ctx, name)
	if err != nil {
		return VectorIndex{}, err
	}
	ix := VectorIndex{Name: name, Dimension: dim, Metric: MetricCosine}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(name)+` WHERE namespace = ?`, sp.Namespace).Scan(&ix.Count); err != nil {
		return VectorIndex{}, classify(fmt.Errorf("memory: count %s: %w", name, err))
	}
	return ix, nil
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
