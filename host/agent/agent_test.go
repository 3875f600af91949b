package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

func echoAgent() *Agent {
	return &Agent{ID: "echo", Name: "Echo", Instructions: "Repeat.", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}
}

func TestGenerateEchoSaves(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		svc := newService(t, store, echoAgent())
		res, err := svc.Generate(ctx, Input{ResourceID: "alice", Messages: user("hello there")})
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if res.Text != "Echo: hello there" || res.FinishReason != "stop" || res.Steps != 1 || res.Model != "echo" {
			t.Errorf("Generate = text %q, finish %q, steps %d, model %q; want echo reply, stop, 1, echo",
				res.Text, res.FinishReason, res.Steps, res.Model)
		}
		if res.ThreadID == "" || res.RunID == "" || res.MessageID == "" || res.ResourceID != "alice" {
			t.Errorf("ids = %+v; want generated thread, run and message ids", res)
		}
		th, err := store.Thread(ctx, "alice", res.ThreadID)
		if err != nil || th.Title != "" {
			t.Fatalf("Thread = %+v, %v; want a new thread titled \"\"", th, err)
		}
		msgs := messages(t, store, res.ThreadID)
		if len(msgs) != 2 || len(res.Messages) != 2 {
			t.Fatalf("saved %d messages, result has %d; want 2 and 2", len(msgs), len(res.Messages))
		}
		if msgs[0].Role != "user" || content(t, msgs[0]).Text() != "hello there" || msgs[0].Type != "v2" {
			t.Errorf("user row = %s %s; want the user text", msgs[0].Role, msgs[0].Content)
		}
		if !msgs[1].CreatedAt.After(msgs[0].CreatedAt) {
			t.Errorf("createdAt %v then %v; want strictly increasing", msgs[0].CreatedAt, msgs[1].CreatedAt)
		}
		a := content(t, msgs[1])
		if msgs[1].ID != res.MessageID || msgs[1].Role != "assistant" || a.Format != 2 || a.Content != res.Text {
			t.Errorf("assistant row = %s %s %s; want id %s with the reply", msgs[1].ID, msgs[1].Role, msgs[1].Content, res.MessageID)
		}
		if len(a.Parts) != 2 || a.Parts[0].Type != "step-start" || a.Parts[0].Model != "echo" || a.Parts[1].Type != "text" {
			t.Errorf("assistant parts = %s; want step-start{model:echo}, text", msgs[1].Content)
		}
		if a.Metadata["provider"] != "echo" || a.Metadata["modelId"] != "echo" || a.Metadata["usage"] == nil {
			t.Errorf("assistant metadata = %v; want modelId, provider, usage", a.Metadata)
		}

		res2, err := svc.Generate(ctx, Input{ThreadID: res.ThreadID, ResourceID: "alice", Messages: user("again")})
		if err != nil {
			t.Fatalf("second Generate: %v", err)
		}
		if len(res2.Remembered) != 2 || res2.Text != "Echo: again" {
			t.Errorf("second turn remembered %d, text %q; want 2 and the echo", len(res2.Remembered), res2.Text)
		}
		if n := len(messages(t, store, res.ThreadID)); n != 4 {
			t.Errorf("after two turns %d messages; want 4", n)
		}
	})
}

