package plugin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// nativeAuth is auth.wat written in Go: the baseline for the Wasm middleware.
func nativeAuth(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Values("Authorization"); len(v) != 1 || v[0] != token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"unauthorized"}`)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = r.Header.Clone()
		r2.Header.Set("X-User", "ok")
		if v := reqctx.From(r.Context()); v != nil {
			_ = v.Set(reqctx.UserKey, []byte(`"token-user"`))
		}
		next.ServeHTTP(w, r2)
	})
}

// BenchmarkAuthMiddleware compares the pass-through path (valid token: set a
// request header and a context value, continue) of auth.wat through the
// plugin host with the same logic in native Go.
func BenchmarkAuthMiddleware(b *testing.B) {
	h, _ := newHost(b, Config{})
	p := load(b, h, Spec{Name: "auth", Module: fixture(b, "auth"), Config: []byte(`"Bearer s3cret"`)})
	final := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-User") != "ok" {
			b.Fatal("X-User not set")
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"wasm", p.Middleware(final)},
		{"native", nativeAuth("Bearer s3cret", final)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/api/agents", nil)
			r.Header.Set("Authorization", "Bearer s3cret")
			r = r.WithContext(reqctx.With(context.Background(), reqctx.New()))
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(w, r)
				if w.code != http.StatusNoContent {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
