package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/workflow"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// fanCapDef maps each element of input.items, at most 3.
var fanCapDef = workflow.Definition{ID: "fan", StepTimeout: 10 * time.Second, MaxForeachItems: 3,
	Steps: []workflow.StepDef{{ID: "each", Kind: "map", Map: "item * 2", Foreach: "input.items", Concurrency: 2}}}

// A start whose input makes a foreach list longer than max_foreach_items
// is a 400 naming the cap, on start, start-async and stream, and nothing
// is written: start-async creates no run. Bob's run of the same workflow,
// meanwhile, runs.
func TestForeachCapAtStart(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var store *memory.Store
			o := workflow.Options{Definitions: []workflow.Definition{fanCapDef}}
			if kind == "sqlite" {
				o.SQLitePath = filepath.Join(t.TempDir(), "m.db")
				store = openStore(t, memory.Options{SQLitePath: o.SQLitePath})
			} else {
				o.DatabaseURL = pgtest.NewDatabase(t)
				store = openStore(t, memory.Options{DatabaseURL: o.DatabaseURL})
			}
			ctx := context.Background()
			eng := isoWorkflows(t, o)
			cfg := testConfig()
			withAuth(&cfg)
			_, ts := newTestServer(t, Options{Config: cfg, Store: store, Workflows: eng})
			call := func(token, path, body string) (int, string) {
				t.Helper()
				req, _ := http.NewRequest("POST", ts.URL+"/api/workflows/fan/"+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			runID := func(token string) string {
				t.Helper()
				status, body := call(token, "create-run", "")
				var out struct{ RunID string }
				if err := json.Unmarshal([]byte(body), &out); status != 200 || err != nil {
					t.Fatalf("create-run = %d %s", status, body)
				}
				return out.RunID
			}
			tooMany := `{"inputData":{"items":[1,2,3,4]}}`
			for _, path := range []string{"start?runId=" + runID(aliceToken), "start-async", "stream?runId=" + runID(aliceToken)} {
				status, body := call(aliceToken, path, tooMany)
				if status != 400 || !strings.Contains(body, "max_foreach_items = 3") || !strings.Contains(body, `"field":"inputData"`) {
					t.Errorf("%s with 4 elements = %d %s; want 400 naming max_foreach_items = 3", path, status, body)
				}
			}
			runs, total, err := eng.ListRuns(ctx, "fan", workflow.RunFilter{ResourceID: "res-alice"})
			if err != nil || total != 2 {
				t.Fatalf("alice's runs = %d %v; want the 2 created, no run from start-async", total, err)
			}
			for _, r := range runs {
				if r.Snapshot.Status != workflow.StatusPending {
					t.Errorf("run %s after the refused start: %s", r.RunID, r.Snapshot.Status)
				}
			}
			status, body := call(bobToken, "start-async", `{"inputData":{"items":[1,2,3]}}`)
			if status != 200 || !strings.Contains(body, `"result":[2,4,6]`) {
				t.Errorf("bob's start-async with 3 elements = %d %s", status, body)
			}
		})
	}
}