func TestStreamEchoChunks(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		svc := newService(t, store, echoAgent())
		gen, err := svc.Generate(ctx, Input{ResourceID: "r", Messages: user("one two three")})
		if err != nil {
			t.Fatal(err)
		}
		var rec recorder
		res, err := svc.Stream(ctx, Input{ThreadID: "th-s", ResourceID: "r", RunID: "run-1", Messages: user("one two three")}, rec.emit)
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		if got, want := compact(rec.types()), "start,step-start,text-start,text-delta,text-end,step-finish,finish"; got != want {
			t.Errorf("chunk types = %s; want %s", got, want)
		}
		var text strings.Builder
		for _, c := range rec.chunks {
			if c.RunID != "run-1" || c.From != "AGENT" {
				t.Errorf("chunk %s runId %q from %q; want run-1 AGENT", c.Type, c.RunID, c.From)
			}
			if c.Type == ChunkTextDelta {
				text.WriteString(payload(t, c)["text"].(string))
			}
		}
		if text.String() != gen.Text || res.Text != gen.Text {
			t.Errorf("deltas %q, stream text %q; want generate's %q", text.String(), res.Text, gen.Text)
		}
		start := payload(t, rec.chunks[0])
		if start["id"] != "echo" || start["threadId"] != "th-s" || start["resourceId"] != "r" || start["messageId"] != res.MessageID {
			t.Errorf("start payload = %v; want agent id, thread, resource and message ids", start)
		}
		last := payload(t, rec.chunks[len(rec.chunks)-1])
		sr := last["stepResult"].(map[string]any)
		out := last["output"].(map[string]any)
		if sr["reason"] != "stop" || sr["isContinued"] != false || out["text"] != gen.Text || out["usage"].(map[string]any)["totalTokens"] == nil {
			t.Errorf("finish payload = %v; want reason stop, the text and usage", last)
		}
		for _, c := range rec.chunks {
			if c.Type == ChunkTextEnd {
				if p := payload(t, c); p["type"] != "text-end" || p["id"] != "txt-0" {
					t.Errorf("text-end payload = %v; want {type:text-end, id:txt-0}", p)
				}
			}
		}
		if n := len(messages(t, store, "th-s")); n != 2 {
			t.Errorf("stream saved %d messages; want 2", n)
		}
	})
}

func TestHistoryReachesModel(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			ctx := context.Background()
			store := sqliteStore(t)
			base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
			var old []memory.Message
			for i := range 5 {
				role := []string{"user", "assistant"}[i%2]
				at := base.Add(time.Duration(i) * time.Second)
				old = append(old, memory.Message{ID: fmt.Sprintf("m%d", i), Role: role,
					Content: memory.TextContent(fmt.Sprintf("old %d", i), at), CreatedAt: at})
			}
			if err := store.AppendTurn(ctx, memory.Turn{Thread: memory.Thread{ID: "t1", ResourceID: "alice"}, Messages: old}); err != nil {
				t.Fatal(err)
			}
			f := newFake(t, llmtest.Reply{Text: "Hello world"})
			svc := newService(t, store, &Agent{ID: "a", Instructions: "Be brief.", Model: f.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test", LastMessages: 3})
			in := Input{ThreadID: "t1", ResourceID: "alice", Messages: user("new question"), Instructions: "Answer in French."}
			var res *Result
			var err error
			if stream {
				var rec recorder
				res, err = svc.Stream(ctx, in, rec.emit)
			} else {
				res, err = svc.Generate(ctx, in)
			}
			if err != nil {
				t.Fatalf("turn: %v", err)
			}
			reqs := f.Requests()
			if len(reqs) != 1 || reqs[0].Stream != stream || reqs[0].Model != "gpt-test" {
				t.Fatalf("requests = %+v; want one, stream=%v, model gpt-test", reqs, stream)
			}
			got := reqs[0].Dump()
			want := "system:Be brief.\n\nAnswer in French. | user:old 2 | assistant:old 3 | user:old 4 | user:new question"
			if got != want {
				t.Errorf("prompt = %q\nwant     %q", got, want)
			}
			if res.Text != "Hello world" || len(res.Remembered) != 3 || res.Usage.TotalTokens != 12 || res.Model != "openai/gpt-test" {
				t.Errorf("result text %q, remembered %d, usage %+v, model %q", res.Text, len(res.Remembered), res.Usage, res.Model)
			}
			if n := len(messages(t, store, "t1")); n != 7 {
				t.Errorf("thread has %d messages; want 7", n)
			}
		})
	}
}

