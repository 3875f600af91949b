package llm

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sseEvent
	}{
		{name: "LF", in: "data: a\n\ndata: b\n\n", want: []sseEvent{{Data: []byte("a")}, {Data: []byte("b")}}},
		{name: "CRLF", in: "data: a\r\n\r\ndata: b\r\n\r\n", want: []sseEvent{{Data: []byte("a")}, {Data: []byte("b")}}},
		{name: "CR", in: "data: a\r\rdata: b\r\r", want: []sseEvent{{Data: []byte("a")}, {Data: []byte("b")}}},
		{name: "no space after colon", in: "data:a\n\n", want: []sseEvent{{Data: []byte("a")}}},
		{name: "comments and fields", in: ": ping\n\nid: 1\nretry: 5\nevent: delta\ndata: x\n\n", want: []sseEvent{{Name: "delta", Data: []byte("x")}}},
		{name: "multi-line data", in: "data: {\ndata: \"a\":1}\n\n", want: []sseEvent{{Data: []byte("{\n\"a\":1}")}}},
		{name: "missing blank lines", in: "data: {\"a\":1}\ndata: {\"b\":2}\ndata: [DONE]\n", want: []sseEvent{{Data: []byte(`{"a":1}`)}, {Data: []byte(`{"b":2}`)}, {Data: []byte("[DONE]")}}},
		{name: "data at EOF without newline", in: "data: a", want: []sseEvent{{Data: []byte("a")}}},
		{name: "event name resets", in: "event: error\ndata: e\n\ndata: d\n\n", want: []sseEvent{{Name: "error", Data: []byte("e")}, {Data: []byte("d")}}},
		{name: "nothing", in: ": only a comment\n\n\n", want: nil},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			sr := newSSEReader(r)
			var got []sseEvent
			for {
				ev, err := sr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s: Next: %v", tt.name, err)
				}
				got = append(got, ev)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s (one byte at a time %v): events = %q; want %q", tt.name, oneByte, got, tt.want)
			}
		}
	}
}

func TestSSEReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	sr := newSSEReader(io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)))
	if ev, err := sr.Next(); err != nil || string(ev.Data) != "a" {
		t.Fatalf("Next = %q, %v; want a, nil", ev.Data, err)
	}
	if _, err := sr.Next(); !errors.Is(err, boom) {
		t.Errorf("Next = %v; want %v", err, boom)
	}
}
