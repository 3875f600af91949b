package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/wire"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// Mastra's workflow routes (workflows.md §1.1), for @mastra/client-js 1.47's
// Workflow and Run. Every run route acts for the request's resource (see
// scope.go): a run of another resource is 404, as a thread is. Streams are
// Mastra's record-separator format: text/plain, each chunk JSON + "\x1E",
// no [DONE]; they are read from the run's chunk log, so observe and a
// reconnect work on any instance.

const recordSeparator = "\x1e"

func workflowError(err error) *transport.Error {
	var ie *workflow.InputError
	switch {
	case errors.As(err, &ie):
		return transport.Invalid("Invalid request body", ie.Field, ie.Message)
	case errors.Is(err, workflow.ErrNotFound):
		return &transport.Error{Status: http.StatusNotFound, Message: "Workflow run not found", Err: err}
	case errors.Is(err, workflow.ErrConflict):
		return &transport.Error{Status: http.StatusConflict, Message: conflictMessage(err), Err: err}
	case errors.Is(err, workflow.ErrUnavailable):
		return &transport.Error{Status: http.StatusServiceUnavailable, Message: "Database unavailable", Err: err}
	}
	return nil
}

func conflictMessage(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "workflow: conflict: "); ok {
		return after
	}
	return "Workflow run conflict"
}

// wfInfo finds the workflow of the path.
func (s *Server) wfInfo(r *http.Request) (workflow.Info, error) {
	id := httprouter.ParamsFromContext(r.Context()).ByName("workflowId")
	if s.workflows != nil {
		if w, ok := s.workflows.Workflow(id); ok {
			return w, nil
		}
	}
	return workflow.Info{}, &transport.Error{Status: http.StatusNotFound, Message: "Workflow not found"}
}

// superjson is how Mastra sends a schema: a string of {"json": schema}.
func superjson(schema json.RawMessage) any {
	if len(schema) == 0 {
		return nil
	}
	b, _ := json.Marshal(map[string]json.RawMessage{"json": schema})
	return string(b)
}

func workflowJSON(w workflow.Info, partial bool) map[string]any {
	steps := map[string]any{}
	if !partial {
		for _, st := range w.Steps {
			comp := map[string]string{"agent": "AGENT", "tool": "TOOL", "workflow": "WORKFLOW"}[st.Kind]
			info := map[string]any{"id": st.ID, "description": st.Description, "resumeSchema": superjson(st.ResumeSchema),
				"outputSchema": superjson(st.OutputSchema)}
			if comp != "" {
				info["component"] = comp
			}
			steps[st.ID] = info
		}
	}
	out := map[string]any{"name": w.ID, "description": w.Description, "steps": steps, "allSteps": steps,
		"stepGraph": w.Graph, "options": map[string]any{}, "isProcessorWorkflow": false}
	if partial {
		out["stepCount"] = len(w.Steps)
		return out
	}
	out["inputSchema"] = superjson(w.InputSchema)
	out["outputSchema"] = superjson(w.OutputSchema)
	out["stateSchema"] = superjson(w.StateSchema)
	return out
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) error {
	partial := r.URL.Query().Get("partial") == "true"
	out := map[string]any{}
	if s.workflows != nil {
		for _, wf := range s.workflows.Workflows() {
			out[wf.ID] = workflowJSON(wf, partial)
		}
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) error {
	if httprouter.ParamsFromContext(r.Context()).ByName("workflowId") == "run-counts" {
		return s.workflowRunCounts(w, r)
	}
	wf, err := s.wfInfo(r)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, workflowJSON(wf, false))
	return nil
}

func (s *Server) workflowRunCounts(w http.ResponseWriter, r *http.Request) error {
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	out := map[string]workflow.Counts{}
	if s.workflows != nil {
		if out, err = s.workflows.RunCounts(r.Context(), res); err != nil {
			return err
		}
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listWorkflowRuns(w http.ResponseWriter, r *http.Request) error {
	wf, err := s.wfInfo(r)
	if err != nil {
		return err
	}
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := workflow.RunFilter{ResourceID: res, Status: q.Get("status")}
	for _, d := range []struct {
		field string
		dst   *time.Time
	}{{"fromDate", &f.FromDate}, {"toDate", &f.ToDate}} {
		if v := q.Get(d.field); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return transport.Invalid("Invalid query parameters", d.field, "expected an ISO 8601 date")
			}
			*d.dst = t
		}
	}
	if q.Has("limit") || q.Has("offset") {
		// Mastra's legacy paging.
		for _, p := range []struct {
			field string
			dst   *int
		}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
			if v := q.Get(p.field); v != "" {
				if v == "false" && p.field == "limit" {
					continue // client-js's runs({limit: false}): every run
				}
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > MaxOffset {
					return transport.Invalid("Invalid query parameters", p.field, "expected a non-negative integer")
				}
				*p.dst = n
			}
		}
	} else {
		page, perPage, err := pageParams(r, 100, 1000)
		if err != nil {
			return err
		}
		if perPage > 0 {
			f.Limit, f.Offset = perPage, page*perPage
		}
	}
	runs, total, err := s.workflows.ListRuns(r.Context(), wf.ID, f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(runs))
	for _, run := range runs {
		m := map[string]any{"workflowName": run.Workflow, "runId": run.RunID, "snapshot": run.Snapshot,
			"createdAt": run.CreatedAt, "updatedAt": run.UpdatedAt}
		if run.ResourceID != "" {
			m["resourceId"] = run.ResourceID
		}
		out = append(out, m)
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"runs": out, "total": total})
	return nil
}

