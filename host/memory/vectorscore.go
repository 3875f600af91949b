package memory

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Scoring a cached tenant: an exact top-k in two passes. Reading every
// float32 vector of a large tenant (6 KiB each at 1536 dimensions) takes
// longer than the arithmetic, so each vector is also held quantized: int8
// codes c (one scale s per vector, v = s·c + r with |r| ≤ s/2 per
// dimension), a quarter of the bytes. The first pass takes the integer dot
// product of every code row with the query's int16 codes (SIMD on amd64,
// vectordot_amd64.s) and from it a lower and an upper bound of each
// vector's exact score; the second scores exactly, with the float32
// vectors, only those whose upper bound can reach the k-th best lower
// bound, best bound first, and stops as soon as no bound left can beat
// the k-th exact hit. The result is the exact top k, the same as scoring
// every vector exactly: only the bounds are approximate, and they are
// proven, not estimated (see bounds).

// codeAlign pads code rows to a multiple of 32 bytes (the SIMD step); the
// padding is zero and adds nothing to a dot product.
const codeAlign = 32

func codeStride(dim int) int { return (dim + codeAlign - 1) / codeAlign * codeAlign }

// quantizeRow writes v's int8 codes into row (len ≥ len(v), the rest
// left zero) and returns its scale, the lengths of its codes and of its
// rounding residual, and v's own length, all in float64.
func quantizeRow(v []float32, row []int8) (scale, codeNorm, residualNorm, vecNorm float64) {
	var maxAbs float64
	for _, x := range v {
		maxAbs = max(maxAbs, math.Abs(float64(x)))
	}
	clear(row)
	if maxAbs == 0 {
		return 0, 0, 0, 0
	}
	scale = maxAbs / 127
	var c2, r2, v2 float64
	for j, x := range v {
		c := math.Max(-127, math.Min(127, math.Round(float64(x)/scale)))
		row[j] = int8(c)
		r := float64(x) - scale*c
		c2 += c * c
		r2 += r * r
		v2 += float64(x) * float64(x)
	}
	return scale, math.Sqrt(c2), math.Sqrt(r2), math.Sqrt(v2)
}

// quantizeQuery returns q's int16 codes padded to stride, their scale and
// the length of the rounding residual. The largest code is small enough
// that no sum of dim products with int8 codes overflows an int32.
func quantizeQuery(q []float32, stride int) (codes []int16, scale, residualNorm float64) {
	codes = make([]int16, stride)
	var maxAbs float64
	for _, x := range q {
		maxAbs = max(maxAbs, math.Abs(float64(x)))
	}
	if maxAbs == 0 {
		return codes, 0, 0
	}
	maxCode := float64(min(32767, math.MaxInt32/(127*max(len(q), 1))))
	scale = maxAbs / maxCode
	var r2 float64
	for j, x := range q {
		c := math.Max(-maxCode, math.Min(maxCode, math.Round(float64(x)/scale)))
		codes[j] = int16(c)
		r := float64(x) - scale*c
		r2 += r * r
	}
	return codes, scale, math.Sqrt(r2)
}

// dotsInt8Go is dotsInt8 without SIMD.
func dotsInt8Go(q []int16, codes []int8, stride int, out []int32) {
	for i := range out {
		row := codes[i*stride : i*stride+stride]
		q := q[:len(row)]
		var s0, s1, s2, s3 int32
		for j := 0; j+4 <= len(row); j += 4 {
			s0 += int32(q[j]) * int32(row[j])
			s1 += int32(q[j+1]) * int32(row[j+1])
			s2 += int32(q[j+2]) * int32(row[j+2])
			s3 += int32(q[j+3]) * int32(row[j+3])
		}
		out[i] = s0 + s1 + s2 + s3
	}
}

// bounds sets lo[i] and hi[i] to a lower and an upper bound of vector i's
// score as topKExact computes it: scoreOf of dot(q, v) in float32 (D).
// With v = s·c + r and q = sq·cq + rq (codes c, cq; residuals r, rq):
//
//	q·v = s·sq·(cq·c) + s·(rq·c) + q·r
//
// so |q·v − s·sq·I| ≤ s·|rq|·|c| + |q|·|r| (Cauchy–Schwarz), I the
// integer dot product; and D differs from q·v by at most γ·|q|·|v|, the
// rounding of float32 sums of dim/4 products (γ = (dim/4 + 8)·2⁻²⁴,
// generous). A relative 1e-9 covers the float64 arithmetic here. Every
// metric's score only grows with the dot product, rounding included, so
// scoring the dot's bounds bounds the score.
func (t *tenantVectors) bounds(metric string, ints []int32, sq, rqn, qn float64, lo, hi []float64) {
	gamma := (float64(t.dim)/4 + 8) * 0x1p-24
	for i, I := range ints {
		est := t.scale[i] * sq * float64(I)
		e := t.scale[i]*rqn*t.codeNorm[i] + qn*t.resNorm[i] + gamma*qn*t.vecNorm[i]
		e += 1e-9 * (math.Abs(est) + e)
		lo[i] = scoreOf(metric, est-e, t.norms[i], qn)
		hi[i] = scoreOf(metric, est+e, t.norms[i], qn)
	}
}

