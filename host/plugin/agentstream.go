package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// agentStream writes an agent's chunks as the response, framed as
// host/server's /agent/stream frames them: "data: <chunk JSON>\n\n" per
// chunk, flushed at once, then "data: [DONE]\n\n". The head (200,
// text/event-stream) goes out with the first chunk, so a failure before
// it leaves the response to the guest.
type agentStream struct {
	st      *reqState
	ctx     context.Context // the guest call's: its deadline bounds writes
	rc      *http.ResponseController
	started bool
}

// responseStarted reports whether the guest has begun its response, so
// nothing else may be streamed into it.
func (st *reqState) responseStarted() bool {
	return st.committed || (st.buf != nil && st.buf.guestWrote)
}

func (as *agentStream) start() {
	st := as.st
	as.started = true
	h := st.responseHeaderForWrite()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	if st.buf != nil {
		st.buf.status, st.buf.guestWrote = http.StatusOK, true
		return
	}
	as.rc = http.NewResponseController(st.w)
	st.status = http.StatusOK
	st.setWriteDeadline(as.ctx)
	st.commit()
}

// emit writes one chunk; an error (the client is gone, or a buffered
// response is over MaxResponse) makes the AgentCaller end the run.
func (as *agentStream) emit(chunk json.RawMessage) error {
	if !as.started {
		as.start()
	}
	b := make([]byte, 0, len(chunk)+8)
	b = append(b, "data: "...)
	b = append(b, chunk...)
	b = append(b, '\n', '\n')
	return as.write(b)
}

func (as *agentStream) done() {
	if !as.started {
		as.start() // an agent that sent no chunk: still a well-formed stream
	}
	_ = as.write([]byte("data: [DONE]\n\n")) // a client gone now lost nothing
}

func (as *agentStream) write(b []byte) error {
	st := as.st
	if st.buf != nil || st.capture {
		if !st.charge(len(b)) {
			st.overCap = "agent stream"
			return ErrResponseTooLarge
		}
		if st.buf != nil {
			_, err := st.buf.body.Write(b)
			return err
		}
	}
	st.setWriteDeadline(as.ctx)
	if _, err := st.w.Write(b); err != nil {
		return err
	}
	if err := as.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
