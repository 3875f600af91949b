package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// lateEngine is the workflow engine of workflow-<id> tools: the agents
// (and their tools) are built before the engine, which runs their steps,
// so the engine is handed over once it is open, before the server serves.
type lateEngine struct{ e *workflow.Engine }

// addWorkflowTools gives each agent its workflow-<id> tools.
func addWorkflowTools(cfg *config.Config, agents []*agent.Agent, engine *lateEngine) error {
	for _, a := range agents {
		for _, id := range cfg.Agents[a.ID].Workflows {
			t, err := newWorkflowTool(cfg, id, engine)
			if err != nil {
				return fmt.Errorf("agents.%s.workflows: %w", a.ID, err)
			}
			a.Tools = append(a.Tools, t)
		}
	}
	return nil
}

// workflowTool is the tool workflow-<id> of an agent with workflows = [...]
// (Mastra's workflows option): a run of the workflow for the turn's
// resource, started with inputData and answered once it ends or suspends.
type workflowTool struct {
	id, description string
	schema          json.RawMessage
	engine          *lateEngine
}

// newWorkflowTool builds workflow-<id>, its input Mastra's {inputData:
// <the workflow's input schema, or any object>, initialState?}.
func newWorkflowTool(cfg *config.Config, id string, engine *lateEngine) (*workflowTool, error) {
	w := cfg.Workflows[id]
	in, err := config.JSONSchema(w.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("workflows.%s.input_schema: %w", id, err)
	}
	if in == nil {
		in = json.RawMessage(`{"type":"object","additionalProperties":true}`)
	}
	state, err := config.JSONSchema(w.StateSchema)
	if err != nil {
		return nil, fmt.Errorf("workflows.%s.state_schema: %w", id, err)
	}
	if state == nil {
		state = json.RawMessage(`{"type":"object"}`)
	}
	schema, err := json.Marshal(map[string]any{"type": "object", "properties": map[string]json.RawMessage{
		"inputData": in, "initialState": state}, "required": []string{"inputData"}, "additionalProperties": true})
	if err != nil {
		return nil, err
	}
	desc := w.Description
	if desc == "" {
		desc = "Workflow: " + id
	}
	return &workflowTool{id: id, description: desc, schema: schema, engine: engine}, nil
}

func (t *workflowTool) Name() string                 { return "workflow-" + t.id }
func (t *workflowTool) Description() string          { return t.description }
func (t *workflowTool) InputSchema() json.RawMessage { return t.schema }

// WorkflowID names the workflow, so that the agent's listing shows it
// under workflows, as Mastra's does.
func (t *workflowTool) WorkflowID() string { return t.id }

// Execute starts a run owned by the turn's resource (the caller's, for a
// sub-agent), so it is that resource's to read, resume and pay for, and
// waits for it; a streamed turn's client gets the run's chunks as
// tool-output meanwhile. The answer is Mastra's {runId, result} or {runId, error}.
// A run that suspends suspends the call, and the turn, as Mastra's does
// (payload {runId, suspended, suspendPayload}, the suspended step's resume
// schema); resuming the turn with resumeData resumes the run.
func (t *workflowTool) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	e := t.engine.e
	if e == nil {
		return nil, errors.New("workflows are not running")
	}
	res, ok := agent.TurnResource(ctx)
	if !ok {
		return nil, errors.New("no resource to run the workflow for")
	}
	var a struct {
		InputData    any `json:"inputData"`
		InitialState any `json:"initialState"`
		ResumeData   any `json:"resumeData"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	var runID string
	var after int64
	if prev, ok := agent.SuspendPayload(ctx); ok {
		// The turn resumes this call: the run it suspended with goes on.
		var p struct {
			RunID     string     `json:"runId"`
			Suspended [][]string `json:"suspended"`
		}
		if err := json.Unmarshal(prev, &p); err != nil || p.RunID == "" {
			return nil, errors.New("resume: the suspended call names no workflow run")
		}
		var path []string
		if len(p.Suspended) > 0 {
			path = p.Suspended[0]
		}
		if agent.ToolOutputStreamed(ctx) {
			// Only the chunks of the resumed part reach the client.
			if err := e.Watch(ctx, t.id, p.RunID, res, 0, true, func(seq int64, _ json.RawMessage) error {
				after = seq
				return nil
			}); err != nil {
				return nil, err
			}
		}
		if err := e.Resume(ctx, t.id, p.RunID, res, path, a.ResumeData); err != nil {
			return nil, err
		}
		runID = p.RunID
	} else {
		if err := e.CheckStart(t.id, a.InputData); err != nil {
			return nil, err
		}
		run, err := e.CreateRun(ctx, t.id, "", res)
		if err != nil {
			return nil, err
		}
		if err := e.StartRun(ctx, workflow.StartParams{Workflow: t.id, RunID: run.RunID, ResourceID: res, Input: a.InputData,
			InitialState: a.InitialState}); err != nil {
			return nil, err
		}
		runID = run.RunID
	}
	var done *workflow.Run
	var err error
	if agent.ToolOutputStreamed(ctx) {
		// The run's chunks reach the client as they are committed, as
		// Mastra pipes a workflow tool's stream.
		err = e.Watch(ctx, t.id, runID, res, after, true, func(_ int64, chunk json.RawMessage) error {
			_, err := agent.EmitToolOutput(ctx, chunk)
			return err
		})
		if err == nil {
			done, err = e.GetRun(ctx, t.id, runID, res)
		}
	} else {
		done, err = e.Wait(ctx, t.id, runID, res)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"runId": runID}
	s := done.Snapshot
	switch s.Status {
	case workflow.StatusSuccess:
		out["result"] = s.Result
	case workflow.StatusSuspended:
		r := workflow.ResultOf(done)
		payload, err := json.Marshal(map[string]any{"runId": runID, "suspended": r["suspended"], "suspendPayload": r["suspendPayload"]})
		if err != nil {
			return nil, err
		}
		return nil, &agent.ToolSuspend{Payload: payload, ResumeSchema: t.resumeSchema(r["suspended"])}
	default:
		out["error"] = s.Error
		if s.Error == nil {
			out["error"] = "the run ended " + string(s.Status)
		}
	}
	return json.Marshal(out)
}

// resumeSchema is the resume schema of the first suspended step of a
// run (suspended: its [][]string paths), nil when it declares none or
// the step is nested.
func (t *workflowTool) resumeSchema(suspended any) json.RawMessage {
	paths, _ := suspended.([][]string)
	if len(paths) == 0 || len(paths[0]) != 1 || t.engine.e == nil {
		return nil
	}
	info, ok := t.engine.e.Workflow(t.id)
	if !ok {
		return nil
	}
	for _, st := range info.Steps {
		if st.ID == paths[0][0] {
			return st.ResumeSchema
		}
	}
	return nil
}
