package server

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// sseWriter writes Server-Sent Events: one "data: <json>\n\n" per event,
// LF only, flushed at once. A ticker sends ": ping" comments while the
// stream is quiet, so proxies keep it open.
type sseWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	mu     sync.Mutex // guards writes and last
	last   time.Time
	err    error
	stopCh chan struct{}
}

// startSSE starts the stream's response. Nothing is written before, so a
// failure up to this point can still be a JSON error with a status.
func startSSE(w http.ResponseWriter, keepAlive time.Duration, extra map[string]string) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	for k, v := range extra {
		h.Set(k, v)
	}
	w.WriteHeader(http.StatusOK)
	// No flush here: the headers go out with the first flushed event.
	s := &sseWriter{w: w, rc: http.NewResponseController(w), last: time.Now(), stopCh: make(chan struct{})}
	if keepAlive > 0 {
		go s.pings(keepAlive)
	}
	return s
}

func (s *sseWriter) pings(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopCh:
			return
		case <-t.C:
			s.mu.Lock()
			if s.err == nil && time.Since(s.last) >= every {
				s.write([]byte(": ping\n\n"))
			}
			s.mu.Unlock()
		}
	}
}

// event writes one event and flushes it; an error means the client is gone.
func (s *sseWriter) event(v any) error { return s.write1(v, true) }

// eventHeld writes one event without flushing: for chunks that are always
// followed at once by another (start, step-start, text-start come with the
// first delta), so they share its flush and its system call.
func (s *sseWriter) eventHeld(v any) error { return s.write1(v, false) }

func (s *sseWriter) write1(v any, flush bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, '\n', '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if !flush {
		if s.err != nil {
			return s.err
		}
		if _, err := s.w.Write(buf); err != nil {
			s.err = err
			return err
		}
		return nil
	}
	return s.write(buf)
}

func (s *sseWriter) done() {
	s.mu.Lock()
	s.write([]byte("data: [DONE]\n\n"))
	s.mu.Unlock()
	close(s.stopCh)
}

func (s *sseWriter) write(b []byte) error {
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
	s.last = time.Now()
	return nil
}