func TestToolLoop(t *testing.T) {
	paris := llmtest.Call{ID: "call_1", Name: "weather", Args: `{"city":"Paris"}`}
	rome := llmtest.Call{ID: "call_2", Name: "weather", Args: `{"city":"Rome"}`}
	tests := []struct {
		name      string
		replies   []llmtest.Reply
		fail      error
		panic     bool
		maxSteps  int
		wantSteps int
		wantRuns  []string // arguments the tool was run with
		wantTool  []string // content of the tool messages the model saw, in order
		wantText  string
		finish    string
		toolChunk string // tool-result or tool-error
	}{
		{
			name:      "multi-step",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{paris}}, {Text: "Checking Rome. ", Calls: []llmtest.Call{rome}}, {Text: "Both are 21C."}},
			wantSteps: 3, wantRuns: []string{paris.Args, rome.Args},
			wantTool: []string{`{"city":"Paris","tempC":21}`, `{"city":"Rome","tempC":21}`},
			wantText: "Checking Rome. Both are 21C.", finish: "stop", toolChunk: ChunkToolResult,
		},
		{
			name:      "invalid JSON args",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{{ID: "call_1", Name: "weather", Args: `{"city":`}}}, {Text: "Sorry."}},
			wantSteps: 2, wantTool: []string{`{"error":"invalid arguments: not a JSON object"}`},
			wantText: "Sorry.", finish: "stop", toolChunk: ChunkToolError,
		},
		{
			name:      "args not an object",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{{ID: "call_1", Name: "weather", Args: `["Paris"]`}}}, {Text: "Sorry."}},
			wantSteps: 2, wantTool: []string{`{"error":"invalid arguments: not a JSON object"}`},
			wantText: "Sorry.", finish: "stop", toolChunk: ChunkToolError,
		},
		{
			name:      "args against the schema",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{{ID: "call_1", Name: "weather", Args: `{"town":"Paris"}`}}}, {Text: "Which city?"}},
			wantSteps: 2, wantTool: []string{`{"error":"invalid arguments: missing property 'city'"}`},
			wantText: "Which city?", finish: "stop", toolChunk: ChunkToolError,
		},
		{
			name:      "failing tool",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{paris}}, {Text: "Station down."}},
			fail:      errors.New("station offline"),
			wantSteps: 2, wantRuns: []string{paris.Args},
			wantTool: []string{`{"error":"tool failed: station offline"}`},
			wantText: "Station down.", finish: "stop", toolChunk: ChunkToolError,
		},
		{
			name:      "panicking tool",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{paris}}, {Text: "Oops."}},
			panic:     true,
			wantSteps: 2, wantRuns: []string{paris.Args},
			wantTool: []string{`{"error":"tool failed: tool crashed"}`},
			wantText: "Oops.", finish: "stop", toolChunk: ChunkToolError,
		},
		{
			name:      "unknown tool",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{{ID: "call_1", Name: "stocks", Args: `{}`}}}, {Text: "No stocks."}},
			wantSteps: 2, wantTool: []string{`{"error":"unknown tool \"stocks\""}`},
			wantText: "No stocks.", finish: "stop", toolChunk: ChunkToolError,
		},
		{
			name:      "max steps",
			replies:   []llmtest.Reply{{Calls: []llmtest.Call{paris}}},
			maxSteps:  2,
			wantSteps: 2, wantRuns: []string{paris.Args, paris.Args},
			wantTool: []string{`{"city":"Paris","tempC":21}`},
			finish:   "tool-calls", toolChunk: ChunkToolResult,
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				ctx := context.Background()
				store := sqliteStore(t)
				f := newFake(t, tt.replies...)
				tool := &weather{fail: tt.fail, panic: tt.panic}
				svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test",
					LastMessages: 20, MaxSteps: tt.maxSteps, Tools: []Tool{tool}})
				in := Input{ThreadID: "t", ResourceID: "r", Messages: user("weather please")}
				var rec recorder
				var res *Result
				var err error
				if stream {
					res, err = svc.Stream(ctx, in, rec.emit)
				} else {
					res, err = svc.Generate(ctx, in)
				}
				if err != nil {
					t.Fatalf("turn: %v", err)
				}
				if res.Steps != tt.wantSteps || res.Text != tt.wantText || res.FinishReason != tt.finish {
					t.Errorf("steps %d, text %q, finish %q; want %d, %q, %q", res.Steps, res.Text, res.FinishReason, tt.wantSteps, tt.wantText, tt.finish)
				}
				if got := tool.seen(); strings.Join(got, ";") != strings.Join(tt.wantRuns, ";") {
					t.Errorf("tool ran with %q; want %q", got, tt.wantRuns)
				}
				reqs := f.Requests()
				if len(reqs) != tt.wantSteps {
					t.Fatalf("model got %d requests; want %d", len(reqs), tt.wantSteps)
				}
				var seenTool []string
				last := reqs[len(reqs)-1]
				for _, m := range last.Messages {
					if m.Role == "tool" {
						seenTool = append(seenTool, *m.Content)
					}
				}
				if len(seenTool) < len(tt.wantTool) || strings.Join(seenTool[:len(tt.wantTool)], ";") != strings.Join(tt.wantTool, ";") {
					t.Errorf("tool messages seen by the model = %q; want %q", seenTool, tt.wantTool)
				}
				for _, r := range reqs {
					checkSequence(t, r)
					if len(r.Tools) != 1 || r.Tools[0].Function.Name != "weather" {
						t.Errorf("request tools = %+v; want weather", r.Tools)
					}
				}
				if len(res.ToolCalls) == 0 || res.ToolCalls[0].Type != ChunkToolCall || len(res.ToolResults) == 0 || res.ToolResults[0].Type != tt.toolChunk {
					t.Errorf("result tool chunks = %+v / %+v; want tool-call / %s", res.ToolCalls, res.ToolResults, tt.toolChunk)
				}
				if p := payload(t, res.ToolCalls[0]); p["toolCallId"] != "call_1" || p["args"] == nil {
					t.Errorf("tool-call payload = %v", p)
				}
				if stream {
					types := compact(rec.types())
					for _, want := range []string{"tool-call-input-streaming-start,tool-call-delta,tool-call-input-streaming-end,tool-call," + tt.toolChunk + ",step-finish,step-start"} {
						if !strings.Contains(types, want) {
							t.Errorf("chunk types = %s; want them to contain %s", types, want)
						}
					}
					if !strings.HasSuffix(types, "step-finish,finish") {
						t.Errorf("chunk types = %s; want to end with step-finish,finish", types)
					}
					var continued []bool
					for _, c := range rec.chunks {
						if c.Type == ChunkStepFinish {
							continued = append(continued, payload(t, c)["stepResult"].(map[string]any)["isContinued"].(bool))
						}
					}
					if len(continued) != tt.wantSteps || continued[len(continued)-1] || !continued[0] {
						t.Errorf("step-finish isContinued = %v; want true… then false over %d steps", continued, tt.wantSteps)
					}
				}

				msgs := messages(t, store, "t")
				if len(msgs) != 2 {
					t.Fatalf("saved %d messages; want 2", len(msgs))
				}
				c := content(t, msgs[1])
				var kinds []string
				for _, p := range c.Parts {
					k := p.Type
					if p.ToolInvocation != nil {
						k += ":" + p.ToolInvocation.State
					}
					kinds = append(kinds, k)
				}
				if kinds[0] != "step-start" || !strings.Contains(strings.Join(kinds, ","), "tool-invocation:result") || c.Content != tt.wantText {
					t.Errorf("saved parts = %v, content %q", kinds, c.Content)
				}

				// The saved turn replays as a valid sequence.
				if _, err := svc.Generate(ctx, Input{ThreadID: "t", ResourceID: "r", Messages: user("and now?")}); err != nil {
					t.Fatalf("next turn: %v", err)
				}
				reqs = f.Requests()
				next := reqs[tt.wantSteps] // the next turn's first request
				checkSequence(t, next)
				if got := next.Dump(); !strings.HasPrefix(got, "user:weather please | assistant[call_1 ") || !strings.HasSuffix(got, "user:and now?") {
					t.Errorf("replayed prompt = %s", got)
				}
			})
		}
	}
}

