package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tetratelabs/wazero/api"
)

// The http_handler functions on request and response bodies.

// errBodyTooLarge traps a guest reading past Spec.MaxBody, or buffering
// (buffer_request) past Spec.MaxResponse.
var errBodyTooLarge = errors.New("request body over the plugin's max_body or max_response")

// read_body(kind, buf, buf_limit i32) -> eof_len i64
var readBody = newHostFunc("read_body", readBodyFn,
	types(i32, i32, i32), types(i64), "kind", "buf", "buf_limit")

func readBodyFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "read_body")
	kind, buf, limit := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if limit == 0 {
		panic(errors.New("read_body: buf_limit is 0"))
	}
	switch kind {
	case bodyKindRequest:
		mustBeforeNext(st, "read the request body")
		dst := mustRead(mod, buf, limit, "read_body buffer")
		n, eof := st.readRequestBody(dst)
		stack[0] = packHiLo(boolU32(eof), uint32(n))
	case bodyKindResponse:
		if st.buf == nil || !st.afterNext {
			panic(errors.New("read_body: the response body is readable only after next with buffer_response"))
		}
		dst := mustRead(mod, buf, limit, "read_body buffer")
		body := st.buf.body.Bytes()
		n := copy(dst, body[min(st.respRead, len(body)):])
		st.respRead += n
		stack[0] = packHiLo(boolU32(st.respRead >= len(body)), uint32(n))
	default:
		panic(fmt.Errorf("unknown body kind %d", kind))
	}
}

func boolU32(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// readRequestBody fills dst from the request body until it is full or the
// body ends, enforcing MaxBody and keeping a copy under buffer_request.
func (st *reqState) readRequestBody(dst []byte) (int, bool) {
	if st.bodyEOF || st.r.Body == nil || st.r.Body == http.NoBody {
		st.bodyEOF = true
		return 0, true
	}
	maxBody := st.p.spec.MaxBody
	n := 0
	var err error
	for n < len(dst) && err == nil {
		var m int
		m, err = st.r.Body.Read(dst[n:])
		n += m
	}
	st.bodyRead += int64(n)
	if maxBody > 0 && st.bodyRead > maxBody {
		st.bodyTooLarge = true
		panic(errBodyTooLarge)
	}
	if st.features&featureBufferRequest != 0 {
		if !st.charge(n) { // the client's body, not the guest's fault
			st.bodyTooLarge = true
			panic(errBodyTooLarge)
		}
		if st.bodyTee == nil {
			st.bodyTee = new(bytes.Buffer)
		}
		st.bodyTee.Write(dst[:n])
	}
	switch {
	case err == io.EOF:
		st.bodyEOF = true
	case err != nil:
		panic(fmt.Errorf("read_body: %w", err))
	}
	return n, st.bodyEOF
}

// write_body(kind, buf, buf_len i32)
var writeBody = newHostFunc("write_body", writeBodyFn,
	types(i32, i32, i32), types(), "kind", "buf", "buf_len")

func writeBodyFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "write_body")
	kind := uint32(stack[0])
	b := mustRead(mod, uint32(stack[1]), uint32(stack[2]), "write_body buffer")
	switch kind {
	case bodyKindRequest:
		mustBeforeNext(st, "write the request body")
		st.mustCharge(len(b), "request body")
		if st.newBody == nil {
			st.newBody = new(bytes.Buffer)
		}
		st.newBody.Write(b)
	case bodyKindResponse:
		if st.buf != nil {
			if st.afterNext && !st.buf.reset {
				st.held -= int64(st.buf.body.Len())
				st.buf.body.Reset() // the first write after next replaces the body
				st.buf.reset = true
			}
			st.mustCharge(len(b), "response body")
			st.buf.guestWrote = true
			st.buf.body.Write(b)
			return
		}
		if st.afterNext {
			panic(errors.New("write_body: the response body is writable after next only with buffer_response"))
		}
		if st.capture {
			st.mustCharge(len(b), "response body")
		} else {
			st.setWriteDeadline(ctx)
		}
		st.commit()
		_, _ = st.w.Write(b) // a client gone or stalled is not the guest's failure
	default:
		panic(fmt.Errorf("unknown body kind %d", kind))
	}
}
