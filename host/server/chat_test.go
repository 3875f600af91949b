package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// chatServer serves the echo agent and an OpenAI agent with the upper tool
// on fake, with memory in store.
func chatServer(t *testing.T, store *memory.Store, fake *llmtest.Server) *httptest.Server {
	t.Helper()
	agents := []*agent.Agent{
		{ID: "assistant", Name: "Assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10},
		{ID: "gpt", Name: "GPT", Model: fake.Model(5 * time.Second), Provider: "openai", ModelID: "gpt-test", LastMessages: 10,
			Tools: []agent.Tool{upperTool{}}},
	}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc, DefaultResourceID: "anon"})
	return ts
}

// uiMsg is a useChat UI message with one text part.
func uiMsg(id, role, text string) string {
	return fmt.Sprintf(`{"id":%q,"role":%q,"parts":[{"type":"text","text":%q}]}`, id, role, text)
}

func chatBodyJSON(id string, extra string, msgs ...string) string {
	return fmt.Sprintf(`{"id":%q,"trigger":"submit-message","messages":[%s]%s}`, id, strings.Join(msgs, ","), extra)
}

// chatTurnEvents posts a chat turn and reads its UI message chunks.
func chatTurnEvents(t *testing.T, url, body string) []map[string]any {
	t.Helper()
	res := post(t, url, body)
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST %s = %d", url, res.StatusCode)
	}
	if h := res.Header.Get("X-Vercel-AI-UI-Message-Stream"); h != "v1" {
		t.Errorf("x-vercel-ai-ui-message-stream = %q; want v1", h)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content-type = %q", ct)
	}
	events, done := readSSE(t, res.Body)
	if !done {
		t.Errorf("stream did not end with [DONE]")
	}
	return events
}

// types lists the chunk types, text-delta and tool-input-delta runs
// collapsed to one, and the text of the deltas.
func types(events []map[string]any) (seq []string, text string) {
	for _, e := range events {
		typ, _ := e["type"].(string)
		if typ == "text-delta" {
			d, _ := e["delta"].(string)
			text += d
		}
		if (typ == "text-delta" || typ == "tool-input-delta") && len(seq) > 0 && seq[len(seq)-1] == typ {
			continue
		}
		seq = append(seq, typ)
	}
	return seq, text
}

