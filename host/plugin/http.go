package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/tetratelabs/wazero/sys"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// The net/http adapter: a request through the guest, as middleware or as
// a route.

// failure is why a plugin call produced no normal response.
type failure int

const (
	failTrap failure = iota + 1
	failTimeout
	failBusy
	failCanceled
	failNext // next=1 from a route or tool
	failTooLarge
	failClosed
	failOverCap // the call made the host hold more than MaxResponse
)

type callError struct {
	kind  failure
	cause error
}

func (e *callError) Error() string { return fmt.Sprintf("failure %d: %v", e.kind, e.cause) }

// run is one request through the guest: handle_request, then next and
// handle_response for a middleware that continues. next is nil for routes
// and tools.
func (p *Plugin) run(w http.ResponseWriter, r *http.Request, next http.Handler) (*reqState, *callError) {
	pl, err := p.enter()
	if err != nil {
		return nil, &callError{kind: failClosed, cause: err}
	}
	defer pl.leave()

	values := reqctx.From(r.Context())
	if values == nil {
		values = reqctx.New()
		r = r.WithContext(reqctx.With(r.Context(), values))
	}
	st := &reqState{p: p, w: w, r: r, next: next, values: values}
	_, st.capture = w.(*captureWriter)
	st.ctx = callCtx{Context: r.Context(), st: st}

	in, err := pl.acquire(r.Context())
	if err != nil {
		switch {
		case errors.Is(err, ErrBusy):
			return st, &callError{kind: failBusy, cause: err}
		case errors.Is(err, errCanceled):
			return st, &callError{kind: failCanceled, cause: err}
		}
		return st, &callError{kind: failTrap, cause: err}
	}
	st.features = in.features
	if st.features&featureBufferResponse != 0 {
		st.startBuffering()
	}

	ctx, cancel := context.WithTimeout(&st.ctx, p.spec.Timeout)
	ctxNext, err := in.callRequest(ctx)
	cancel()
	st.clearWriteDeadline()
	if err != nil {
		pl.drop(in)
		return st, st.classify(err)
	}
	if uint32(ctxNext) == 0 {
		pl.release(in)
		st.finish()
		return st, nil
	}
	if next == nil {
		pl.release(in)
		return st, &callError{kind: failNext, cause: errors.New("route plugin returned next=1")}
	}
	if in.handleResponse == nil {
		// Nothing to pin: free the instance before a possibly long downstream.
		pl.release(in)
		st.callNext(false)
		if st.overCap != "" {
			return st, st.overCapError()
		}
		st.finish()
		return st, nil
	}

	recovered := st.callNext(true)
	if recovered == nil && st.overCap != "" {
		pl.drop(in) // handle_response never ran: its request state is stale
		return st, st.overCapError()
	}
	isError := uint32(0)
	if recovered != nil {
		isError = 1
	}
	ctx, cancel = context.WithTimeout(&st.ctx, p.spec.Timeout)
	err = in.callResponse(ctx, uint32(ctxNext>>32), isError)
	cancel()
	if err != nil {
		pl.drop(in)
		if recovered != nil {
			panic(recovered)
		}
		return st, st.classify(err)
	}
	pl.release(in)
	if recovered != nil {
		panic(recovered)
	}
	st.finish()
	return st, nil
}

// callNext runs the next handler with the guest's request changes, buffering
// the response when buffer_response is on. With catch, a panic downstream
// is recovered and returned so handle_response still runs.
func (st *reqState) callNext(catch bool) (recovered any) {
	st.afterNext = true
	r := st.r
	switch {
	case st.newBody != nil:
		r = st.mutableRequest()
		r.Body = io.NopCloser(st.newBody)
		r.ContentLength = int64(st.newBody.Len())
		if r.Header.Get("Content-Length") != "" {
			st.requestHeader().Set("Content-Length", fmt.Sprint(st.newBody.Len()))
		}
	case st.bodyTee != nil && st.bodyTee.Len() > 0:
		r = st.mutableRequest()
		orig := r.Body
		r.Body = readCloser{io.MultiReader(bytes.NewReader(st.bodyTee.Bytes()), orig), orig}
	}
	var w http.ResponseWriter = st.buf
	if st.buf == nil {
		w = st.w
		st.committed = true // downstream writes straight through
		if catch {
			// handle_response follows: note the status and headers that
			// went out, since the writer can't tell them afterwards.
			st.sent = &sentWriter{ResponseWriter: st.w}
			w = st.sent
		}
	}
	if catch {
		defer func() { recovered = recover() }()
	}
	st.next.ServeHTTP(w, r)
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func (st *reqState) overCapError() *callError {
	return &callError{kind: failOverCap, cause: fmt.Errorf("%s: %w", st.overCap, errOverCap)}
}

// classify maps a guest call error to a failure.
func (st *reqState) classify(err error) *callError {
	if st.bodyTooLarge {
		return &callError{kind: failTooLarge, cause: err}
	}
	if st.overCap != "" {
		return st.overCapError()
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return &callError{kind: failTimeout, cause: err}
		case sys.ExitCodeContextCanceled:
			return &callError{kind: failCanceled, cause: err}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &callError{kind: failTimeout, cause: err}
	}
	return &callError{kind: failTrap, cause: err}
}

// Middleware wraps next with the plugin using http-wasm semantics: next=1
// continues with the guest's changes to the method, URI, headers and body;
// next=0 answers with what the guest wrote (an empty 200 if nothing).
func (p *Plugin) Middleware(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(w, r, next)
	})
}

// Handler returns the plugin as a final handler. Route parameters are the
// request's path values (http.Request.PathValue), which the router sets. A
// guest returning next=1 is a 500.
func (p *Plugin) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(w, r, nil)
	})
}

func (p *Plugin) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	st, cerr := p.run(w, r, next)
	if cerr == nil {
		return
	}
	status, msg := http.StatusInternalServerError, "plugin failed"
	level := slog.LevelError
	switch cerr.kind {
	case failCanceled:
		p.log.Debug("plugin call canceled by the client", "method", r.Method, "path", r.URL.Path)
		return
	case failTimeout:
		status, msg = http.StatusGatewayTimeout, "plugin timed out"
	case failBusy, failClosed:
		status, msg, level = http.StatusServiceUnavailable, "plugin busy", slog.LevelWarn
	case failTooLarge:
		status, msg, level = http.StatusRequestEntityTooLarge, "request body too large", slog.LevelInfo
	case failOverCap:
		status, msg = http.StatusBadGateway, "plugin response too large"
	}
	if cerr.kind == failOverCap {
		p.log.Log(r.Context(), level, "plugin call failed", "status", status,
			"method", r.Method, "path", r.URL.Path, "err", cerr.cause, "max_response", p.spec.MaxResponse)
	} else {
		p.log.Log(r.Context(), level, "plugin call failed", "status", status,
			"method", r.Method, "path", r.URL.Path, "err", cerr.cause)
	}
	if st != nil && st.committed {
		// Part of the response is out: cut the connection rather than let
		// the client take a truncated body for a whole one.
		panic(http.ErrAbortHandler)
	}
	h := w.Header()
	if st != nil && st.savedHeader != nil {
		clear(h)
		for k, v := range st.savedHeader {
			h[k] = v
		}
	}
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":"`+msg+`"}`+"\n")
}
