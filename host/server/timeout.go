package server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
)

// afterFunc starts the first-byte timer; tests replace it to fire the timer
// at a chosen moment.
var afterFunc = time.AfterFunc

// firstByteTimeout bounds the time until a response starts. Once the first
// byte (or a flush) has gone out, the response is never cut, so long
// streams are not affected. On expiry the client gets a 504 and the
// handler's context is cancelled, so the work behind it (a model call) stops.
//
// A turn about to save passes the commit gate (agent.WithCommitGate): if the
// 504 went out already, the turn is dropped unsaved; otherwise the timeout
// stands down and the client gets the save's outcome. So a 504 never hides
// a saved turn, which a client retrying 5xx would store twice.
func firstByteTimeout(d time.Duration, log func(r *http.Request)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			tw := &timeoutWriter{w: w, h: make(http.Header)}
			for k, v := range w.Header() {
				tw.h[k] = v
			}
			timer := afterFunc(d, func() {
				tw.mu.Lock()
				defer tw.mu.Unlock()
				if tw.started || tw.done || tw.committing {
					return
				}
				tw.timedOut = true
				cancel()
				log(r)
				writeJSON(w, http.StatusGatewayTimeout, errorBody{Error: "Gateway Timeout", RequestID: requestID(r.Context())})
			})
			defer func() {
				timer.Stop()
				tw.mu.Lock()
				tw.done = true
				tw.mu.Unlock()
			}()
			next.ServeHTTP(tw, r.WithContext(agent.WithCommitGate(ctx, tw.commit)))
		})
	}
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
	// committing: a turn has begun its save, so the timeout no longer
	// answers (the handler will, with the save's outcome).
	committing bool
}

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
