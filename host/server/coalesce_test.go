package server

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// Deltas of provider events that arrive together are written together
// (held, then flushed before the model's stream reads the network again):
// a delta must still reach the client while the model waits before its
// next token. The fake model sends its first word and then waits until
// the request is cancelled; the client cancels only once it has read
// that word's delta. Were the delta held until the model's next bytes,
// the client would see it only when the model gives up (10 s) and the
// model would never see a cancellation.
func TestStreamSendsDeltaWhileModelWaits(t *testing.T) {
	for _, c := range []struct{ name, path, body, delta string }{
		{"mastra", "/api/agents/gpt/stream", `{"messages":"hi","memory":{"thread":"t-wait","resource":"alice"}}`, `"text-delta"`},
		{"ui", "/chat/gpt", chatBodyJSON("chat-wait", `,"resourceId":"alice"`, uiMsg("u1", "user", "hi")), `"text-delta"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := upstream(t, llmtest.Reply{Text: "Hello world", HangAfterFirstToken: true})
			// The model's own timeout is longer than the fake's wait, so
			// that only the client's going away ends the model call.
			store := openSQLite(t)
			svc, err := agent.NewService(store, []*agent.Agent{{ID: "gpt", Model: fake.Model(time.Minute), Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			_, ts := newTestServer(t, Options{Config: testConfig(), Store: store, Agents: svc})
			res := post(t, ts.URL+c.path, c.body)
			rd := bufio.NewReader(res.Body)
			for {
				line, err := rd.ReadString('\n')
				if err != nil {
					res.Body.Close()
					t.Fatalf("stream ended before its first delta: %v", err)
				}
				if strings.Contains(line, c.delta) && strings.Contains(line, "Hello") {
					break
				}
			}
			res.Body.Close() // the client goes: the turn is cancelled
			select {
			case <-fake.Cancelled():
			case <-time.After(30 * time.Second):
				t.Fatal("the model's request was not cancelled: the first delta reached the client only after the model stopped waiting")
			}
		})
	}
}
