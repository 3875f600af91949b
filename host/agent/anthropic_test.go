package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/anthropictest"
)

func anthropicAgent(t *testing.T, f *anthropictest.Server, thinking int, tools ...Tool) *Agent {
	t.Helper()
	cfg := f.Config(10 * time.Second)
	cfg.ThinkingBudget = thinking
	m, err := llm.NewAnthropic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Agent{ID: "claude", Model: m, Provider: "anthropic", ModelID: "claude-test", Instructions: "You are terse.",
		LastMessages: 20, Tools: tools}
}

// A tool loop on Anthropic with extended thinking, streamed and not: the
// thinking streams as reasoning chunks, the signed thinking goes back with
// the tool result (the fake refuses the second request otherwise), usage
// with cache tokens adds up, reasoning parts are saved as Mastra saves them,
// and the next turn replays the saved turn validly.
func TestAnthropicToolLoop(t *testing.T) {
	paris := anthropictest.Call{ID: "toolu_1", Name: "weather", Args: `{"city":"Paris"}`}
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			eachStore(t, func(t *testing.T, store *memory.Store) {
				ctx := context.Background()
				f := anthropictest.NewServer(t, anthropictest.Replies(
					anthropictest.Reply{Thinking: "Need the weather tool. ", Text: "Checking.", Calls: []anthropictest.Call{paris}, SplitBytes: 5,
						Usage: &anthropictest.Usage{InputTokens: 20, OutputTokens: 10, CacheCreationInputTokens: 1500}},
					anthropictest.Reply{Thinking: "Got 21C. ", Text: "It is 21C in Paris.", SplitBytes: 5,
						Usage: &anthropictest.Usage{InputTokens: 30, OutputTokens: 8, CacheReadInputTokens: 1500}},
					anthropictest.Reply{Text: "Bye."},
				))
				tool := &weather{}
				svc := newService(t, store, anthropicAgent(t, f, 1024, tool))
				in := Input{ThreadID: "t", ResourceID: "r", Messages: user("weather in Paris?")}
				var rec recorder
				var res *Result
				var err error
				if stream {
					res, err = svc.Stream(ctx, in, rec.emit)
				} else {
					res, err = svc.Generate(ctx, in)
				}
				if err != nil {
					t.Fatalf("turn: %v (requests: %v)", err, dumps(f.Requests()))
				}
				if res.Steps != 2 || res.Text != "Checking.It is 21C in Paris." || res.FinishReason != llm.FinishStop {
					t.Errorf("steps %d, text %q, finish %q", res.Steps, res.Text, res.FinishReason)
				}
				if got := tool.seen(); len(got) != 1 || got[0] != paris.Args {
					t.Errorf("tool ran with %q", got)
				}
				wantUsage := llm.Usage{InputTokens: 20 + 1500 + 30 + 1500, OutputTokens: 18, TotalTokens: 3068, CacheReadTokens: 1500, CacheWriteTokens: 1500}
				if res.Usage != wantUsage {
					t.Errorf("usage = %+v; want %+v", res.Usage, wantUsage)
				}
				reqs := f.Requests()
				if len(reqs) != 2 {
					t.Fatalf("%d requests; want 2", len(reqs))
				}
				want := `user:text[weather in Paris?] | assistant:thinking[sig-Need],text[Checking.],tool_use[toolu_1 weather {"city":"Paris"}]` +
					` | user:tool_result[toolu_1 "{\"city\":\"Paris\",\"tempC\":21}"]`
				if got := reqs[1].Dump(); got != want {
					t.Errorf("second request:\n got %s\nwant %s", got, want)
				}
				for i, r := range reqs {
					if bp := r.Breakpoints(); len(bp) < 2 || bp[0] != "system" {
						t.Errorf("request %d breakpoints = %v; want the system prompt and the history", i, bp)
					}
				}

				if stream {
					types := compact(rec.types())
					wantTypes := "start,step-start,reasoning-start,reasoning-delta,reasoning-end,text-start,text-delta,text-end," +
						"tool-call-input-streaming-start,tool-call-delta,tool-call-input-streaming-end,tool-call,tool-result,step-finish," +
						"step-start,reasoning-start,reasoning-delta,reasoning-end,text-start,text-delta,text-end,step-finish,finish"
					if types != wantTypes {
						t.Errorf("chunk types:\n got %s\nwant %s", types, wantTypes)
					}
					var thinking strings.Builder
					for _, c := range rec.chunks {
						if c.Type == ChunkReasoningDelta {
							p := payload(t, c)
							thinking.WriteString(p["text"].(string))
							if p["id"] == "" {
								t.Errorf("reasoning-delta without id: %v", p)
							}
						}
					}
					if thinking.String() != "Need the weather tool. Got 21C. " {
						t.Errorf("streamed thinking = %q", thinking.String())
					}
					u := payload(t, rec.chunks[len(rec.chunks)-1])["usage"].(map[string]any)
					if u["cachedInputTokens"] != 1500.0 || u["cacheCreationInputTokens"] != 1500.0 || u["inputTokens"] != 3050.0 {
						t.Errorf("finish usage = %v", u)
					}
				}

				msgs := messages(t, store, "t")
				if len(msgs) != 2 {
					t.Fatalf("saved %d messages; want 2", len(msgs))
				}
				var raw struct {
					Parts []map[string]any `json:"parts"`
				}
				if err := json.Unmarshal(msgs[1].Content, &raw); err != nil {
					t.Fatal(err)
				}
				var kinds []string
				for _, p := range raw.Parts {
					kinds = append(kinds, p["type"].(string))
				}
				if got := strings.Join(kinds, ","); got != "step-start,reasoning,text,tool-invocation,step-start,reasoning,text" {
					t.Errorf("saved parts = %s", got)
				}
				r0 := raw.Parts[1]
				det := r0["details"].([]any)[0].(map[string]any)
				meta := r0["providerMetadata"].(map[string]any)["anthropic"].(map[string]any)
				if r0["reasoning"] != "" || det["type"] != "text" || det["text"] != "Need the weather tool. " || meta["signature"] != "sig-Need" {
					t.Errorf("saved reasoning part = %v", r0)
				}

				// The next turn sends the saved turn back, thinking included
				// where Anthropic wants it, and the fake accepts it.
				if _, err := svc.Generate(ctx, Input{ThreadID: "t", ResourceID: "r", Messages: user("thanks")}); err != nil {
					t.Fatalf("next turn: %v", err)
				}
				next := f.Requests()[2]
				want = `user:text[weather in Paris?] | assistant:thinking[sig-Need],text[Checking.],tool_use[toolu_1 weather {"city":"Paris"}]` +
					` | user:tool_result[toolu_1 "{\"city\":\"Paris\",\"tempC\":21}"] | assistant:thinking[sig-Got],text[It is 21C in Paris.] | user:text[thanks]`
				if got := next.Dump(); got != want {
					t.Errorf("next turn:\n got %s\nwant %s", got, want)
				}
			})
		})
	}
}

