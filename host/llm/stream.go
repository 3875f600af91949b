package llm

import (
	"fmt"
	"strings"
)

// accumulator assembles a streamed reply from its chunks and turns each
// chunk into the Deltas handed to the caller.
type accumulator struct {
	id, model string
	text      strings.Builder
	calls     []ToolCall
	args      []*strings.Builder
	byIndex   map[int]int // wire index → position in calls
	finish    string      // the provider's finish_reason, unmapped
	usage     Usage
}

// add takes in one chunk and returns its pieces, in order.
func (a *accumulator) add(ch *wireChunk) []Delta {
	if a.id == "" {
		a.id = ch.ID
	}
	if a.model == "" {
		a.model = ch.Model
	}
	if ch.Usage != nil {
		a.usage = ch.Usage.usage()
	}
	var out []Delta
	for _, c := range ch.Choices {
		if c.Index != 0 {
			continue // only one choice is ever asked for
		}
		for _, s := range []*string{c.Delta.Content, c.Delta.Refusal} {
			if s != nil && *s != "" {
				a.text.WriteString(*s)
				out = append(out, Delta{Text: *s})
			}
		}
		for _, tc := range c.Delta.ToolCalls {
			out = append(out, a.toolCall(tc)...)
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			a.finish = *c.FinishReason
		}
	}
	return out
}

// toolCall takes in one tool-call fragment. Fragments are matched by their
// index; a fragment with a new id at a known index (some servers send every
// call at index 0) starts a new call.
func (a *accumulator) toolCall(tc wireToolCall) []Delta {
	if a.byIndex == nil {
		a.byIndex = make(map[int]int)
	}
	pos, known := -1, false
	if tc.Index != nil {
		pos, known = a.byIndex[*tc.Index]
	} else if len(a.calls) > 0 {
		pos, known = len(a.calls)-1, true // no index: continue the last call
	}
	if known && tc.ID != "" && a.calls[pos].ID != "" && tc.ID != a.calls[pos].ID {
		known = false
	}
	if !known {
		pos = len(a.calls)
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", pos)
		}
		a.calls = append(a.calls, ToolCall{ID: id, Name: tc.Function.Name})
		a.args = append(a.args, new(strings.Builder))
		if tc.Index != nil {
			a.byIndex[*tc.Index] = pos
		}
		a.args[pos].WriteString(tc.Function.Arguments)
		start := &ToolCall{ID: id, Name: tc.Function.Name}
		return []Delta{{ToolCallStart: start, ToolCallIndex: pos, ArgsDelta: tc.Function.Arguments}}
	}
	if a.calls[pos].Name == "" {
		a.calls[pos].Name = tc.Function.Name
	}
	if tc.Function.Arguments == "" {
		return nil
	}
	a.args[pos].WriteString(tc.Function.Arguments)
	return []Delta{{ToolCallIndex: pos, ArgsDelta: tc.Function.Arguments}}
}

// response returns the assembled reply.
func (a *accumulator) response() *Response {
	r := &Response{ID: a.id, Model: a.model, Text: a.text.String(), Usage: a.usage}
	for i, c := range a.calls {
		c.Arguments = argsJSON(a.args[i].String())
		r.ToolCalls = append(r.ToolCalls, c)
	}
	r.FinishReason = finishReason(a.finish, len(r.ToolCalls) > 0)
	return r
}

// deltas splits a whole reply into the pieces a stream would have carried,
// for a server that answered a stream request with plain JSON.
func deltas(r *Response) []Delta {
	var out []Delta
	for _, rs := range r.Reasoning {
		if rs.Text != "" {
			out = append(out, Delta{Reasoning: rs.Text})
		}
	}
	if r.Text != "" {
		out = append(out, Delta{Text: r.Text})
	}
	for i, c := range r.ToolCalls {
		out = append(out, Delta{ToolCallStart: &ToolCall{ID: c.ID, Name: c.Name}, ToolCallIndex: i, ArgsDelta: string(c.Arguments)})
	}
	return out
}
