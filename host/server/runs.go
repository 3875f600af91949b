package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/runlog"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Resumable streams (README "Resumable streams"). A turn streamed with
// "resumable": true (or [server.streams] resumable) is logged chunk by
// chunk (host/runlog) under its run id, which the response's X-Run-Id
// header and every chunk's runId give the client. Once its first chunk has
// gone out the turn no longer depends on its request: a client that goes
// away leaves it running, and reconnects with
//
//	GET /agent/stream/:runId                  (Mastra's chunks)
//	GET /api/agents/:agentId/stream/:runId    (the same)
//	GET /chat/:agentId/:chatId/stream         (useChat's resume, UI chunks)
//
// sending the id of the last event it got (Last-Event-ID, or ?lastEventId=)
// to get every chunk after it, then the live ones, then [DONE].

// Streams configures resumable streams; see [runlog.Options] for what the
// durations do.
type Streams struct {
	// Resumable makes every stream resumable, as "resumable": true does.
	Resumable bool
}

// errRunLost cancels a turn whose run another instance ended (its lease
// had expired).
// The agent ends the turn's stream with LostRunMessage, as the log does.
var errRunLost error = &agent.EndCause{Reason: "server: stream run taken over by another instance", Message: agent.LostRunMessage}

// startRun logs a resumable turn's run; nil when the turn is not
// resumable.
func (s *Server) startRun(r *http.Request, in agent.Input, resumable bool) (*runlog.Writer, error) {
	if !resumable {
		return nil, nil
	}
	if s.runs == nil {
		return nil, transport.Invalid("Invalid request body", "resumable", "this server keeps no stream log")
	}
	wr, err := s.runs.Start(r.Context(), runlog.Run{RunID: in.RunID, ResourceID: in.ResourceID, AgentID: in.AgentID, ThreadID: in.ThreadID})
	if errors.Is(err, runlog.ErrTaken) {
		return nil, &transport.Error{Status: http.StatusConflict, Message: "Run id already in use",
			Issues: []transport.Issue{{Field: "runId", Message: "a stream with this run id is running or belongs to someone else"}}}
	}
	return wr, err
}

// detach returns the context of a resumable turn: the request's values,
// but not its end once the stream has started (started set), and a gate
// before the turn's save that writes the log and checks the run is still
// this instance's. A lost run cancels it with errRunLost.
func (s *Server) detach(r *http.Request, wr *runlog.Writer, started *atomic.Bool) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	stop := context.AfterFunc(r.Context(), func() {
		if !started.Load() {
			// Gone before the first chunk, so before knowing the run id
			// (or timed out): nobody can come back for it.
			cancel(context.Cause(r.Context()))
		}
	})
	go func() {
		select {
		case <-wr.Lost():
			cancel(errRunLost)
		case <-ctx.Done():
		}
		stop()
	}()
	outer := agent.CommitGate(r.Context()) // the first-byte timeout's
	gated := agent.WithCommitGate(ctx, func() bool {
		if outer != nil && !outer() {
			return false
		}
		if err := wr.Hold(ctx); err != nil {
			s.log.WarnContext(ctx, "resumable turn not saved: its run could not be held", "err", transport.ClipErr(err))
			if errors.Is(err, runlog.ErrLost) {
				// Before the refusal, so that the agent ends the stream
				// as the log already has it, and the client gets that
				// end without ids.
				cancel(errRunLost)
			}
			return false
		}
		return true
	})
	return gated, cancel
}

// resumeStream is GET /agent/stream/:runId and
// /api/agents/:agentId/stream/:runId.
func (s *Server) resumeStream(w http.ResponseWriter, r *http.Request) error {
	p := httprouter.ParamsFromContext(r.Context())
	agentID := p.ByName("agentId")
	if agentID != "" {
		if _, err := s.findAgent(agentID); err != nil {
			return err
		}
	}
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	info, err := s.findRun(r.Context(), p.ByName("runId"), res, agentID)
	if err != nil {
		return err
	}
	return s.follow(w, r, info, after, &mastraFace{})
}

// errRunNotFound is the answer for a run that is not logged, and for
// another resource's.
var errRunNotFound = &transport.Error{Status: http.StatusNotFound, Message: "Stream run not found"}

// findRun returns a logged run of resource res ("" any) and agent agentID
// ("" any).
func (s *Server) findRun(ctx context.Context, runID, res, agentID string) (runlog.Info, error) {
	if s.runs == nil {
		return runlog.Info{}, errRunNotFound
	}
	info, err := s.runs.Info(ctx, runID)
	switch {
	case errors.Is(err, runlog.ErrNotFound):
		return info, errRunNotFound
	case err != nil:
		return info, err
	case res != "" && info.ResourceID != res, agentID != "" && info.AgentID != agentID:
		return info, errRunNotFound
	}
	return info, nil
}

// lastEventID reads the Last-Event-ID header, or else ?lastEventId=: the
// sequence number of the last event the client has; 0 when there is none.
func lastEventID(r *http.Request) (int64, error) {
	v, where, field := r.Header.Get("Last-Event-ID"), "Invalid request headers", "Last-Event-ID"
	if v == "" {
		v, where, field = r.URL.Query().Get("lastEventId"), "Invalid query parameters", "lastEventId"
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, transport.Invalid(where, field, "expected the id of an event: a non-negative integer")
	}
	return n, nil
}

// follow streams a logged run's chunks after after through face, then the
// live ones, then [DONE]. A stream cut short (the client, a shutdown, the
// database) ends without [DONE], so that the client reconnects.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, info runlog.Info, after int64, face streamFace) error {
	in := agent.Input{RunID: info.RunID, ThreadID: info.ThreadID, ResourceID: info.ResourceID, AgentID: info.AgentID}
	transport.SetAgent(r.Context(), info.AgentID)
	sse := transport.StartSSE(w, s.cfg.KeepAlive, face.headers(in))
	_ = sse.Flush() // the headers now: the next chunk may be a while
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	unwatch := context.AfterFunc(s.stopping, cancel)
	defer unwatch()
	err := s.runs.Follow(ctx, info, after, func(seq int64, raw []byte) error {
		c, err := agent.ParseChunk(raw)
		if err != nil {
			return err
		}
		return face.send(sse, seq, c, raw, false)
	})
	if err != nil {
		if r.Context().Err() == nil && s.stopping.Err() == nil {
			s.log.WarnContext(r.Context(), "reconnected stream cut short", "run", info.RunID, "err", transport.ClipErr(err))
		}
		sse.Close()
		return nil
	}
	sse.Done()
	return nil
}

// waitDetached waits, up to d, for the resumable turns whose clients left.
func (s *Server) waitDetached(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.detached.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
