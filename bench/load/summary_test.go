package main

import (
	"strings"
	"testing"
)

// Lines as compare.sh writes them (this tool's output, prefixed).
const compareLog = `[before 1] generate     2649 ok    0 failed in  10.0s:    264.9 turns/s  p50 55.28ms  p99 1146.22ms  server CPU  1.604 ms/turn (4.25s in all)  upstream conns opened 9
[before 1] open generate at 100/s for 10s: 1000 ok 0 failed 0 dropped (99.7 turns/s done)  client p50 15.67ms  p99 49.72ms  server CPU 2.900 ms/turn
[before 1]   mastra_server_overhead_seconds{route="/api/agents/:agentId/generate"}: 1000 observed  p50 15.058 ms  p99 48.571 ms  mean 15.220 ms
[after 1] generate     3299 ok    0 failed in  10.0s:    329.8 turns/s  p50 112.01ms  p99 672.70ms  server CPU  1.406 ms/turn (4.64s in all)  upstream conns opened 11
[after 1] open generate at 100/s for 10s: 1000 ok 0 failed 0 dropped (99.9 turns/s done)  client p50 9.67ms  p99 30.72ms  server CPU 2.100 ms/turn
[after 1]   mastra_server_overhead_seconds{route="/api/agents/:agentId/generate"}: 1000 observed  p50 8.000 ms  p99 20.000 ms  mean 9.000 ms
[before 2] generate     3151 ok    0 failed in  10.0s:    314.9 turns/s  p50 34.94ms  p99 2131.72ms  server CPU  1.431 ms/turn (4.51s in all)  upstream conns opened 1
[before 2] open generate at 500/s for 10s: 4856 ok 0 failed 144 dropped (230.3 turns/s done)  client p50 8348.19ms  p99 17351.62ms  server CPU 1.518 ms/turn
[before 2]   mastra_server_overhead_seconds{route="/api/agents/:agentId/generate"}: 4856 observed  p50 ≥ 2500.000 ms  p99 ≥ 2500.000 ms  mean 8930.246 ms
[peer] peer generate CPU per turn: mastra-server 1.542–1.795 ms, mastra 1.x 21.4–34.1 ms; ratio 12–22× (3 rounds, 8 clients, 20 tokens, 20-message history)
`

func TestSummarizeRanges(t *testing.T) {
	var b strings.Builder
	if err := summarize(strings.NewReader(compareLog), &b); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(b.String(), "\n") {
		if i := strings.Index(line, "  "); i > 0 {
			rows[strings.TrimSpace(line[:i])] = strings.Fields(line[i:])
		}
	}
	want := map[string][]string{
		"generate server CPU ms/turn":                             {"1.431–1.604", "1.406"},
		"generate turns/s (closed loop)":                          {"265–315", "330"},
		"open generate at 100/s: server CPU ms/turn":              {"2.9", "2.1"},
		"overhead /api/agents/:agentId/generate at 100/s: p99 ms": {"48.571", "20"},
		"overhead /api/agents/:agentId/generate at 500/s: p50 ms": {"≥2500", "-"},
		"open generate at 500/s: failed+dropped":                  {"144", "-"},
	}
	for fig, cells := range want {
		got := rows[fig]
		if strings.Join(got, " ") != strings.Join(cells, " ") {
			t.Errorf("%s: got %q, want %q\n%s", fig, got, cells, b.String())
		}
	}
	if !strings.Contains(b.String(), "peer generate CPU per turn: mastra-server 1.542–1.795 ms") {
		t.Errorf("the peer line is not passed on:\n%s", b.String())
	}
}
