package llmtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

func TestRepliesWholeAndStreamed(t *testing.T) {
	call := llmtest.Call{ID: "call_1", Name: "weather", Args: `{"city":"Paris"}`}
	fake := llmtest.NewServer(t, llmtest.Replies(
		llmtest.Reply{Calls: []llmtest.Call{call}, ArgsChunk: 4},
		llmtest.Reply{Text: "It is warm."},
	))
	model := fake.Model(5 * time.Second)
	ctx := context.Background()
	req := llm.Request{Model: "gpt-x", Messages: []llm.Message{{Role: llm.RoleUser, Content: "weather?"}},
		Tools: []llm.Tool{{Name: "weather", Parameters: []byte(`{"type":"object"}`)}}}

	var args []string
	res, err := model.Stream(ctx, req, func(d llm.Delta) error {
		if d.ArgsDelta != "" {
			args = append(args, d.ArgsDelta)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ToolCalls) != 1 || res.ToolCalls[0].ID != "call_1" || string(res.ToolCalls[0].Arguments) != call.Args ||
		res.FinishReason != llm.FinishToolCalls || res.Usage.TotalTokens != llmtest.DefaultUsage.TotalTokens {
		t.Errorf("streamed response = %+v", res)
	}
	if strings.Join(args, "") != call.Args || len(args) != (len(call.Args)+3)/4 {
		t.Errorf("argument pieces = %q; want 4-byte pieces of %s", args, call.Args)
	}

	for range 2 { // the last reply repeats
		res, err = model.Generate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != "It is warm." || res.FinishReason != llm.FinishStop || len(res.ToolCalls) != 0 {
			t.Errorf("whole response = %+v", res)
		}
	}

	reqs := fake.Requests()
	if len(reqs) != 3 || !reqs[0].Stream || reqs[1].Stream || reqs[0].Model != "gpt-x" ||
		reqs[0].Last().Text() != "weather?" || reqs[0].Tools[0].Function.Name != "weather" ||
		reqs[0].Header.Get("Authorization") != "Bearer sk-test" {
		t.Errorf("requests = %+v", reqs)
	}
	if got := reqs[0].Dump(); got != "user:weather?" {
		t.Errorf("Dump = %q", got)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	req := llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Status: http.StatusUnauthorized, ErrorMessage: "bad key"}))
	var se *llm.StatusError
	if _, err := fake.Model(5*time.Second).Generate(ctx, req); !errors.As(err, &se) || se.StatusCode != 401 || !strings.Contains(se.Message, "bad key") {
		t.Errorf("status reply: err = %v", err)
	}

	fake = llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "one two", MidStreamError: true}))
	var text strings.Builder
	_, err := fake.Model(5*time.Second).Stream(ctx, req, func(d llm.Delta) error { text.WriteString(d.Text); return nil })
	if !errors.As(err, &se) || text.String() != "one two" {
		t.Errorf("mid-stream error: err = %v after %q", err, text.String())
	}

	fake = llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "one two", HangAfterFirstToken: true}))
	_, err = fake.Model(5*time.Second).Stream(ctx, req, func(llm.Delta) error { return errors.New("client gone") })
	if err == nil || err.Error() != "client gone" {
		t.Errorf("err = %v; want onDelta's", err)
	}
	select {
	case <-fake.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the hanging request was not cancelled")
	}
}

func TestCheckSequence(t *testing.T) {
	s := func(v string) *string { return &v }
	call := llmtest.ToolCall{ID: "c1", Type: "function", Function: llmtest.FunctionCall{Name: "f", Arguments: "{}"}}
	good := llmtest.Request{Messages: []llmtest.Message{
		{Role: "user", Content: s("hi")},
		{Role: "assistant", ToolCalls: []llmtest.ToolCall{call}},
		{Role: "tool", ToolCallID: "c1", Content: s("ok")},
	}}
	if err := good.CheckSequence(); err != nil {
		t.Errorf("valid sequence: %v", err)
	}
	if got := good.Dump(); got != "user:hi | assistant[c1 f {}] | tool(c1):ok" {
		t.Errorf("Dump = %q", got)
	}
	for _, bad := range [][]llmtest.Message{
		{{Role: "tool", ToolCallID: "c1"}},
		{{Role: "assistant", ToolCalls: []llmtest.ToolCall{call}}, {Role: "user", Content: s("?")}},
		{{Role: "assistant", ToolCalls: []llmtest.ToolCall{{ID: "c1"}}}, {Role: "tool", ToolCallID: "c1"}},
	} {
		if err := (llmtest.Request{Messages: bad}).CheckSequence(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestForgetRequests(t *testing.T) {
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "ok"}))
	model := fake.Model(5 * time.Second)
	ask := func(text string) {
		t.Helper()
		req := llm.Request{Model: "gpt-x", Messages: []llm.Message{{Role: llm.RoleUser, Content: text}}}
		if _, err := model.Generate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	ask("one")
	ask("two")
	fake.ForgetRequests()
	if reqs := fake.Requests(); len(reqs) != 0 {
		t.Fatalf("after ForgetRequests, %d requests are still recorded", len(reqs))
	}
	ask("three")
	if reqs := fake.Requests(); len(reqs) != 1 || reqs[0].Last().Text() != "three" {
		t.Fatalf("requests after forgetting = %+v; want only the third", reqs)
	}
}

// The fake's /embeddings speaks OpenAI's wire format to the real client:
// vectors in input order (sent in reverse), its errors as StatusErrors, and
// the requests recorded.
func TestEmbeddings(t *testing.T) {
	s := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "unused"}))
	s.EmbedDimensions = 16
	s.EmbedStatus = func(n int) int { return map[int]int{1: 400}[n] }
	m := s.Model(10 * time.Second)
	got, err := m.Embed(context.Background(), llm.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"red apple", "green apple"}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := llm.HashEmbedding("green apple", 16)
	if len(got.Vectors) != 2 || fmt.Sprint(got.Vectors[1]) != fmt.Sprint(want) {
		t.Errorf("vectors %v; want the second to be HashEmbedding(green apple)", got.Vectors)
	}
	_, err = m.Embed(context.Background(), llm.EmbedRequest{Model: "m", Input: []string{"x"}})
	var se *llm.StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Errorf("second request: %v; want a 400", err)
	}
	if reqs := s.EmbedRequests(); len(reqs) != 2 || reqs[0].Model != "text-embedding-3-small" || len(s.Requests()) != 0 {
		t.Errorf("recorded %d embeddings and %d chat requests", len(reqs), len(s.Requests()))
	}
	if fmt.Sprint(s.Embedded()) != "[red apple green apple x]" {
		t.Errorf("embedded %v", s.Embedded())
	}
}
