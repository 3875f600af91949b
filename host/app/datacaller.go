package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/wire"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// dataCaller lets plugins start, resume and read workflow runs and read
// threads (mastra.workflow_*, threads_list, thread_messages). Like
// agentCaller it exists before what it calls: the workflow engine is
// opened after the plugins load, and bind hands it over before the server
// serves.
type dataCaller struct {
	store *memory.Store
	wf    *workflow.Engine
	bound bool
}

var errDataNotReady = errors.New("app: workflows and threads are not ready (a plugin called them while loading)")

// bind hands over the store and the engine (nil when no workflows are
// configured). It is called once, before the server serves.
func (c *dataCaller) bind(store *memory.Store, wf *workflow.Engine) {
	if c.bound {
		panic("app: dataCaller bound twice")
	}
	c.store, c.wf, c.bound = store, wf, true
}

// resource is the resource a plugin's call acts for, by agentCaller's
// rule without the guest's choice: the request's scoped resource (token
// auth or a middleware), else the plugin's own. Never "", which would mean
// every resource to the engine and the store.
func (c *dataCaller) resource(ctx context.Context, call plugin.DataCall) string {
	if v := reqctx.From(ctx); v != nil {
		if id, ok := v.GetString(reqctx.ResourceIDKey); ok && id != "" {
			return id
		}
	}
	if call.ResourceID != "" {
		return call.ResourceID
	}
	return config.PluginResourcePrefix + call.Plugin
}

func (c *dataCaller) engine() (*workflow.Engine, error) {
	switch {
	case !c.bound:
		return nil, errDataNotReady
	case c.wf == nil:
		return nil, fmt.Errorf("%w: no workflows are configured", plugin.ErrNotFound)
	}
	return c.wf, nil
}

// wfErr maps the engine's errors to the plugin ABI's.
func wfErr(err error) error {
	var ie *workflow.InputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return fmt.Errorf("%w: %s: %s", plugin.ErrInvalid, ie.Field, ie.Message)
	case errors.Is(err, workflow.ErrNotFound):
		return fmt.Errorf("%w: %w", plugin.ErrNotFound, err)
	case errors.Is(err, workflow.ErrConflict):
		return fmt.Errorf("%w: %w", plugin.ErrConflict, err)
	}
	return err
}

// StartWorkflow creates a run of the caller's resource and starts it with
// the guest's input as its inputData.
func (c *dataCaller) StartWorkflow(ctx context.Context, call plugin.DataCall) (json.RawMessage, error) {
	e, err := c.engine()
	if err != nil {
		return nil, err
	}
	var input any
	if len(call.Body) > 0 {
		if err := json.Unmarshal(call.Body, &input); err != nil {
			return nil, fmt.Errorf("%w: input: %v", plugin.ErrInvalid, err)
		}
	}
	res := c.resource(ctx, call)
	run, err := e.CreateRun(ctx, call.Workflow, "", res)
	if err != nil {
		return nil, wfErr(err)
	}
	if err := e.StartRun(ctx, workflow.StartParams{Workflow: call.Workflow, RunID: run.RunID, ResourceID: res, Input: input}); err != nil {
		// The run stays pending: delete it, so a rejected input leaves
		// nothing behind.
		if derr := e.DeleteRun(context.WithoutCancel(ctx), call.Workflow, run.RunID, res); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, wfErr(err)
	}
	return json.Marshal(map[string]string{"runId": run.RunID})
}

// ResumeWorkflow resumes a suspended run of the caller's resource with the
// guest's {"step","resumeData"}.
func (c *dataCaller) ResumeWorkflow(ctx context.Context, call plugin.DataCall) (json.RawMessage, error) {
	e, err := c.engine()
	if err != nil {
		return nil, err
	}
	var b struct {
		Step       json.RawMessage `json:"step"`
		ResumeData any             `json:"resumeData"`
	}
	if len(call.Body) > 0 {
		if err := json.Unmarshal(call.Body, &b); err != nil {
			return nil, fmt.Errorf("%w: body: %v", plugin.ErrInvalid, err)
		}
	}
	steps, err := workflow.StepPath(b.Step)
	if err != nil {
		return nil, fmt.Errorf("%w: step: %v", plugin.ErrInvalid, err)
	}
	if err := e.Resume(ctx, call.Workflow, call.RunID, c.resource(ctx, call), steps, b.ResumeData); err != nil {
		return nil, wfErr(err)
	}
	return json.Marshal(map[string]string{"message": "Workflow run resumed"})
}

