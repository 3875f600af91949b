package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/workflow"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// The database stops under the workflow routes: each answers 503
// "Database unavailable", as the thread routes do, not 500.
func TestWorkflowRoutesAnswer503WhileDatabaseDown(t *testing.T) {
	cluster, err := pgtest.StartCluster(filepath.Join(t.TempDir(), "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Remove() })
	url := cluster.URL("postgres") + "&connect_timeout=2"
	store := openStore(t, memory.Options{DatabaseURL: url})
	eng := isoWorkflows(t, workflow.Options{DatabaseURL: url})
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Workflows: eng})
	ctx := context.Background()
	if _, err := eng.CreateRun(ctx, "approve", "created", "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateRun(ctx, "approve", "suspended", "default"); err != nil {
		t.Fatal(err)
	}
	if err := eng.StartRun(ctx, workflow.StartParams{Workflow: "approve", RunID: "suspended", ResourceID: "default", Input: map[string]any{"topic": "x"}}); err != nil {
		t.Fatal(err)
	}
	if run, err := eng.Wait(ctx, "approve", "suspended", "default"); err != nil || run.Snapshot.Status != workflow.StatusSuspended {
		t.Fatalf("seed run: %v %v", run, err)
	}

	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	const wf = "/api/workflows/approve"
	start := `{"inputData":{"topic":"x"}}`
	resume := `{"step":"approve","resumeData":{"approved":true}}`
	for _, c := range []struct{ method, path, body string }{
		{"POST", wf + "/create-run?runId=new", ""},
		{"POST", wf + "/start?runId=created", start},
		{"POST", wf + "/start-async?runId=created", start},
		{"POST", wf + "/stream?runId=created", start},
		{"GET", wf + "/runs", ""},
		{"GET", wf + "/runs/suspended", ""},
		{"GET", "/api/workflows/run-counts", ""},
		{"POST", wf + "/runs/suspended/cancel", ""},
		{"DELETE", wf + "/runs/created", ""},
		{"POST", wf + "/observe?runId=suspended", ""},
		{"POST", wf + "/resume?runId=suspended", resume},
		{"POST", wf + "/resume-async?runId=suspended", resume},
		{"POST", wf + "/resume-no-wait?runId=suspended", resume},
		{"POST", wf + "/resume-stream?runId=suspended", resume},
	} {
		r := do(t, c.method, ts.URL+c.path, c.body, "Content-Type", "application/json")
		if r.status != 503 || r.body["error"] != "Database unavailable" || r.header.Get("Retry-After") == "" || strings.Contains(r.raw, "SQLSTATE") {
			t.Errorf("%s %s while the database is down = %d %s; want 503 Database unavailable with Retry-After", c.method, c.path, r.status, r.raw)
		}
	}
}
