package memory

import (
	"container/list"
	"context"
	"fmt"
	"sync"
)

// Without pgvector a query scores every vector of the tenant, and reading
// them is most of its cost (6 KiB a 1536-dimension vector). So each
// instance keeps the tenants it queried lately in memory, and before a
// query asks the database, through the tenant's (…, seq) index, for the
// count of its rows and their largest seq: when both match what is held,
// nothing is read; when rows were written since, only those are read
// (seq > the largest held); when the count still differs (rows deleted, or
// written out of seq order) the tenant is read again whole. Every instance
// thus answers from what the database holds at the query, as without a
// cache. The cache holds at most maxVectorCache bytes of vectors, the
// least recently queried tenants leaving first.
//
// A resource's or thread's vectors on Postgres are checked more cheaply,
// without counting: see refreshTenant.
//
// On SQLite one process writes the file (as sqliteSeqs assumes), through
// this Store: every write bumps its index's generation here, after it
// commits, and a tenant read at the current generation is current
// without asking the database at all.

// maxVectorCache bounds the vectors an instance keeps (about 10,000
// vectors of 1536 dimensions a 64 MiB).
const maxVectorCache = 256 << 20

// tenantVectors are one tenant's vectors of one index, as of count rows
// and maxSeq: each as float32 (for exact scores) and as int8 codes in one
// contiguous array (for the first pass of topK, vectorscore.go).
type tenantVectors struct {
	mu     sync.Mutex // one refresh or query at a time
	key    string
	loaded bool
	dim    int
	stride int // code row length: dim padded to codeAlign
	count  int64
	maxSeq int64
	ids    []string
	md     []string // metadata JSON text
	norms  []float64
	vecs   [][]float32
	pos    map[string]int
	// codes holds row i at [i*stride, (i+1)*stride); scale, codeNorm,
	// resNorm and vecNorm are each row's (quantizeRow).
	codes                             []int8
	scale, codeNorm, resNorm, vecNorm []float64
	// scratch of topK, reused under mu
	ints   []int32
	lo, hi []float64
	scored int // vectors the last query scored exactly (tests)
	// gen is the index's generation (SQLite) the tenant was checked at;
	// epoch the index's epoch (Postgres, refreshTenant).
	gen, epoch int64
}

func (t *tenantVectors) bytes() int { return len(t.ids) * (t.dim*4 + t.stride + 240) }

func (t *tenantVectors) reset(dim int) {
	t.loaded, t.dim, t.stride, t.count, t.maxSeq = false, dim, codeStride(dim), 0, 0
	t.ids, t.md, t.norms, t.vecs, t.pos = nil, nil, nil, nil, map[string]int{}
	t.codes, t.scale, t.codeNorm, t.resNorm, t.vecNorm = nil, nil, nil, nil, nil
	t.ints, t.lo, t.hi = nil, nil, nil
}

func (t *tenantVectors) put(id, md string, n float64, seq int64, vec []float32) {
	i, ok := t.pos[id]
	if !ok {
		i = len(t.ids)
		t.pos[id] = i
		t.ids, t.md, t.norms, t.vecs = append(t.ids, id), append(t.md, md), append(t.norms, n), append(t.vecs, vec)
		t.codes = append(t.codes, make([]int8, t.stride)...)
		t.scale, t.codeNorm, t.resNorm, t.vecNorm = append(t.scale, 0), append(t.codeNorm, 0), append(t.resNorm, 0), append(t.vecNorm, 0)
	} else {
		t.md[i], t.norms[i], t.vecs[i] = md, n, vec
	}
	t.scale[i], t.codeNorm[i], t.resNorm[i], t.vecNorm[i] = quantizeRow(vec, t.codes[i*t.stride:(i+1)*t.stride])
	t.maxSeq = max(t.maxSeq, seq)
}

// vectorCache is the instance's LRU of tenants.
type vectorCache struct {
	mu    sync.Mutex
	order *list.List // front: most recent; values are *tenantVectors
	items map[string]*list.Element
	size  map[string]int
	bytes int
	// gens counts each index's writes through this Store (SQLite).
	gens map[string]int64
}

func indexKey(sp VectorSpace, index string) string {
	return sp.Store + "\x00" + sp.Namespace + "\x00" + index
}

// generation is the index's count of writes so far.
func (c *vectorCache) generation(ixKey string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[ixKey]
}

// wrote records a write to the index: call it after the write ends
// (committed or not), so that a query that saw the old generation
// checks the database again.
func (c *vectorCache) wrote(ixKey string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens == nil {
		c.gens = map[string]int64{}
	}
	c.gens[ixKey]++
}

func (c *vectorCache) get(key string) *tenantVectors {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.order, c.items, c.size = list.New(), map[string]*list.Element{}, map[string]int{}
	}
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*tenantVectors)
	}
	t := &tenantVectors{key: key, pos: map[string]int{}}
	c.items[key] = c.order.PushFront(t)
	return t
}

// resized records a tenant's new size and drops the least recently
// queried tenants while over the cap (never t itself).
func (c *vectorCache) resized(t *tenantVectors, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[t.key]; !ok {
		return
	}
	c.bytes += bytes - c.size[t.key]
	c.size[t.key] = bytes
	for c.bytes > maxVectorCache && c.order.Len() > 1 {
		last := c.order.Back()
		old := last.Value.(*tenantVectors)
		if old == t {
			break
		}
		c.order.Remove(last)
		delete(c.items, old.key)
		c.bytes -= c.size[old.key]
		delete(c.size, old.key)
	}
}

