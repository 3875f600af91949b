package transport

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A key given by two With calls and again by the record is written once,
// the record's value winning; durations become milliseconds named _ms, in
// groups too; wrapping twice changes nothing.
func TestLogHandlerKeysOnceDurationsInMillis(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(LogHandler(LogHandler(slog.NewJSONHandler(&out, nil))))
	log.With("component", "workflow").With("component", "river", "timeout", 2*time.Second).
		Info("x", "k", 1, "k", 2, "took", 1500*time.Microsecond, slog.Group("g", "wait", time.Millisecond))
	line := strings.TrimSpace(out.String())
	for _, key := range []string{`"component"`, `"k"`, `"timeout_ms"`, `"took_ms"`} {
		if n := strings.Count(line, key+":"); n != 1 {
			t.Errorf("%s appears %d times in %s; want once", key, n, line)
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	g, _ := m["g"].(map[string]any)
	if m["component"] != "river" || m["k"] != float64(2) || m["timeout_ms"] != float64(2000) || m["took_ms"] != 1.5 || g["wait_ms"] != float64(1) {
		t.Errorf("line = %s; want component river, k 2, timeout_ms 2000, took_ms 1.5, g.wait_ms 1", line)
	}
}
