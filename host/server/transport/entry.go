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
	"sync/atomic"
	"time"
	"unicode/utf8"
)

type ctxKey struct{ name string }

var requestIDKey = ctxKey{"request-id"}

// RequestID returns the id [Entry] gave the request, "" outside Entry.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
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
}

// Entry is the outermost wrapper, in one function to keep the per-request
// cost small: it gives the request an id (X-Request-Id, kept from the
// client when sane), sets the body read deadline, recovers from panics
// (a 500 with the request id when nothing was written yet, else the
// response is cut) and writes the access log line (/health at Debug).
func Entry(o EntryOptions) func(http.Handler) http.Handler {
	ids := newRequestIDs()
	bodyDeadline := o.BodyTimeout
	if o.FirstByteTimeout > 0 && o.FirstByteTimeout < bodyDeadline {
		bodyDeadline = o.FirstByteTimeout
	}
	log := o.Log
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
			rec := &recorder{ResponseWriter: w}
			r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
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
				level := slog.LevelInfo
				if r.URL.Path == "/health" {
					level = slog.LevelDebug
				}
				if log.Enabled(r.Context(), level) {
					log.LogAttrs(r.Context(), level, "request", slog.String("request_id", id),
						slog.String("method", Clip(r.Method)), slog.String("path", Clip(r.URL.Path)),
						slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
						slog.Duration("duration", time.Since(start)))
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
