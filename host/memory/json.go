package memory

import (
	"encoding/json"
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
