package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Client input is checked here, at the edge, before any store or model call
// (F9): a value the database cannot hold must be a 400 naming the field, not
// a 500 after the model was paid for.

// MaxIDBytes bounds every id a client sends (threadId, resourceId, agentId,
// message ids, runId, path ids): well under the btree key limit of Postgres
// (about 2.7 kB) and short enough to log.
const MaxIDBytes = 255

// Dates a client may give a message (createdAt): years 0001 to 9999, the
// range that RFC 3339 and JavaScript's toISOString both write with four
// digits and that Postgres and SQLite both store.
var (
	minCreatedAt = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxCreatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)
)

// badID says why s cannot be an id, or "" when it can: at most MaxIDBytes
// bytes of valid UTF-8 without control characters (NUL included).
func badID(s string) string {
	switch {
	case len(s) > MaxIDBytes:
		return fmt.Sprintf("must be at most %d bytes, got %d", MaxIDBytes, len(s))
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return "must not contain control characters (NUL, newline, …)"
		}
	}
	return ""
}

// badThreadID is badID, and "/" is refused too: a thread id is a path
// segment of /threads/:threadId, and an id with "/" could never be read or
// deleted there (F14).
func badThreadID(s string) string {
	if msg := badID(s); msg != "" {
		return msg
	}
	if strings.Contains(s, "/") {
		return `must not contain "/"`
	}
	return ""
}

// badText says why s cannot be stored as text, or "": invalid UTF-8, or a
// NUL, which Postgres text and jsonb cannot hold.
func badText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL characters"
	}
	return ""
}

// badJSONText walks a JSON document and says why one of its strings (keys
// included) cannot be stored, or "". Values are never changed: what is
// stored reads back exactly as sent.
func badJSONText(v any) string {
	switch x := v.(type) {
	case string:
		return badText(x)
	case map[string]any:
		for k, e := range x {
			if msg := badText(k); msg != "" {
				return "key " + msg
			}
			if msg := badJSONText(e); msg != "" {
				return msg
			}
		}
	case []any:
		for _, e := range x {
			if msg := badJSONText(e); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// badMetadata is badJSONText for thread metadata. Text that merely looks
// like an escape (a backslash then "u0000") is fine: the store keeps it as
// sent.
func badMetadata(m map[string]any) string { return badJSONText(m) }

// badRawJSON is badJSONText over raw JSON. Raw JSON that does not parse is
// left to the caller's own decoding.
func badRawJSON(raw json.RawMessage) string {
	if !strings.Contains(string(raw), `\u0000`) && utf8.Valid(raw) {
		return "" // the common case: no escape that could hide a NUL
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return badJSONText(v)
}

// checkIDs checks ids by field name, in order, and returns the first 400.
func checkIDs(where string, fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if msg := badID(fields[i+1]); msg != "" {
			return transport.Invalid(where, fields[i], msg)
		}
	}
	return nil
}

// millisInRange reports whether ms milliseconds since 1970 is a createdAt
// the store can hold.
func millisInRange(ms float64) bool {
	return !math.IsNaN(ms) && ms >= float64(minCreatedAt.UnixMilli()) && ms <= float64(maxCreatedAt.UnixMilli())
}
