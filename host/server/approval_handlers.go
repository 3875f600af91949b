package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Human in the loop: Mastra's routes that approve, decline or resume a
// suspended agent turn, and list the waiting ones. A turn waits in the
// database (agent/approval.go), so any instance answers these. The run's
// resource is checked with the scoping function: a token reaches its own
// runs only (another tenant's run is a 404, as an unknown one); an admin
// token, or any request while auth is off, reaches every run, as Mastra's
// client sends no resource on these routes.

// decisionBody is the body of approve-tool-call and decline-tool-call
// (and their -generate forms).
type decisionBody struct {
	RunID          string                     `json:"runId"`
	ToolCallID     string                     `json:"toolCallId"`
	Reason         string                     `json:"reason"`
	Model          json.RawMessage            `json:"model"`
	Format         string                     `json:"format"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
}

// agentResumeBody is the body of resume-stream and resume-stream-until-idle.
type agentResumeBody struct {
	RunID          string                     `json:"runId"`
	ToolCallID     string                     `json:"toolCallId"`
	ResumeData     json.RawMessage            `json:"resumeData"`
	Model          json.RawMessage            `json:"model"`
	Format         string                     `json:"format"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
	MaxIdleMs      *int                       `json:"maxIdleMs"`
}

const invalidResumeBody = "Invalid request body"

// checkResumeCommon checks the fields every resume body shares. model and
// format are refused rather than ignored: the run goes on with the
// agent's model, and chunks are Mastra's.
func checkResumeCommon(runID string, model json.RawMessage, format string) error {
	if runID == "" {
		return transport.Invalid(invalidResumeBody, "runId", "Run id is required")
	}
	if err := checkIDs(invalidResumeBody, "runId", runID); err != nil {
		return err
	}
	if len(model) > 0 && string(model) != "null" {
		return transport.Invalid(invalidResumeBody, "model", "not supported: a resumed run goes on with the agent's model")
	}
	return checkFormat(format)
}

func checkFormat(format string) error {
	if format != "" && format != "mastra" {
		return transport.Invalid(invalidResumeBody, "format", `only "mastra" chunks are served`)
	}
	return nil
}

// decision decodes an approve or decline into a resume.
func (s *Server) decision(w http.ResponseWriter, r *http.Request, approved bool) (agent.Resume, error) {
	var b decisionBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return agent.Resume{}, err
	}
	if err := checkResumeCommon(b.RunID, b.Model, b.Format); err != nil {
		return agent.Resume{}, err
	}
	if b.ToolCallID == "" {
		return agent.Resume{}, transport.Invalid(invalidResumeBody, "toolCallId", "Tool call id is required")
	}
	if err := checkIDs(invalidResumeBody, "toolCallId", b.ToolCallID); err != nil {
		return agent.Resume{}, err
	}
	if msg := badText(b.Reason); msg != "" {
		return agent.Resume{}, transport.Invalid(invalidResumeBody, "reason", msg)
	}
	return s.resumeOf(r, agent.Resume{RunID: b.RunID, ToolCallID: b.ToolCallID, Approved: &approved, Reason: b.Reason}, b.RequestContext)
}

// resumeOf completes a resume with the path's agent, the caller's
// resource and the request context.
func (s *Server) resumeOf(r *http.Request, rs agent.Resume, rc map[string]json.RawMessage) (agent.Resume, error) {
	a, err := s.findAgent(httprouter.ParamsFromContext(r.Context()).ByName("agentId"))
	if err != nil {
		return rs, err
	}
	rs.AgentID = a.ID
	if rs.ResourceID, err = s.resource(r, claim{field: "resourceId"}, anyWithoutAuth); err != nil {
		return rs, err
	}
	rs.RequestContext = requestValues(r, rc)
	transport.SetAgent(r.Context(), a.ID)
	return rs, nil
}

