package plugin

import (
	"bytes"
	"net/http"
)

// The response writers the host puts between next and the client.

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