func TestToolGetsRequestContext(t *testing.T) {
	f := newFake(t, llmtest.Reply{Calls: []llmtest.Call{{ID: "c1", Name: "whoami", Args: `{}`}}}, llmtest.Reply{Text: "done"})
	tool := &ctxTool{}
	svc := newService(t, nil, &Agent{ID: "a", Model: f.Model(10 * time.Second), ModelID: "m", Tools: []Tool{tool}})
	rc := reqctx.New()
	rc.SetString("tenant", "acme")
	res, err := svc.Generate(context.Background(), Input{ResourceID: "r", Messages: user("who?"), RequestContext: rc})
	if err != nil {
		t.Fatal(err)
	}
	if tool.got != "acme" || res.Text != "done" || res.Messages != nil {
		t.Errorf("tool saw tenant %q, text %q, messages %v; want acme, done, none saved without a store", tool.got, res.Text, res.Messages)
	}
}

type ctxTool struct{ got string }

func (c *ctxTool) Name() string                 { return "whoami" }
func (c *ctxTool) Description() string          { return "" }
func (c *ctxTool) InputSchema() json.RawMessage { return nil }
func (c *ctxTool) Execute(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
	if v := reqctx.From(ctx); v != nil {
		c.got, _ = v.GetString("tenant")
	}
	return json.RawMessage(`"ok"`), nil
}

