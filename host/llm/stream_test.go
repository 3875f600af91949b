package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestAccumulatorOddServers(t *testing.T) {
	idx := func(i int) *int { return &i }
	frag := func(index *int, id, name, args string) wireToolCall {
		return wireToolCall{Index: index, ID: id, Function: wireFunction{Name: name, Arguments: args}}
	}
	tests := []struct {
		name      string
		fragments []wireToolCall
		want      []ToolCall
	}{
		{
			name: "every call at index 0, told apart by id",
			fragments: []wireToolCall{
				frag(idx(0), "a", "one", `{"x":`), frag(idx(0), "", "", `1}`),
				frag(idx(0), "b", "two", `{}`),
			},
			want: []ToolCall{{ID: "a", Name: "one", Arguments: json.RawMessage(`{"x":1}`)}, {ID: "b", Name: "two", Arguments: json.RawMessage(`{}`)}},
		},
		{
			name:      "no index: fragments continue the last call",
			fragments: []wireToolCall{frag(nil, "a", "one", `{"x"`), frag(nil, "", "", `:2}`)},
			want:      []ToolCall{{ID: "a", Name: "one", Arguments: json.RawMessage(`{"x":2}`)}},
		},
		{
			name:      "no id, no arguments",
			fragments: []wireToolCall{frag(idx(0), "", "one", ""), frag(idx(1), "", "two", "")},
			want:      []ToolCall{{ID: "call_0", Name: "one", Arguments: json.RawMessage(`{}`)}, {ID: "call_1", Name: "two", Arguments: json.RawMessage(`{}`)}},
		},
	}
	for _, tt := range tests {
		var a accumulator
		for _, f := range tt.fragments {
			ch := wireChunk{Choices: []wireChunkChoice{{Delta: wireDelta{ToolCalls: []wireToolCall{f}}}}}
			a.add(&ch)
		}
		got := a.response()
		if !reflect.DeepEqual(got.ToolCalls, tt.want) || got.FinishReason != FinishToolCalls {
			t.Errorf("%s: tool calls = %+v, finish %q; want %+v, %q", tt.name, got.ToolCalls, got.FinishReason, tt.want, FinishToolCalls)
		}
	}
}

func TestStreamConnectionDropped(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		startSSE(w)
		writeSplit(w, event(textChunk("Hel")), 0)
		panic(http.ErrAbortHandler) // the server drops the connection
	})
	o, _ := newTestOpenAI(f, nil)
	var c collect
	_, err := o.Stream(context.Background(), hello(), c.on)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("error = %v; want ErrUnavailable", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("upstream saw %d requests; want 1 (no retry once tokens were delivered)", n)
	}
}

func TestGenerateOddBodies(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus bool // a *StatusError with StatusCode 0
	}{
		{name: "error object with 200", body: `{"error":{"message":"model overloaded","type":"server_error"}}`, wantStatus: true},
		{name: "no choices", body: `{"id":"x","choices":[]}`},
		{name: "not JSON", body: `<html>gateway</html>`},
	}
	for _, tt := range tests {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, tt.body) })
		o, _ := newTestOpenAI(f, nil)
		_, err := o.Generate(context.Background(), hello())
		if err == nil {
			t.Errorf("%s: Generate: got no error", tt.name)
			continue
		}
		var se *StatusError
		if got := errors.As(err, &se); got != tt.wantStatus || got && se.StatusCode != 0 {
			t.Errorf("%s: error = %v (%T); want *StatusError with status 0: %v", tt.name, err, err, tt.wantStatus)
		}
	}
}