// threadTexts reads a thread's saved messages as "role: text".
func threadTexts(t *testing.T, store *memory.Store, thread string) (out []string, resource string) {
	t.Helper()
	p, err := store.ListMessages(context.Background(), memory.MessageQuery{ThreadID: thread, PerPage: -1})
	if errors.Is(err, memory.ErrNotFound) {
		return nil, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range p.Messages {
		var c struct {
			Parts []struct{ Type, Text string } `json:"parts"`
		}
		_ = json.Unmarshal(m.Content, &c)
		var b strings.Builder
		for _, part := range c.Parts {
			b.WriteString(part.Text)
		}
		out = append(out, m.Role+": "+b.String())
		resource = m.ResourceID
	}
	return out, resource
}

func TestChatStream(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var store *memory.Store
			if kind == "sqlite" {
				store = openSQLite(t)
			} else {
				store = openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)})
			}
			fake := llmtest.NewServer(t, llmtest.Replies(
				llmtest.Reply{Calls: []llmtest.Call{{ID: "call_1", Name: "upper", Args: `{"text":"abc"}`}}, ArgsChunk: 4},
				llmtest.Reply{Text: "Upper-cased."}))
			ts := chatServer(t, store, fake)

			// A first message: the UI message stream, and the chat id is the thread.
			events := chatTurnEvents(t, ts.URL+"/chat/assistant", chatBodyJSON("chat-1", `,"resourceId":"alice"`, uiMsg("u1", "user", "hi there")))
			seq, text := types(events)
			want := []string{"start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"}
			if strings.Join(seq, ",") != strings.Join(want, ",") {
				t.Errorf("chunks %v; want %v", seq, want)
			}
			if text != "Echo: hi there" {
				t.Errorf("text %q; want Echo: hi there", text)
			}
			if id, _ := events[0]["messageId"].(string); id == "" {
				t.Errorf("start has no messageId: %v", events[0])
			}
			if r := events[len(events)-1]["finishReason"]; r != "stop" {
				t.Errorf("finishReason %v; want stop", r)
			}
			for _, e := range events {
				if e["type"] == "text-delta" && (e["id"] == nil || e["id"] == "") {
					t.Errorf("text-delta without id: %v", e)
				}
			}

			// useChat resends the history: only the new message is saved.
			chatTurnEvents(t, ts.URL+"/chat/assistant", chatBodyJSON("chat-1", `,"resourceId":"alice"`,
				uiMsg("u1", "user", "hi there"), uiMsg("a1", "assistant", "Echo: hi there"), uiMsg("u2", "user", "and again")))
			got, res := threadTexts(t, store, "chat-1")
			wantMsgs := []string{"user: hi there", "assistant: Echo: hi there", "user: and again", "assistant: Echo: and again"}
			if strings.Join(got, "|") != strings.Join(wantMsgs, "|") {
				t.Errorf("thread chat-1 holds %q; want %q", got, wantMsgs)
			}
			if res != "alice" {
				t.Errorf("thread chat-1 is under %q; want alice", res)
			}

			// threadId wins over id; no resourceId is the default resource.
			chatTurnEvents(t, ts.URL+"/chat/assistant", chatBodyJSON("chat-2", `,"threadId":"t-named"`, uiMsg("u-named", "user", "named")))
			if got, res := threadTexts(t, store, "t-named"); len(got) != 2 || res != "anon" {
				t.Errorf("thread t-named = %q under %q; want 2 messages under anon", got, res)
			}
			if got, _ := threadTexts(t, store, "chat-2"); len(got) != 0 {
				t.Errorf("chat id chat-2 got messages %q though threadId was given", got)
			}

			// A tool call: its input and output chunks, then a second step.
			events = chatTurnEvents(t, ts.URL+"/chat/gpt", chatBodyJSON("chat-tool", `,"resourceId":"alice"`, uiMsg("u-tool", "user", "shout abc")))
			seq, text = types(events)
			want = []string{"start", "start-step", "tool-input-start", "tool-input-delta", "tool-input-available", "tool-output-available",
				"finish-step", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"}
			if strings.Join(seq, ",") != strings.Join(want, ",") {
				t.Errorf("tool turn chunks %v; want %v", seq, want)
			}
			if text != "Upper-cased." {
				t.Errorf("tool turn text %q", text)
			}
			var deltas string
			for _, e := range events {
				switch e["type"] {
				case "tool-input-delta":
					d, _ := e["inputTextDelta"].(string)
					deltas += d
				case "tool-input-available":
					in, _ := json.Marshal(e["input"])
					if e["toolCallId"] != "call_1" || e["toolName"] != "upper" || string(in) != `{"text":"abc"}` {
						t.Errorf("tool-input-available = %v", e)
					}
				case "tool-output-available":
					out, _ := json.Marshal(e["output"])
					if e["toolCallId"] != "call_1" || string(out) != `{"text":"ABC"}` {
						t.Errorf("tool-output-available = %v", e)
					}
				}
			}
			if deltas != `{"text":"abc"}` {
				t.Errorf("tool-input-delta text %q", deltas)
			}
		})
	}
}