// resumeError maps a resume's own failures; the others go on to
// domainError.
func resumeError(err error) error {
	switch {
	case errors.Is(err, agent.ErrRunNotFound):
		return &transport.Error{Status: http.StatusNotFound, Message: "No suspended run with this id", Err: err}
	case errors.Is(err, agent.ErrRunClaimed):
		return &transport.Error{Status: http.StatusConflict, Code: "run_resumed", Err: err,
			Message: "This run was already resumed (approved, declined or resumed by another request)"}
	case errors.Is(err, agent.ErrInvalidInput):
		msg := strings.TrimPrefix(err.Error(), agent.ErrInvalidInput.Error()+": ")
		field, text, ok := strings.Cut(msg, ": ")
		if !ok || strings.ContainsAny(field, " ") {
			field, text = "runId", msg
		}
		return &transport.Error{Status: http.StatusBadRequest, Message: invalidResumeBody, Err: err,
			Issues: []transport.Issue{{Field: field, Message: text}}}
	}
	return threadTaken(err)
}

func (s *Server) approveToolCall(w http.ResponseWriter, r *http.Request) error {
	return s.decide(w, r, true, true)
}

func (s *Server) declineToolCall(w http.ResponseWriter, r *http.Request) error {
	return s.decide(w, r, false, true)
}

func (s *Server) approveToolCallGenerate(w http.ResponseWriter, r *http.Request) error {
	return s.decide(w, r, true, false)
}

func (s *Server) declineToolCallGenerate(w http.ResponseWriter, r *http.Request) error {
	return s.decide(w, r, false, false)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, approved, stream bool) error {
	rs, err := s.decision(w, r, approved)
	if err != nil {
		return err
	}
	if stream {
		return s.streamResume(w, r, rs)
	}
	res, err := s.agents.ResumeGenerate(r.Context(), rs)
	if err != nil {
		return resumeError(err)
	}
	writeGenerate(w, res)
	return nil
}

// resumeStream answers resume-stream and resume-stream-until-idle (this
// server runs no background tasks, so "until idle" is the end of the
// turn).
func (s *Server) resumeStreamRoute(w http.ResponseWriter, r *http.Request) error {
	var raw json.RawMessage
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &raw); err != nil {
		return err
	}
	var b agentResumeBody
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &b) != nil || json.Unmarshal(raw, &fields) != nil {
		return &transport.Error{Status: http.StatusBadRequest, Message: invalidResumeBody,
			Issues: []transport.Issue{{Field: "root", Message: "expected a JSON object with runId and resumeData"}}}
	}
	if err := refuseTurnOptions(fields); err != nil {
		return err
	}
	if err := checkResumeCommon(b.RunID, b.Model, b.Format); err != nil {
		return err
	}
	if len(b.ResumeData) == 0 || string(b.ResumeData) == "null" {
		return transport.Invalid(invalidResumeBody, "resumeData", "resumeData is required")
	}
	if b.ToolCallID != "" {
		if err := checkIDs(invalidResumeBody, "toolCallId", b.ToolCallID); err != nil {
			return err
		}
	}
	if b.MaxIdleMs != nil && *b.MaxIdleMs <= 0 {
		return transport.Invalid(invalidResumeBody, "maxIdleMs", "expected a positive integer")
	}
	rs, err := s.resumeOf(r, agent.Resume{RunID: b.RunID, ToolCallID: b.ToolCallID, Data: b.ResumeData}, b.RequestContext)
	if err != nil {
		return err
	}
	return s.streamResume(w, r, rs)
}

// resumeKeeps are the fields of Mastra's execution body that a resume
// body may carry: the rest are the options of the suspended turn, which
// the resumed turn keeps (agent/approval.go), so asking for another is a
// 400 rather than ignored. model and format are checked apart.
var resumeKeeps = map[string]bool{"runId": true, "requestContext": true, "model": true, "untilIdle": true}

// refuseTurnOptions answers a 400 naming the first turn option of a resume
// body that asks for something.
func refuseTurnOptions(fields map[string]json.RawMessage) error {
	seen := map[string]bool{}
	for _, f := range mastraBodyFields {
		name, _, _ := strings.Cut(f.Name, ".")
		if seen[name] || resumeKeeps[name] {
			continue
		}
		seen[name] = true
		if asks(fields[name]) {
			return transport.Invalid(invalidResumeBody, name, "not accepted on a resume: the run goes on with the options of the turn that suspended")
		}
	}
	return nil
}

