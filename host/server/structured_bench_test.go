package server

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// BenchmarkStructuredTurn is one /api/agents/:id/generate or /stream turn
// through the whole handler with Postgres memory and the real OpenAI client
// against the in-process fake model, which answers the same JSON document
// at once: "plain" without structuredOutput, "structured" with a schema
// (the response format built, the partial objects of a stream, the final
// value validated). cpu-ns/op is the process CPU per turn, fake model
// included, the same in both; their difference is what structured output
// costs.
//
//	go test -run '^$' -bench StructuredTurn -benchtime 2000x ./host/server/
func BenchmarkStructuredTurn(b *testing.B) {
	const answer = `{"city": "Oslo", "tempC": 24, "conditions": "sunny with a light breeze", "wind": {"speed": 5, "dir": "NW"}, "tags": ["summer", "clear"]}`
	const schema = `{"type":"object","properties":{"city":{"type":"string"},"tempC":{"type":"number"},"conditions":{"type":"string"},` +
		`"wind":{"type":"object","properties":{"speed":{"type":"number"},"dir":{"type":"string"}},"required":["speed","dir"],"additionalProperties":false},` +
		`"tags":{"type":"array","items":{"type":"string"}}},"required":["city","tempC","conditions","wind","tags"],"additionalProperties":false}`
	store, err := memory.Open(b.Context(), memory.Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: 10})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	fake := llmtest.NewServer(b, llmtest.Replies(llmtest.Reply{Text: answer}))
	openai, err := llm.NewOpenAI(fake.Config(5 * time.Second))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "a", Model: openai, Provider: "openai", ModelID: "gpt-4o-mini", LastMessages: 20}}, "a", quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "d", Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	for _, route := range []string{"generate", "stream"} {
		for _, kind := range []string{"plain", "structured"} {
			b.Run(route+"/"+kind, func(b *testing.B) {
				extra := ""
				if kind == "structured" {
					extra = `,"structuredOutput":{"schema":` + schema + `}`
				}
				turn := func(i int) {
					body := `{"messages":"weather in Oslo?","memory":{"thread":"` + route + kind + strconv.Itoa(i%20) + `","resource":"r"}` + extra + `}`
					req := httptest.NewRequest("POST", "/api/agents/a/"+route, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					out, _ := io.ReadAll(rec.Body)
					if rec.Code != 200 || (kind == "structured" && !strings.Contains(string(out), `"object`)) {
						b.Fatal(rec.Code, string(out))
					}
				}
				for i := range 40 { // warm the connections and the threads
					turn(i)
				}
				cpu0 := processCPU()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					turn(i)
				}
				b.StopTimer()
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
