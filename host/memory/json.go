package memory

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
)

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonPathKey quotes a key for a SQLite JSON path.
func jsonPathKey(k string) string {
	return `"` + strings.ReplaceAll(k, `"`, `\"`) + `"`
}

// metadataColumn is thread metadata as the database sees it: JSON text.
// Bun inlines a map column through its JSON appender, which rewrites the
// text `\u0000` (a backslash then "u0000") so that SQLite stores a NUL in
// its place and Postgres refuses the row. As a driver.Valuer the JSON goes
// in as an ordinary quoted string, byte for byte.
type metadataColumn map[string]any

// Value implements driver.Valuer: nil metadata is SQL NULL.
func (m metadataColumn) Value() (driver.Value, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(map[string]any(m))
	if err != nil {
		return nil, fmt.Errorf("memory: encode metadata: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner for JSON text, bytes or NULL.
func (m *metadataColumn) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*m = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("memory: metadata column holds %T", src)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("memory: decode metadata: %w", err)
	}
	*m = out
	return nil
}
