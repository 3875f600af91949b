package transport

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// TimeoutOptions configures [FirstByteTimeout].
type TimeoutOptions struct {
	// Timeout is the time the response may take to start.
	Timeout time.Duration
	// OnTimeout is called (to log) when a request timed out, before its
	// 504 is written.
	OnTimeout func(r *http.Request)
	// WithGate hands the handler its commit gate (see [FirstByteTimeout])
	// in the context; nil = no gate.
	WithGate func(ctx context.Context, gate func() bool) context.Context
	// AfterFunc starts the timer; nil = time.AfterFunc. Tests set it to
	// fire the timer at a chosen moment.
	AfterFunc func(d time.Duration, f func()) *time.Timer
}

// FirstByteTimeout bounds the time until a response starts. Once the first
// byte (or a flush) has gone out, the response is never cut, so long
// streams are not affected. On expiry the client gets a 504 and the
// handler's context is cancelled, so the work behind it (a model call)
// stops. When the handler is still waiting for the request body then (or
// its read just failed on the body deadline, which [Entry] sets no later),
// it is the client that is late, not the answer: 408 with the connection
// closed, as when the body deadline alone fires, whichever of the two
// timers wins the race.
//
// The commit gate settles a race between the 504 and work that must not be
// lost: a handler calls gate() just before it saves. false means the 504
// went out already, and the work is dropped unsaved; true means the timeout
// stands down and the handler answers with the save's outcome. So a 504
// never hides a saved turn, which a client retrying 5xx would store twice.
func FirstByteTimeout(o TimeoutOptions) func(http.Handler) http.Handler {
	afterFunc := o.AfterFunc
	if afterFunc == nil {
		afterFunc = time.AfterFunc
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			tw := &timeoutWriter{w: w, h: make(http.Header)}
			for k, v := range w.Header() {
				tw.h[k] = v
			}
			var body *bodyWatch
			if r.Body != nil && r.Body != http.NoBody {
				body = &bodyWatch{ReadCloser: r.Body}
			}
			timer := afterFunc(o.Timeout, func() {
				tw.mu.Lock()
				defer tw.mu.Unlock()
				if tw.started || tw.done || tw.committing {
					return
				}
				tw.timedOut = true
				cancel()
				if body != nil && body.late() {
					w.Header().Set("Connection", "close")
					WriteJSON(w, http.StatusRequestTimeout, errorBody{Error: bodyLateMessage, RequestID: RequestID(r.Context())})
					return
				}
				if o.OnTimeout != nil {
					o.OnTimeout(r)
				}
				WriteJSON(w, http.StatusGatewayTimeout, errorBody{Error: "Gateway Timeout", RequestID: RequestID(r.Context())})
			})
			defer func() {
				timer.Stop()
				tw.mu.Lock()
				tw.done = true
				tw.mu.Unlock()
			}()
			if o.WithGate != nil {
				ctx = o.WithGate(ctx, tw.commit)
			}
			r = r.WithContext(ctx)
			if body != nil {
				r.Body = body
			}
			next.ServeHTTP(tw, r)
		})
	}
}

// bodyWatch tells whether the handler is waiting for the request body:
// it has begun reading it and not reached its end, or a read failed on
// the body deadline. Not "a Read in progress": between two reads of a
// dribbled body the handler is still waiting for it, and a timeout that
// fired in that gap answered 504 instead of 408.
type bodyWatch struct {
	io.ReadCloser
	began    atomic.Bool // a read has started
	ended    atomic.Bool // a read returned an error, io.EOF included
	deadline atomic.Bool // a read failed with a timeout
}

func (b *bodyWatch) Read(p []byte) (int, error) {
	b.began.Store(true)
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		if err != io.EOF && isTimeout(err) { // (errors.As costs, and every body ends in EOF)
			b.deadline.Store(true)
		}
		b.ended.Store(true)
	}
	return n, err
}

// late reports whether the body is what the request is waiting for.
func (b *bodyWatch) late() bool {
	return b.deadline.Load() || (b.began.Load() && !b.ended.Load())
}

// timeoutWriter keeps the handler's headers apart until the response
// starts, so a timeout can answer without racing the handler.
type timeoutWriter struct {
	w        http.ResponseWriter
	h        http.Header
	mu       sync.Mutex // guards the fields below and writes until started
	started  bool
	timedOut bool
	done     bool
	// committing: the handler has passed the commit gate, so the timeout
	// no longer answers (the handler will, with the save's outcome).
	committing bool
}

var (
	_ http.Flusher  = (*timeoutWriter)(nil)
	_ http.Hijacker = (*timeoutWriter)(nil)
)

// commit is the commit gate: false when the timeout has answered already.
func (tw *timeoutWriter) commit() bool {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return false
	}
	tw.committing = true
	return true
}

func (tw *timeoutWriter) Header() http.Header { return tw.h }

func (tw *timeoutWriter) start(code int) bool {
	if tw.timedOut {
		return false
	}
	if !tw.started {
		dst := tw.w.Header()
		for k := range dst {
			if _, ok := tw.h[k]; !ok {
				delete(dst, k)
			}
		}
		for k, v := range tw.h {
			dst[k] = v
		}
		tw.started = true
		tw.w.WriteHeader(code)
	}
	return true
}

func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		return // informational responses are not the start
	}
	tw.start(code)
}

func (tw *timeoutWriter) Write(b []byte) (int, error) {
	tw.mu.Lock()
	if !tw.started {
		if !tw.start(http.StatusOK) {
			tw.mu.Unlock()
			return 0, http.ErrHandlerTimeout
		}
	}
	tw.mu.Unlock()
	return tw.w.Write(b)
}

// Flush starts the response (a stream's headers count as its first byte).
func (tw *timeoutWriter) Flush() {
	tw.mu.Lock()
	ok := tw.start(http.StatusOK)
	tw.mu.Unlock()
	if ok {
		http.NewResponseController(tw.w).Flush()
	}
}

func (tw *timeoutWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	tw.mu.Lock()
	tw.started = true
	tw.mu.Unlock()
	return http.NewResponseController(tw.w).Hijack()
}

func (tw *timeoutWriter) Unwrap() http.ResponseWriter { return tw.w }
