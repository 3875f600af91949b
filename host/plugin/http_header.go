package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// The http_handler functions on request and response headers.

func checkKind(kind uint32) {
	if kind > headerKindResponseTrailers {
		panic(fmt.Errorf("unknown header kind %d", kind))
	}
}

// get_header_names(kind, buf, buf_limit i32) -> count_len i64. Names are
// lowercase; the request's Host is included as "host". Trailers: none.
var getHeaderNames = newHostFunc("get_header_names", getHeaderNamesFn,
	types(i32, i32, i32), types(i64), "kind", "buf", "buf_limit")

func getHeaderNamesFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_header_names")
	kind := uint32(stack[0])
	checkKind(kind)
	var names []string
	switch kind {
	case headerKindRequest:
		h := st.r.Header
		names = make([]string, 0, len(h)+1)
		if st.r.Host != "" {
			names = append(names, "Host")
		}
		for k := range h {
			if k != "Host" {
				names = append(names, k)
			}
		}
	case headerKindResponse:
		h := st.responseHeader()
		names = make([]string, 0, len(h))
		for k := range h {
			if !strings.HasPrefix(k, http.TrailerPrefix) {
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	stack[0] = writeList(mod, uint32(stack[1]), uint32(stack[2]), names, true)
}

func headerName(mod api.Module, ptr, n uint32) string {
	if n > maxGuestString {
		panic(fmt.Errorf("header name: length %d is too large", n))
	}
	b := mustRead(mod, ptr, n, "header name")
	if len(b) == 0 {
		panic(errors.New("header name is empty"))
	}
	// Common names, in any case, map to their canonical form without an
	// allocation (a map index with string(b) does not copy).
	if k, ok := knownHeaders[string(b)]; ok {
		return k
	}
	return http.CanonicalHeaderKey(string(b))
}

// knownHeaders maps the canonical and lower-case spellings of common header
// names to the canonical one. Guests ask for these on nearly every call.
var knownHeaders = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Connection",
		"Content-Encoding", "Content-Length", "Content-Type", "Cookie", "Host", "If-None-Match", "Origin",
		"Referer", "Retry-After", "Set-Cookie", "User-Agent", "Vary", "WWW-Authenticate", "X-Api-Key",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Powered-By", "X-Real-Ip",
		"X-Request-Id", "X-Tenant-Id", "X-User-Id", "Access-Control-Allow-Origin",
	} {
		canon := http.CanonicalHeaderKey(k)
		m[canon] = canon
		m[strings.ToLower(k)] = canon
	}
	return m
}()

// get_header_values(kind, name, name_len, buf, buf_limit i32) -> count_len i64
var getHeaderValues = newHostFunc("get_header_values", getHeaderValuesFn,
	types(i32, i32, i32, i32, i32), types(i64), "kind", "name", "name_len", "buf", "buf_limit")

func getHeaderValuesFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_header_values")
	kind := uint32(stack[0])
	checkKind(kind)
	name := headerName(mod, uint32(stack[1]), uint32(stack[2]))
	var values []string
	switch kind {
	case headerKindRequest:
		if name == "Host" {
			if st.r.Host != "" {
				values = []string{st.r.Host}
			}
		} else {
			values = st.r.Header.Values(name)
		}
	case headerKindResponse:
		values = st.responseHeader().Values(name)
	}
	stack[0] = writeList(mod, uint32(stack[3]), uint32(stack[4]), values, false)
}

// headerForWrite returns the header a set/add/remove of kind changes, after
// checking that the change is still allowed.
func headerForWrite(st *reqState, kind uint32, op string) (h http.Header, host bool) {
	checkKind(kind)
	switch kind {
	case headerKindRequest:
		mustBeforeNext(st, op+" a request header")
		return st.requestHeader(), true
	case headerKindResponse:
		if st.afterNext && st.buf == nil {
			panic(fmt.Errorf("can't %s a response header after next without buffer_response", op))
		}
		return st.responseHeaderForWrite(), false
	}
	panic(fmt.Errorf("can't %s a trailer: trailers are not supported", op))
}

// set_header_value(kind, name, name_len, value, value_len i32)
var setHeaderValue = newHostFunc("set_header_value", setHeaderValueFn,
	types(i32, i32, i32, i32, i32), types(), "kind", "name", "name_len", "value", "value_len")

func setHeaderValueFn(ctx context.Context, mod api.Module, stack []uint64) {
	writeHeaderValue(ctx, mod, stack, "set", http.Header.Set)
}

// add_header_value(kind, name, name_len, value, value_len i32)
var addHeaderValue = newHostFunc("add_header_value", addHeaderValueFn,
	types(i32, i32, i32, i32, i32), types(), "kind", "name", "name_len", "value", "value_len")

func addHeaderValueFn(ctx context.Context, mod api.Module, stack []uint64) {
	writeHeaderValue(ctx, mod, stack, "add", http.Header.Add)
}

// writeHeaderValue is set_header_value and add_header_value: a request's
// Host is its own field, every other header goes through apply.
func writeHeaderValue(ctx context.Context, mod api.Module, stack []uint64, op string, apply func(http.Header, string, string)) {
	st := requestState(ctx, op+"_header_value")
	h, isReq := headerForWrite(st, uint32(stack[0]), op)
	name := headerName(mod, uint32(stack[1]), uint32(stack[2]))
	value := mustString(mod, uint32(stack[3]), uint32(stack[4]), "header value")
	st.mustCharge(len(name)+len(value), "headers")
	if isReq && name == "Host" {
		st.mutableRequest().Host = value
		return
	}
	apply(h, name, value)
}

// remove_header(kind, name, name_len i32)
var removeHeader = newHostFunc("remove_header", removeHeaderFn,
	types(i32, i32, i32), types(), "kind", "name", "name_len")

func removeHeaderFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "remove_header")
	h, _ := headerForWrite(st, uint32(stack[0]), "remove")
	h.Del(headerName(mod, uint32(stack[1]), uint32(stack[2])))
}
