package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// Benchmarks of GET /health through the whole server handler (request id,
// access log, CORS, health check cache, JSON) against a bare net/http
// handler that writes the same JSON, in the same run. They run only with
// -bench:
//
//	go test ./host/server -run '^$' -bench Health
//
//	go test ./host/server -run '^$' -bench Health/tcp -benchtime 10x
//
// "handler" calls ServeHTTP directly (no network: the cost the server adds
// per request); "tcp/interleaved" goes through a real loopback listener and
// net/http.Server with 8 keep-alive clients (requests/s as a client sees
// them), and reports full/bare. The aim is full/bare ≥ 0.8 in requests/s.

// bareHealth is the same body shape the server's /health writes.
type bareHealth struct {
	Success  bool    `json:"success"`
	Status   string  `json:"status"`
	Error    string  `json:"error,omitempty"`
	Database bareDB  `json:"database"`
	Uptime   float64 `json:"uptimeSeconds"`
}

type bareDB struct {
	Kind      string  `json:"kind"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latencyMs"`
}

// bareHealthHandler is the baseline: plain net/http, marshalling the same
// JSON on each request, same headers, no middleware and no database.
func bareHealthHandler() http.Handler {
	started := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		b, _ := json.Marshal(bareHealth{
			Success:  true,
			Status:   "ok",
			Database: bareDB{Kind: "postgres", OK: true, LatencyMS: 0.2},
			Uptime:   time.Since(started).Round(time.Second).Seconds(),
		})
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(b, '\n'))
	})
}

// benchServerHandler is the full handler on a migrated Postgres store, with
// the default configuration and an info-level logger (health hits are not
// logged at info, as in production).
func benchServerHandler(b *testing.B) http.Handler {
	b.Helper()
	cfg := testConfig()
	store, err := memory.Open(context.Background(), memory.Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: 10})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Config: cfg, DefaultResourceID: "default", Store: store, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	return s.Handler()
}

// discardResponse is a ResponseWriter that keeps only the status, so the
// handler benchmark measures handlers rather than a recorder's buffer.
type discardResponse struct {
	h    http.Header
	code int
}

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) WriteHeader(code int)        { d.code = code }
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkHealth(b *testing.B) {
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"bare", bareHealthHandler()},
		{"full", benchServerHandler(b)},
	}
	for _, hc := range handlers {
		b.Run("handler/"+hc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/health", nil)
			w := &discardResponse{}
			b.ReportAllocs()
			for b.Loop() {
				w.h, w.code = make(http.Header, 4), 0
				hc.h.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
	// Over TCP the machine's noise (other processes, the clients sharing
	// the same 2 cores) swamps a difference measured one sub-benchmark
	// after the other, so both servers are measured in alternating slices
	// of 200 ms, one round per iteration (-benchtime 10x = 10 rounds), and
	// the ratio is reported as a metric.
	b.Run("tcp/interleaved", func(b *testing.B) {
		var urls []string
		for _, hc := range handlers {
			ts := httptest.NewServer(hc.h)
			defer ts.Close()
			urls = append(urls, ts.URL+"/health")
		}
		tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		var n [2]int
		var spent [2]time.Duration
		for b.Loop() {
			for i, url := range urls {
				start := time.Now()
				n[i] += hammer(b, client, url, 8, 200*time.Millisecond)
				spent[i] += time.Since(start)
			}
		}
		bare := float64(n[0]) / spent[0].Seconds()
		full := float64(n[1]) / spent[1].Seconds()
		b.ReportMetric(bare, "bare-req/s")
		b.ReportMetric(full, "full-req/s")
		b.ReportMetric(full/bare, "full/bare")
	})
}

// hammer sends GETs from conns goroutines for d and returns how many got 200.
func hammer(b *testing.B, client *http.Client, url string, conns int, d time.Duration) int {
	deadline := time.Now().Add(d)
	counts := make(chan int, conns)
	for range conns {
		go func() {
			n := 0
			for time.Now().Before(deadline) {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					break
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					break
				}
				n++
			}
			counts <- n
		}()
	}
	total := 0
	for range conns {
		total += <-counts
	}
	return total
}