func TestClientTool(t *testing.T) {
	clientWeather := llm.Tool{Name: "clientWeather", Description: "client side weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	for _, lastMessages := range []int{10, 0} {
		t.Run(fmt.Sprintf("lastMessages=%d", lastMessages), func(t *testing.T) {
			eachStore(t, func(t *testing.T, store *memory.Store) {
				ctx := context.Background()
				f := newFake(t,
					llmtest.Reply{Calls: []llmtest.Call{{ID: "ccall_1", Name: "clientWeather", Args: `{"city":"Rome"}`}}},
					llmtest.Reply{Text: "It is 30C in Rome."},
					llmtest.Reply{Text: "You are welcome."})
				tool := &weather{}
				svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-test",
					LastMessages: lastMessages, Tools: []Tool{tool}})

				var rec recorder
				res, err := svc.Stream(ctx, Input{ThreadID: "ct-1", ResourceID: "u", Messages: user("weather in rome?"),
					ClientTools: []llm.Tool{clientWeather}}, rec.emit)
				if err != nil {
					t.Fatalf("first turn: %v", err)
				}
				if res.FinishReason != "tool-calls" || res.Steps != 1 || len(res.ToolCalls) != 1 || len(res.ToolResults) != 0 {
					t.Errorf("finish %q, steps %d, calls %d, results %d; want tool-calls, 1, 1, 0", res.FinishReason, res.Steps, len(res.ToolCalls), len(res.ToolResults))
				}
				if got := compact(rec.types()); !strings.HasSuffix(got, "tool-call,step-finish,finish") {
					t.Errorf("chunk types = %s; want to end with tool-call,step-finish,finish", got)
				}
				fin := payload(t, rec.chunks[len(rec.chunks)-1])["stepResult"].(map[string]any)
				if fin["reason"] != "tool-calls" || fin["isContinued"] != false {
					t.Errorf("finish stepResult = %v", fin)
				}
				if names := f.Requests()[0].Tools; len(names) != 2 || names[1].Function.Name != "clientWeather" {
					t.Errorf("tools sent = %+v; want weather and clientWeather", names)
				}
				msgs := messages(t, store, "ct-1")
				if len(msgs) != 2 {
					t.Fatalf("saved %d messages; want 2", len(msgs))
				}
				var pending *memory.ToolInvocation
				for _, p := range content(t, msgs[1]).Parts {
					if p.ToolInvocation != nil {
						pending = p.ToolInvocation
					}
				}
				if pending == nil || pending.State != "call" || pending.ToolCallID != "ccall_1" || string(pending.Args) != `{"city":"Rome"}` {
					t.Fatalf("pending invocation = %+v; want the call to clientWeather", pending)
				}

				// The client ran the tool and comes back with its result.
				res2, err := svc.Generate(ctx, Input{ThreadID: "ct-1", ResourceID: "u", ClientTools: []llm.Tool{clientWeather},
					Messages: []llm.Message{{Role: llm.RoleTool, ToolCallID: "ccall_1", Name: "clientWeather", Content: `{"city":"Rome","tempC":30}`}}})
				if err != nil {
					t.Fatalf("continuation: %v", err)
				}
				if res2.Text != "It is 30C in Rome." || res2.FinishReason != "stop" {
					t.Errorf("continuation = %q %q", res2.Text, res2.FinishReason)
				}
				req := f.Requests()[1]
				checkSequence(t, req)
				got := req.Dump()
				want := `assistant[ccall_1 clientWeather {"city":"Rome"}] | tool(ccall_1):{"city":"Rome","tempC":30}`
				if lastMessages == 0 {
					want = `assistant[ccall_1 clientWeather {}] | tool(ccall_1):{"city":"Rome","tempC":30}`
				} else {
					want = "user:weather in rome? | " + want
				}
				if got != want {
					t.Errorf("continuation prompt = %s\nwant                  %s", got, want)
				}
				msgs = messages(t, store, "ct-1")
				if len(msgs) != 4 {
					t.Fatalf("saved %d messages; want 4", len(msgs))
				}
				r := content(t, msgs[2]).Parts
				if msgs[2].Role != "assistant" || len(r) != 1 || r[0].ToolInvocation == nil || r[0].ToolInvocation.State != "result" ||
					r[0].ToolInvocation.ToolName != "clientWeather" || string(r[0].ToolInvocation.Result) != `{"city":"Rome","tempC":30}` {
					t.Errorf("saved tool result = %s %s", msgs[2].Role, msgs[2].Content)
				}

				// A third turn replays the whole round trip once, validly.
				if _, err := svc.Generate(ctx, Input{ThreadID: "ct-1", ResourceID: "u", Messages: user("thanks")}); err != nil {
					t.Fatalf("third turn: %v", err)
				}
				req = f.Requests()[2]
				checkSequence(t, req)
				if lastMessages > 0 {
					want := `user:weather in rome? | assistant[ccall_1 clientWeather {"city":"Rome"}] | tool(ccall_1):{"city":"Rome","tempC":30} | assistant:It is 30C in Rome. | user:thanks`
					if got := req.Dump(); got != want {
						t.Errorf("third prompt = %s\nwant           %s", got, want)
					}
				}
			})
		})
	}
}

