package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// Benchmarks of a semantic recall query: top 4 of one resource's vectors
// (1536 dimensions, text-embedding-3-small's) among other resources'. They
// run only with -bench:
//
//	go test ./host/memory -run '^$' -bench RecallQuery -benchtime 200x
//
// p50/p99 are reported per store, with this process's CPU per query
// (cpu-ms/op: SQLite's work included) and on Postgres the backend's
// (db-cpu-ms/op), steadier than wall time on a loaded machine; TEST_PGVECTOR_URL adds the pgvector
// store (Mastra's table, PGlite: a Wasm Postgres, slower than a native one).

const benchDims = 1536

// benchRecallSizes are the vectors of the queried resource.
var benchRecallSizes = []int{1_000, 10_000}

func randomVector(rng *rand.Rand) []float32 {
	v := make([]float32, benchDims)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func seedRecall(b *testing.B, s *Store, sp VectorSpace, index string, resource string, n int, rng *rand.Rand) {
	b.Helper()
	ctx := context.Background()
	if err := s.CreateVectorIndex(ctx, sp, index, benchDims, MetricCosine); err != nil {
		b.Fatal(err)
	}
	for start := 0; start < n; start += 250 {
		var recs []VectorRecord
		for i := start; i < min(start+250, n); i++ {
			id := fmt.Sprintf("%s-%d", resource, i)
			recs = append(recs, VectorRecord{ID: id, Vector: randomVector(rng),
				Metadata: map[string]any{"message_id": id, "thread_id": "t-" + resource, "resource_id": resource}})
		}
		if err := s.UpsertVectors(ctx, sp, index, recs); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRecall(b *testing.B, s *Store, sp VectorSpace, index string) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range benchRecallSizes {
		b.Run(fmt.Sprintf("vectors=%d", n), func(b *testing.B) {
			resource := fmt.Sprintf("r%d", n)
			seedRecall(b, s, sp, index, resource, n, rng)
			seedRecall(b, s, sp, index, resource+"-other", 500, rng) // another tenant
			q := randomVector(rng)
			filter := map[string]any{"resource_id": resource}
			// The first query reads the tenant into this instance's cache:
			// timed apart (cold-ms), the loop measures a cached tenant.
			t0 := time.Now()
			if _, err := s.QueryVectors(ctx, sp, index, VectorQuery{Vector: q, TopK: 4, Filter: filter}); err != nil {
				b.Fatal(err)
			}
			cold := time.Since(t0)
			backend := 0
			if s.kind == "postgres" && s.sdb.Stats().MaxOpenConnections == 1 {
				if err := s.db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
					b.Fatal(err)
				}
			}
			var lat []time.Duration
			b.ResetTimer()
			cpu0, db0 := processCPU(), backendCPU(backend)
			for b.Loop() {
				t0 := time.Now()
				hits, err := s.QueryVectors(ctx, sp, index, VectorQuery{Vector: q, TopK: 4, Filter: filter})
				if err != nil || len(hits) != 4 {
					b.Fatalf("%d hits, %v", len(hits), err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(len(lat)), "cpu-ms/op")
			if backend != 0 {
				b.ReportMetric(float64((backendCPU(backend)-db0).Microseconds())/1000/float64(len(lat)), "db-cpu-ms/op")
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func BenchmarkRecallQuery(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		s := openBenchStore(b, Options{SQLitePath: filepath.Join(b.TempDir(), "m.db")})
		benchRecall(b, s, VectorSpace{Store: "", Namespace: "default"}, "memory_messages")
	})
	b.Run("postgres-table", func(b *testing.B) {
		// Migrated, then on one connection: one backend does the
		// database's work, whose CPU is read from /proc (db-cpu-ms/op).
		// (Migrating takes more than one connection.)
		u := pgtest.NewDatabase(b)
		openBenchStore(b, Options{DatabaseURL: u}).Close()
		s, err := Open(context.Background(), Options{DatabaseURL: u, MaxOpenConns: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		benchRecall(b, s, VectorSpace{Store: "", Namespace: "default"}, "memory_messages")
	})
	if u := os.Getenv("TEST_PGVECTOR_URL"); u != "" {
		b.Run("pgvector", func(b *testing.B) {
			s := openBenchStore(b, Options{DatabaseURL: u, MaxOpenConns: 4})
			benchRecall(b, s, VectorSpace{Store: "", Namespace: "default"}, fmt.Sprintf("memory_messages_bench_%d", time.Now().Unix()%100000))
		})
	}
}

func openBenchStore(b *testing.B, opts Options) *Store {
	b.Helper()
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = testConns
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkDot10k is the scoring of a cached tenant: 10,000 dot products
// of 1536 dimensions.
func BenchmarkDot10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	vs := make([][]float32, 10_000)
	for i := range vs {
		vs[i] = randomVector(rng)
	}
	q := randomVector(rng)
	for b.Loop() {
		var best float64
		for _, v := range vs {
			best = max(best, dot(q, v))
		}
	}
}

// BenchmarkTopK10k is a cached tenant's query without the database: top 4
// of 10,000 vectors of 1536 dimensions, through the int8 bounds ("bounds")
// and scoring every vector ("exact").
func BenchmarkTopK10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, 10_000)
	for i := range vecs {
		vecs[i] = randomVector(rng)
	}
	tv := tenantOf(benchDims, vecs)
	q := VectorQuery{Vector: randomVector(rng), TopK: 4}
	b.Run("bounds", func(b *testing.B) {
		for b.Loop() {
			if _, err := tv.topK(q, MetricCosine, vectorFilter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			if _, err := tv.topKExact(q, MetricCosine, vectorFilter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
