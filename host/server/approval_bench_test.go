package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// BenchmarkApprovalRoundTrip is a turn whose tool call waits for approval,
// on Postgres with an instant model: the generate that suspends (snapshot
// written) and the approve-tool-call-generate that claims it, runs the
// tool, asks the model again and saves the turn. "plain" is the same turn
// (two model calls, one tool run) without approval, for the ratio;
// cpu-µs/op is this process's CPU per turn (the database's apart).
func BenchmarkApprovalRoundTrip(b *testing.B) {
	for _, approve := range []bool{false, true} {
		name := "plain"
		if approve {
			name = "approval"
		}
		b.Run(name, func(b *testing.B) {
			store, err := memory.Open(b.Context(), memory.Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: 10})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			if _, err := store.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			stamp := fnTool{"stamp", func(context.Context, json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(`{"stamped":true}`), nil
			}}
			svc, err := agent.NewService(store, []*agent.Agent{{ID: "a", Model: callThenAnswer{"stamp"}, Provider: "openai", ModelID: "fake",
				LastMessages: 20, Tools: []agent.Tool{stamp}, RequireApproval: approve}}, "a", quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			s, err := New(Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "d", Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			call := func(path, body string) map[string]any {
				req := httptest.NewRequest("POST", path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				var out map[string]any
				if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
					b.Fatal(rec.Code, rec.Body.String())
				}
				return out
			}
			before := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g := call("/api/agents/a/generate", `{"messages":"stamp it","memory":{"thread":"t`+strconv.Itoa(i%20)+`","resource":"r"}}`)
				if !approve {
					if g["finishReason"] != "stop" {
						b.Fatal(g)
					}
					continue
				}
				run, _ := g["runId"].(string)
				if g["finishReason"] != "suspended" {
					b.Fatal(g)
				}
				if d := call("/api/agents/a/approve-tool-call-generate", `{"runId":"`+run+`","toolCallId":"call_1"}`); d["finishReason"] != "stop" {
					b.Fatal(d)
				}
			}
			b.StopTimer()
			// The server's own CPU (this process; Postgres apart).
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
