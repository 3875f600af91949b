package mastra

import (
	"encoding/json"
	"io"
	"unsafe"

	"github.com/mastra-server/mastra-server/sdk/go/internal/abi"
)

// Request is the incoming HTTP request of the current call. It is a zero-size handle: every method
// asks the host. A middleware may change the method, URI and headers before returning next=true;
// later handlers see the changes.
type Request struct{}

// Response is the HTTP response of the current call. Set the status and headers before the first
// Write: the first Write sends them.
type Response struct{}

var requestHandler func(req Request, resp Response) (next bool)

// HandleRequest registers the plugin's handler. Call it from an init function: in a Go reactor
// (-buildmode=c-shared) package init runs when the host instantiates the module, main does not.
//
// Return next=true to pass the request on to the next handler (middleware), or false when the
// handler wrote the response itself (routes, or a middleware that short-circuits, e.g. a 401).
// Without a registered handler every request passes through.
func HandleRequest(fn func(req Request, resp Response) (next bool)) { requestHandler = fn }

// handle is called by the handle_request export.
func handle() uint64 {
	if requestHandler == nil {
		return 1
	}
	if requestHandler(Request{}, Response{}) {
		return 1
	}
	return 0
}

// ---- request line ----

// Method returns the request method, e.g. "GET".
func (Request) Method() string { return string(read32(abi.GetMethod)) }

// SetMethod changes the request method seen by later handlers.
func (Request) SetMethod(method string) { p, n := strPtr(method); abi.SetMethod(p, n) }

// URI returns the request URI: path and query, e.g. "/api/items?limit=10".
func (Request) URI() string { return string(read32(abi.GetURI)) }

// SetURI changes the request URI (path and query) seen by later handlers.
func (Request) SetURI(uri string) { p, n := strPtr(uri); abi.SetURI(p, n) }

// ProtocolVersion returns e.g. "HTTP/1.1" or "HTTP/2.0".
func (Request) ProtocolVersion() string { return string(read32(abi.GetProtocolVersion)) }

// SourceAddr returns the client address as "ip:port".
func (Request) SourceAddr() string { return string(read32(abi.GetSourceAddr)) }

// Param returns a route parameter (e.g. "name" for the path "/hello/:name"); "" if absent.
func (Request) Param(name string) string { v, _ := RouteParam(name); return v }

// ---- headers (shared by Request and Response) ----

func headerValues(kind uint32, name string) (count uint32, list []byte) {
	np, nl := strPtr(name)
	return read64(false, func(buf unsafe.Pointer, limit uint32) uint64 {
		return abi.GetHeaderValues(kind, np, nl, buf, limit)
	})
}

func header(kind uint32, name string) string {
	count, list := headerValues(kind, name)
	if count == 0 {
		return ""
	}
	return firstNUL(list)
}

func headerAll(kind uint32, name string) []string {
	count, list := headerValues(kind, name)
	if count == 0 {
		return nil
	}
	return splitNUL(list)
}

func headerNames(kind uint32) []string {
	count, list := read64(false, func(buf unsafe.Pointer, limit uint32) uint64 {
		return abi.GetHeaderNames(kind, buf, limit)
	})
	if count == 0 {
		return nil
	}
	return splitNUL(list)
}

func setHeader(kind uint32, name, value string) {
	np, nl := strPtr(name)
	vp, vl := strPtr(value)
	abi.SetHeaderValue(kind, np, nl, vp, vl)
}

func addHeader(kind uint32, name, value string) {
	np, nl := strPtr(name)
	vp, vl := strPtr(value)
	abi.AddHeaderValue(kind, np, nl, vp, vl)
}

func removeHeader(kind uint32, name string) {
	np, nl := strPtr(name)
	abi.RemoveHeader(kind, np, nl)
}

// Header returns the first value of the request header (case-insensitive name), "" if absent.
func (Request) Header(name string) string { return header(abi.KindRequest, name) }