// runParams reads the workflow, the runId (path or query) and the
// resource of a run route.
func (s *Server) runParams(r *http.Request, bodyResource string) (wf workflow.Info, runID, res string, err error) {
	if wf, err = s.wfInfo(r); err != nil {
		return
	}
	runID = httprouter.ParamsFromContext(r.Context()).ByName("runId")
	if runID == "" {
		runID = r.URL.Query().Get("runId")
	}
	if runID != "" {
		if msg := badID(runID); msg != "" {
			err = transport.Invalid("Invalid query parameters", "runId", msg)
			return
		}
	}
	c := queryClaim(r)
	if bodyResource != "" {
		c = bodyClaim(bodyResource, "resourceId")
	}
	res, err = s.resource(r, c, anyWithoutAuth)
	return
}

func requireRunID(runID string) error {
	if runID == "" {
		return transport.Invalid("Invalid query parameters", "runId", "runId required")
	}
	return nil
}

func (s *Server) getWorkflowRun(w http.ResponseWriter, r *http.Request) error {
	wf, runID, res, err := s.runParams(r, "")
	if err != nil {
		return err
	}
	run, err := s.workflows.GetRun(r.Context(), wf.ID, runID, res)
	if err != nil {
		return err
	}
	fields := wire.RunFields
	if v := r.URL.Query().Get("fields"); v != "" {
		fields = strings.Split(v, ",")
		for i, f := range fields {
			fields[i] = strings.TrimSpace(f)
			if !slices.Contains(wire.RunFields, fields[i]) {
				return transport.Invalid("Invalid query parameters", "fields", "expected a comma list of "+strings.Join(wire.RunFields, ", "))
			}
		}
	}
	out := wire.Run(run, fields)
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteWorkflowRun(w http.ResponseWriter, r *http.Request) error {
	wf, runID, res, err := s.runParams(r, "")
	if err != nil {
		return err
	}
	if err := s.workflows.DeleteRun(r.Context(), wf.ID, runID, res); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]string{"message": "Workflow run deleted"})
	return nil
}

func (s *Server) cancelWorkflowRun(w http.ResponseWriter, r *http.Request) error {
	wf, runID, res, err := s.runParams(r, "")
	if err != nil {
		return err
	}
	if err := s.workflows.Cancel(r.Context(), wf.ID, runID, res); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]string{"message": "Workflow run cancelled"})
	return nil
}

type createRunBody struct {
	ResourceID     string `json:"resourceId"`
	DisableScorers bool   `json:"disableScorers"`
}

func (s *Server) createWorkflowRun(w http.ResponseWriter, r *http.Request) error {
	var b createRunBody
	if err := decodeOptional(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	wf, runID, res, err := s.runParams(r, b.ResourceID)
	if err != nil {
		return err
	}
	run, err := s.workflows.CreateRun(r.Context(), wf.ID, runID, res)
	if errors.Is(err, workflow.ErrNotFound) && runID != "" {
		// The id is another resource's run. Answer as for the caller's own
		// taken id (Mastra's createRun attaches to an existing run), so
		// create-run tells nothing of other resources' runs; every call
		// on that id then answers 404, as for any run the caller cannot see.
		transport.WriteJSON(w, http.StatusOK, map[string]string{"runId": runID})
		return nil
	}
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]string{"runId": run.RunID})
	return nil
}

// decodeOptional decodes a JSON body that may be absent.
func decodeOptional(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return transport.DecodeJSON(w, r, limit, v)
}

type startBody struct {
	InputData      any            `json:"inputData"`
	InitialState   any            `json:"initialState"`
	RequestContext map[string]any `json:"requestContext"`
	ResourceID     string         `json:"resourceId"`
	CloseOnSuspend *bool          `json:"closeOnSuspend"`
}

// startMode is how a start or resume route answers.
type startMode int

const (
	answerMessage startMode = iota // {message}
	answerResult                   // the WorkflowResult, once finished or suspended
	answerStream                   // the record-separator stream
	answerRunID                    // {runId}
)

