package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// stateKey carries the *reqState of the current guest call in its context.
type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	if st == nil {
		panic("plugin: host function called without a plugin call in progress")
	}
	return st
}

// callCtx is the parent context of guest calls: the request's context plus
// the call state, without a context.WithValue allocation per request.
type callCtx struct {
	context.Context
	st *reqState
}

func (c *callCtx) Value(key any) any {
	if key == (stateKey{}) {
		return c.st
	}
	return c.Context.Value(key)
}

// reqState is everything the host functions need during one request. It is
// used by one goroutine at a time (the guest call, then next, then the
// response call), so it needs no lock.
type reqState struct {
	p        *Plugin
	init     bool // instantiation: no request
	features uint32
	ctx      callCtx

	r         *http.Request
	reqCloned bool // r is our shallow copy, safe to change
	hdrCloned bool // r.Header is our copy
	next      http.Handler
	afterNext bool

	// Request body as read through read_body.
	bodyRead     int64
	bodyEOF      bool
	bodyTooLarge bool
	bodyTee      *bytes.Buffer // buffer_request: what the guest has read
	newBody      *bytes.Buffer // write_body(request): replaces the body

	// Response.
	w           http.ResponseWriter
	status      int  // set_status_code before the header was sent
	committed   bool // the status line went out, or next ran unbuffered
	savedHeader http.Header
	buf         *bufferedResponse // buffer_response during next
	respRead    int               // read_body(response) offset in buf
	sent        *sentWriter       // what next wrote, unbuffered, for handle_response

	values *reqctx.Values
	result []byte // mastra result slot (agent_generate, result_read)

	// What the host holds for the guest in this call, against MaxResponse.
	held    int64
	overCap string // what went over MaxResponse, when something did
	capture bool   // w is Call's captureWriter: its body is held too

	// Write deadline on the connection while the guest writes to it.
	writeDeadline time.Time
	noDeadline    bool // the writer does not support one
}

// setWriteDeadline bounds the guest's writes to the client by the call's
// deadline. wazero only stops a guest in guest code, so without it a
// client that never reads would keep write_body, and the instance, blocked
// for as long as it keeps the connection open (finding F8).
func (st *reqState) setWriteDeadline(ctx context.Context) {
	dl, ok := ctx.Deadline()
	if !ok || st.noDeadline || dl.Equal(st.writeDeadline) {
		return
	}
	if err := http.NewResponseController(st.w).SetWriteDeadline(dl); err != nil {
		st.noDeadline = true // e.g. a recorder in tests: nothing to block on
		return
	}
	st.writeDeadline = dl
}

// clearWriteDeadline lifts the guest's write deadline once its call is
// over, so the next handler (a long stream, say) is not cut by it.
func (st *reqState) clearWriteDeadline() {
	if !st.writeDeadline.IsZero() {
		_ = http.NewResponseController(st.w).SetWriteDeadline(time.Time{})
		st.writeDeadline = time.Time{}
	}
}

// errOverCap traps a guest whose call went over MaxResponse.
var errOverCap = errors.New("over the plugin's max_response")

// charge counts n more bytes held for the guest, unless that would pass
// MaxResponse.
func (st *reqState) charge(n int) bool {
	if st.held+int64(n) > st.p.spec.MaxResponse {
		return false
	}
	st.held += int64(n)
	return true
}

// mustCharge is charge for host functions: over the cap the call fails,
// naming what went over.
func (st *reqState) mustCharge(n int, what string) {
	if !st.charge(n) {
		st.overCap = what
		panic(errOverCap)
	}
}

// mutableRequest returns the request, copied once so that changes made by
// the guest are seen downstream but never by the caller's *http.Request.
func (st *reqState) mutableRequest() *http.Request {
	if !st.reqCloned {
		r := new(http.Request)
		*r = *st.r
		if r.URL != nil {
			u := *r.URL
			r.URL = &u
		}
		st.r, st.reqCloned = r, true
	}
	return st.r
}

func (st *reqState) requestHeader() http.Header {
	r := st.mutableRequest()
	if !st.hdrCloned {
		r.Header = r.Header.Clone()
		if r.Header == nil {
			r.Header = make(http.Header)
		}
		st.hdrCloned = true
	}
	return r.Header
}

// responseHeaderForWrite returns the response header for a change, saving a
// copy first so a failure can answer a clean error.
func (st *reqState) responseHeaderForWrite() http.Header {
	h := st.w.Header()
	if st.savedHeader == nil && !st.committed && st.buf == nil {
		st.savedHeader = h.Clone()
		if st.savedHeader == nil {
			st.savedHeader = http.Header{}
		}
	}
	return h
}

// startBuffering holds the response (the guest's writes and downstream's)
// until the request is done: buffer_response. It has no effect once the
// status line went out.
func (st *reqState) startBuffering() {
	if st.buf != nil || st.committed {
		return
	}
	if st.savedHeader == nil {
		st.savedHeader = st.w.Header().Clone()
		if st.savedHeader == nil {
			st.savedHeader = http.Header{}
		}
	}
	st.buf = &bufferedResponse{w: st.w, st: st, status: st.status}
}

