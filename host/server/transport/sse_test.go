package transport

import (
	"net/http/httptest"
	"testing"
)

// TestSSEIDs: Send puts the id and the data in one event; SendIDApart puts
// the id in an event of its own just before; an id of 0 writes none; a
// held event is written but not flushed until the next one.
func TestSSEIDs(t *testing.T) {
	rec := httptest.NewRecorder()
	sse := StartSSE(rec, 0, nil)
	if err := sse.Send(1, []byte(`{"a":1}`), true); err != nil {
		t.Fatal(err)
	}
	if err := sse.SendIDApart(2, []byte(`{"b":2}`), false); err != nil {
		t.Fatal(err)
	}
	if err := sse.Send(0, []byte(`{"c":3}`), true); err != nil {
		t.Fatal(err)
	}
	sse.Done()
	want := "id: 1\ndata: {\"a\":1}\n\n" + "id: 2\n\ndata: {\"b\":2}\n\n" + "data: {\"c\":3}\n\n" + "data: [DONE]\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("stream = %q; want %q", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
}