// queryCached answers q from the tenant's vectors, brought up to date.
func (s *Store) queryCached(ctx context.Context, ix VectorIndex, sp VectorSpace, vf vectorFilter, where string, args []any, q VectorQuery) ([]VectorHit, error) {
	ixKey := indexKey(sp, ix.Name)
	key := ixKey
	if vf.resourceID != nil {
		key += "\x00r\x00" + *vf.resourceID
	}
	if vf.threadID != nil {
		key += "\x00t\x00" + *vf.threadID
	}
	t := s.vcache.get(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	local := s.kind != "postgres"
	var gen int64
	if local {
		// Read before the check: a write that commits after it bumps
		// the generation past this one.
		gen = s.vcache.generation(ixKey)
		if t.loaded && t.dim == ix.Dimension && t.gen == gen {
			return t.topK(q, ix.Metric, vf)
		}
	}
	if !local && (vf.resourceID != nil || vf.threadID != nil) {
		if err := s.refreshTenant(ctx, t, ix, sp, where, args); err != nil {
			return nil, err
		}
		return t.topK(q, ix.Metric, vf)
	}
	var count, maxSeq int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(max(seq), 0) FROM mastra_server_vectors WHERE `+where, args...).
		Scan(&count, &maxSeq); err != nil {
		return nil, classify(fmt.Errorf("memory: query vectors of %s: %w", ix.Name, err))
	}
	if !t.loaded || t.dim != ix.Dimension || count < t.count || maxSeq < t.maxSeq {
		t.reset(ix.Dimension)
	}
	if !t.loaded || count != t.count || maxSeq != t.maxSeq {
		if err := s.refresh(ctx, t, where, args); err != nil {
			return nil, fmt.Errorf("memory: query vectors of %s: %w", ix.Name, err)
		}
		if int64(len(t.ids)) != count {
			// Rows deleted, or a write committed below the seq held:
			// read the tenant whole.
			t.reset(ix.Dimension)
			if err := s.refresh(ctx, t, where, args); err != nil {
				return nil, fmt.Errorf("memory: query vectors of %s: %w", ix.Name, err)
			}
		}
		t.count, t.loaded = int64(len(t.ids)), true
		s.vcache.resized(t, t.bytes())
	}
	t.gen = gen
	return t.topK(q, ix.Metric, vf)
}

// refreshTenant brings a resource's or thread's vectors up to date on
// Postgres from two index lookups: max(seq) of the tenant and the index's
// epoch. Writers of a tenant commit in seq order (lockTenants), so rows
// above the seq held are all that is new; deletes and moves to another
// tenant change the epoch, and the tenant is then read whole.
func (s *Store) refreshTenant(ctx context.Context, t *tenantVectors, ix VectorIndex, sp VectorSpace, where string, args []any) error {
	var maxSeq, epoch int64
	// ORDER BY … LIMIT 1, not max(): the planner reads one entry of the
	// (…, resource_id, seq) index backwards even without statistics (a
	// freshly filled table), where max() was seen scanning 10k entries.
	err := s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM mastra_server_vectors WHERE `+where+` ORDER BY seq DESC LIMIT 1), 0),
		coalesce((SELECT epoch FROM mastra_server_vector_indexes WHERE store = ? AND namespace = ? AND name = ?), 0)`,
		append(args[:len(args):len(args)], sp.Store, sp.Namespace, ix.Name)...).Scan(&maxSeq, &epoch)
	if err != nil {
		return classify(fmt.Errorf("memory: query vectors of %s: %w", ix.Name, err))
	}
	if !t.loaded || t.dim != ix.Dimension || epoch != t.epoch || maxSeq < t.maxSeq {
		t.reset(ix.Dimension)
	}
	if !t.loaded || maxSeq != t.maxSeq {
		if err := s.refresh(ctx, t, where, args); err != nil {
			return fmt.Errorf("memory: query vectors of %s: %w", ix.Name, err)
		}
		t.count, t.loaded = int64(len(t.ids)), true
		s.vcache.resized(t, t.bytes())
	}
	t.epoch = epoch
	return nil
}

// refresh reads the tenant's rows written after t.maxSeq into t.
func (s *Store) refresh(ctx context.Context, t *tenantVectors, where string, args []any) error {
	return s.scanVectors(ctx, where, args, t.maxSeq, func(id, md string, n float64, seq int64, vec []float32) {
		if len(vec) == t.dim {
			t.put(id, md, n, seq, vec)
		}
	})
}

// dot is the dot product of two vectors of the same length, in four
// float32 running sums (independent, so the CPU overlaps them; each sums a
// quarter of the terms, which keeps the rounding far below what ranks
// neighbours apart), added in float64.
func dot(a, b []float32) float64 {
	b = b[:len(a)] // one bounds check, not one a term
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64(s0) + float64(s1) + float64(s2) + float64(s3)
}

// sqliteSeqs reserves n write sequence numbers on SQLite (one process
// writes the file) and returns the one before the first.
func (s *Store) sqliteSeqs(ctx context.Context, n int) (int64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if !s.seqLoaded {
		var last int64
		if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM mastra_server_vectors`).Scan(&last); err != nil {
			return 0, classify(fmt.Errorf("memory: vector seq: %w", err))
		}
		s.seq, s.seqLoaded = last, true
	}
	first := s.seq
	s.seq += int64(n)
	return first, nil
}
