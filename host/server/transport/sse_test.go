package transport

import (
	"net/http/httptest"
	"testing"
	"time"
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

// A ping whose timer fired as the stream ended (the pinger waiting on the
// lock while Done or DoneAtReturn holds it) writes nothing after the end:
// the handler may have returned, and its ResponseWriter is net/http's
// again.
func TestSSENoPingAfterEnd(t *testing.T) {
	for _, end := range []struct {
		name string
		end  func(*SSE)
		want string
	}{
		{"Done", (*SSE).Done, "data: {\"a\":1}\n\ndata: [DONE]\n\n"},
		{"DoneAtReturn", (*SSE).DoneAtReturn, "data: {\"a\":1}\n\ndata: [DONE]\n\n"},
		{"Close", (*SSE).Close, "data: {\"a\":1}\n\n"},
	} {
		t.Run(end.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			sse := StartSSE(rec, 0, nil) // no pinger of its own: the test is it
			if err := sse.Send(0, []byte(`{"a":1}`), true); err != nil {
				t.Fatal(err)
			}
			sse.last = sse.last.Add(-time.Hour) // quiet for longer than the interval
			end.end(sse)
			sse.ping(time.Second) // the pinger, given the lock after the end
			if got := rec.Body.String(); got != end.want {
				t.Errorf("stream = %q; want %q (nothing after its end)", got, end.want)
			}
		})
	}
}

// A held event left for the response's end (DoneAtReturn) is not flushed
// by a late FlushHeld: by then the writer may be net/http's again.
func TestSSENoFlushAfterDoneAtReturn(t *testing.T) {
	rec := httptest.NewRecorder()
	sse := StartSSE(rec, 0, nil)
	rec.Flushed = false // StartSSE flushes the headers
	if err := sse.Send(0, []byte(`{"type":"finish"}`), false); err != nil {
		t.Fatal(err)
	}
	sse.DoneAtReturn()
	sse.FlushHeld()
	if rec.Flushed {
		t.Error("FlushHeld flushed a stream DoneAtReturn had ended")
	}
}
