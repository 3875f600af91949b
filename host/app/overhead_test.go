package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// The overhead histogram takes the model's time out of a request's: with a
// provider that takes 50 ms, a generate's or a stream's overhead is well under its
// duration (which still counts the wait), and a route that calls no model
// has no overhead series.
func TestOverheadLeavesOutTheModelsWait(t *testing.T) {
	const modelWait = 50 * time.Millisecond
	fake := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply {
		time.Sleep(modelWait)
		return llmtest.Reply{Text: "slow hello"}
	})
	toml := "[server.metrics]\nenabled = true\n" +
		"[providers.openai]\nbase_url = \"" + fake.URL + "\"\napi_key = \"sk-test\"\nmax_retries = 0\n" +
		"[agents.a]\nmodel = \"openai/m1\"\n"
	a, ts := build(t, toml, "MASTRA_MEMORY__DATABASE_URL="+pgtest.NewDatabase(t))
	t.Cleanup(func() { ts.Close(); a.Close(context.Background()) })

	for _, op := range []string{"generate", "stream"} {
		resp, err := http.Post(ts.URL+"/api/agents/a/"+op, "application/json",
			strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"memory":{"thread":"t-ovh","resource":"r-ovh"}}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "slow") {
			t.Fatalf("%s = %d %s", op, resp.StatusCode, b)
		}
	}
	if r, err := http.Get(ts.URL + "/api/agents"); err != nil {
		t.Fatal(err)
	} else {
		r.Body.Close()
	}

	fams := scrapeAll(t, ts.URL)
	for _, route := range []string{"/api/agents/:agentId/generate", "/api/agents/:agentId/stream"} {
		total, n := histogram(fams, "mastra_http_request_duration_seconds", map[string]string{"method": "POST", "route": route, "status": "200"})
		if n != 1 {
			t.Fatalf("request duration count for %s = %d; want 1", route, n)
		}
		if total < modelWait.Seconds() {
			t.Errorf("%s: request duration = %vs; want at least the model's %v", route, total, modelWait)
		}
		overhead, n := histogram(fams, "mastra_server_overhead_seconds", map[string]string{"route": route})
		if n != 1 {
			t.Fatalf("overhead count for %s = %d; want 1", route, n)
		}
		t.Logf("%s: overhead %.2f ms of %.2f ms", route, overhead*1000, total*1000)
		if overhead < 0 || overhead >= total-0.040 {
			t.Errorf("%s: overhead = %vs of a %vs request; want ≥ 0 and below the request less 40 ms of the model's 50", route, overhead, total)
		}
	}
	if _, n := histogram(fams, "mastra_server_overhead_seconds", map[string]string{"route": "/api/agents"}); n != 0 {
		t.Errorf("overhead count for /api/agents = %d; want none (it calls no model)", n)
	}
}

// scrapeAll reads /metrics with the Prometheus text parser.
func scrapeAll(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// histogram returns the sum and count of the series of name with exactly
// these labels; a count of 0 when there is none.
func histogram(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, uint64) {
	f := fams[name]
	if f == nil {
		return 0, 0
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) || m.Histogram == nil {
			continue
		}
		for _, l := range m.Label {
			if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		return m.Histogram.GetSampleSum(), m.Histogram.GetSampleCount()
	}
	return 0, 0
}
