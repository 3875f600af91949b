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

// BenchmarkNetworkTurn is one network run (routing to a tool, then the
// final answer: two model calls, one tool run) against the same turn on
// the stream route, on Postgres with an instant model; cpu-µs/op is this
// process's CPU per turn (the database's apart).
func BenchmarkNetworkTurn(b *testing.B) {
	for _, route := range []string{"stream", "network"} {
		b.Run(route, func(b *testing.B) {
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
				LastMessages: 20, Tools: []agent.Tool{stamp}}}, "a", quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			s, err := New(Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "d", Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			want := `"type":"finish"`
			if route == "network" {
				want = `"type":"network-execution-event-finish"`
			}
			before := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("POST", "/api/agents/a/"+route,
					strings.NewReader(`{"messages":"stamp it","memory":{"thread":"t`+strconv.Itoa(i%20)+`","resource":"r"}}`))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
