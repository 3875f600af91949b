package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
)

// benchWords is the reply of one benchmarked turn, in words (one streamed
// piece each, as both providers stream roughly a token at a time).
const benchWords = 200

// openAIStream and anthropicStream render the same reply in each wire
// format, so the fake upstream only writes bytes and the benchmark measures
// what the server spends on a turn: parsing the provider's stream, making
// chunks, marshaling them as the HTTP layer would.
func openAIStream(words []string) []byte {
	var b strings.Builder
	chunk := func(delta string, finish string) {
		f := "null"
		if finish != "" {
			f = `"` + finish + `"`
		}
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", delta, f)
	}
	chunk(`{"role":"assistant","content":""}`, "")
	for _, w := range words {
		q, _ := json.Marshal(w)
		chunk(`{"content":`+string(q)+`}`, "")
	}
	chunk(`{}`, "stop")
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":200,"total_tokens":210}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func anthropicStream(words []string) []byte {
	var b strings.Builder
	ev := func(name, data string) { fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", name, data) }
	ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`)
	ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	ev("ping", `{"type": "ping"}`)
	for _, w := range words {
		q, _ := json.Marshal(w)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(q)+`}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":200}}`)
	ev("message_stop", `{"type":"message_stop"}`)
	return []byte(b.String())
}

// BenchmarkStreamTurnFormat is one streamed turn (no memory) of 200 text
// pieces on each provider's wire format at the same (instant) fake speed.
// Compare ns/op and allocs/op between the two.
func BenchmarkStreamTurnFormat(b *testing.B) {
	words := make([]string, benchWords)
	for i := range words {
		words[i] = fmt.Sprintf("word%d ", i)
	}
	for _, format := range []string{"openai", "anthropic"} {
		b.Run(format, func(b *testing.B) {
			body := openAIStream(words)
			if format == "anthropic" {
				body = anthropicStream(words)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write(body)
			}))
			defer srv.Close()
			var model llm.Model
			var err error
			if format == "openai" {
				model, err = llm.NewOpenAI(llm.OpenAIConfig{Name: "openai", BaseURL: srv.URL, APIKey: "k", Timeout: time.Minute})
			} else {
				model, err = llm.NewAnthropic(llm.AnthropicConfig{Name: "anthropic", BaseURL: srv.URL, APIKey: "k", Version: "2023-06-01",
					MaxTokens: 1024, Cache: true, Timeout: time.Minute})
			}
			if err != nil {
				b.Fatal(err)
			}
			svc, err := NewService(nil, []*Agent{{ID: "a", Model: model, Provider: format, ModelID: "m", Instructions: "Be brief."}}, "a", nil)
			if err != nil {
				b.Fatal(err)
			}
			in := Input{ResourceID: "r", Messages: user("hello there")}
			var n int
			emit := func(c Chunk) error {
				data, err := json.Marshal(c) // as the HTTP layer does for each chunk
				n += len(data)
				return err
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := svc.Stream(context.Background(), in, emit)
				if err != nil || !strings.HasPrefix(res.Text, "word0 ") {
					b.Fatalf("turn: %v", err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/turn")
			b.ReportMetric(float64(len(body)), "upstream-bytes/turn")
		})
	}
}

// processCPU is the user and system CPU time the process has used, in ns
// (the fake upstream's share included: it only writes a prepared body).
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
