package server

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// healthCheck caches the database check for ttl so that a busy /health (a
// load balancer, many instances) costs one ping a second, not one per hit.
type healthCheck struct {
	store      *memory.Store
	ttl        time.Duration
	last       atomic.Pointer[healthResult]
	refreshing sync.Mutex // one ping at a time
}

type healthResult struct {
	at      time.Time
	err     error
	latency time.Duration
}

func (h *healthCheck) check(ctx context.Context) *healthResult {
	if res := h.last.Load(); res != nil && time.Since(res.at) < h.ttl {
		return res
	}
	if !h.refreshing.TryLock() {
		if res := h.last.Load(); res != nil {
			return res // someone is pinging; the previous answer will do
		}
		h.refreshing.Lock()
	}
	defer h.refreshing.Unlock()
	if res := h.last.Load(); res != nil && time.Since(res.at) < h.ttl {
		return res
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := h.store.Ping(ctx)
	res := &healthResult{at: time.Now(), err: err, latency: time.Since(start)}
	h.last.Store(res)
	return res
}

type healthBody struct {
	Success  bool         `json:"success"`
	Status   string       `json:"status"`
	Error    string       `json:"error,omitempty"`
	Database healthDBBody `json:"database"`
	Uptime   float64      `json:"uptimeSeconds"`
}

type healthDBBody struct {
	Kind      string  `json:"kind"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latencyMs"`
}

// healthAllow is the Allow header of /health, spelled as the router spells
// it for its own routes.
const healthAllow = "GET, HEAD, OPTIONS"

// withHealth answers /health before user middleware, auth and routing: GET
// and HEAD get the check, OPTIONS the allowed methods, anything else 405
// with Allow, as the router's routes do.
func (s *Server) withHealth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			next.ServeHTTP(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodOptions: // a CORS preflight was answered before
			w.Header().Set("Allow", healthAllow)
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			w.Header().Set("Allow", healthAllow)
			s.errs.Write(w, r, transport.NewError(http.StatusMethodNotAllowed, "Method Not Allowed"))
			return
		}
		res := s.health.check(r.Context())
		body := healthBody{
			Success:  res.err == nil,
			Status:   "ok",
			Database: healthDBBody{Kind: s.store.Kind(), OK: res.err == nil, LatencyMS: float64(res.latency.Microseconds()) / 1000},
			Uptime:   time.Since(s.started).Round(time.Second).Seconds(),
		}
		status := http.StatusOK
		if res.err != nil {
			status = http.StatusServiceUnavailable
			body.Status = "unavailable"
			body.Error = "Database unavailable"
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Cache-Control", "no-store")
		transport.WriteJSON(w, status, body)
	})
}