// streamResume streams a resumed turn through the stream path of every
// turn. It is not logged for reconnects: its run id is the suspended
// turn's.
func (s *Server) streamResume(w http.ResponseWriter, r *http.Request, rs agent.Resume) error {
	in := agent.Input{AgentID: rs.AgentID, RunID: rs.RunID, ResourceID: rs.ResourceID}
	return s.streamTurn(w, r, in, &mastraFace{}, false, func(ctx context.Context, _ agent.Input, emit func(agent.Chunk) error) error {
		_, err := s.agents.ResumeStream(ctx, rs, emit)
		return err
	}, resumeError)
}

// suspendedRunJSON is one run of suspended-runs, as Mastra lists it.
type suspendedRunJSON struct {
	RunID       string              `json:"runId"`
	Status      string              `json:"status"`
	ThreadID    string              `json:"threadId,omitempty"`
	ResourceID  string              `json:"resourceId,omitempty"`
	SuspendedAt string              `json:"suspendedAt"`
	ToolCalls   []suspendedCallJSON `json:"toolCalls"`
}

type suspendedCallJSON struct {
	ToolCallID       string          `json:"toolCallId"`
	ToolName         string          `json:"toolName"`
	Args             json.RawMessage `json:"args"`
	RequiresApproval bool            `json:"requiresApproval"`
	SuspendPayload   json.RawMessage `json:"suspendPayload,omitempty"`
}

// suspendedRunsJSON is the answer of suspended-runs.
type suspendedRunsJSON struct {
	Runs  []suspendedRunJSON `json:"runs"`
	Total int                `json:"total"`
}

// maxSuspendedScan bounds the runs one listing reads.
const maxSuspendedScan = 1000

func (s *Server) listSuspendedRuns(w http.ResponseWriter, r *http.Request) error {
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	a, err := s.findAgent(httprouter.ParamsFromContext(r.Context()).ByName("agentId"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	const where = "Invalid query parameters"
	thread := q.Get("threadId")
	if thread != "" {
		if msg := badThreadID(thread); msg != "" {
			return transport.Invalid(where, "threadId", msg)
		}
	}
	var from, to time.Time
	for _, d := range []struct {
		name string
		at   *time.Time
	}{{"fromDate", &from}, {"toDate", &to}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return transport.Invalid(where, d.name, "expected an ISO 8601 date-time")
			}
			*d.at = t
		}
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		return transport.Invalid(where, "fromDate", "fromDate must not be after toDate")
	}
	page, perPage := -1, -1
	for _, p := range []struct {
		name string
		min  int
		v    *int
	}{{"page", 0, &page}, {"perPage", 1, &perPage}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < p.min || n > MaxOffset {
				return transport.Invalid(where, p.name, fmt.Sprintf("expected an integer from %d to %d", p.min, MaxOffset))
			}
			*p.v = n
		}
	}
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	transport.SetAgent(r.Context(), a.ID)
	runs, err := s.agents.ListSuspended(r.Context(), a.ID, res, thread, maxSuspendedScan)
	if err != nil {
		return err
	}
	out := []suspendedRunJSON{}
	for _, run := range runs {
		if (!from.IsZero() && run.SuspendedAt.Before(from)) || (!to.IsZero() && run.SuspendedAt.After(to)) {
			continue
		}
		calls := make([]suspendedCallJSON, 0, len(run.Waits))
		for _, w := range run.Waits {
			call := suspendedCallJSON{ToolCallID: w.ToolCallID, ToolName: w.ToolName, Args: w.Args, RequiresApproval: w.Approval}
			if !w.Approval {
				call.SuspendPayload = orNull(w.Payload)
			}
			calls = append(calls, call)
		}
		out = append(out, suspendedRunJSON{RunID: run.RunID, Status: "suspended", ThreadID: run.ThreadID, ResourceID: run.ResourceID,
			SuspendedAt: run.SuspendedAt.UTC().Format("2006-01-02T15:04:05.000Z"), ToolCalls: calls})
	}
	total := len(out)
	if page >= 0 && perPage > 0 {
		// As Mastra: a page is cut only when both are given.
		lo := min(page*perPage, total)
		out = out[lo:min(lo+perPage, total)]
	}
	transport.WriteJSON(w, http.StatusOK, suspendedRunsJSON{Runs: out, Total: total})
	return nil
}