func TestModelErrorBeforeFirstToken(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusUnauthorized} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/stream=%v", status, stream), func(t *testing.T) {
				store := sqliteStore(t)
				f := newFake(t, llmtest.Reply{Status: status})
				svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), ModelID: "m", LastMessages: 5})
				in := Input{ThreadID: "t-err", ResourceID: "r", Messages: user("hi")}
				var rec recorder
				var err error
				if stream {
					_, err = svc.Stream(context.Background(), in, rec.emit)
				} else {
					_, err = svc.Generate(context.Background(), in)
				}
				var se *llm.StatusError
				if !errors.As(err, &se) || se.StatusCode != status {
					t.Fatalf("err = %v; want a *llm.StatusError with %d", err, status)
				}
				if got := errors.Is(err, llm.ErrUnavailable); got != (status >= 500) {
					t.Errorf("errors.Is(err, ErrUnavailable) = %v for %d", got, status)
				}
				if len(rec.chunks) != 0 {
					t.Errorf("emitted %v; want no chunks", rec.types())
				}
				if _, err := store.Thread(context.Background(), "", "t-err"); !errors.Is(err, memory.ErrNotFound) {
					t.Errorf("thread after failure: %v; want ErrNotFound (nothing saved)", err)
				}
			})
		}
	}
}

func TestModelErrorMidStream(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		f := newFake(t, llmtest.Reply{Text: "Hello there", MidStreamError: true})
		svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), ModelID: "m"})
		var rec recorder
		_, err := svc.Stream(context.Background(), Input{ThreadID: "t-mid", ResourceID: "r", Messages: user("hi")}, rec.emit)
		var se *llm.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v; want a *llm.StatusError", err)
		}
		if got, want := compact(rec.types()), "start,step-start,text-start,text-delta,text-end,error,step-finish,finish"; got != want {
			t.Errorf("chunk types = %s; want %s", got, want)
		}
		for _, c := range rec.chunks {
			b, _ := json.Marshal(c)
			if strings.Contains(string(b), "secret-sauce") || strings.Contains(string(b), "boom") {
				t.Errorf("chunk %s leaks provider text", b)
			}
			switch c.Type {
			case ChunkError:
				e := payload(t, c)["error"].(map[string]any)
				if e["message"] != "model provider error" || e["name"] != "Error" {
					t.Errorf("error payload = %v", e)
				}
			case ChunkStepFinish, ChunkFinish:
				if r := payload(t, c)["stepResult"].(map[string]any)["reason"]; r != "error" {
					t.Errorf("%s reason = %v; want error", c.Type, r)
				}
			}
		}
		if _, err := store.Thread(context.Background(), "", "t-mid"); !errors.Is(err, memory.ErrNotFound) {
			t.Errorf("thread after failure: %v; want ErrNotFound (nothing saved)", err)
		}
	})
}

