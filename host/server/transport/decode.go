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
	if !isJSONType(r.Header.Get("Content-Type")) {
		return &Error{Status: http.StatusUnsupportedMediaType, Message: "Content-Type must be application/json"}
	}
	if r.ContentLength > limit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body too large"}
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, limit), r.ContentLength)
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

// isJSONType reports whether a Content-Type is JSON: application/json or a
// +json type, with any parameters. The plain type, which most clients
// send, is not parsed (mime.ParseMediaType makes a map each time).
func isJSONType(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return ct != "" && err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// readBody is io.ReadAll(body), into one allocation when the request
// says its length (io.ReadAll starts at 512 bytes and doubles). A length
// said is trusted up to maxPrealloc only: a client that claims more and
// sends less costs what it sends.
func readBody(body io.Reader, length int64) ([]byte, error) {
	const maxPrealloc = 1 << 20
	if length <= 0 {
		return io.ReadAll(body)
	}
	// +1: room for the read that finds the end.
	b := make([]byte, 0, min(length, maxPrealloc)+1)
	for {
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than said: grow
		}
	}
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