// HeaderValues returns all values of the request header, nil if absent.
func (Request) HeaderValues(name string) []string { return headerAll(abi.KindRequest, name) }

// HeaderNames returns the names of all request headers.
func (Request) HeaderNames() []string { return headerNames(abi.KindRequest) }

// SetHeader replaces the request header's values with value.
func (Request) SetHeader(name, value string) { setHeader(abi.KindRequest, name, value) }

// AddHeader adds a value to the request header.
func (Request) AddHeader(name, value string) { addHeader(abi.KindRequest, name, value) }

// RemoveHeader deletes the request header.
func (Request) RemoveHeader(name string) { removeHeader(abi.KindRequest, name) }

// Header returns the first value of the response header, "" if absent.
func (Response) Header(name string) string { return header(abi.KindResponse, name) }

// HeaderValues returns all values of the response header, nil if absent.
func (Response) HeaderValues(name string) []string { return headerAll(abi.KindResponse, name) }

// HeaderNames returns the names of all response headers.
func (Response) HeaderNames() []string { return headerNames(abi.KindResponse) }

// SetHeader replaces the response header's values with value.
func (Response) SetHeader(name, value string) { setHeader(abi.KindResponse, name, value) }

// AddHeader adds a value to the response header.
func (Response) AddHeader(name, value string) { addHeader(abi.KindResponse, name, value) }

// RemoveHeader deletes the response header.
func (Response) RemoveHeader(name string) { removeHeader(abi.KindResponse, name) }

// ---- bodies ----

type bodyReader struct {
	kind uint32
	eof  bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	eof, n := abi.SplitU64(abi.ReadBody(r.kind, ptr(p), uint32(len(p))))
	if eof != 0 {
		r.eof = true
		if n == 0 {
			return 0, io.EOF
		}
	}
	return int(n), nil
}

func readAll(kind uint32) []byte {
	var out []byte
	for empty := 0; empty < 3; {
		eof, n := abi.SplitU64(abi.ReadBody(kind, ptr(scratch), uint32(len(scratch))))
		out = append(out, scratch[:n]...)
		if eof != 0 {
			break
		}
		if n == 0 { // a host that never reports EOF must not hang the guest
			empty++
		}
	}
	return out
}

// Body reads the whole request body. The body is a stream: read it once (Body or BodyReader). A
// middleware that reads it and continues must call EnableFeatures(FeatureBufferRequest) first so
// that later handlers can read it again. The host limits its size (max_body in mastra.toml).
func (Request) Body() []byte { return readAll(abi.KindRequest) }

// BodyReader streams the request body.
func (Request) BodyReader() io.Reader { return &bodyReader{kind: abi.KindRequest} }

// Body reads the response body written by later handlers. Only meaningful in a response hook
// (package onresponse) after EnableFeatures(FeatureBufferResponse).
func (Response) Body() []byte { return readAll(abi.KindResponse) }

// Status returns the response status code (200 until set).
func (Response) Status() int { return int(abi.GetStatusCode()) }

// SetStatus sets the response status code. Call it before the first Write.
func (Response) SetStatus(code int) { abi.SetStatusCode(uint32(code)) }

// Write appends p to the response body. It implements io.Writer and never fails.
func (Response) Write(p []byte) (int, error) {
	if len(p) > 0 {
		abi.WriteBody(abi.KindResponse, ptr(p), uint32(len(p)))
	}
	return len(p), nil
}

// WriteString appends s to the response body.
func (Response) WriteString(s string) (int, error) {
	if len(s) > 0 {
		p, n := strPtr(s)
		abi.WriteBody(abi.KindResponse, p, n)
	}
	return len(s), nil
}

// WriteJSON answers with status and v encoded as JSON (Content-Type: application/json). It writes
// nothing if v cannot be encoded.
func (r Response) WriteJSON(status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.SetHeader("Content-Type", "application/json")
	r.SetStatus(status)
	_, err = r.Write(b)
	return err
}
