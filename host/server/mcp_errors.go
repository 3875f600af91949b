package server

import (
	"net/http"
	"strings"

	"github.com/mastra-server/mastra-server/host/server/transport"
)

// The Go SDK answers the transport's HTTP-level refusals (415 wrong content
// type, 400 bad Accept or protocol version, 413, 403 cross-origin, …) with
// http.Error's plain text, while the rest of the API answers JSON errors.
// plainErrors catches those answers before a byte is sent and hands them
// back as a *transport.Error, which the router writes as every other
// error. JSON-RPC errors (application/json) and successes pass untouched.

// maxPlainError bounds the text kept of a refusal: http.Error writes one
// short line.
const maxPlainError = 1 << 10

// plainErrors is the ResponseWriter the SDK writes to.
type plainErrors struct {
	http.ResponseWriter
	status int    // a caught refusal's status; 0 while none
	text   []byte // its text
}

func (p *plainErrors) WriteHeader(code int) {
	if p.status == 0 && code >= 400 && strings.HasPrefix(p.Header().Get("Content-Type"), "text/plain") {
		p.status = code
		// The JSON body replaces the text: its headers go with it.
		p.Header().Del("Content-Type")
		p.Header().Del("X-Content-Type-Options")
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *plainErrors) Write(b []byte) (int, error) {
	if p.status != 0 {
		p.text = append(p.text, b[:min(len(b), maxPlainError-len(p.text))]...)
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

// Flush passes on, so that a streamed answer is not held back.
func (p *plainErrors) Flush() {
	if p.status == 0 {
		http.NewResponseController(p.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (p *plainErrors) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// err is the caught refusal, nil when there was none.
func (p *plainErrors) err() error {
	if p.status == 0 {
		return nil
	}
	msg := strings.TrimSpace(string(p.text))
	if msg == "" {
		msg = http.StatusText(p.status)
	}
	return &transport.Error{Status: p.status, Message: msg}
}
