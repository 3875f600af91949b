package app

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/plugintest"
)

// A Wasm step module (examples/approval-step, built from source by
// scripts/build-plugins.sh) gets the step's input, answers its output, and
// suspends (202) until resumed with data its resume schema accepts; the
// resumed module runs again with the resume data.
func TestWasmStep(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if err := plugintest.Check(root); err != nil {
		t.Fatal(err)
	}
	module := strconv.Quote(filepath.Join(root, "examples", "approval-step", "approval-step.wasm"))
	alice := serveWorkflows(t, `
[workflows.expense]
[[workflows.expense.steps]]
id = "approve"
wasm = `+module+`
input = '{"amount": input.amount}'
resume_schema = '{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}'
config = { limit = 100 }
[[workflows.expense.steps]]
id = "book"
map = '{"booked": steps.approve.approved, "by": steps.approve.by}'
`)
	if info := alice.json("GET", "/api/workflows/expense", "", 200); !strings.Contains(mustJSONs(info["steps"]), `"resumeSchema":"{\"json\":`) {
		t.Errorf("steps = %s", mustJSONs(info["steps"]))
	}
	small := alice.json("POST", "/api/workflows/expense/start-async", `{"inputData":{"amount":40}}`, 200)
	if small["status"] != "success" || mustJSONs(small["result"]) != `{"booked":true,"by":"auto"}` {
		t.Fatalf("small expense = %v", small)
	}
	big := alice.json("POST", "/api/workflows/expense/start-async", `{"inputData":{"amount":400}}`, 200)
	if big["status"] != "suspended" || mustJSONs(big["suspendPayload"]) != `{"amount":400,"reason":"amounts over 100 need approval"}` {
		t.Fatalf("big expense = %v", big)
	}
	runs := alice.json("GET", "/api/workflows/expense/runs?status=suspended", "", 200)
	run := runs["runs"].([]any)[0].(map[string]any)["runId"].(string)
	alice.json("POST", "/api/workflows/expense/resume-async?runId="+run, `{"resumeData":{"approved":"yes"}}`, 400)
	done := alice.json("POST", "/api/workflows/expense/resume-async?runId="+run, `{"step":"approve","resumeData":{"approved":false}}`, 200)
	if done["status"] != "success" || mustJSONs(done["result"]) != `{"booked":false,"by":"human"}` {
		t.Fatalf("resumed = %v", done)
	}
	bad := alice.json("POST", "/api/workflows/expense/start-async", `{"inputData":{"amount":"lots"}}`, 200)
	if bad["status"] != "failed" || !strings.Contains(mustJSONs(bad["error"]), "status 400") || !strings.Contains(mustJSONs(bad["error"]), "amount") {
		t.Fatalf("bad input = %v", bad)
	}
}
