package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/anthropictest"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// fallbackAgent answers with primary and falls back to backup, recording
// each fallback.
func fallbackAgent(primary, backup llm.Model, events *[]FallbackEvent) *Agent {
	var mu sync.Mutex
	temp, maxTokens := 0.25, 77
	return &Agent{ID: "fb", Model: primary, Provider: "primary", ModelID: "p-1",
		Fallbacks: []Choice{{Model: backup, Provider: "backup", ModelID: "b-1"}},
		OnFallback: func(ev FallbackEvent) {
			mu.Lock()
			defer mu.Unlock()
			*events = append(*events, ev)
		},
		ModelSettings: ModelSettings{Temperature: &temp, MaxTokens: &maxTokens, Stop: []string{"END"}},
	}
}

// refused returns a client of an address where nothing listens.
func refused(t *testing.T) llm.Model {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m, err := llm.NewOpenAI(llm.OpenAIConfig{Name: "primary", BaseURL: "http://" + addr + "/v1", APIKey: "k", Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A model that fails before its first token with 429, 5xx, a refused
// connection or no answer within its timeout hands the turn to the next
// model: the start chunk and the result name the model that answered, the
// agent's settings reach the fallback's wire, and OnFallback hears of it.
func TestFallbackBeforeFirstToken(t *testing.T) {
	cases := []struct {
		name    string
		primary func(t *testing.T) (llm.Model, *llmtest.Server)
	}{
		{"429", func(t *testing.T) (llm.Model, *llmtest.Server) {
			f := newFake(t, llmtest.Reply{Status: 429})
			return f.Model(0), f
		}},
		{"503", func(t *testing.T) (llm.Model, *llmtest.Server) {
			f := newFake(t, llmtest.Reply{Status: 503})
			return f.Model(0), f
		}},
		{"connection refused", func(t *testing.T) (llm.Model, *llmtest.Server) { return refused(t), nil }},
		{"timeout before the first byte", func(t *testing.T) (llm.Model, *llmtest.Server) {
			f := newFake(t, llmtest.Reply{StallBeforeAnswer: true})
			return f.Model(100 * time.Millisecond), f
		}},
	}
	for _, tc := range cases {
		for _, stream := range []bool{true, false} {
			name := tc.name + "/generate"
			if stream {
				name = tc.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				primary, pf := tc.primary(t)
				backup := newFake(t, llmtest.Reply{Text: "from the backup"})
				var events []FallbackEvent
				s := newService(t, nil, fallbackAgent(primary, backup.Model(0), &events))
				var rec recorder
				var res *Result
				var err error
				if stream {
					res, err = s.Stream(context.Background(), Input{ResourceID: "u", Messages: user("hi")}, rec.emit)
				} else {
					res, err = s.Generate(context.Background(), Input{ResourceID: "u", Messages: user("hi")})
				}
				if err != nil {
					t.Fatalf("turn: %v", err)
				}
				if res.Text != "from the backup" || res.Model != "backup/b-1" {
					t.Errorf("result = %q from %s; want the backup's text from backup/b-1", res.Text, res.Model)
				}
				if pf != nil && len(pf.Requests()) != 1 {
					t.Errorf("primary got %d requests; want 1", len(pf.Requests()))
				}
				reqs := backup.Requests()
				if len(reqs) != 1 {
					t.Fatalf("backup got %d requests; want 1", len(reqs))
				}
				r := reqs[0]
				if r.Model != "b-1" || r.Temperature == nil || *r.Temperature != 0.25 || r.MaxTokens == nil || *r.MaxTokens != 77 ||
					len(r.Stop) != 1 || r.Stop[0] != "END" || r.Last().Text() != "hi" {
					t.Errorf("backup's request = model %q, temperature %v, max_tokens %v, stop %q, last %q; want b-1, 0.25, 77, [END], hi",
						r.Model, r.Temperature, r.MaxTokens, r.Stop, r.Last().Text())
				}
				if len(events) != 1 || events[0].From != "primary/p-1" || events[0].To != "backup/b-1" || events[0].AgentID != "fb" ||
					events[0].RunID != res.RunID || events[0].Err == nil {
					t.Errorf("fallback events = %+v; want one from primary/p-1 to backup/b-1 with the error", events)
				}
				if stream {
					if len(rec.chunks) == 0 || rec.chunks[0].Type != ChunkStart {
						t.Fatalf("chunks = %v; want start first", rec.types())
					}
					p := payload(t, rec.chunks[0])
					if p["modelId"] != "b-1" || p["provider"] != "backup" {
						t.Errorf("start payload = %v; want modelId b-1, provider backup", p)
					}
				}
			})
		}
	}
}

// Once the model has streamed a token the turn is its own: a failure after
// it is the turn's error, and the fallback is never called.
func TestNoFallbackAfterFirstToken(t *testing.T) {
	primary := newFake(t, llmtest.Reply{Text: "half an answer", MidStreamError: true})
	backup := newFake(t, llmtest.Reply{Text: "from the backup"})
	var events []FallbackEvent
	s := newService(t, nil, fallbackAgent(primary.Model(0), backup.Model(0), &events))
	var rec recorder
	_, err := s.Stream(context.Background(), Input{ResourceID: "u", Messages: user("hi")}, rec.emit)
	if err == nil {
		t.Fatal("Stream succeeded; want the primary's mid-stream error")
	}
	if n := len(backup.Requests()); n != 0 || len(events) != 0 {
		t.Errorf("backup got %d requests, %d fallbacks; want none after the first token", n, len(events))
	}
	if p := payload(t, rec.chunks[0]); p["modelId"] != "p-1" || p["provider"] != "primary" {
		t.Errorf("start payload = %v; want the primary, which answered", p)
	}
}

// A request the provider refuses (400) is the request's fault: another
// model would refuse it too, so the error is returned as is.
func TestNoFallbackOnClientError(t *testing.T) {
	primary := newFake(t, llmtest.Reply{Status: 400})
	backup := newFake(t, llmtest.Reply{Text: "from the backup"})
	var events []FallbackEvent
	s := newService(t, nil, fallbackAgent(primary.Model(0), backup.Model(0), &events))
	_, err := s.Generate(context.Background(), Input{ResourceID: "u", Messages: user("hi")})
	var se *llm.StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Fatalf("Generate = %v; want the primary's 400", err)
	}
	if n := len(backup.Requests()); n != 0 || len(events) != 0 {
		t.Errorf("backup got %d requests, %d fallbacks; want none", n, len(events))
	}
}

// When every model fails, the last one's error is the turn's.
func TestFallbackAllFail(t *testing.T) {
	primary := newFake(t, llmtest.Reply{Status: 429})
	backup := newFake(t, llmtest.Reply{Status: 502})
	var events []FallbackEvent
	s := newService(t, nil, fallbackAgent(primary.Model(0), backup.Model(0), &events))
	_, err := s.Generate(context.Background(), Input{ResourceID: "u", Messages: user("hi")})
	var se *llm.StatusError
	if !errors.As(err, &se) || se.StatusCode != 502 || !errors.Is(err, llm.ErrUnavailable) {
		t.Fatalf("Generate = %v; want the backup's 502", err)
	}
	if len(events) != 1 {
		t.Errorf("fallbacks = %d; want 1", len(events))
	}
}

// Fallbacks cross wire formats: Anthropic overloaded (529, or an
// overloaded_error event before the first token) hands the turn to an
// OpenAI-compatible model, and an OpenAI-compatible 503 to Anthropic; the
// agent's settings reach the other format's wire and the start chunk names
// the model that answered.
func TestFallbackAcrossWireFormats(t *testing.T) {
	anthropic := func(t *testing.T, rp anthropictest.Reply) (llm.Model, *anthropictest.Server) {
		f := anthropictest.NewServer(t, anthropictest.Replies(rp))
		m, err := llm.NewAnthropic(f.Config(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return m, f
	}
	turn := func(t *testing.T, s *Service, stream bool) (*Result, []Chunk) {
		var rec recorder
		var res *Result
		var err error
		if stream {
			res, err = s.Stream(context.Background(), Input{ResourceID: "u", Messages: user("hi")}, rec.emit)
		} else {
			res, err = s.Generate(context.Background(), Input{ResourceID: "u", Messages: user("hi")})
		}
		if err != nil {
			t.Fatalf("turn: %v", err)
		}
		return res, rec.chunks
	}

	for _, tc := range []struct {
		name   string
		reply  anthropictest.Reply
		stream bool
	}{
		{"529/generate", anthropictest.Reply{Status: 529}, false},
		{"529/stream", anthropictest.Reply{Status: 529}, true},
		{"overloaded event/stream", anthropictest.Reply{Text: "never sent", ErrorEvent: true}, true},
	} {
		t.Run("anthropic to openai/"+tc.name, func(t *testing.T) {
			primary, pf := anthropic(t, tc.reply)
			backup := newFake(t, llmtest.Reply{Text: "from the backup"})
			var events []FallbackEvent
			s := newService(t, nil, fallbackAgent(primary, backup.Model(0), &events))
			res, chunks := turn(t, s, tc.stream)
			if res.Text != "from the backup" || res.Model != "backup/b-1" || len(pf.Requests()) != 1 {
				t.Errorf("result = %q from %s after %d Anthropic requests; want the backup's text from backup/b-1 after 1",
					res.Text, res.Model, len(pf.Requests()))
			}
			reqs := backup.Requests()
			if len(reqs) != 1 || reqs[0].Model != "b-1" || *reqs[0].Temperature != 0.25 || *reqs[0].MaxTokens != 77 || reqs[0].Last().Text() != "hi" {
				t.Fatalf("backup's requests = %+v; want one for b-1 with the agent's settings", reqs)
			}
			if len(events) != 1 || events[0].From != "primary/p-1" || !errors.Is(events[0].Err, llm.ErrUnavailable) {
				t.Errorf("fallback events = %+v; want one from primary/p-1, unavailable", events)
			}
			if tc.stream {
				if p := payload(t, chunks[0]); p["modelId"] != "b-1" || p["provider"] != "backup" {
					t.Errorf("start payload = %v; want modelId b-1, provider backup", p)
				}
				var streamed strings.Builder
				for _, c := range chunks {
					if c.Type == ChunkTextDelta {
						streamed.WriteString(payload(t, c)["text"].(string))
					}
				}
				if streamed.String() != "from the backup" {
					t.Errorf("streamed text %q; want only the backup's", streamed.String())
				}
			}
		})
	}

	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("openai to anthropic/stream=%v", stream), func(t *testing.T) {
			primary := newFake(t, llmtest.Reply{Status: 503})
			backup, bf := anthropic(t, anthropictest.Reply{Text: "from Claude"})
			var events []FallbackEvent
			s := newService(t, nil, fallbackAgent(primary.Model(0), backup, &events))
			res, chunks := turn(t, s, stream)
			if res.Text != "from Claude" || res.Model != "backup/b-1" || len(events) != 1 {
				t.Errorf("result = %q from %s, %d fallbacks; want Claude's text from backup/b-1 after one", res.Text, res.Model, len(events))
			}
			reqs := bf.Requests()
			if len(reqs) != 1 {
				t.Fatalf("Anthropic got %d requests; want 1", len(reqs))
			}
			r := reqs[0]
			last := r.Messages[len(r.Messages)-1]
			if r.Model != "b-1" || r.Temperature == nil || *r.Temperature != 0.25 || *r.MaxTokens != 77 ||
				len(r.StopSequences) != 1 || r.StopSequences[0] != "END" || last.Role != "user" || last.Content[0].Text != "hi" {
				t.Errorf("Anthropic's request = %s; want b-1 with temperature 0.25, max_tokens 77, stop END, the user's hi", r.Dump())
			}
			if stream {
				if p := payload(t, chunks[0]); p["modelId"] != "b-1" || p["provider"] != "backup" {
					t.Errorf("start payload = %v; want modelId b-1, provider backup", p)
				}
			}
		})
	}
}
