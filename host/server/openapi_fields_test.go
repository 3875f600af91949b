package server

import (
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
)

// The OpenAPI document lists the generate/stream options, those of
// embedded structs included (toolChoice, savePerStep, memory.readOnly).
func TestOpenAPIListsBodyOptions(t *testing.T) {
	svc, err := agent.NewService(nil, []*agent.Agent{{ID: "a", Model: llm.Echo{}, Provider: "echo"}}, "", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.OpenAPI = true
	_, ts := newTestServer(t, Options{Config: cfg, Agents: svc})
	r := do(t, "GET", ts.URL+"/api/openapi.json", "")
	for _, f := range []string{`"structuredOutput"`, `"toolChoice"`, `"activeTools"`, `"savePerStep"`, `"readOnly"`, `"topK"`} {
		if !strings.Contains(r.raw, f) {
			t.Errorf("openapi.json lacks %s", f)
		}
	}
}
