package server

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// countingModel counts its calls and echoes.
type countingModel struct{ n *atomic.Int32 }

func (m countingModel) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	m.n.Add(1)
	return llm.Echo{}.Generate(ctx, req)
}

func (m countingModel) Stream(ctx context.Context, req llm.Request, onDelta func(llm.Delta) error) (*llm.Response, error) {
	m.n.Add(1)
	return llm.Echo{}.Stream(ctx, req, onDelta)
}

func networkServer(t *testing.T, store *memory.Store, calls *atomic.Int32) string {
	t.Helper()
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "router", Model: countingModel{calls}, Provider: "echo", LastMessages: 10}}, "", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "anon"})
	return ts.URL
}

// TestNetworkRefusesBadBodies: a body the network cannot honour is a 400
// naming the field, and the model is never called; a network of a server
// without memory is Mastra's 400.
func TestNetworkRefusesBadBodies(t *testing.T) {
	var calls atomic.Int32
	base := networkServer(t, openStore(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}), &calls)
	for body, field := range map[string]string{
		`{}`:              "messages",
		`{"messages":""}`: "messages",
		`{"messages":"hi","completion":{"scorers":[{"id":"x"}]}}`:                                  "completion",
		`{"messages":"hi","clientTools":{"t":{"id":"t"}}}`:                                         "clientTools",
		`{"messages":"hi","maxSteps":-1}`:                                                          "maxSteps",
		`{"messages":"hi","routing":{"additionalInstructions":"a\u0000b"}}`:                        "routing.additionalInstructions",
		`{"messages":"hi","savePerStep":true}`:                                                     "savePerStep",
		`{"messages":"hi","memory":{"thread":"t","resource":"anon","options":{"lastMessages":3}}}`: "memory.options",
	} {
		r := do(t, "POST", base+"/api/agents/router/network", body, "Content-Type", jsonCT)
		issues, _ := r.body["issues"].([]any)
		var got any
		if len(issues) > 0 {
			got = issues[0].(map[string]any)["field"]
		}
		if r.status != 400 || got != field {
			t.Errorf("network %s = %d %s; want 400 naming %s", body, r.status, r.raw, field)
		}
	}
	for _, route := range []string{"approve-network-tool-call", "decline-network-tool-call"} {
		r := do(t, "POST", base+"/api/agents/router/"+route, `{}`, "Content-Type", jsonCT)
		if r.status != 400 || r.raw == "" {
			t.Errorf("%s {} = %d %s; want 400 (Run id is required)", route, r.status, r.raw)
		}
		if r := do(t, "POST", base+"/api/agents/router/"+route, `{"runId":"nope"}`, "Content-Type", jsonCT); r.status != 404 {
			t.Errorf("%s on no run = %d %s; want 404", route, r.status, r.raw)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the model was called %d times for refused bodies", n)
	}
	if r := do(t, "POST", base+"/api/agents/ghost/network", `{"messages":"hi"}`, "Content-Type", jsonCT); r.status != 404 {
		t.Errorf("network of an unknown agent = %d %s; want 404", r.status, r.raw)
	}

	noMemory := networkServer(t, nil, &calls)
	r := do(t, "POST", noMemory+"/api/agents/router/network", `{"messages":"hi"}`, "Content-Type", jsonCT)
	if r.status != 400 || r.body["error"] != "Memory is required for the agent network to function properly. Please configure memory for the agent." {
		t.Errorf("network without memory = %d %s; want Mastra's 400", r.status, r.raw)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the model was called %d times", n)
	}
}
