package ops_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// firstToken is the reply's first text, which the client watches for.
const firstToken = "FIRSTTOKEN"

// firstTokenModel is a fake upstream speaking both wire formats (OpenAI's
// chat completions, Anthropic's Messages) with the same reply. After
// flushing the bytes of the first text it sends the time on sent, so the
// benchmark measures from there to the client's first text-delta: the
// latency the server adds, on one process's clock.
func firstTokenModel(b *testing.B, sent chan<- time.Time) *httptest.Server {
	words := []string{firstToken, " two", " three", " four", " five"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		bw := bufio.NewWriter(w)
		flush := func() { _ = bw.Flush(); _ = rc.Flush() }
		anthropic := strings.HasSuffix(r.URL.Path, "/messages")
		event := func(name, data string) {
			if anthropic {
				fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", name, data)
			} else {
				fmt.Fprintf(bw, "data: %s\n\n", data)
			}
		}
		if anthropic {
			event("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}`)
			event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		} else {
			event("", `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
		}
		flush()
		for i, word := range words {
			q := strconv.Quote(word)
			if anthropic {
				event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+q+`}}`)
			} else {
				event("", `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m1","choices":[{"index":0,"delta":{"content":`+q+`},"finish_reason":null}]}`)
			}
			flush()
			if i == 0 {
				sent <- time.Now()
			}
		}
		if anthropic {
			event("content_block_stop", `{"type":"content_block_stop","index":0}`)
			event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}`)
			event("message_stop", `{"type":"message_stop"}`)
		} else {
			event("", `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`)
			bw.WriteString("data: [DONE]\n\n")
		}
		flush()
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkFirstToken is the first-token latency the server adds on each
// provider format: from the fake model's flush of the first text to the
// moment a client of the real HTTP server (POST /api/agents/a/stream, with
// memory on Postgres) reads the text-delta holding it. It reports p50 and
// p99 of that (ns); the aim is p50 ≤ 1 ms.
//
//	go test -run '^$' -bench FirstToken -benchtime 2000x ./tests/ops/
func BenchmarkFirstToken(b *testing.B) {
	for _, format := range []string{"openai", "anthropic"} {
		b.Run(format, func(b *testing.B) {
			sent := make(chan time.Time, 1)
			fake := firstTokenModel(b, sent)
			toml := "[server.metrics]\nenabled = false\n"
			if format == "anthropic" {
				toml += "[providers.anthropic]\nbase_url = \"" + fake.URL + "\"\napi_key = \"sk-test\"\nmax_retries = 0\ncache = false\n[agents.a]\nmodel = \"anthropic/claude-test\"\n"
			} else {
				toml += "[providers.openai]\nbase_url = \"" + fake.URL + "/v1\"\napi_key = \"sk-test\"\nmax_retries = 0\n[agents.a]\nmodel = \"openai/m1\"\n"
			}
			s := start(b, toml)
			client := &http.Client{}
			turn := func(i int) time.Duration {
				body := `{"messages":"hello there","memory":{"thread":"t` + strconv.Itoa(i%20) + `","resource":"r"}}`
				resp, err := client.Post(s.url+"/api/agents/a/stream", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					msg, _ := io.ReadAll(resp.Body)
					b.Fatal(resp.StatusCode, string(msg))
				}
				var got []byte
				buf := make([]byte, 4096)
				for !bytes.Contains(got, []byte(firstToken)) {
					n, err := resp.Body.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil && !bytes.Contains(got, []byte(firstToken)) {
						b.Fatalf("stream ended before the first token: %v\n%s", err, got)
					}
				}
				at := time.Now()
				if !bytes.Contains(got, []byte(`"type":"text-delta"`)) {
					b.Fatalf("first token not in a text-delta:\n%s", got)
				}
				d := at.Sub(<-sent)
				rest, _ := io.ReadAll(resp.Body)
				if !bytes.Contains(append(got, rest...), []byte(`"type":"finish"`)) {
					b.Fatalf("stream without finish:\n%s%s", got, rest)
				}
				return d
			}
			for i := range 50 { // warm the connections and the threads
				turn(i)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lat = append(lat, turn(i))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
