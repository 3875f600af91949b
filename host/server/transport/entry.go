package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// ctxKey is a context key of this package. Keys are pointers: a struct
// value would be copied into an interface, an allocation, on every
// ctx.Value (InfoFrom runs several times a turn).
type ctxKey struct{ name string }

var infoKey = &ctxKey{"request-info"}

// Info is what the access log, the metrics and the traces know of one
// request. [Entry] makes it; the layers below fill in what they learn (the
// route template, the resource, the agent) on the request's goroutine, and
// Entry reads it once the handler has returned.
type Info struct {
	// ID is the request id, also sent back as X-Request-Id.
	ID string
	// Method is the request's method, or "OTHER" for one that is not
	// standard: it is a label, and a client must not be able to invent
	// labels.
	Method string
	// Route is the template of the route that answered ("/api/agents/:agentId"),
	// RouteUnmatched when none matched, "" when the request was answered
	// before routing (auth, CORS, a middleware plugin, /health).
	Route string
	// ResourceID and Agent are the resource the request acted for and the
	// agent it ran, when it did.
	ResourceID, Agent string
	// Status, Bytes and Duration are set by Entry once the handler returned.
	Status   int
	Bytes    int64
	Duration time.Duration
	// Stream is set when the response is an event stream.
	Stream bool
	// Start is when Entry got the request.
	Start time.Time

	// wait is the time the request spent waiting on model providers and
	// tools (BeginWait/EndWait), for the overhead metric. A mutex rather
	// than an atomic sum: a turn's tool calls can run side by side, and
	// only the union of the waits is time the server did not spend.
	// Background work that outlives the request may still touch it.
	waitMu    sync.Mutex
	waiting   int       // waits in progress
	waitStart time.Time // when waiting went from 0 to 1
	wait      time.Duration
	waits     int // waits begun
}

// BeginWait marks the start of a wait on a model provider or a tool for the
// request carried by ctx; EndWait its end. Overlapping waits count once.
func BeginWait(ctx context.Context) {
	i := InfoFrom(ctx)
	if i == nil {
		return
	}
	now := time.Now()
	i.waitMu.Lock()
	if i.waiting == 0 {
		i.waitStart = now
	}
	i.waiting++
	i.waits++
	i.waitMu.Unlock()
}

// EndWait ends a wait begun with BeginWait.
func EndWait(ctx context.Context) {
	i := InfoFrom(ctx)
	if i == nil {
		return
	}
	now := time.Now()
	i.waitMu.Lock()
	if i.waiting > 0 {
		i.waiting--
		if i.waiting == 0 {
			i.wait += now.Sub(i.waitStart)
		}
	}
	i.waitMu.Unlock()
}

// Wait returns the time the request waited on model providers and tools
// (a wait still in progress counts up to now) and how many waits began.
func (i *Info) Wait() (time.Duration, int) {
	i.waitMu.Lock()
	defer i.waitMu.Unlock()
	d := i.wait
	if i.waiting > 0 {
		d += time.Since(i.waitStart)
	}
	return d, i.waits
}

// RouteUnmatched is the route of a request that matched no route (404, 405).
const RouteUnmatched = "unmatched"

// RouteLabel is Info.Route as a label: never empty.
func (i *Info) RouteLabel() string {
	if i.Route == "" {
		return "unrouted"
	}
	return i.Route
}

// InfoFrom returns the request's Info, nil outside Entry.
func InfoFrom(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey).(*Info)
	return i
}

// RequestID returns the id [Entry] gave the request, "" outside Entry.
func RequestID(ctx context.Context) string {
	if i := InfoFrom(ctx); i != nil {
		return i.ID
	}
	return ""
}

// SetRoute records the template of the route that answers the request.
func SetRoute(ctx context.Context, route string) {
	if i := InfoFrom(ctx); i != nil {
		i.Route = route
	}
}

// SetResource records the resource the request acts for.
func SetResource(ctx context.Context, id string) {
	if i := InfoFrom(ctx); i != nil {
		i.ResourceID = id
	}
}

// SetAgent records the agent the request runs.
func SetAgent(ctx context.Context, id string) {
	if i := InfoFrom(ctx); i != nil {
		i.Agent = id
	}
}

// Observer watches every request from [Entry], for metrics and traces.
type Observer interface {
	// Start is called as the request comes in; the context it returns is
	// the request's from then on (a trace span, say).
	Start(r *http.Request, info *Info) context.Context
	// StreamStarted is called when the response turns out to be an event
	// stream, as its header goes out.
	StreamStarted(info *Info)
	// End is called once the handler has returned, with Info complete.
	End(ctx context.Context, info *Info)
}

