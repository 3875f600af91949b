package llm

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
)

// Echo is the deterministic offline model for development and tests. It is
// not a language model: it calls no provider, needs no key or network, and
// replies "Echo: " followed by the content of the last user message.
//
// Stream hands the reply over in word-sized pieces. Usage counts words, a
// rough stand-in for tokens: the words of every message in, the words of the
// reply out. FinishReason is always FinishStop and the reply never calls
// tools. The same request always gets the same response, ID included.
type Echo struct{}

// ProviderEcho is the name the echo model goes by: its model references
// ("echo") and Response.Model.
const ProviderEcho = "echo"

// Generate returns the echo reply.
func (Echo) Generate(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("llm: echo: %w", err)
	}
	return echoReply(req), nil
}

// Stream hands the echo reply to onDelta a word at a time and returns it.
// It stops early if ctx is done or onDelta returns an error.
func (Echo) Stream(ctx context.Context, req Request, onDelta func(Delta) error) (*Response, error) {
	r := echoReply(req)
	for _, piece := range strings.SplitAfter(r.Text, " ") {
		if piece == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("llm: echo: %w", err)
		}
		if err := onDelta(Delta{Text: piece}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func echoReply(req Request) *Response {
	var last string
	in := 0
	for _, m := range req.Messages {
		in += len(strings.Fields(m.Content))
		if m.Role == RoleUser {
			last = m.Content
		}
	}
	text := "Echo: " + last
	out := len(strings.Fields(text))
	h := fnv.New32a()
	h.Write([]byte(text))
	model := req.Model
	if model == "" {
		model = ProviderEcho
	}
	return &Response{
		ID:           fmt.Sprintf("echo-%08x", h.Sum32()),
		Model:        model,
		Text:         text,
		FinishReason: FinishStop,
		Usage:        Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out},
	}
}