// kthLargest returns the k-th largest of xs (1 ≤ k ≤ len(xs)).
func kthLargest(xs []float64, k int) float64 {
	h := make(minFloats, 0, k)
	for _, x := range xs {
		switch {
		case len(h) < k:
			heap.Push(&h, x)
		case x > h[0]:
			h[0] = x
			heap.Fix(&h, 0)
		}
	}
	return h[0]
}

type minFloats []float64

func (h minFloats) Len() int           { return len(h) }
func (h minFloats) Less(i, j int) bool { return h[i] < h[j] }
func (h minFloats) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minFloats) Push(x any)        { *h = append(*h, x.(float64)) }
func (h *minFloats) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// scored is a kept hit: its exact score and the vector's position.
type scored struct {
	score float64
	id    string
	i     int
}

// scoredHeap is a min-heap: the worst kept hit on top.
type scoredHeap []scored

func (h scoredHeap) Len() int           { return len(h) }
func (h scoredHeap) Less(i, j int) bool { return better(h[j].score, h[j].id, h[i].score, h[i].id) }
func (h scoredHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *scoredHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *scoredHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// topK scores the held vectors and keeps the best q.TopK that pass the
// filter, best first: exact, through the quantized bounds.
func (t *tenantVectors) topK(q VectorQuery, metric string, vf vectorFilter) ([]VectorHit, error) {
	n := len(t.ids)
	if n == 0 {
		return []VectorHit{}, nil
	}
	qc, sq, rqn := quantizeQuery(q.Vector, t.stride)
	qn := norm(q.Vector)
	if cap(t.ints) < n {
		t.ints, t.lo, t.hi = make([]int32, n), make([]float64, n), make([]float64, n)
	}
	ints, lo, hi := t.ints[:n], t.lo[:n], t.hi[:n]
	t.scored = 0
	dotsInt8(qc, t.codes, t.stride, ints)
	t.bounds(metric, ints, sq, rqn, qn, lo, hi)
	tau := kthLargest(lo, min(q.TopK, n))

	top := make(scoredHeap, 0, q.TopK+1)
	mds := map[int]map[string]any{}
	var decodeErr error
	// consider scores the vectors of order, best bound first, until no
	// bound left can enter the top; false when it stopped early, which
	// means nothing after order can enter either.
	consider := func(order []int) bool {
		sort.Slice(order, func(a, b int) bool { return hi[order[a]] > hi[order[b]] })
		for _, i := range order {
			if len(top) == q.TopK && hi[i] < top[0].score {
				return false
			}
			if q.MinScore != nil && !(hi[i] > *q.MinScore) {
				return false
			}
			score := scoreOf(metric, dot(q.Vector, t.vecs[i]), t.norms[i], qn)
			t.scored++
			if q.MinScore != nil && !(score > *q.MinScore) {
				continue
			}
			if len(top) == q.TopK && !better(score, t.ids[i], top[0].score, top[0].id) {
				continue
			}
			if vf.rest != nil {
				md, err := t.metadata(i)
				if err != nil {
					decodeErr = err
					return false
				}
				if !vf.rest(md) {
					continue
				}
				mds[i] = md
			}
			heap.Push(&top, scored{score, t.ids[i], i})
			if len(top) > q.TopK {
				heap.Pop(&top)
			}
		}
		return true
	}
	var first []int
	for i := range n {
		if hi[i] >= tau {
			first = append(first, i)
		}
	}
	// Every other vector has a bound below tau: only when phase one ran
	// out without a full top whose worst reaches tau (the filter or
	// minScore dropped some) may they still hold hits.
	if consider(first) && decodeErr == nil && len(first) < n && !(len(top) == q.TopK && top[0].score >= tau) &&
		!(q.MinScore != nil && tau <= *q.MinScore) {
		rest := make([]int, 0, n-len(first))
		for i := range n {
			if hi[i] < tau {
				rest = append(rest, i)
			}
		}
		consider(rest)
	}
	if decodeErr != nil {
		return nil, decodeErr
	}
	hits := make([]VectorHit, len(top))
	for j := len(hits) - 1; j >= 0; j-- {
		s := heap.Pop(&top).(scored)
		h := VectorHit{ID: s.id, Score: s.score, Metadata: mds[s.i]}
		if h.Metadata == nil {
			md, err := t.metadata(s.i)
			if err != nil {
				return nil, err
			}
			h.Metadata = md
		}
		if q.IncludeVector {
			h.Vector = append([]float32(nil), t.vecs[s.i]...)
		}
		hits[j] = h
	}
	return hits, nil
}

func (t *tenantVectors) metadata(i int) (map[string]any, error) {
	var md map[string]any
	if err := json.Unmarshal([]byte(t.md[i]), &md); err != nil {
		return nil, fmt.Errorf("memory: vector %s: metadata: %w", t.ids[i], err)
	}
	return md, nil
}
