package ops_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// scrape reads /metrics with the Prometheus text parser.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	r := do(t, "GET", url, "")
	if r.status != 200 {
		t.Fatalf("GET %s = %d %s", url, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s Content-Type = %q; want the text format", url, ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, r.body)
	}
	return fams
}

// value is the value of the series of fam with exactly these labels (a
// histogram's count, or with sum its sum); -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string, sum ...bool) float64 {
	wantSum := len(sum) > 0 && sum[0]
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil && wantSum:
			return m.Histogram.GetSampleSum()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

type L = map[string]string

// After real traffic (turns with and without tools, streamed and not, a
// tool that traps, a tool the model invents, unknown paths), /metrics
// counts exactly what was sent, under route templates, and no label
// carries an id or a raw path.
func TestMetricsCountTraffic(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	s := start(t, baseTOML(t, fake))

	const thread1, thread2, secretRes = "thread-aaaa-1111", "thread-bbbb-2222", "tenant-secret-77"
	turn := func(path, body string) {
		t.Helper()
		if r := do(t, "POST", s.url+path, body); r.status != 200 {
			t.Fatalf("POST %s = %d %s", path, r.status, r.body)
		}
	}
	// Root face: 2 plain turns. Mastra face: a tool turn streamed, a tool
	// that traps, a tool that does not exist.
	turn("/agent/generate", `{"message":"hello","threadId":"`+thread1+`","resourceId":"`+secretRes+`"}`)
	turn("/agent/generate", `{"message":"hello","threadId":"`+thread2+`","resourceId":"`+secretRes+`"}`)
	turn("/api/agents/a/stream", `{"messages":"use counter","memory":{"thread":"`+thread1+`","resource":"`+secretRes+`"}}`)
	turn("/api/agents/a/generate", `{"messages":"use trap","memory":{"thread":"`+thread2+`","resource":"`+secretRes+`"}}`)
	turn("/api/agents/a/generate", `{"messages":"use ghost_tool_9f8e","memory":{"thread":"`+thread2+`","resource":"`+secretRes+`"}}`)
	if r := do(t, "GET", s.url+"/threads/"+thread1+"?resourceId="+secretRes, ""); r.status != 200 {
		t.Fatalf("GET thread = %d %s", r.status, r.body)
	}
	for _, p := range []string{"/api/agents/a/raw-path-xyz", "/nothing/here-123"} {
		if r := do(t, "GET", s.url+p, ""); r.status != 404 {
			t.Fatalf("GET %s = %d; want 404", p, r.status)
		}
	}

	// The counters move when each handler has returned, which may be just
	// after the client read its response: wait for the last one.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(5 * time.Second)
	for {
		fams = scrape(t, s.url+"/metrics")
		if value(fams, "mastra_http_requests_total", L{"method": "GET", "route": "unmatched", "status": "404"}) == 2 || time.Now().After(deadline) {
			break
		}
	}

	chat := func(extra L) L {
		l := L{"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "m1"}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	want := []struct {
		name   string
		labels L
		sum    bool
		want   float64
	}{
		{"mastra_http_requests_total", L{"method": "POST", "route": "/agent/generate", "status": "200"}, false, 2},
		{"mastra_http_requests_total", L{"method": "POST", "route": "/api/agents/:agentId/stream", "status": "200"}, false, 1},
		{"mastra_http_requests_total", L{"method": "POST", "route": "/api/agents/:agentId/generate", "status": "200"}, false, 2},
		{"mastra_http_requests_total", L{"method": "GET", "route": "/threads/:threadId", "status": "200"}, false, 1},
		{"mastra_http_requests_total", L{"method": "GET", "route": "unmatched", "status": "404"}, false, 2},
		{"mastra_http_request_duration_seconds", L{"method": "POST", "route": "/agent/generate", "status": "200"}, false, 2},
		{"mastra_streams_open", L{}, false, 0},
		{"mastra_agent_turns_total", L{"agent": "a", "outcome": "ok"}, false, 5},
		{"gen_ai_invoke_agent_duration_seconds", L{"agent": "a", "outcome": "ok"}, false, 5},
		// 2 plain turns of one call, 3 tool turns of two.
		{"gen_ai_client_operation_duration_seconds", chat(L{"error_type": ""}), false, 8},
		{"gen_ai_client_token_usage", chat(L{"gen_ai_token_type": "input"}), false, 8},
		{"gen_ai_client_token_usage", chat(L{"gen_ai_token_type": "input"}), true, 8 * float64(llmtest.DefaultUsage.PromptTokens)},
		{"gen_ai_client_token_usage", chat(L{"gen_ai_token_type": "output"}), true, 8 * float64(llmtest.DefaultUsage.CompletionTokens)},
		// Only the streamed turn's two calls have a first chunk.
		{"gen_ai_client_operation_time_to_first_chunk_seconds", chat(nil), false, 2},
		{"mastra_tool_calls_total", L{"tool": "counter", "outcome": "ok"}, false, 1},
		{"mastra_tool_calls_total", L{"tool": "trap", "outcome": "error"}, false, 1},
		{"mastra_tool_calls_total", L{"tool": "unknown", "outcome": "error"}, false, 1},
		{"gen_ai_execute_tool_duration_seconds", L{"tool": "counter", "outcome": "ok"}, false, 1},
		{"mastra_plugin_calls_total", L{"plugin": "counter", "kind": "tool", "outcome": "ok"}, false, 1},
		{"mastra_plugin_calls_total", L{"plugin": "trap", "kind": "tool", "outcome": "trap"}, false, 1},
		{"mastra_plugin_traps_total", L{"plugin": "trap"}, false, 1},
		{"mastra_plugin_call_duration_seconds", L{"plugin": "counter", "kind": "tool"}, false, 1},
		{"mastra_plugin_instances_max", L{"plugin": "counter"}, false, 3},
		{"mastra_plugin_instances_in_use", L{"plugin": "counter"}, false, 0},
	}
	for _, w := range want {
		if got := value(fams, w.name, w.labels, w.sum); got != w.want {
			t.Errorf("%s%v (sum %v) = %v; want %v", w.name, w.labels, w.sum, got, w.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "mastra_db_connections_open",
		"mastra_db_connections_max", "mastra_http_requests_in_flight", "mastra_plugin_instances"} {
		if fams[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if value(fams, "mastra_db_connections_max", L{}) != 10 {
		t.Errorf("mastra_db_connections_max = %v; want memory.max_open_conns = 10", value(fams, "mastra_db_connections_max", L{}))
	}

	// No label value is an id, a resource, a raw path or a tool name the
	// model made up.
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				v := l.GetValue()
				for _, bad := range []string{thread1, thread2, secretRes, "raw-path", "here-123", "ghost", "/threads/thread"} {
					if strings.Contains(v, bad) {
						t.Errorf("%s has label %s=%q, which carries %q", name, l.GetName(), v, bad)
					}
				}
			}
		}
	}
}

// /metrics stays outside auth (a scraper holds no token) while the API
// asks for one; a request refused before routing counts as "unrouted".
// [server.metrics] enabled = false takes it away.
func TestMetricsOutsideAuthAndOff(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	auth := "[server.auth]\nenabled = true\n[[server.auth.tokens]]\nenv = \"OPS_TOKEN\"\nuser = \"u\"\nresource_id = \"r\"\n"
	s := start(t, auth+baseTOML(t, fake), "OPS_TOKEN=tok-123")
	if r := do(t, "GET", s.url+"/api/agents", ""); r.status != 401 {
		t.Fatalf("GET /api/agents without a token = %d; want 401", r.status)
	}
	if r := do(t, "GET", s.url+"/api/agents", "", "Authorization", "Bearer tok-123"); r.status != 200 {
		t.Fatalf("GET /api/agents with the token = %d; want 200", r.status)
	}
	fams := scrape(t, s.url+"/metrics") // no token
	if got := value(fams, "mastra_http_requests_total", L{"method": "GET", "route": "unrouted", "status": "401"}); got != 1 {
		t.Errorf("401s before routing = %v; want 1", got)
	}
	if got := value(fams, "mastra_http_requests_total", L{"method": "GET", "route": "/api/agents", "status": "200"}); got != 1 {
		t.Errorf("GET /api/agents 200 = %v; want 1", got)
	}

	off := start(t, "[server.metrics]\nenabled = false\n"+baseTOML(t, fake))
	if r := do(t, "GET", off.url+"/metrics", ""); r.status != 404 {
		t.Errorf("GET /metrics with metrics off = %d; want 404", r.status)
	}
}

// An agent whose first model answers 429 falls back to its second: one
// turn moves mastra_model_fallbacks_total by exactly one, under the agent
// and both models, and the stream's start names the model that answered.
func TestMetricsCountFallbacks(t *testing.T) {
	fake := llmtest.NewServer(t, func(r llmtest.Request) llmtest.Reply {
		if r.Model == "down" {
			return llmtest.Reply{Status: http.StatusTooManyRequests, ErrorMessage: "rate limited"}
		}
		return script(r)
	})
	s := start(t, baseTOML(t, fake)+"[agents.f]\nmodel = [\"openai/down\", \"openai/m1\"]\n")
	labels := L{"agent": "f", "from": "openai/down", "to": "openai/m1"}
	if got := value(scrape(t, s.url+"/metrics"), "mastra_model_fallbacks_total", labels); got > 0 {
		t.Fatalf("fallbacks before any turn = %v; want none", got)
	}

	r := do(t, "POST", s.url+"/api/agents/f/stream", `{"messages":"hello"}`)
	if r.status != 200 {
		t.Fatalf("POST /api/agents/f/stream = %d %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"modelId":"m1"`) || !strings.Contains(string(r.body), "hi there") {
		t.Errorf("stream does not come from m1:\n%s", r.body)
	}
	fams := scrape(t, s.url+"/metrics")
	if got := value(fams, "mastra_model_fallbacks_total", labels); got != 1 {
		t.Errorf("mastra_model_fallbacks_total%v = %v; want 1", labels, got)
	}
	if n := len(fams["mastra_model_fallbacks_total"].GetMetric()); n != 1 {
		t.Errorf("mastra_model_fallbacks_total has %d series; want 1", n)
	}
	// The agent with one model never falls back.
	do(t, "POST", s.url+"/api/agents/a/generate", `{"messages":"hello"}`)
	if got := value(scrape(t, s.url+"/metrics"), "mastra_model_fallbacks_total", labels); got != 1 {
		t.Errorf("after a turn of agent a, fallbacks of f = %v; want still 1", got)
	}
}

// [server.metrics] listen serves the metrics on their own address, and
// the API's listener no longer does.
func TestMetricsOwnListener(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // free for the server to take; nothing else here binds ports
	s := start(t, "[server.metrics]\nlisten = \""+addr+"\"\npath = \"/prom\"\n"+baseTOML(t, fake))
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.app.Serve(ctx, api) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	apiURL := "http://" + api.Addr().String()
	waitUp(t, apiURL+"/health")
	fams := scrape(t, "http://"+addr+"/prom")
	if fams["go_goroutines"] == nil {
		t.Errorf("metrics listener serves no go_goroutines")
	}
	if r := do(t, "GET", apiURL+"/prom", ""); r.status != 404 {
		t.Errorf("GET /prom on the API listener = %d; want 404", r.status)
	}
}

// waitUp waits until url answers.
func waitUp(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The access log line names the method, the route template, the status,
// the duration, the request id, the resource and the agent; the request id
// goes back in X-Request-Id and is on every line logged for the request
// (here the tool failure the agent logs).
func TestAccessLog(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	s := start(t, baseTOML(t, fake))
	r := do(t, "POST", s.url+"/api/agents/a/generate", `{"messages":"use trap","memory":{"thread":"th-log","resource":"res-log"}}`)
	if r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.body)
	}
	id := r.header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id header")
	}
	var access, toolFailed map[string]any
	for _, l := range s.logs.lines() {
		switch l["msg"] {
		case "request":
			if l["request_id"] == id {
				access = l
			}
		case "agent: tool failed":
			toolFailed = l
		}
	}
	if access == nil {
		t.Fatalf("no access log line with request_id %s", id)
	}
	for k, want := range map[string]any{"method": "POST", "route": "/api/agents/:agentId/generate", "status": float64(200),
		"resource_id": "res-log", "agent": "a", "path": "/api/agents/a/generate"} {
		if access[k] != want {
			t.Errorf("access log %s = %v; want %v", k, access[k], want)
		}
	}
	if _, ok := access["duration_ms"].(float64); !ok {
		t.Errorf("access log has no duration_ms: %v", access)
	}
	if toolFailed == nil || toolFailed["request_id"] != id {
		t.Errorf("the tool failure line = %v; want request_id %s on it", toolFailed, id)
	}
}
