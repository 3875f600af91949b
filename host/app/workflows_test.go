package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/config"
)

const workflowTOML = `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "ALICE_TOKEN"
user = "alice"
resource_id = "alice"
[[server.auth.tokens]]
env = "BOB_TOKEN"
user = "bob"
resource_id = "bob"

[agents.assistant]
model = "echo"

[workflows.publish]
input_schema = '{"type":"object","required":["topic"],"properties":{"topic":{"type":"string"}}}'
[[workflows.publish.steps]]
id = "draft"
agent = "assistant"
prompt = "Write a short post about ${input.topic}."
[[workflows.publish.steps]]
id = "approve"
suspend = '{"draft": steps.draft.text}'
resume_schema = '{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}'
[[workflows.publish.steps]]
id = "wait"
sleep = "50ms"
[[workflows.publish.steps]]
id = "publish"
map = 'steps.approve.approved ? {"published": true, "text": steps.draft.text} : {"published": false}'
`

type wfClient struct {
	t     *testing.T
	url   string
	token string
}

func (c wfClient) call(method, path, body string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c wfClient) json(method, path, body string, want int) map[string]any {
	c.t.Helper()
	status, b := c.call(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s = %d %s; want %d", method, path, status, b, want)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return out
}

// The publish workflow through Mastra's routes, with two tokens: alice's
// run is a 404 for bob on every run route.
func TestWorkflowRoutes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mastra.toml")
	if err := os.WriteFile(path, []byte(workflowTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, []string{"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db"),
		"MASTRA_PLUGINS__CACHE_DIR=" + filepath.Join(dir, "cache"), "ALICE_TOKEN=a-token", "BOB_TOKEN=b-token"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := Build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	alice, bob := wfClient{t, ts.URL, "a-token"}, wfClient{t, ts.URL, "b-token"}

	list := alice.json("GET", "/api/workflows", "", 200)
	pub, _ := list["publish"].(map[string]any)
	if s, _ := pub["inputSchema"].(string); !strings.HasPrefix(s, `{"json":{"type":"object"`) {
		t.Fatalf("inputSchema = %v", pub["inputSchema"])
	}
	if g, _ := pub["stepGraph"].([]any); len(g) != 4 {
		t.Fatalf("stepGraph = %v", pub["stepGraph"])
	}
	if part := alice.json("GET", "/api/workflows?partial=true", "", 200)["publish"].(map[string]any); part["stepCount"] != 4.0 || part["inputSchema"] != nil {
		t.Errorf("partial = %v", part)
	}
	alice.json("GET", "/api/workflows/nope", "", 404)

	run := alice.json("POST", "/api/workflows/publish/create-run", "", 200)["runId"].(string)
	bad := alice.json("POST", "/api/workflows/publish/start-async?runId="+run, `{"inputData":{}}`, 400)
	if !strings.Contains(string(mustJSON(bad)), `"field":"inputData"`) {
		t.Errorf("bad input = %v", bad)
	}
	res := alice.json("POST", "/api/workflows/publish/start-async?runId="+run, `{"inputData":{"topic":"otters"}}`, 200)
	if res["status"] != "suspended" || !strings.Contains(string(mustJSON(res["suspendPayload"])), "otters") {
		t.Fatalf("start-async = %v", res)
	}

	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/api/workflows/publish/runs/" + run, ""},
		{"POST", "/api/workflows/publish/resume-async?runId=" + run, `{"resumeData":{"approved":true}}`},
		{"POST", "/api/workflows/publish/runs/" + run + "/cancel", ""},
		{"POST", "/api/workflows/publish/observe?runId=" + run, ""},
		{"DELETE", "/api/workflows/publish/runs/" + run, ""},
	} {
		if status, b := bob.call(rt.method, rt.path, rt.body); status != 404 {
			t.Errorf("bob: %s %s = %d %s; want 404", rt.method, rt.path, status, b)
		}
	}
	if runs := bob.json("GET", "/api/workflows/publish/runs", "", 200); runs["total"] != 0.0 {
		t.Errorf("bob's runs = %v", runs)
	}
	if counts := alice.json("GET", "/api/workflows/run-counts", "", 200); mustJSONs(counts["publish"]) != `{"running":0,"suspended":1}` {
		t.Errorf("alice's run counts = %v", counts)
	}

	alice.json("POST", "/api/workflows/publish/resume-async?runId="+run, `{"step":"approve","resumeData":{"approved":"yes"}}`, 400)
	done := alice.json("POST", "/api/workflows/publish/resume-async?runId="+run, `{"step":"approve","resumeData":{"approved":true}}`, 200)
	if done["status"] != "success" || mustJSONs(done["result"]) != `{"published":true,"text":"Echo: Write a short post about otters."}` {
		t.Fatalf("resume-async = %v", done)
	}
	alice.json("POST", "/api/workflows/publish/resume?runId="+run, `{"resumeData":{"approved":true}}`, 409)

	got := alice.json("GET", "/api/workflows/publish/runs/"+run+"?fields=result", "", 200)
	if got["status"] != "success" || got["result"] == nil || got["steps"] != nil {
		t.Errorf("run by id = %v", got)
	}
	runs := alice.json("GET", "/api/workflows/publish/runs?page=0&perPage=10", "", 200)
	if runs["total"] != 1.0 {
		t.Errorf("alice's runs = %v", runs)
	}

	// observe replays the stored chunks from an offset, record-separated.
	status, b := alice.call("POST", "/api/workflows/publish/observe?runId="+run+"&offset=1", "")
	chunks := bytes.Split(bytes.TrimSuffix(b, []byte("\x1e")), []byte("\x1e"))
	var first, last struct{ Type string }
	_ = json.Unmarshal(chunks[0], &first)
	_ = json.Unmarshal(chunks[len(chunks)-1], &last)
	if status != 200 || first.Type != "workflow-step-start" || last.Type != "workflow-finish" {
		t.Errorf("observe = %d, %d chunks, first %s, last %s", status, len(chunks), first.Type, last.Type)
	}

	// stream: a new run, streamed until it suspends.
	run2 := alice.json("POST", "/api/workflows/publish/create-run", "", 200)["runId"].(string)
	status, b = alice.call("POST", "/api/workflows/publish/stream?runId="+run2, `{"inputData":{"topic":"tea"}}`)
	if status != 200 || !bytes.Contains(b, []byte(`"type":"workflow-step-suspended"`)) || !bytes.HasSuffix(b, []byte("\x1e")) {
		t.Errorf("stream = %d %s", status, b)
	}
	alice.json("POST", "/api/workflows/publish/stream?runId="+run2, `{"inputData":{"topic":"tea"}}`, 409)
	alice.json("POST", "/api/workflows/publish/runs/"+run2+"/cancel", "", 200)
	if got := alice.json("GET", "/api/workflows/publish/runs/"+run2, "", 200); got["status"] != "canceled" {
		t.Errorf("after cancel: %v", got["status"])
	}
	alice.json("POST", "/api/workflows/publish/restart?runId="+run2, "", 501)
	alice.json("DELETE", "/api/workflows/publish/runs/"+run2, "", 200)
	alice.json("GET", "/api/workflows/publish/runs/"+run2, "", 404)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func mustJSONs(v any) string { return string(mustJSON(v)) }