// TestChatBadInput: 400 naming the field (404 for an unknown agent), before
// any model call, and nothing saved.
func TestChatBadInput(t *testing.T) {
	store := openSQLite(t)
	fake := llmtest.NewServer(t, llmtest.Replies(hello))
	ts := chatServer(t, store, fake)
	long := strings.Repeat("x", MaxIDBytes+1)
	cases := []struct {
		path, body, field string
		status            int
	}{
		{"/chat/gpt", `{"id":"c1"}`, "messages", 400},
		{"/chat/gpt", `{"id":"c1","messages":"hi"}`, "messages", 400},
		{"/chat/gpt", `{"id":"c1","messages":[]}`, "messages", 400},
		{"/chat/gpt", `{"id":"c1","messages":[` + uiMsg("a1", "assistant", "only me") + `]}`, "messages", 400},
		{"/chat/gpt", `{"id":"c1","messages":[` + uiMsg("u1", "user", "  ") + `]}`, "messages[0]", 400},
		{"/chat/gpt", `{"id":"c1","messages":[` + uiMsg("u1", "user", "ok") + `,{"role":"robot","parts":[]}]}`, "messages[1]", 400},
		{"/chat/gpt", `{"id":"c1","messages":[` + uiMsg("u1", "user", "ok") + `,42]}`, "messages[1]", 400},
		{"/chat/gpt", `{"id":"a/b","messages":[` + uiMsg("u1", "user", "ok") + `]}`, "id", 400},
		{"/chat/gpt", `{"id":"c1","threadId":"` + long + `","messages":[` + uiMsg("u1", "user", "ok") + `]}`, "threadId", 400},
		{"/chat/gpt", `{"id":"c1","trigger":"resend","messages":[` + uiMsg("u1", "user", "ok") + `]}`, "trigger", 400},
		{"/chat/gpt", `{"id":"c1","resourceId":"` + long + `","messages":[` + uiMsg("u1", "user", "ok") + `]}`, "resourceId", 400},
		{"/chat/nobody", `{"id":"c1","messages":[` + uiMsg("u1", "user", "ok") + `]}`, "", 404},
	}
	for _, c := range cases {
		r := do(t, "POST", ts.URL+c.path, c.body, "Content-Type", "application/json")
		if r.status != c.status {
			t.Errorf("%s %s = %d %s; want %d", c.path, c.body, r.status, r.raw, c.status)
			continue
		}
		if c.field != "" && !strings.Contains(r.raw, `"field":"`+c.field+`"`) {
			t.Errorf("%s %.80s = %s; want the error to name %s", c.path, c.body, r.raw, c.field)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("the model was called %d times for bad input", n)
	}
	if got, _ := threadTexts(t, store, "c1"); len(got) != 0 {
		t.Errorf("bad input saved %q", got)
	}

	// The reconnect route: nothing is resumable, so 204; a bad id is 400.
	if r := do(t, "GET", ts.URL+"/chat/assistant/c1/stream", ""); r.status != 204 || r.raw != "" {
		t.Errorf("GET reconnect = %d %q; want 204 and no body", r.status, r.raw)
	}
	if r := do(t, "GET", ts.URL+"/chat/nobody/c1/stream", ""); r.status != 404 {
		t.Errorf("GET reconnect of an unknown agent = %d; want 404", r.status)
	}
}

// TestChatModelFailsMidStream: a model failing after its first token ends
// the UI stream as the AI SDK expects: text-end, error (no upstream detail),
// finish-step, finish with reason "error", [DONE]; nothing is saved.
func TestChatModelFailsMidStream(t *testing.T) {
	store := openSQLite(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "Hello there", MidStreamError: true, ErrorMessage: "overloaded"}))
	ts := chatServer(t, store, fake)
	events := chatTurnEvents(t, ts.URL+"/chat/gpt", chatBodyJSON("chat-fail", `,"resourceId":"alice"`, uiMsg("u1", "user", "hi")))
	seq, _ := types(events)
	want := []string{"start", "start-step", "text-start", "text-delta", "text-end", "error", "finish-step", "finish"}
	if strings.Join(seq, ",") != strings.Join(want, ",") {
		t.Errorf("chunks %v; want %v", seq, want)
	}
	for _, e := range events {
		if e["type"] == "error" {
			if txt, _ := e["errorText"].(string); txt == "" || strings.Contains(txt, "overloaded") {
				t.Errorf("error chunk %v: want an errorText without the upstream's detail", e)
			}
		}
	}
	if r := events[len(events)-1]["finishReason"]; r != "error" {
		t.Errorf("finishReason %v; want error", r)
	}
	if got, _ := threadTexts(t, store, "chat-fail"); len(got) != 0 {
		t.Errorf("a failed turn saved %q", got)
	}
}

// F15 for the UI stream: a chat turn still running near the end of a
// shutdown's drain time ends with text-end, error, finish-step and finish
// (reason "error") and [DONE], in the UI protocol's spelling.
func TestShutdownEndsChatStreams(t *testing.T) {
	store := openSQLite(t)
	fake := upstream(t, llmtest.Reply{Text: "Hello world", HangAfterFirstToken: true})
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "gpt", Model: fake.Model(0), Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.DrainTimeout = time.Second
	s, err := New(Options{Config: cfg, Store: store, Agents: svc, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	res := post(t, "http://"+ln.Addr().String()+"/chat/gpt", chatBodyJSON("chat-drain", `,"resourceId":"alice"`, uiMsg("u1", "user", "hi")))
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	for { // up to the first token: the turn is running
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before its first token: %v", err)
		}
		if strings.Contains(line, `"text-delta"`) {
			break
		}
	}
	cancel() // SIGTERM
	events, done := readSSE(t, rd)
	seq, _ := types(events)
	if got := strings.Join(seq, ","); got != "text-end,error,finish-step,finish" || events[len(events)-1]["finishReason"] != "error" || !done {
		t.Errorf("after shutdown the chat stream got %q (last %v), [DONE] %v; want text-end,error,finish-step,finish (error) and [DONE]", got, events[len(events)-1], done)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v; want nil", err)
	}
	if got, _ := threadTexts(t, store, "chat-drain"); len(got) != 0 {
		t.Errorf("the cancelled turn saved %q", got)
	}
}
