package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/mastra-server/mastra-server/host/memory"
)

// Error is an error with the HTTP status and client-facing message it maps to.
type Error struct {
	Status  int
	Message string  // safe to show the client
	Code    string  // optional machine-readable code
	Issues  []Issue // validation problems, one per field
	Err     error   // the cause, logged and never sent
}

// Issue is one validation problem.
type Issue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

// invalid is a 400 for one bad field.
func invalid(what, field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: what, Issues: []Issue{{Field: field, Message: msg}}}
}

type errorBody struct {
	Error     string  `json:"error"`
	Code      string  `json:"code,omitempty"`
	Issues    []Issue `json:"issues,omitempty"`
	RequestID string  `json:"requestId,omitempty"`
}

// toError maps any error to the status and message the client sees.
func toError(err error) *Error {
	var he *Error
	var mbe *http.MaxBytesError
	if errors.As(err, &he) {
		return he
	}
	if e := agentError(err); e != nil {
		return e
	}
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body too large", Err: err}
	case errors.Is(err, memory.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: "Thread not found", Err: err}
	case errors.Is(err, memory.ErrConflict):
		return threadExists(err)
	case errors.Is(err, memory.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Message: "Database unavailable", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Message: "Gateway Timeout", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: "Internal Server Error", Err: err}
}

// threadExists is the one answer for a thread id that is taken, by the
// caller or by anyone else.
func threadExists(err error) *Error {
	return &Error{Status: http.StatusConflict, Message: "Thread already exists", Code: "thread_exists", Err: err}
}

// writeError logs err and writes its JSON form. 5xx are logged at Error with
// the cause; 4xx at Debug.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := toError(err)
	id := requestID(r.Context())
	if e.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "request_id", id, "method", r.Method, "path", clip(r.URL.Path),
			"status", e.Status, "err", clipErr(err))
	} else {
		log.DebugContext(r.Context(), "request rejected", "request_id", id, "status", e.Status, "err", clipErr(err))
	}
	body := errorBody{Error: e.Message, Code: e.Code, Issues: e.Issues}
	if e.Status >= 500 {
		body.RequestID = id
	}
	if e.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, body)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"Internal Server Error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Del("Content-Length")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