// finish sends a buffered response, or the status a guest set without
// writing a body.
func (st *reqState) finish() {
	switch {
	case st.buf != nil:
		st.committed = true
		st.buf.flushTo(st.w)
	case !st.committed && st.status != 0:
		st.commit()
	}
}

// commit sends the status line before the first body byte.
func (st *reqState) commit() {
	if st.committed {
		return
	}
	st.committed = true
	if st.status != 0 {
		st.w.WriteHeader(st.status)
	} else {
		st.w.WriteHeader(http.StatusOK)
	}
}

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

// Handler returns the plugin as a final handler. Route parameters come from
// httprouter's context (router.Handler). A guest returning next=1 is a 500.
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

// Call runs the plugin as an agent tool: a POST of body (JSON) to "/" with the
// context's reqctx.Values, and returns the status and body the guest wrote.
// Errors wrap ErrTimeout, ErrTrap, ErrBusy, ErrClosed or ErrResponseTooLarge;
// a body over MaxBody is an *http.MaxBytesError.
func (p *Plugin) Call(ctx context.Context, body []byte) (status int, respBody []byte, err error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	r.RequestURI = "/"
	r.Header.Set("Content-Type", "application/json")
	cw := &captureWriter{header: make(http.Header)}
	_, cerr := p.run(cw, r, nil)
	if cerr != nil {
		return 0, nil, p.callErr(ctx, cerr)
	}
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	return cw.status, cw.body.Bytes(), nil
}

func (p *Plugin) callErr(ctx context.Context, cerr *callError) error {
	name := p.spec.Name
	switch cerr.kind {
	case failTimeout:
		return fmt.Errorf("plugin %q: %w", name, ErrTimeout)
	case failBusy:
		return fmt.Errorf("plugin %q: %w", name, ErrBusy)
	case failClosed:
		return fmt.Errorf("plugin %q: %w", name, ErrClosed)
	case failCanceled:
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("plugin %q: %w", name, err)
		}
		return fmt.Errorf("plugin %q: %w", name, context.Canceled)
	case failTooLarge:
		return fmt.Errorf("plugin %q: %w", name, &http.MaxBytesError{Limit: p.spec.MaxBody})
	case failOverCap:
		p.log.Error("plugin call failed", "err", cerr.cause, "max_response", p.spec.MaxResponse)
		return fmt.Errorf("plugin %q: %w (max_response %d bytes)", name, ErrResponseTooLarge, p.spec.MaxResponse)
	}
	p.log.Error("plugin call failed", "err", cerr.cause)
	return fmt.Errorf("plugin %q: %w: %v", name, ErrTrap, cerr.cause)
}

// captureWriter collects a tool's response.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// sentWriter passes a response straight through and notes its head: the
// status and a copy of the headers as they were when it went out.
type sentWriter struct {
	http.ResponseWriter
	status int         // 0 until the head went out
	header http.Header // the headers sent, once status is set
}

func (s *sentWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 { // 1xx heads are informational
		s.status, s.header = code, s.ResponseWriter.Header().Clone()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *sentWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status, s.header = http.StatusOK, s.ResponseWriter.Header().Clone()
	}
	return s.ResponseWriter.Write(p)
}

// Flush sends the head like net/http does, so a stream keeps flushing.
func (s *sentWriter) Flush() {
	if s.status == 0 {
		s.status, s.header = http.StatusOK, s.ResponseWriter.Header().Clone()
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer for http.ResponseController.
func (s *sentWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// responseHeader is the response header as the guest reads it: after next,
// unbuffered, the headers that went out with the status.
func (st *reqState) responseHeader() http.Header {
	if st.sent != nil && st.sent.header != nil {
		return st.sent.header
	}
	return st.w.Header()
}

// bufferedResponse holds the downstream response while buffer_response is on,
// so handle_response can read and rewrite the status, headers and body.
type bufferedResponse struct {
	w           http.ResponseWriter
	st          *reqState // charges what downstream writes
	status      int
	body        bytes.Buffer
	wroteHeader bool // downstream called WriteHeader or Write
	guestWrote  bool // the guest wrote body bytes: Content-Length is stale
	reset       bool // the guest's first write after next cleared the body
}

var _ http.ResponseWriter = (*bufferedResponse)(nil)

func (b *bufferedResponse) Header() http.Header { return b.w.Header() }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wroteHeader {
		b.wroteHeader, b.status = true, code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if !b.wroteHeader {
		b.WriteHeader(http.StatusOK)
	}
	if !b.st.charge(len(p)) {
		// Downstream sees a failed write and stops; the call then fails.
		b.st.overCap = "downstream response"
		return 0, ErrResponseTooLarge
	}
	return b.body.Write(p)
}

// Flush does nothing: the response is sent whole after handle_response.
func (b *bufferedResponse) Flush() {}

// Unwrap returns the underlying writer for http.ResponseController.
func (b *bufferedResponse) Unwrap() http.ResponseWriter { return b.w }

func (b *bufferedResponse) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	if b.guestWrote {
		w.Header().Del("Content-Length")
	}
	w.WriteHeader(b.statusCode())
	if c, ok := w.(*captureWriter); ok && c.body.Len() == 0 {
		// A tool's buffered answer: hand the buffer over rather than hold
		// the body twice.
		c.body, b.body = b.body, bytes.Buffer{}
		return
	}
	_, _ = w.Write(b.body.Bytes())
}
