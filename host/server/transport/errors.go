package transport

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Error is an error with the HTTP status and client-facing message it maps to.
type Error struct {
	Status  int
	Message string  // safe to show the client
	Code    string  // optional machine-readable code
	Issues  []Issue // validation problems, one per field
	Err     error   // the cause, logged and never sent
	// RetryAfter, when set, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
}

// Issue is one validation problem.
type Issue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error returns the client message followed by the cause, for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// NewError is an error with status and a message for the client.
func NewError(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

// Invalid is a 400 for one bad field: what names the part of the request
// ("Invalid request body"), msg says what is wrong with field.
func Invalid(what, field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: what, Issues: []Issue{{Field: field, Message: msg}}}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error     string  `json:"error"`
	Code      string  `json:"code,omitempty"`
	Issues    []Issue `json:"issues,omitempty"`
	RequestID string  `json:"requestId,omitempty"`
}

// ErrorWriter writes errors as JSON, the one place that does.
type ErrorWriter struct {
	Log *slog.Logger
	// Map classifies the errors of the packages above transport (a thread
	// not found, a model unavailable); nil when it does not know err. It
	// is asked after an *Error in the chain and before the generic rules.
	Map func(error) *Error
}

// Classify maps any error to the status and message the client sees: an
// *Error in the chain, then Map, then *http.MaxBytesError (413) and
// context.DeadlineExceeded (504); anything else is a 500.
func (ew ErrorWriter) Classify(err error) *Error {
	var he *Error
	var mbe *http.MaxBytesError
	if errors.As(err, &he) {
		return he
	}
	if ew.Map != nil {
		if e := ew.Map(err); e != nil {
			return e
		}
	}
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body too large", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Message: "Gateway Timeout", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: "Internal Server Error", Err: err}
}

// Write logs err and writes its JSON form. 5xx are logged at Error with the
// cause and answered with a generic message and the request id; 4xx, and
// 501 (a feature this server does not have: an answer, not a failure), are
// logged at Debug.
func (ew ErrorWriter) Write(w http.ResponseWriter, r *http.Request, err error) {
	e := ew.Classify(err)
	id := RequestID(r.Context())
	if e.Status >= 500 && e.Status != http.StatusNotImplemented {
		ew.Log.ErrorContext(r.Context(), "request failed", "request_id", id, "method", r.Method, "path", Clip(r.URL.Path),
			"status", e.Status, "err", ClipErr(err))
	} else {
		ew.Log.DebugContext(r.Context(), "request rejected", "request_id", id, "status", e.Status, "err", ClipErr(err))
	}
	body := errorBody{Error: e.Message, Code: e.Code, Issues: e.Issues}
	if e.Status >= 500 {
		body.RequestID = id
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if e.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	WriteJSON(w, e.Status, body)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"Internal Server Error"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	// Its own length, replacing any stale one: no chunked framing, so no
	// terminator written on its own.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
