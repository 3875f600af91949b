package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// This file implements module http_handler: the http-wasm handler ABI v0.1.1
// (https://http-wasm.io/http-handler-abi/). Misuse by the guest (a bad
// pointer, an unknown kind, a change after next without the feature it
// needs) panics, which wazero turns into a trap of the guest call.

// httpHandlerModule builds the http_handler host module for one runtime.
func (p *Plugin) httpHandlerModule(rt wazero.Runtime) wazero.HostModuleBuilder {
	fns := map[string]api.GoModuleFunc{
		"enable_features":      p.enableFeatures,
		"get_config":           p.getConfig,
		"log_enabled":          p.logEnabled,
		"log":                  p.logMessage,
		"get_method":           getMethod,
		"set_method":           setMethod,
		"get_uri":              getURI,
		"set_uri":              setURI,
		"get_protocol_version": getProtocolVersion,
		"get_source_addr":      getSourceAddr,
		"get_header_names":     getHeaderNames,
		"get_header_values":    getHeaderValues,
		"set_header_value":     setHeaderValue,
		"add_header_value":     addHeaderValue,
		"remove_header":        removeHeader,
		"read_body":            readBody,
		"write_body":           writeBody,
		"get_status_code":      getStatusCode,
		"set_status_code":      setStatusCode,
	}
	return buildModule(rt, moduleHTTPHandler, httpHandlerFuncs, fns)
}

func buildModule(rt wazero.Runtime, name string, sigs map[string]hostFunc, fns map[string]api.GoModuleFunc) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(name)
	for fname, f := range sigs {
		fn, ok := fns[fname]
		if !ok {
			panic("plugin: no implementation of " + name + "." + fname)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(fn, f.params, f.results).Export(fname)
	}
	return b
}

// Memory helpers. A region outside memory traps.

func mustRead(mod api.Module, ptr, n uint32, what string) []byte {
	if n == 0 {
		return nil
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("%s: region [%d, %d+%d) is outside memory", what, ptr, ptr, n))
	}
	return b
}

func mustString(mod api.Module, ptr, n uint32, what string) string {
	if n > maxGuestString {
		panic(fmt.Errorf("%s: length %d is too large", what, n))
	}
	return string(mustRead(mod, ptr, n, what))
}

// writeIfFits writes v at buf when it fits in limit and returns its length
// either way, so the guest can retry with a larger buffer.
func writeIfFits[T string | []byte](mod api.Module, buf, limit uint32, v T, what string) uint32 {
	n := uint32(len(v))
	if n == 0 || n > limit {
		return n
	}
	copy(mustRead(mod, buf, n, what), v)
	return n
}

// writeList writes NUL-terminated items at buf when they fit in limit and
// returns count<<32|len either way. lower lowercases ASCII while copying.
func writeList(mod api.Module, buf, limit uint32, items []string, lower bool) uint64 {
	if len(items) == 0 {
		return 0
	}
	n := uint32(len(items))
	for _, s := range items {
		n += uint32(len(s))
	}
	if n <= limit {
		dst := mustRead(mod, buf, n, "list buffer")
		i := 0
		for _, s := range items {
			for j := 0; j < len(s); j++ {
				c := s[j]
				if lower && 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst[i] = c
				i++
			}
			dst[i] = 0
			i++
		}
	}
	return packHiLo(uint32(len(items)), n)
}

// requestState returns the call's state and traps outside a request.
func requestState(ctx context.Context, fn string) *reqState {
	st := stateFrom(ctx)
	if st.init {
		panic(fmt.Errorf("http_handler.%s called outside a request (during start)", fn))
	}
	return st
}

func mustBeforeNext(st *reqState, what string) {
	if st.afterNext {
		panic(fmt.Errorf("can't %s after the next handler ran", what))
	}
}

// enable_features(features i32) -> i32: enables what the host supports and
// returns the features now enabled. During start it sets the instance's
// defaults; during a request it applies to that request.
func (p *Plugin) enableFeatures(ctx context.Context, _ api.Module, stack []uint64) {
	st := stateFrom(ctx)
	f := uint32(stack[0]) & featuresSupported
	if !st.init && f&featureBufferResponse != 0 {
		st.startBuffering()
		if st.buf == nil { // too late: the response is already going out
			f &^= featureBufferResponse
		}
	}
	st.features |= f
	stack[0] = uint64(st.features)
}

// get_config(buf, buf_limit i32) -> len i32
func (p *Plugin) getConfig(_ context.Context, mod api.Module, stack []uint64) {
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), p.spec.Config, "get_config buffer"))
}

