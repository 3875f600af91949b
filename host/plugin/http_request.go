package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tetratelabs/wazero/api"
)

// The http_handler functions that read and change the request line.

// get_method(buf, buf_limit i32) -> len i32
var getMethod = newHostFunc("get_method", getMethodFn,
	types(i32, i32), types(i32), "buf", "buf_limit")

func getMethodFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_method")
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), st.r.Method, "get_method buffer"))
}

// set_method(ptr, len i32)
var setMethod = newHostFunc("set_method", setMethodFn,
	types(i32, i32), types(), "ptr", "len")

func setMethodFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "set_method")
	mustBeforeNext(st, "set the method")
	m := mustString(mod, uint32(stack[0]), uint32(stack[1]), "set_method")
	if m == "" {
		panic(errors.New("set_method: method is empty"))
	}
	st.mutableRequest().Method = m
}

func requestURI(r *http.Request) string {
	u := r.URL
	s := u.EscapedPath()
	if s == "" {
		s = "/"
	}
	if u.ForceQuery || u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

// get_uri(buf, buf_limit i32) -> len i32: path and query, e.g. /v1/hi?name=panda
var getURI = newHostFunc("get_uri", getURIFn,
	types(i32, i32), types(i32), "buf", "buf_limit")

func getURIFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_uri")
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), requestURI(st.r), "get_uri buffer"))
}

// set_uri(ptr, len i32)
var setURI = newHostFunc("set_uri", setURIFn,
	types(i32, i32), types(), "ptr", "len")

func setURIFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "set_uri")
	mustBeforeNext(st, "set the URI")
	s := mustString(mod, uint32(stack[0]), uint32(stack[1]), "set_uri")
	if s == "" {
		s = "/"
	}
	u, err := url.ParseRequestURI(s)
	if err != nil {
		panic(fmt.Errorf("set_uri: %w", err))
	}
	r := st.mutableRequest()
	r.RequestURI = s
	r.URL.Path, r.URL.RawPath = u.Path, u.RawPath
	r.URL.RawQuery, r.URL.ForceQuery = u.RawQuery, u.ForceQuery
}

// get_protocol_version(buf, buf_limit i32) -> len i32, e.g. HTTP/1.1
var getProtocolVersion = newHostFunc("get_protocol_version", getProtocolVersionFn,
	types(i32, i32), types(i32), "buf", "buf_limit")

func getProtocolVersionFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_protocol_version")
	proto := st.r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), proto, "get_protocol_version buffer"))
}

// get_source_addr(buf, buf_limit i32) -> len i32, e.g. 1.1.1.1:12345
var getSourceAddr = newHostFunc("get_source_addr", getSourceAddrFn,
	types(i32, i32), types(i32), "buf", "buf_limit")

func getSourceAddrFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_source_addr")
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), st.r.RemoteAddr, "get_source_addr buffer"))
}