func (s *Server) startRoute(mode startMode) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var b startBody
		if err := decodeOptional(w, r, s.cfg.BodyLimit, &b); err != nil {
			return err
		}
		wf, runID, res, err := s.runParams(r, b.ResourceID)
		if err != nil {
			return err
		}
		// Input the start would refuse (its schema, a foreach list past
		// max_foreach_items) is a 400 before start-async creates a run.
		if err := s.workflows.CheckStart(wf.ID, b.InputData); err != nil {
			return err
		}
		ctx := r.Context()
		switch {
		case mode == answerMessage || mode == answerStream:
			// start and stream need a created run (Mastra: 404 otherwise).
			if err := requireRunID(runID); err != nil {
				return err
			}
		case runID == "":
			run, err := s.workflows.CreateRun(ctx, wf.ID, "", res)
			if err != nil {
				return err
			}
			runID = run.RunID
		}
		if mode == answerResult && runID != "" {
			if _, err := s.workflows.CreateRun(ctx, wf.ID, runID, res); err != nil {
				return err
			}
		}
		run, err := s.workflows.GetRun(ctx, wf.ID, runID, res)
		if err != nil {
			return err
		}
		offset := run.Seq
		if err := s.workflows.StartRun(ctx, workflow.StartParams{Workflow: wf.ID, RunID: runID, ResourceID: res, Input: b.InputData, InitialState: b.InitialState, RequestContext: b.RequestContext}); err != nil {
			if mode == answerStream && errors.Is(err, workflow.ErrConflict) {
				return &transport.Error{Status: http.StatusConflict, Message: "Workflow run already started; use /observe to read its stream back", Err: err}
			}
			return err
		}
		return s.answerRun(w, r, mode, wf.ID, runID, res, offset, "Workflow run started")
	}
}

type resumeBody struct {
	Step           json.RawMessage `json:"step"`
	ResumeData     any             `json:"resumeData"`
	RequestContext map[string]any  `json:"requestContext"`
	ForEachIndex   *int            `json:"forEachIndex"`
}

func (s *Server) resumeRoute(mode startMode) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var b resumeBody
		if err := decodeOptional(w, r, s.cfg.BodyLimit, &b); err != nil {
			return err
		}
		wf, runID, res, err := s.runParams(r, "")
		if err != nil {
			return err
		}
		if err := requireRunID(runID); err != nil {
			return err
		}
		steps, err := workflow.StepPath(b.Step)
		if err != nil {
			return transport.Invalid("Invalid request body", "step", err.Error())
		}
		run, err := s.workflows.GetRun(r.Context(), wf.ID, runID, res)
		if err != nil {
			return err
		}
		offset := run.Seq
		if err := s.workflows.Resume(r.Context(), wf.ID, runID, res, steps, b.ResumeData); err != nil {
			return err
		}
		return s.answerRun(w, r, mode, wf.ID, runID, res, offset, "Workflow run resumed")
	}
}

func (s *Server) answerRun(w http.ResponseWriter, r *http.Request, mode startMode, wfID, runID, res string, offset int64, msg string) error {
	switch mode {
	case answerMessage:
		transport.WriteJSON(w, http.StatusOK, map[string]string{"message": msg})
	case answerRunID:
		transport.WriteJSON(w, http.StatusOK, map[string]string{"runId": runID})
	case answerResult:
		run, err := s.workflows.Wait(r.Context(), wfID, runID, res)
		if err != nil {
			return err
		}
		transport.WriteJSON(w, http.StatusOK, workflow.ResultOf(run))
	case answerStream:
		return s.streamRun(w, r, wfID, runID, res, offset)
	}
	return nil
}

// streamRun writes the run's chunks from offset until it finishes or
// suspends.
func (s *Server) streamRun(w http.ResponseWriter, r *http.Request, wfID, runID, res string, offset int64) error {
	fl, _ := w.(http.Flusher)
	started := false
	err := s.workflows.Watch(r.Context(), wfID, runID, res, offset, true, func(_ int64, c json.RawMessage) error {
		if !started {
			h := w.Header()
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if _, err := w.Write(append(c, recordSeparator...)); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	})
	if err != nil && !started {
		return err
	}
	if !started {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

func (s *Server) observeWorkflowRun(w http.ResponseWriter, r *http.Request) error {
	wf, runID, res, err := s.runParams(r, "")
	if err != nil {
		return err
	}
	if err := requireRunID(runID); err != nil {
		return err
	}
	var offset int64
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return transport.Invalid("Invalid query parameters", "offset", "expected a non-negative integer")
		}
		offset = n
	}
	if _, err := s.workflows.GetRun(r.Context(), wf.ID, runID, res); err != nil {
		return err
	}
	return s.streamRun(w, r, wf.ID, runID, res, offset)
}

func (s *Server) workflowNotImplemented(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.wfInfo(r); err != nil {
		return err
	}
	return &transport.Error{Status: http.StatusNotImplemented,
		Message: "Workflow restart and time travel are not implemented by mastra-server; runs interrupted by a restart resume by themselves"}
}