func slogLevel(level int32) (slog.Level, bool) {
	switch {
	case level <= logLevelDebug:
		return slog.LevelDebug, true
	case level == logLevelInfo:
		return slog.LevelInfo, true
	case level == logLevelWarn:
		return slog.LevelWarn, true
	case level == logLevelError:
		return slog.LevelError, true
	}
	return 0, false // logLevelNone and above
}

// log_enabled(level i32) -> i32
func (p *Plugin) logEnabled(ctx context.Context, _ api.Module, stack []uint64) {
	lvl, ok := slogLevel(int32(uint32(stack[0])))
	if ok && p.log.Enabled(ctx, lvl) {
		stack[0] = 1
	} else {
		stack[0] = 0
	}
}

const maxLogMessage = 4096

// log(level, buf, buf_len i32)
func (p *Plugin) logMessage(ctx context.Context, mod api.Module, stack []uint64) {
	lvl, ok := slogLevel(int32(uint32(stack[0])))
	if !ok || !p.log.Enabled(ctx, lvl) {
		return
	}
	msg := mustRead(mod, uint32(stack[1]), uint32(stack[2]), "log message")
	if len(msg) > maxLogMessage {
		msg = msg[:maxLogMessage]
	}
	ok, dropped := p.lim.allow()
	switch {
	case !ok:
	case dropped > 0:
		p.log.Log(ctx, lvl, string(msg), "source", "guest", "dropped_before", dropped)
	default:
		p.log.Log(ctx, lvl, string(msg), "source", "guest")
	}
}

// get_method(buf, buf_limit i32) -> len i32
func getMethod(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_method")
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), st.r.Method, "get_method buffer"))
}

// set_method(ptr, len i32)
func setMethod(ctx context.Context, mod api.Module, stack []uint64) {
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
func getURI(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_uri")
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), requestURI(st.r), "get_uri buffer"))
}

// set_uri(ptr, len i32)
func setURI(ctx context.Context, mod api.Module, stack []uint64) {
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
func getProtocolVersion(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_protocol_version")
	proto := st.r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), proto, "get_protocol_version buffer"))
}

// get_source_addr(buf, buf_limit i32) -> len i32, e.g. 1.1.1.1:12345
func getSourceAddr(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "get_source_addr")
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), st.r.RemoteAddr, "get_source_addr buffer"))
}

func checkKind(kind uint32) {
	if kind > headerKindResponseTrailers {
		panic(fmt.Errorf("unknown header kind %d", kind))
	}
}

// get_header_names(kind, buf, buf_limit i32) -> count_len i64. Names are
// lowercase; the request's Host is included as "host". Trailers: none.
func getHeaderNames(ctx context.Context, mod api.Module, stack []uint64) {
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
func getHeaderValues(ctx context.Context, mod api.Module, stack []uint64) {
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
func setHeaderValue(ctx context.Context, mod api.Module, stack []uint64) {
	writeHeaderValue(ctx, mod, stack, "set", http.Header.Set)
}

// add_header_value(kind, name, name_len, value, value_len i32)
func addHeaderValue(ctx context.Context, mod api.Module, stack []uint64) {
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
func removeHeader(ctx context.Context, mod api.Module, stack []uint64) {
	st := requestState(ctx, "remove_header")
	h, _ := headerForWrite(st, uint32(stack[0]), "remove")
	h.Del(headerName(mod, uint32(stack[1]), uint32(stack[2])))
}

// errBodyTooLarge traps a guest reading past Spec.MaxBody, or buffering
// (buffer_request) past Spec.MaxResponse.
var errBodyTooLarge = errors.New("request body over the plugin's max_body or max_response")

// read_body(kind, buf, buf_limit i32) -> eof_len i64
func readBody(ctx context.Context, mod api.Module, stack []uint64) {
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
func writeBody(ctx context.Context, mod api.Module, stack []uint64) {
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

// get_status_code() -> i32
func getStatusCode(ctx context.Context, _ api.Module, stack []uint64) {
	st := requestState(ctx, "get_status_code")
	switch {
	case st.buf != nil:
		stack[0] = uint64(st.buf.statusCode())
	case st.sent != nil && st.sent.status != 0:
		stack[0] = uint64(st.sent.status)
	case st.status != 0:
		stack[0] = uint64(st.status)
	default:
		stack[0] = http.StatusOK
	}
}

// set_status_code(code i32)
func setStatusCode(ctx context.Context, _ api.Module, stack []uint64) {
	st := requestState(ctx, "set_status_code")
	code := int(int32(uint32(stack[0])))
	if code < 100 || code > 999 {
		panic(fmt.Errorf("set_status_code: invalid status %d", code))
	}
	switch {
	case st.buf != nil:
		st.buf.status = code
	case st.afterNext:
		panic(errors.New("set_status_code: after next only with buffer_response"))
	case !st.committed:
		st.status = code
	}
}
