package plugin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

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

	kvQuotaLogged bool // the call's first kv_set past the quota was logged

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

// responseHeader is the response header as the guest reads it: after next,
// unbuffered, the headers that went out with the status.
func (st *reqState) responseHeader() http.Header {
	if st.sent != nil && st.sent.header != nil {
		return st.sent.header
	}
	return st.w.Header()
}
