package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// TestSuspendedRuns: the waiting turns per agent, as counted; a count that
// fails reports the last good one, never a made-up zero.
func TestSuspendedRuns(t *testing.T) {
	m := New()
	var fail bool
	calls := 0
	m.WatchSuspended(func(context.Context) (map[string]int, error) {
		calls++
		if fail {
			return nil, errors.New("database down")
		}
		return map[string]int{"approver": 2, "assistant": 0}, nil
	})
	out := scrape(t, m)
	for _, want := range []string{`mastra_agent_suspended_runs{agent="approver"} 2`, `mastra_agent_suspended_runs{agent="assistant"} 0`} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q:\n%s", want, out)
		}
	}
	fail = true
	if out := scrape(t, m); !strings.Contains(out, `mastra_agent_suspended_runs{agent="approver"} 2`) || calls != 1 {
		t.Errorf("second scrape (count %d times) = %s; want the cached count", calls, out)
	}
}

func TestSuspendedRunsNeverCounted(t *testing.T) {
	m := New()
	m.WatchSuspended(func(context.Context) (map[string]int, error) { return nil, errors.New("database down") })
	if out := scrape(t, m); strings.Contains(out, "mastra_agent_suspended_runs{") {
		t.Errorf("a failed count reported values:\n%s", out)
	}
}
