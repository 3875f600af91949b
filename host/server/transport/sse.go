package transport

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SSE writes Server-Sent Events: one "data: <json>\n\n" per event, LF
// only, flushed at once. A ": ping" comment goes out whenever the stream
// has been quiet for the keep-alive interval since its last write, so
// proxies keep it open. Its methods are safe for concurrent use.
type SSE struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	mu     sync.Mutex // guards writes, last, err and frame
	last   time.Time
	err    error
	stopCh chan struct{}
	// frame is the buffer events are framed in, reused from one event to
	// the next (a Write copies what it is given).
	frame []byte
	// held is set while events written without a flush wait for one.
	held bool
	// ended is set by Done, DoneAtReturn and Close: a ping that was due
	// then writes nothing (its handler may have returned already).
	ended bool
}

// maxKeptFrame is the largest frame buffer kept for the next event: a
// stream that once sent a big chunk does not hold its memory to the end.
const maxKeptFrame = 64 << 10

// StartSSE starts a stream's response (200, text/event-stream, no-cache,
// X-Accel-Buffering: no, and headers). Nothing is written before, so a
// failure up to this call can still be a JSON error with a status; nothing
// is flushed either: the headers go out with the first flushed event. A
// keepAlive of 0 sends no pings. Call Done to end the stream.
func StartSSE(w http.ResponseWriter, keepAlive time.Duration, headers map[string]string) *SSE {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	for k, v := range headers {
		h.Set(k, v)
	}
	w.WriteHeader(http.StatusOK)
	s := &SSE{w: w, rc: http.NewResponseController(w), last: time.Now(), stopCh: make(chan struct{})}
	if keepAlive > 0 {
		go s.pings(keepAlive)
	}
	return s
}

// pings sends a ping keep_alive after the last write. The timer is re-armed
// for what is left of the quiet period rather than ticking at a fixed rate:
// a ticker let a stream that wrote just after a tick wait up to twice
// keep_alive (F11).
func (s *SSE) pings(every time.Duration) {
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopCh:
			return
		case <-t.C:
			t.Reset(s.ping(every))
		}
	}
}

// ping sends a ping if the stream has been quiet for every, and returns
// how long to wait before the next check.
func (s *SSE) ping(every time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	wait := every - time.Since(s.last)
	if wait <= 0 {
		if s.err == nil && !s.ended {
			s.write([]byte(": ping\n\n")) // sets last
		}
		wait = every
	}
	return wait
}

// Event writes v as one event and flushes it; an error means the client
// is gone, and every later write returns it too.
func (s *SSE) Event(v any) error { return s.write1(v, true) }

// EventHeld writes one event without flushing: for events that are always
// followed at once by another, so they share its flush and its system call.
func (s *SSE) EventHeld(v any) error { return s.write1(v, false) }

func (s *SSE) write1(v any, flush bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.send(0, b, flush, false)
}

// Send writes one event with an id: "id: <id>", then data, a JSON
// document written as it is. flush false holds it, as EventHeld does. An
// id of 0 writes no id line.
func (s *SSE) Send(id int64, data []byte, flush bool) error {
	return s.send(id, data, flush, false)
}

// SendIDApart is Send with the id in an event of its own, just before the
// data's, in the same write: "id: <id>\n\ndata: <data>\n\n". An EventSource
// takes the id as its lastEventId without dispatching anything, so the data
// event that follows carries it; and a reader that only takes events
// beginning with "data: " (@mastra/client-js) still reads every chunk.
func (s *SSE) SendIDApart(id int64, data []byte, flush bool) error {
	return s.send(id, data, flush, true)
}

func (s *SSE) send(id int64, data []byte, flush, apart bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := s.frame[:0]
	if id > 0 {
		buf = append(buf, "id: "...)
		buf = strconv.AppendInt(buf, id, 10)
		buf = append(buf, '\n')
		if apart {
			buf = append(buf, '\n')
		}
	}
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	if cap(buf) <= maxKeptFrame {
		s.frame = buf
	} else {
		s.frame = nil
	}
	return s.writeEvent(buf, flush)
}

// Flush sends what is written so far, the headers at least: for a stream
// whose first event may be a while coming.
func (s *SSE) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
		return err
	}
	s.held = false
	return nil
}

// Close stops the pings without writing [DONE]: a stream cut short, which
// the client should resume.
func (s *SSE) Close() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	close(s.stopCh)
}

// Done writes the final "data: [DONE]" and stops the pings. Call it once.
func (s *SSE) Done() {
	s.mu.Lock()
	s.write([]byte("data: [DONE]\n\n"))
	s.ended = true
	s.mu.Unlock()
	close(s.stopCh)
}

// DoneAtReturn is Done for a handler that returns at once: [DONE] is
// written but not flushed, so net/http's end of the response sends it,
// the events held before it and the chunked terminator in one system call
// (three fewer than flushing each). Call it, or Done, once.
func (s *SSE) DoneAtReturn() {
	s.mu.Lock()
	s.writeEvent([]byte("data: [DONE]\n\n"), false)
	s.ended = true
	s.mu.Unlock()
	close(s.stopCh)
}

func (s *SSE) write(b []byte) error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
		return err
	}
	s.last, s.held = time.Now(), false
	return nil
}

// FlushHeld flushes the events written without a flush, if any: a
// stream's writer calls it before it waits for its source, so held events
// never wait on the source's next bytes.
func (s *SSE) FlushHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held || s.err != nil || s.ended {
		return // after the end the writer may be net/http's again
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
		return
	}
	s.last, s.held = time.Now(), false
}

// writeEvent writes one framed event, and flushes it when flush is set
// (else it goes out with the next flush). The first write error sticks.
// s.mu is held.
func (s *SSE) writeEvent(buf []byte, flush bool) error {
	if flush {
		return s.write(buf)
	}
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(buf); err != nil {
		s.err = err
		return err
	}
	s.held = true
	return nil
}