func TestClientGoneCancelsModel(t *testing.T) {
	store := sqliteStore(t)
	f := newFake(t, llmtest.Reply{Text: "one two three", HangAfterFirstToken: true})
	svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), ModelID: "m"})
	rec := recorder{failAt: 1}
	done := make(chan error, 1)
	go func() {
		_, err := svc.Stream(context.Background(), Input{ThreadID: "t-gone", ResourceID: "r", Messages: user("hi")}, rec.emit)
		done <- err
	}()
	select {
	case <-f.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the model request was not cancelled")
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "broken pipe") {
			t.Errorf("err = %v; want emit's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stream did not return")
	}
	if got := compact(rec.types()); got != "start,step-start,text-start" {
		t.Errorf("chunks = %s; want start,step-start,text-start then nothing", got)
	}
	if _, err := store.Thread(context.Background(), "", "t-gone"); !errors.Is(err, memory.ErrNotFound) {
		t.Errorf("thread after disconnect: %v; want ErrNotFound (nothing saved)", err)
	}
}

func TestThreadOfAnotherResource(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		if err := store.AppendTurn(ctx, memory.Turn{Thread: memory.Thread{ID: "t-alice", ResourceID: "alice"},
			Messages: []memory.Message{{ID: "m1", Role: "user", Content: memory.TextContent("secret", time.Now())}}}); err != nil {
			t.Fatal(err)
		}
		f := newFake(t, llmtest.Reply{Text: "leak"})
		svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), ModelID: "m", LastMessages: 10})
		var rec recorder
		_, err := svc.Stream(ctx, Input{ThreadID: "t-alice", ResourceID: "bob", Messages: user("show me")}, rec.emit)
		if !errors.Is(err, memory.ErrNotFound) {
			t.Errorf("Stream err = %v; want memory.ErrNotFound", err)
		}
		_, err = svc.Generate(ctx, Input{ThreadID: "t-alice", ResourceID: "bob", Messages: user("show me")})
		if !errors.Is(err, memory.ErrNotFound) {
			t.Errorf("Generate err = %v; want memory.ErrNotFound", err)
		}
		if n := len(f.Requests()); n != 0 || len(rec.chunks) != 0 {
			t.Errorf("model called %d times, %d chunks; want none", n, len(rec.chunks))
		}
		if n := len(messages(t, store, "t-alice")); n != 1 {
			t.Errorf("alice's thread has %d messages; want 1", n)
		}
	})
}

func TestConcurrentTurns(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		svc := newService(t, store, echoAgent())
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := Input{ThreadID: "shared", ResourceID: "r", Messages: user(fmt.Sprintf("turn %d", i))}
				var err error
				if i%2 == 0 {
					_, err = svc.Generate(context.Background(), in)
				} else {
					_, err = svc.Stream(context.Background(), in, func(Chunk) error { return nil })
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("turn: %v", err)
			}
		}
		if got := len(messages(t, store, "shared")); got != 2*n {
			t.Errorf("thread has %d messages; want %d", got, 2*n)
		}
	})
}

