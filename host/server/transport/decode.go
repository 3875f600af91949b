package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
)

// DecodeJSON reads a JSON object body of at most limit bytes into v. Wrong
// content types are 415, oversize bodies 413, bad JSON 400 naming the field,
// a body that misses its read deadline (see [EntryOptions]) 408 with the
// connection closed.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &Error{Status: http.StatusUnsupportedMediaType, Message: "Content-Type must be application/json"}
	}
	if r.ContentLength > limit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body too large"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body too large", Err: err}
		}
		if isTimeout(err) {
			w.Header().Set("Connection", "close")
			return &Error{Status: http.StatusRequestTimeout, Message: bodyLateMessage, Err: err}
		}
		return &Error{Status: http.StatusBadRequest, Message: "Could not read request body", Err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Invalid("Invalid request body", "body", "expected a JSON object, got an empty body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return Invalid("Invalid request body", "body", fmt.Sprintf("malformed JSON at byte %d", se.Offset))
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				return Invalid("Invalid request body", "body", "expected a JSON object")
			}
			return Invalid("Invalid request body", field, fmt.Sprintf("expected %s, got %s", jsonKind(te.Type.Kind().String()), te.Value))
		}
		return Invalid("Invalid request body", "body", "malformed JSON")
	}
	return nil
}

// bodyLateMessage is the 408 answer to a body that missed its deadline.
const bodyLateMessage = "Request body not received in time"

// isTimeout reports whether err is a read that missed its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return goKind
}
