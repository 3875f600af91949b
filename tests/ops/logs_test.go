package ops_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// repeatedKeys returns the keys that occur more than once in one object of
// a JSON log line, at any depth: a collector keeps only one of them, so the
// other value is lost.
func repeatedKeys(line []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	var repeated []string
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					repeated = append(repeated, key)
				}
				seen[key] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return repeated, nil
}

// Every JSON log line of a run that touches the access log, request
// errors, a failing tool, a failing workflow run and the metrics has each
// key once, and durations are numbers named in milliseconds (a bare
// "duration" in nanoseconds reads as a 700-second request on a dashboard).
func TestLogLinesJSON(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	s := start(t, workflowTOML(t, fake))
	do(t, "POST", s.url+"/api/agents/a/generate", `{"messages":"use trap","memory":{"thread":"th-keys","resource":"res-keys"}}`)
	do(t, "POST", s.url+"/api/agents/a/stream", `{"messages":"hello","memory":{"thread":"th-keys","resource":"res-keys"}}`)
	do(t, "POST", s.url+"/api/agents/a/generate", `{bad`)
	do(t, "POST", s.url+"/api/agents/nope/generate", `{"messages":"hi"}`)
	do(t, "GET", s.url+"/no/such/route", "")
	do(t, "GET", s.url+"/health", "")
	do(t, "GET", s.url+"/metrics", "")
	startRun(t, s, "bad")

	raw := s.logs.raw()
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	var access int
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, l)
		}
		rep, err := repeatedKeys(l)
		if err != nil {
			t.Fatalf("log line: %v\n%s", err, l)
		}
		if len(rep) > 0 {
			t.Errorf("log line %q repeats %v: %s", m["msg"], rep, l)
		}
		for k, v := range m {
			if strings.Contains(k, "duration") || strings.Contains(k, "timeout") || strings.HasSuffix(k, "ttl") {
				if _, isNum := v.(float64); !isNum || !strings.HasSuffix(k, "_ms") {
					t.Errorf("log line %q: %s = %v; want a number of milliseconds named %s_ms", m["msg"], k, v, k)
				}
			}
		}
		if m["msg"] == "request" {
			access++
			if _, ok := m["duration_ms"].(float64); !ok {
				t.Errorf("access log line has no duration_ms: %s", l)
			}
		}
	}
	if access < 7 {
		t.Errorf("%d access log lines; want one per request (at least 7)", access)
	}
}