func TestInputErrors(t *testing.T) {
	svc := newService(t, nil, echoAgent())
	tests := []struct {
		name string
		in   Input
		want error
	}{
		{"unknown agent", Input{AgentID: "nope", ResourceID: "r", Messages: user("x")}, ErrUnknownAgent},
		{"no resource", Input{Messages: user("x")}, ErrInvalidInput},
		{"no messages", Input{ResourceID: "r"}, ErrInvalidInput},
		{"bad role", Input{ResourceID: "r", Messages: []llm.Message{{Role: "robot", Content: "x"}}}, ErrInvalidInput},
		{"tool without id", Input{ResourceID: "r", Messages: []llm.Message{{Role: "tool", Content: "{}"}}}, ErrInvalidInput},
		{"negative steps", Input{ResourceID: "r", Messages: user("x"), MaxSteps: -1}, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := svc.Generate(context.Background(), tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Generate err = %v; want %v", err, tt.want)
			}
			var rec recorder
			if _, err := svc.Stream(context.Background(), tt.in, rec.emit); !errors.Is(err, tt.want) || len(rec.chunks) > 0 {
				t.Errorf("Stream err = %v, %d chunks; want %v and none", err, len(rec.chunks), tt.want)
			}
		})
	}
}

func TestNewService(t *testing.T) {
	b := &Agent{ID: "b", Model: llm.Echo{}}
	a := &Agent{ID: "a", Model: llm.Echo{}}
	svc, err := NewService(nil, []*Agent{b, a}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.DefaultID() != "b" || svc.Agents()[0].ID != "a" || svc.Agents()[1].ID != "b" {
		t.Errorf("default %q, agents %v; want b (first given) and sorted ids", svc.DefaultID(), svc.Agents())
	}
	if got, ok := svc.Agent("a"); !ok || got != a {
		t.Errorf("Agent(a) = %v, %v", got, ok)
	}
	bad := []struct {
		name      string
		agents    []*Agent
		defaultID string
	}{
		{"none", nil, ""},
		{"duplicate", []*Agent{a, {ID: "a", Model: llm.Echo{}}}, ""},
		{"no model", []*Agent{{ID: "x"}}, ""},
		{"no id", []*Agent{{Model: llm.Echo{}}}, ""},
		{"unknown default", []*Agent{a}, "zzz"},
		{"duplicate tool", []*Agent{{ID: "x", Model: llm.Echo{}, Tools: []Tool{&weather{}, &weather{}}}}, ""},
		{"bad tool schema", []*Agent{{ID: "x", Model: llm.Echo{}, Tools: []Tool{badSchema{}}}}, ""},
	}
	for _, tt := range bad {
		if _, err := NewService(nil, tt.agents, tt.defaultID, nil); err == nil {
			t.Errorf("%s: NewService succeeded; want an error", tt.name)
		}
	}
}

func TestModelTimeout(t *testing.T) {
	tests := []struct {
		name   string
		reply  llmtest.Reply
		chunks string // compacted chunk types; "" for none
	}{
		{"before first token", llmtest.Reply{StallBeforeAnswer: true}, ""},
		{"mid-stream", llmtest.Reply{Text: "one two", HangAfterFirstToken: true}, "start,step-start,text-start,text-delta,text-end,error,step-finish,finish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := sqliteStore(t)
			f := newFake(t, tt.reply)
			svc := newService(t, store, &Agent{ID: "a", Model: f.Model(200 * time.Millisecond), ModelID: "m"})
			var rec recorder
			_, err := svc.Stream(context.Background(), Input{ThreadID: "t-slow", ResourceID: "r", Messages: user("hi")}, rec.emit)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v; want context.DeadlineExceeded", err)
			}
			if got := compact(rec.types()); got != tt.chunks {
				t.Errorf("chunks = %q; want %q", got, tt.chunks)
			}
			for _, c := range rec.chunks {
				if c.Type == ChunkError {
					if msg := payload(t, c)["error"].(map[string]any)["message"]; msg != "model timed out" {
						t.Errorf("error message = %v; want model timed out", msg)
					}
				}
			}
			if _, err := store.Thread(context.Background(), "", "t-slow"); !errors.Is(err, memory.ErrNotFound) {
				t.Errorf("thread after timeout: %v; want ErrNotFound (nothing saved)", err)
			}
		})
	}
}

// badSchema is a tool whose input schema is not a JSON Schema.
type badSchema struct{}

func (badSchema) Name() string                 { return "bad" }
func (badSchema) Description() string          { return "" }
func (badSchema) InputSchema() json.RawMessage { return json.RawMessage(`{"type":"thing"}`) }
func (badSchema) Execute(context.Context, json.RawMessage) (json.RawMessage, error) {
	return nil, errors.New("never called")
}
