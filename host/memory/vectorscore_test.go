package memory

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// topKExact is topK scoring every vector exactly: the reference the
// tests hold topK to.
func (t *tenantVectors) topKExact(q VectorQuery, metric string, vf vectorFilter) ([]VectorHit, error) {
	qn := norm(q.Vector)
	top := &hitHeap{}
	for i, v := range t.vecs {
		score := scoreOf(metric, dot(q.Vector, v), t.norms[i], qn)
		if q.MinScore != nil && !(score > *q.MinScore) {
			continue
		}
		id := t.ids[i]
		if top.Len() == q.TopK && !better(score, id, (*top)[0].Score, (*top)[0].ID) {
			continue
		}
		h := VectorHit{ID: id, Score: score}
		if err := json.Unmarshal([]byte(t.md[i]), &h.Metadata); err != nil {
			return nil, fmt.Errorf("memory: vector %s: metadata: %w", id, err)
		}
		if vf.rest != nil && !vf.rest(h.Metadata) {
			continue
		}
		if q.IncludeVector {
			h.Vector = append([]float32(nil), v...)
		}
		heap.Push(top, h)
		if top.Len() > q.TopK {
			heap.Pop(top)
		}
	}
	hits := make([]VectorHit, top.Len())
	for i := len(hits) - 1; i >= 0; i-- {
		hits[i] = heap.Pop(top).(VectorHit)
	}
	return hits, nil
}

// hitHeap is a min-heap of hits: the worst kept hit on top.
type hitHeap []VectorHit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j].Score, h[j].ID, h[i].Score, h[i].ID) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(VectorHit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// The SIMD kernel and the Go loop agree on every row, including the
// largest codes of both signs.
func TestDotsInt8MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, stride := range []int{32, 64, 1536, 3072} {
		for _, n := range []int{0, 1, 7, 100} {
			q := make([]int16, stride)
			maxQ := math.MaxInt32 / (127 * stride)
			for j := range q {
				q[j] = int16(rng.IntN(2*min(maxQ, 32767)+1) - min(maxQ, 32767))
			}
			codes := make([]int8, n*stride)
			for j := range codes {
				codes[j] = int8(rng.IntN(255) - 127)
			}
			if n > 0 {
				for j := range stride { // the extremes
					codes[j], q[j] = 127, int16(min(maxQ, 32767))
				}
			}
			got, want := make([]int32, n), make([]int32, n)
			dotsInt8(q, codes, stride, got)
			dotsInt8Go(q, codes, stride, want)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("stride %d, row %d: %d; want %d", stride, i, got[i], want[i])
				}
			}
		}
	}
}

// tenantOf holds vecs as a cached tenant does.
func tenantOf(dim int, vecs [][]float32) *tenantVectors {
	t := &tenantVectors{}
	t.reset(dim)
	for i, v := range vecs {
		md, _ := json.Marshal(map[string]any{"n": i, "even": i%2 == 0, "tenth": i%10 == 0})
		t.put(fmt.Sprintf("v%05d", i), string(md), norm(v), int64(i+1), v)
	}
	return t
}

// Hard cases for the bounds: duplicates (ties broken by id), near
// duplicates, zero vectors, a spike that makes one dimension's scale
// large, tiny and huge magnitudes.
func hardVectors(rng *rand.Rand, dim, n int) [][]float32 {
	base := make([]float32, dim)
	for j := range base {
		base[j] = float32(rng.NormFloat64())
	}
	vecs := make([][]float32, n)
	for i := range vecs {
		v := make([]float32, dim)
		switch i % 7 {
		case 0:
			copy(v, base) // exact duplicates
		case 1:
			for j := range v {
				v[j] = base[j] + float32(rng.NormFloat64()*1e-4)
			}
		case 2:
			if i%14 == 2 {
				break // zero vector
			}
			v[rng.IntN(dim)] = 1000
			for j := range v {
				v[j] += float32(rng.NormFloat64())
			}
		case 3:
			for j := range v {
				v[j] = float32(rng.NormFloat64() * 1e-20)
			}
		case 4:
			for j := range v {
				v[j] = float32(rng.NormFloat64() * 1e15)
			}
		default:
			for j := range v {
				v[j] = float32(rng.NormFloat64())
			}
		}
		vecs[i] = v
	}
	return vecs
}

