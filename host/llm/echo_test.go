package llm

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEcho(t *testing.T) {
	tests := []struct {
		name      string
		req       Request
		wantText  string
		wantUsage Usage
	}{
		{
			name: "last user message",
			req: Request{Messages: []Message{
				{Role: RoleSystem, Content: "Be nice"},
				{Role: RoleUser, Content: "first question"},
				{Role: RoleAssistant, Content: "Echo: first question"},
				{Role: RoleUser, Content: "hello there world"},
			}},
			wantText:  "Echo: hello there world",
			wantUsage: Usage{InputTokens: 10, OutputTokens: 4, TotalTokens: 14},
		},
		{
			name:      "no user message",
			req:       Request{Messages: []Message{{Role: RoleSystem, Content: "Be nice"}}},
			wantText:  "Echo: ",
			wantUsage: Usage{InputTokens: 2, OutputTokens: 1, TotalTokens: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Echo{}.Generate(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if got.Text != tt.wantText || got.Usage != tt.wantUsage || got.FinishReason != FinishStop || got.Model != "echo" {
				t.Errorf("Generate = %+v; want text %q, usage %+v, stop, model echo", got, tt.wantText, tt.wantUsage)
			}
			again, _ := Echo{}.Generate(context.Background(), tt.req)
			if !reflect.DeepEqual(got, again) {
				t.Errorf("second Generate = %+v; want the same as the first, %+v", again, got)
			}
			var c collect
			streamed, err := Echo{}.Stream(context.Background(), tt.req, c.on)
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if !reflect.DeepEqual(streamed, got) {
				t.Errorf("Stream = %+v; want %+v", streamed, got)
			}
			if joined := strings.Join(c.texts(), ""); joined != tt.wantText {
				t.Errorf("deltas join to %q; want %q", joined, tt.wantText)
			}
		})
	}

	var c collect
	Echo{}.Stream(context.Background(), Request{Model: "echo", Messages: []Message{{Role: RoleUser, Content: "one two three"}}}, c.on)
	if want := []string{"Echo: ", "one ", "two ", "three"}; !reflect.DeepEqual(c.texts(), want) {
		t.Errorf("deltas = %q; want %q", c.texts(), want)
	}
}

func TestEchoStops(t *testing.T) {
	errStop := errors.New("stop")
	req := Request{Messages: []Message{{Role: RoleUser, Content: "a b c"}}}
	n := 0
	_, err := Echo{}.Stream(context.Background(), req, func(Delta) error { n++; return errStop })
	if err != errStop || n != 1 {
		t.Errorf("Stream with failing onDelta = %v after %d deltas; want %v after 1", err, n, errStop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Echo{}).Generate(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate on a cancelled context = %v; want context.Canceled", err)
	}
	if _, err := (Echo{}).Stream(ctx, req, func(Delta) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream on a cancelled context = %v; want context.Canceled", err)
	}
}
