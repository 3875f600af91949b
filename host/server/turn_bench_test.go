package server

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// BenchmarkGenerateTurn is one /agent/generate turn through the whole
// handler with the instant echo model and Postgres memory: history read,
// prompt, reply, the turn saved. Run with -cpuprofile to see where a
// turn's server CPU goes.
func BenchmarkGenerateTurn(b *testing.B) {
	store, err := memory.Open(b.Context(), memory.Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: 10})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "a", Model: llm.Echo{}, Provider: "echo", LastMessages: 20}}, "a", quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig()
	s, err := New(Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "d", Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := `{"message":"hello there, how are you","threadId":"t` + strconv.Itoa(i%20) + `","resourceId":"r"}`
		req := httptest.NewRequest("POST", "/agent/generate", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}
