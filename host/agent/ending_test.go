package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// TestLiveStreamExitsEnd walks every way a streamed turn can stop after
// its first chunk without finishing, and checks that the agent itself ends
// the stream (the HTTP faces write no end of their own): the open text
// block ended, one "error" chunk with the exit's message, "step-finish"
// and "finish" with reason "error" carrying the text so far; or, when the
// client went away, no end at all. Nothing is saved in any of them.
func TestLiveStreamExitsEnd(t *testing.T) {
	shutdown := &EndCause{Reason: "test: shutting down", Message: "server is shutting down"}
	lost := &EndCause{Reason: "test: run lost", Message: LostRunMessage}
	const (
		midStep   = "text-delta,text-end,error,step-finish,finish" // the step is open
		afterStep = "text-end,step-finish,error,finish"            // the save comes after the last step
	)
	tests := []struct {
		name  string
		reply llmtest.Reply
		// cancelAt cancels the turn with cause at the first text delta;
		// gate, when set, is the commit gate (it may cancel too).
		cancelAt bool
		cause    error
		gate     func(cancel context.CancelCauseFunc) bool
		wantMsg  string // "" for no end
		// wantEnd are the chunk types that end the stream
		wantEnd  string
		wantText string
		wantErr  func(error) bool
	}{
		{name: "model fails mid-stream", reply: llmtest.Reply{Text: "Hello there", MidStreamError: true},
			wantMsg: "model provider error", wantEnd: midStep, wantText: "Hello there"},
		{name: "shutdown", reply: llmtest.Reply{Text: "one two three", HangAfterFirstToken: true},
			cancelAt: true, cause: shutdown, wantMsg: "server is shutting down", wantEnd: midStep, wantText: "one "},
		{name: "run taken over", reply: llmtest.Reply{Text: "one two three", HangAfterFirstToken: true},
			cancelAt: true, cause: lost, wantMsg: LostRunMessage, wantEnd: midStep, wantText: "one "},
		{name: "client went away", reply: llmtest.Reply{Text: "one two three", HangAfterFirstToken: true},
			cancelAt: true, cause: context.Canceled},
		{name: "commit gate refuses", reply: llmtest.Reply{Text: "Hello world"},
			gate:    func(context.CancelCauseFunc) bool { return false },
			wantMsg: "could not save the conversation", wantEnd: afterStep, wantText: "Hello world",
			wantErr: func(err error) bool { return errors.Is(err, ErrAnswered) }},
		{name: "commit gate finds the run lost", reply: llmtest.Reply{Text: "Hello world"},
			gate:    func(cancel context.CancelCauseFunc) bool { cancel(lost); return false },
			wantMsg: LostRunMessage, wantEnd: afterStep, wantText: "Hello world",
			wantErr: func(err error) bool { return errors.Is(err, ErrAnswered) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := sqliteStore(t)
			f := newFake(t, tt.reply)
			svc := newService(t, store, &Agent{ID: "a", Model: f.Model(10 * time.Second), ModelID: "m"})
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tt.gate != nil {
				ctx = WithCommitGate(ctx, func() bool { return tt.gate(cancel) })
			}
			var rec recorder
			emit := func(c Chunk) error {
				if err := rec.emit(c); err != nil {
					return err
				}
				if tt.cancelAt && c.Type == ChunkTextDelta {
					cancel(tt.cause)
				}
				return nil
			}
			_, err := svc.Stream(ctx, Input{ThreadID: "t-end", ResourceID: "r", Messages: user("hi")}, emit)
			if err == nil || (tt.wantErr != nil && !tt.wantErr(err)) {
				t.Errorf("err = %v", err)
			}
			if _, err := store.Thread(context.Background(), "", "t-end"); !errors.Is(err, memory.ErrNotFound) {
				t.Errorf("thread after the exit: %v; want ErrNotFound (nothing saved)", err)
			}
			types := compact(rec.types())
			if tt.wantMsg == "" {
				if strings.Contains(types, ChunkError) || strings.Contains(types, ChunkFinish) {
					t.Errorf("chunks = %s; want no end for a client that went away", types)
				}
				return
			}
			if !strings.HasSuffix(types, tt.wantEnd) || count(rec.chunks, ChunkFinish) != 1 || count(rec.chunks, ChunkError) != 1 {
				t.Fatalf("chunks = %s; want them to end %s, with one error and one finish", types, tt.wantEnd)
			}
			end := rec.chunks[len(rec.chunks)-strings.Count(tt.wantEnd[strings.Index(tt.wantEnd, "error"):], ",")-1:]
			if e := payload(t, end[0])["error"].(map[string]any); e["message"] != tt.wantMsg {
				t.Errorf("error message = %v; want %q", e["message"], tt.wantMsg)
			}
			for _, c := range end[1:] {
				p := payload(t, c)
				if r := p["stepResult"].(map[string]any)["reason"]; r != FinishError {
					t.Errorf("%s reason = %v; want error", c.Type, r)
				}
				if text := p["output"].(map[string]any)["text"]; text != tt.wantText {
					t.Errorf("%s output text = %q; want %q", c.Type, text, tt.wantText)
				}
				if m := p["metadata"].(map[string]any)["modelId"]; m != "m" {
					t.Errorf("%s modelId = %v; want m", c.Type, m)
				}
			}
		})
	}
}

// count returns how many of chunks are of type typ.
func count(chunks []Chunk, typ string) int {
	n := 0
	for _, c := range chunks {
		if c.Type == typ {
			n++
		}
	}
	return n
}
