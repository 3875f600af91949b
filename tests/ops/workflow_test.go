package ops_test

import (
	"encoding/hex"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// workflowTOML adds to baseTOML a workflow "wf" (an agent step, then a map
// step) and a workflow "bad" whose tool step traps, so its run fails.
func workflowTOML(t testing.TB, fake *llmtest.Server) string {
	return baseTOML(t, fake) +
		"[workflows.wf]\n[[workflows.wf.steps]]\nid = \"ask\"\nagent = \"a\"\nprompt = \"say hi\"\n" +
		"[[workflows.wf.steps]]\nid = \"shape\"\nmap = '{\"reply\": steps.ask.text}'\n" +
		"[workflows.bad]\n[[workflows.bad.steps]]\nid = \"boom\"\ntool = \"trap\"\n"
}

// startRun runs workflow wf to its end through start-async and returns the
// run's final status.
func startRun(t testing.TB, s *server, wf string) string {
	t.Helper()
	r := do(t, "POST", s.url+"/api/workflows/"+wf+"/start-async", `{"inputData":{}}`)
	if r.status != 200 {
		t.Fatalf("start-async %s = %d %s", wf, r.status, r.body)
	}
	status, _ := r.json(t)["status"].(string)
	return status
}

// waitMetric scrapes until the series (0 when absent) differs from before (the run's end
// is counted after its commit, which the waiter of start-async may see
// first) and returns the new value.
func waitMetric(t testing.TB, url, name string, labels L, before float64) float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v := max(value(scrape(t, url), name, labels), 0); v != before { // absent: 0
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v stayed %v", name, labels, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A run that succeeds and one that fails move the runs counters by exactly
// one each, under their workflow and final status, and each step's
// duration is counted under workflow, step, kind and outcome.
func TestWorkflowRunMetrics(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	s := start(t, workflowTOML(t, fake))
	m := s.url + "/metrics"
	zero := func(v float64) float64 { return max(v, 0) } // an absent series is 0

	before := scrape(t, m)
	okBefore := zero(value(before, "mastra_workflow_runs_finished_total", L{"workflow": "wf", "status": "success"}))
	if got := startRun(t, s, "wf"); got != "success" {
		t.Fatalf("run of wf = %s; want success", got)
	}
	if got := waitMetric(t, m, "mastra_workflow_runs_finished_total", L{"workflow": "wf", "status": "success"}, okBefore); got != okBefore+1 {
		t.Errorf("runs finished {wf, success} = %v; want %v", got, okBefore+1)
	}
	failBefore := zero(value(before, "mastra_workflow_runs_finished_total", L{"workflow": "bad", "status": "failed"}))
	if got := startRun(t, s, "bad"); got != "failed" {
		t.Fatalf("run of bad = %s; want failed", got)
	}
	if got := waitMetric(t, m, "mastra_workflow_runs_finished_total", L{"workflow": "bad", "status": "failed"}, failBefore); got != failBefore+1 {
		t.Errorf("runs finished {bad, failed} = %v; want %v", got, failBefore+1)
	}

	after := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels L
		want   float64
	}{
		{"mastra_workflow_runs_started_total", L{"workflow": "wf"}, 1},
		{"mastra_workflow_runs_started_total", L{"workflow": "bad"}, 1},
		{"mastra_workflow_runs_finished_total", L{"workflow": "wf", "status": "success"}, 1},
		{"mastra_workflow_runs_finished_total", L{"workflow": "wf", "status": "failed"}, -1},
		{"mastra_workflow_runs_finished_total", L{"workflow": "bad", "status": "failed"}, 1},
		{"mastra_workflow_step_duration_seconds", L{"workflow": "wf", "step": "ask", "kind": "agent", "outcome": "ok"}, 1},
		{"mastra_workflow_step_duration_seconds", L{"workflow": "wf", "step": "shape", "kind": "map", "outcome": "ok"}, 1},
		{"mastra_workflow_step_duration_seconds", L{"workflow": "bad", "step": "boom", "kind": "tool", "outcome": "error"}, 1},
	} {
		if got := value(after, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v; want %v", c.name, c.labels, got, c.want)
		}
	}
	// Labels hold no run id: every series' labels are the ones above.
	for _, name := range []string{"mastra_workflow_runs_started_total", "mastra_workflow_runs_finished_total", "mastra_workflow_step_duration_seconds"} {
		for _, mt := range after[name].GetMetric() {
			for _, l := range mt.Label {
				switch l.GetName() {
				case "workflow", "status", "step", "kind", "outcome":
				default:
					t.Errorf("%s has label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// Each step execution is an invoke_workflow span with the workflow, run and
// step; an agent step's invoke_agent span is its child.
func TestWorkflowSpans(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
	rc := newReceiver(t)
	fake := llmtest.NewServer(t, script)
	s := start(t, "[telemetry]\nendpoint = \""+rc.url+"\"\n"+workflowTOML(t, fake))

	c := do(t, "POST", s.url+"/api/workflows/wf/create-run", `{}`)
	runID, _ := c.json(t)["runId"].(string)
	if c.status != 200 || runID == "" {
		t.Fatalf("create-run = %d %s", c.status, c.body)
	}
	r := do(t, "POST", s.url+"/api/workflows/wf/start-async?runId="+runID, `{"inputData":{}}`)
	if r.status != 200 || r.json(t)["status"] != "success" {
		t.Fatalf("start-async wf = %d %s", r.status, r.body)
	}
	// The map step's span ends after the agent step's: wait for both.
	var steps map[string]string // step id → span id
	var spans []*tracepb.Span
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans = rc.waitFor(t, "invoke_workflow wf")
		steps = map[string]string{}
		for _, sp := range spans {
			if sp.Name == "invoke_workflow wf" {
				steps[attrString(sp, "mastra.workflow.step.id")] = hex.EncodeToString(sp.SpanId)
			}
		}
		if len(steps) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if steps["ask"] == "" || steps["shape"] == "" {
		t.Fatalf("invoke_workflow wf spans for steps %v; want ask and shape", steps)
	}
	agentSpans := 0
	for _, sp := range spans {
		switch sp.Name {
		case "invoke_workflow wf":
			for k, want := range map[string]string{"gen_ai.operation.name": "invoke_workflow", "mastra.workflow.id": "wf",
				"mastra.workflow.run_id": runID, "mastra.outcome": "ok"} {
				if got := attrString(sp, k); got != want {
					t.Errorf("span %s of step %s: %s = %q; want %q", sp.Name, attrString(sp, "mastra.workflow.step.id"), k, got, want)
				}
			}
		case "invoke_agent a":
			agentSpans++
			if got := hex.EncodeToString(sp.ParentSpanId); got != steps["ask"] {
				t.Errorf("invoke_agent parent = %s; want the ask step's span %s", got, steps["ask"])
			}
		}
	}
	if agentSpans != 1 {
		t.Errorf("%d invoke_agent a spans; want 1, the ask step's", agentSpans)
	}
}