// WorkflowRun reads a run of the caller's resource, in the shape of GET
// /api/workflows/:workflowId/runs/:runId with every field.
func (c *dataCaller) WorkflowRun(ctx context.Context, call plugin.DataCall) (json.RawMessage, error) {
	e, err := c.engine()
	if err != nil {
		return nil, err
	}
	run, err := e.GetRun(ctx, call.Workflow, call.RunID, c.resource(ctx, call))
	if err != nil {
		return nil, wfErr(err)
	}
	return json.Marshal(wire.Run(run, nil))
}

// pageQuery is the guest's query of threads_list and thread_messages.
type pageQuery struct {
	Page      int    `json:"page"`
	PerPage   *int   `json:"perPage"`
	OrderBy   string `json:"orderBy"`
	Direction string `json:"direction"`
}

func readPageQuery(body json.RawMessage, defPerPage int) (pageQuery, int, error) {
	var q pageQuery
	if len(body) > 0 {
		if err := json.Unmarshal(body, &q); err != nil {
			return q, 0, fmt.Errorf("%w: query: %v", plugin.ErrInvalid, err)
		}
	}
	perPage := defPerPage
	switch {
	case q.Page < 0:
		return q, 0, fmt.Errorf("%w: page: expected a number >= 0", plugin.ErrInvalid)
	case q.PerPage != nil && (*q.PerPage < 1 || *q.PerPage > 1000):
		return q, 0, fmt.Errorf("%w: perPage: expected 1 to 1000", plugin.ErrInvalid)
	case q.Direction != "" && q.Direction != "ASC" && q.Direction != "DESC":
		return q, 0, fmt.Errorf("%w: direction: expected ASC or DESC", plugin.ErrInvalid)
	case q.PerPage != nil:
		perPage = *q.PerPage
	}
	return q, perPage, nil
}

func (c *dataCaller) memory() (*memory.Store, error) {
	switch {
	case !c.bound:
		return nil, errDataNotReady
	case c.store == nil:
		return nil, errors.New("app: no memory store")
	}
	return c.store, nil
}

// ListThreads lists the caller's resource's threads, as GET
// /api/memory/threads does.
func (c *dataCaller) ListThreads(ctx context.Context, call plugin.DataCall) (json.RawMessage, error) {
	s, err := c.memory()
	if err != nil {
		return nil, err
	}
	q, perPage, err := readPageQuery(call.Body, 100)
	if err != nil {
		return nil, err
	}
	if q.OrderBy != "" && q.OrderBy != "createdAt" && q.OrderBy != "updatedAt" {
		return nil, fmt.Errorf("%w: orderBy: expected createdAt or updatedAt", plugin.ErrInvalid)
	}
	p, err := s.ListThreads(ctx, memory.ThreadQuery{ResourceID: c.resource(ctx, call), Page: q.Page, PerPage: perPage,
		OrderBy: q.OrderBy, Ascending: q.Direction == "ASC"})
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire.ThreadListOf(p))
}

// ThreadMessages lists a thread's messages, as GET
// /api/memory/threads/:threadId/messages does; another resource's thread
// is ErrNotFound.
func (c *dataCaller) ThreadMessages(ctx context.Context, call plugin.DataCall) (json.RawMessage, error) {
	s, err := c.memory()
	if err != nil {
		return nil, err
	}
	q, perPage, err := readPageQuery(call.Body, 40)
	if err != nil {
		return nil, err
	}
	if q.OrderBy != "" && q.OrderBy != "createdAt" {
		return nil, fmt.Errorf("%w: orderBy: expected createdAt", plugin.ErrInvalid)
	}
	p, err := s.ListMessages(ctx, memory.MessageQuery{ThreadID: call.ThreadID, ResourceID: c.resource(ctx, call),
		Page: q.Page, PerPage: perPage, Descending: q.Direction == "DESC"})
	if errors.Is(err, memory.ErrNotFound) {
		return nil, fmt.Errorf("%w: thread", plugin.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire.MessageListOf(p))
}
