package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

type ctxKey struct{ name string }

var requestIDKey = ctxKey{"request-id"}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// recorder remembers the status and size written, for the access log and
// for the recover middleware to know whether headers went out.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

func (rw *recorder) Flush() {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	http.NewResponseController(rw.ResponseWriter).Flush()
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// requestIDs makes ids unique per process without a syscall per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &requestIDs{prefix: hex.EncodeToString(b)}
}

func (g *requestIDs) next() string {
	return g.prefix + "-" + strconv.FormatUint(g.n.Add(1), 36)
}

// outermost wraps the whole chain: request id, panic recovery and the
// access log, in one wrapper to keep the per-request cost small.
func (s *Server) outermost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 || strings.ContainsAny(id, " \t\r\n") {
			id = s.ids.next()
		}
		w.Header().Set("X-Request-Id", id)
		if r.Body != nil && r.Body != http.NoBody && s.cfg.BodyTimeout > 0 {
			// The body must arrive within body_timeout (F8): a read past
			// the deadline fails, which decodeJSON answers with 408, and
			// net/http then closes the connection. net/http clears the
			// deadline itself once the body is read to its end, so it
			// never cuts a stream. Never later than the first-byte
			// timeout, whose 504 could not go out while the handler is
			// still blocked reading the body.
			d := s.cfg.BodyTimeout
			if s.cfg.Timeout > 0 && s.cfg.Timeout < d {
				d = s.cfg.Timeout
			}
			_ = http.NewResponseController(w).SetReadDeadline(start.Add(d))
		}
		rec := &recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // net/http's signal to cut the response quietly
				}
				s.log.Error("panic in handler", "request_id", id, "method", clip(r.Method), "path", clip(r.URL.Path),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeJSON(rec, http.StatusInternalServerError, errorBody{Error: "Internal Server Error", RequestID: id})
				} else {
					panic(http.ErrAbortHandler)
				}
			}
			level := slog.LevelInfo
			if r.URL.Path == "/health" {
				level = slog.LevelDebug
			}
			if s.log.Enabled(r.Context(), level) {
				s.log.LogAttrs(r.Context(), level, "request", slog.String("request_id", id),
					slog.String("method", clip(r.Method)), slog.String("path", clip(r.URL.Path)),
					slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", time.Since(start)))
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// cors answers preflight requests itself and adds CORS headers to the rest.
// An origin is allowed only on an exact match (or "*" without credentials).
type cors struct {
	any         bool
	origins     map[string]bool
	credentials bool
	methods     string
	headers     string
	expose      string
	maxAge      string
}

func newCORS(c CORS) *cors {
	x := &cors{
		origins:     map[string]bool{},
		credentials: c.Credentials,
		methods:     strings.Join(c.AllowMethods, ","),
		headers:     strings.Join(c.AllowHeaders, ","),
		expose:      strings.Join(c.ExposeHeaders, ","),
		maxAge:      strconv.Itoa(int(c.MaxAge.Seconds())),
	}
	for _, o := range c.Origins {
		if o == "*" {
			x.any = true
		} else {
			x.origins[strings.TrimSuffix(o, "/")] = true
		}
	}
	return x
}

func (c *cors) handler(next http.Handler) http.Handler {
	if !c.any && len(c.origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := c.origins[origin] || (c.any && !c.credentials)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if allowed {
			if c.any && !c.credentials && !c.origins[origin] {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			if c.credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if c.expose != "" && !preflight {
				h.Set("Access-Control-Expose-Headers", c.expose)
			}
		}
		if !preflight {
			next.ServeHTTP(w, r)
			return
		}
		// A preflight never reaches auth or routing: it carries no token.
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		if allowed {
			h.Set("Access-Control-Allow-Methods", c.methods)
			h.Set("Access-Control-Allow-Headers", c.headers)
			h.Set("Access-Control-Max-Age", c.maxAge)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// withRequestContext gives each request its RequestContext map.
func withRequestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(reqctx.With(r.Context(), reqctx.New())))
	})
}

// Middleware is one link of the plugin middleware chain: Wrap is applied to
// requests whose path matches Path (a glob where a trailing "*" matches any
// rest) and whose method is in Methods (empty = all).
type Middleware struct {
	Name    string
	Path    string
	Methods []string
	Wrap    func(http.Handler) http.Handler
}

// chain builds the middleware chain once; each link tests its match per request.
func chain(mws []Middleware, final http.Handler) http.Handler {
	h := final
	for i := len(mws) - 1; i >= 0; i-- {
		mw := mws[i]
		wrapped := mw.Wrap(h)
		skip := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if PathMatch(mw.Path, r.URL.Path) && (len(mw.Methods) == 0 || slices.Contains(mw.Methods, "*") || slices.Contains(mw.Methods, r.Method)) {
				wrapped.ServeHTTP(w, r)
				return
			}
			skip.ServeHTTP(w, r)
		})
	}
	return h
}

// PathMatch reports whether path matches pattern: exact, or a prefix when
// the pattern ends in "*" ("/api/*" matches "/api" and everything below).
// An empty pattern or "*" matches every path.
func PathMatch(pattern, path string) bool {
	if pattern == "" || pattern == "*" || pattern == "/*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		if strings.HasPrefix(path, prefix) {
			return true
		}
		return strings.HasSuffix(prefix, "/") && path == strings.TrimSuffix(prefix, "/")
	}
	return path == pattern
}