// methodLabel keeps the method as is when it is a standard one.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// EntryOptions configures [Entry].
type EntryOptions struct {
	Log *slog.Logger
	// BodyTimeout bounds the time to receive a request body, from the start
	// of the handler; 0 = none.
	BodyTimeout time.Duration
	// FirstByteTimeout is the [FirstByteTimeout] of the chain, if any: the
	// body deadline is never later, since its 504 could not go out while
	// the handler is still blocked reading the body.
	FirstByteTimeout time.Duration
	// Observers watch each request (metrics, traces), in order.
	Observers []Observer
}

// Entry is the outermost wrapper, in one function to keep the per-request
// cost small: it gives the request an id (X-Request-Id, kept from the
// client when sane), sets the body read deadline, recovers from panics
// (a 500 with the request id when nothing was written yet, else the
// response is cut), tells the observers and writes the access log line
// (/health at Debug).
func Entry(o EntryOptions) func(http.Handler) http.Handler {
	ids := newRequestIDs()
	bodyDeadline := o.BodyTimeout
	if o.FirstByteTimeout > 0 && o.FirstByteTimeout < bodyDeadline {
		bodyDeadline = o.FirstByteTimeout
	}
	log := o.Log
	obs := o.Observers
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get("X-Request-Id")
			if id == "" || len(id) > 128 || strings.ContainsAny(id, " \t\r\n") {
				id = ids.next()
			}
			w.Header().Set("X-Request-Id", id)
			if r.Body != nil && r.Body != http.NoBody && bodyDeadline > 0 {
				// The body must arrive in time (F8): a read past the
				// deadline fails, which DecodeJSON answers with 408, and
				// net/http then closes the connection. net/http clears the
				// deadline itself once the body is read to its end, so it
				// never cuts a stream.
				_ = http.NewResponseController(w).SetReadDeadline(start.Add(bodyDeadline))
			}
			info := &Info{ID: id, Method: methodLabel(r.Method), Start: start}
			rec := &recorder{ResponseWriter: w, info: info, obs: obs}
			ctx := context.WithValue(r.Context(), infoKey, info)
			r = r.WithContext(ctx)
			for _, o := range obs {
				ctx = o.Start(r, info)
				r = r.WithContext(ctx)
			}
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v) // net/http's signal to cut the response quietly
					}
					log.Error("panic in handler", "request_id", id, "method", Clip(r.Method), "path", Clip(r.URL.Path),
						"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					if rec.status == 0 {
						WriteJSON(rec, http.StatusInternalServerError, errorBody{Error: "Internal Server Error", RequestID: id})
					} else {
						panic(http.ErrAbortHandler)
					}
				}
				info.Status, info.Bytes, info.Duration = rec.status, rec.bytes, time.Since(start)
				if info.Status == 0 {
					info.Status = http.StatusOK // nothing written: net/http sends 200
				}
				for i := len(obs) - 1; i >= 0; i-- {
					obs[i].End(ctx, info)
				}
				level := slog.LevelInfo
				if r.URL.Path == "/health" {
					level = slog.LevelDebug
				}
				if log.Enabled(ctx, level) {
					attrs := make([]slog.Attr, 0, 10)
					attrs = append(attrs, slog.String("request_id", id),
						slog.String("method", Clip(r.Method)), slog.String("route", info.RouteLabel()),
						slog.String("path", Clip(r.URL.Path)), slog.Int("status", info.Status),
						slog.Int64("bytes", info.Bytes), slog.Duration("duration", info.Duration))
					if info.ResourceID != "" {
						attrs = append(attrs, slog.String("resource_id", Clip(info.ResourceID)))
					}
					if info.Agent != "" {
						attrs = append(attrs, slog.String("agent", Clip(info.Agent)))
					}
					log.LogAttrs(ctx, level, "request", attrs...)
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// recorder remembers the status and size written, for the access log and
// for the recovery to know whether headers went out.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	info   *Info
	obs    []Observer
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
		if code == http.StatusOK && len(rw.obs) > 0 && strings.HasPrefix(rw.Header().Get("Content-Type"), "text/event-stream") {
			rw.info.Stream = true
			for _, o := range rw.obs {
				o.StreamStarted(rw.info)
			}
		}
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

func (rw *recorder) Flush() {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(rw.ResponseWriter).Flush()
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

var _ http.Flusher = (*recorder)(nil)

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

// Clip bounds client-controlled text (paths, ids inside error texts) before
// it reaches a log line.
func Clip(s string) string {
	const max = 512
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// ClipErr is Clip for an error's text, "" for nil.
func ClipErr(err error) string {
	if err == nil {
		return ""
	}
	return Clip(err.Error())
}