// topK (quantized bounds, then exact scores) returns what scoring every
// vector exactly returns, hit for hit and score for score: every metric,
// top k from 1 past the tenant's size, with and without a metadata filter
// and a minScore, on random and on hard vectors.
func TestTopKMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	zero := 0.0
	minScores := []*float64{nil, &zero}
	filters := []map[string]any{nil, {"tenth": true}, {"n": map[string]any{"$gte": 1e9}}}
	queries := 0
	for _, dim := range []int{1, 3, 31, 256, 1536} {
		for _, n := range []int{1, 5, 300} {
			for _, hard := range []bool{false, true} {
				var vecs [][]float32
				if hard {
					vecs = hardVectors(rng, dim, n)
				} else {
					for range n {
						v := make([]float32, dim)
						for j := range v {
							v[j] = float32(rng.NormFloat64())
						}
						vecs = append(vecs, v)
					}
				}
				tv := tenantOf(dim, vecs)
				qs := [][]float32{vecs[rng.IntN(n)], make([]float32, dim)} // a stored vector, and zero
				rq := make([]float32, dim)
				for j := range rq {
					rq[j] = float32(rng.NormFloat64())
				}
				qs = append(qs, rq)
				for _, metric := range []string{MetricCosine, MetricEuclidean, MetricDotProduct} {
					for _, k := range []int{1, 4, n + 3} {
						for _, ms := range minScores {
							for _, f := range filters {
								vf, err := parseVectorFilter(f)
								if err != nil {
									t.Fatal(err)
								}
								for qi, qv := range qs {
									q := VectorQuery{Vector: qv, TopK: k, MinScore: ms, IncludeVector: k == 4}
									got, err1 := tv.topK(q, metric, vf)
									want, err2 := tv.topKExact(q, metric, vf)
									queries++
									if err1 != nil || err2 != nil {
										t.Fatalf("errors %v, %v", err1, err2)
									}
									if msg := sameHits(got, want); msg != "" {
										t.Fatalf("dim %d, n %d, hard %v, %s, k %d, minScore %v, filter %v, query %d: %s",
											dim, n, hard, metric, k, ms != nil, f, qi, msg)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d queries compared", queries)
}

func sameHits(got, want []VectorHit) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d hits; want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Score != w.Score || fmt.Sprint(g.Metadata) != fmt.Sprint(w.Metadata) || len(g.Vector) != len(w.Vector) {
			return fmt.Sprintf("hit %d = %s %v; want %s %v", i, g.ID, g.Score, w.ID, w.Score)
		}
	}
	return ""
}

// At the size the budget names (10,000 vectors of 1536 dimensions), the
// bounds leave few vectors to score exactly: the work of a query is the
// integer pass, not 10,000 float dot products. Random vectors are the
// hard case here (their scores crowd together); embeddings of text
// spread more.
func TestTopKScoresFewExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 vectors of 1536 dimensions")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const n, dim = 10_000, 1536
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = float32(rng.NormFloat64())
		}
	}
	tv := tenantOf(dim, vecs)
	for i := range 5 {
		q := make([]float32, dim)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		if i == 0 {
			q = vecs[42]
		}
		got, err := tv.topK(VectorQuery{Vector: q, TopK: 4}, MetricCosine, vectorFilter{})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := tv.topKExact(VectorQuery{Vector: q, TopK: 4}, MetricCosine, vectorFilter{})
		if msg := sameHits(got, want); msg != "" {
			t.Fatalf("query %d: %s", i, msg)
		}
		if tv.scored > n/50 {
			t.Errorf("query %d scored %d of %d vectors exactly; want at most 2%%", i, tv.scored, n)
		}
		t.Logf("query %d: %d scored exactly", i, tv.scored)
	}
}