// sendApprovalBody is the body of send-tool-approval.
type sendApprovalBody struct {
	ResourceID     string                     `json:"resourceId"`
	ThreadID       string                     `json:"threadId"`
	ToolCallID     string                     `json:"toolCallId"`
	Approved       *bool                      `json:"approved"`
	ResumeData     json.RawMessage            `json:"resumeData"`
	Format         string                     `json:"format"`
	Messages       json.RawMessage            `json:"messages"`
	StreamOptions  json.RawMessage            `json:"streamOptions"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
}

// sendApprovalJSON is send-tool-approval's answer.
type sendApprovalJSON struct {
	Accepted   bool   `json:"accepted"`
	RunID      string `json:"runId"`
	ToolCallID string `json:"toolCallId"`
}

// sendToolApproval approves or declines the call a thread's suspended turn
// waits for, found by thread and tool call id, and answers once the run is
// claimed; the rest of the turn runs in the background and is saved to
// the thread (Mastra streams it to thread subscribers, which this server
// does not keep).
func (s *Server) sendToolApproval(w http.ResponseWriter, r *http.Request) error {
	var b sendApprovalBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"threadId", b.ThreadID}, {"toolCallId", b.ToolCallID}} {
		if f.v == "" {
			return transport.Invalid(invalidResumeBody, f.name, f.name+" is required")
		}
	}
	if msg := badThreadID(b.ThreadID); msg != "" {
		return transport.Invalid(invalidResumeBody, "threadId", msg)
	}
	if err := checkIDs(invalidResumeBody, "toolCallId", b.ToolCallID); err != nil {
		return err
	}
	if b.Approved == nil {
		return transport.Invalid(invalidResumeBody, "approved", "approved (a boolean) is required")
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"messages", b.Messages}, {"streamOptions", b.StreamOptions}} {
		if len(f.v) > 0 && string(f.v) != "null" {
			return transport.Invalid(invalidResumeBody, f.name, "not supported: the turn goes on from where it waited")
		}
	}
	if err := checkFormat(b.Format); err != nil {
		return err
	}
	a, err := s.findAgent(httprouter.ParamsFromContext(r.Context()).ByName("agentId"))
	if err != nil {
		return err
	}
	res, err := s.resource(r, bodyClaim(b.ResourceID, "resourceId"), mustNameAlways)
	if err != nil {
		return err
	}
	transport.SetAgent(r.Context(), a.ID)
	runs, err := s.agents.ListSuspended(r.Context(), a.ID, res, b.ThreadID, maxSuspendedScan)
	if err != nil {
		return err
	}
	var runID string
	for _, run := range runs {
		if !slices.ContainsFunc(run.Waits, func(w agent.Suspension) bool { return w.ToolCallID == b.ToolCallID }) {
			continue
		}
		if runID != "" {
			return &transport.Error{Status: http.StatusConflict, Code: "ambiguous_suspended_runs",
				Message: "More than one suspended run of this thread waits for this tool call id: approve by runId"}
		}
		runID = run.RunID
	}
	if runID == "" {
		return &transport.Error{Status: http.StatusNotFound, Message: "No suspended run of this thread waits for this tool call"}
	}
	rs := agent.Resume{AgentID: a.ID, RunID: runID, ResourceID: res, ToolCallID: b.ToolCallID, Approved: b.Approved,
		RequestContext: requestValues(r, b.RequestContext)}
	if *b.Approved && len(b.ResumeData) > 0 && string(b.ResumeData) != "null" {
		rs.Approved, rs.Data = nil, b.ResumeData
	}
	if err := s.agents.ResumeLater(r.Context(), rs); err != nil {
		return resumeError(err)
	}
	transport.WriteJSON(w, http.StatusOK, sendApprovalJSON{Accepted: true, RunID: runID, ToolCallID: b.ToolCallID})
	return nil
}

// recoverRun answers Mastra's recover route as Mastra does for an agent
// that is not a durable agent: this server's turns either complete, fail,
// or wait in the database (resume them with the routes above).
func (s *Server) recoverRun(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.findAgent(httprouter.ParamsFromContext(r.Context()).ByName("agentId")); err != nil {
		return err
	}
	return &transport.Error{Status: http.StatusBadRequest,
		Message: "Agent does not support recover. Only durable agents (createDurableAgent) can recover runs."}
}