// A client tool on Anthropic with thinking: the turn ends on the call, and
// the continuation (a later request with the tool's result) sends the
// saved, signed thinking back before the tool_use, as Anthropic requires.
func TestAnthropicClientTool(t *testing.T) {
	store := sqliteStore(t)
	ctx := context.Background()
	f := anthropictest.NewServer(t, anthropictest.Replies(
		anthropictest.Reply{Thinking: "Ask the client. ", Calls: []anthropictest.Call{{ID: "toolu_c", Name: "clientWeather", Args: `{"city":"Rome"}`}}},
		anthropictest.Reply{Text: "It is 30C in Rome."},
	))
	svc := newService(t, store, anthropicAgent(t, f, 1024))
	clientWeather := llm.Tool{Name: "clientWeather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	var rec recorder
	res, err := svc.Stream(ctx, Input{ThreadID: "ct", ResourceID: "u", Messages: user("weather in rome?"), ClientTools: []llm.Tool{clientWeather}}, rec.emit)
	if err != nil || res.FinishReason != llm.FinishToolCalls {
		t.Fatalf("first turn: %v, %+v", err, res)
	}
	res2, err := svc.Generate(ctx, Input{ThreadID: "ct", ResourceID: "u", ClientTools: []llm.Tool{clientWeather},
		Messages: []llm.Message{{Role: llm.RoleTool, ToolCallID: "toolu_c", Name: "clientWeather", Content: `{"tempC":30}`}}})
	if err != nil {
		t.Fatalf("continuation: %v (requests: %v)", err, dumps(f.Requests()))
	}
	if res2.Text != "It is 30C in Rome." {
		t.Errorf("continuation text %q", res2.Text)
	}
	want := `user:text[weather in rome?] | assistant:thinking[sig-Ask],tool_use[toolu_c clientWeather {"city":"Rome"}] | user:tool_result[toolu_c "{\"tempC\":30}"]`
	if got := f.Requests()[1].Dump(); got != want {
		t.Errorf("continuation request:\n got %s\nwant %s", got, want)
	}
}

// A request's seed cannot reach Anthropic: the turn fails before any chunk
// with an error naming the setting, and nothing is saved.
func TestAnthropicSeedRefused(t *testing.T) {
	store := sqliteStore(t)
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "never"}))
	svc := newService(t, store, anthropicAgent(t, f, 0))
	seed := 3
	var rec recorder
	_, err := svc.Stream(context.Background(), Input{ThreadID: "s", ResourceID: "r", Messages: user("hi"),
		ModelSettings: ModelSettings{Seed: &seed}}, rec.emit)
	var ue *llm.UnsupportedSettingError
	if !errors.As(err, &ue) || ue.Setting != "Seed" {
		t.Fatalf("err = %v; want UnsupportedSettingError for Seed", err)
	}
	if len(rec.chunks) != 0 || len(f.Requests()) != 0 || len(messages(t, store, "s")) != 0 {
		t.Errorf("%d chunks, %d requests, messages saved; want none", len(rec.chunks), len(f.Requests()))
	}
}

func dumps(reqs []anthropictest.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Dump())
	}
	return out
}
