package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/store"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// openWorkflows opens the workflow engine when [workflows.*] are
// configured, on the process's database, with agents and tools of the
// configuration. nil when none are.
func openWorkflows(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger, svc *agent.Service, tools map[string]agent.Tool,
	modules map[string]*plugin.Plugin, obs workflow.Observer) (*workflow.Engine, error) {
	if len(cfg.Workflows) == 0 {
		return nil, nil
	}
	defs, err := workflowDefinitions(cfg)
	if err != nil {
		return nil, err
	}
	e, err := workflow.Open(ctx, workflow.Options{
		DB:          db,
		Definitions: defs,
		Agents:      agentRunner{svc},
		Tools:       toolRunner(tools),
		Modules:     moduleRunner(modules),
		Logger:      log.With("component", "workflow"),
		Observer:    obs,
		Principals:  runPrincipals{budgets(cfg.Server)},
	})
	if err != nil {
		return nil, fmt.Errorf("workflows: %w", err)
	}
	if err := e.Start(ctx); err != nil {
		_ = e.Close(ctx)
		return nil, fmt.Errorf("workflows: %w", err)
	}
	return e, nil
}

// compileWorkflows compiles [workflows.*] as openWorkflows does, without
// opening the engine.
func compileWorkflows(cfg *config.Config) error {
	defs, err := workflowDefinitions(cfg)
	if err != nil {
		return err
	}
	if err := workflow.Compile(defs); err != nil {
		return fmt.Errorf("workflows: %w", err)
	}
	return nil
}

// workflowDefinitions turns [workflows.*] into the engine's definitions.
func workflowDefinitions(cfg *config.Config) ([]workflow.Definition, error) {
	var defs []workflow.Definition
	for _, id := range cfg.WorkflowIDs() {
		w := cfg.Workflows[id]
		in, err := config.JSONSchema(w.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("workflows.%s.input_schema: %w", id, err)
		}
		out, err := config.JSONSchema(w.OutputSchema)
		if err != nil {
			return nil, fmt.Errorf("workflows.%s.output_schema: %w", id, err)
		}
		state, err := config.JSONSchema(w.StateSchema)
		if err != nil {
			return nil, fmt.Errorf("workflows.%s.state_schema: %w", id, err)
		}
		steps, err := stepDefs(id, w.Steps)
		if err != nil {
			return nil, err
		}
		defs = append(defs, workflow.Definition{ID: id, Description: w.Description, InputSchema: in, OutputSchema: out,
			StateSchema: state, ChunkRetention: w.ChunkRetention, Result: w.Result, StepTimeout: w.StepTimeout, Steps: steps,
			MaxForeachItems: w.MaxForeachItems})
	}
	return defs, nil
}

func stepDefs(wf string, steps []config.Step) ([]workflow.StepDef, error) {
	var out []workflow.StepDef
	for _, s := range steps {
		rs, err := config.JSONSchema(s.ResumeSchema)
		if err != nil {
			return nil, fmt.Errorf("workflows.%s.steps.%s.resume_schema: %w", wf, s.ID, err)
		}
		outSchema, err := config.JSONSchema(s.OutputSchema)
		if err != nil {
			return nil, fmt.Errorf("workflows.%s.steps.%s.output_schema: %w", wf, s.ID, err)
		}
		kids := s.Parallel
		if len(s.Branch) > 0 {
			kids = s.Branch
		}
		children, err := stepDefs(wf, kids)
		if err != nil {
			return nil, err
		}
		out = append(out, workflow.StepDef{ID: s.ID, Description: s.Description, Kind: s.Kind(), Timeout: s.Timeout,
			Agent: s.Agent, Prompt: s.Prompt, StructuredOutput: s.StructuredOutput, Tool: s.Tool, Module: s.Wasm, Input: s.Input, Map: s.Map, Suspend: s.Suspend,
			ResumeSchema: rs, Sleep: s.Sleep, SleepUntil: s.SleepUntil, Workflow: s.Workflow, Children: children,
			When: s.When, Foreach: s.Foreach, Concurrency: s.Concurrency, Until: s.Until, While: s.While,
			MaxIterations: s.MaxIterations, OutputSchema: outSchema, SetState: s.SetState})
	}
	return out, nil
}

// runScope is the request context a step runs in: scoped to the run's
// resource, as a request with a bound token is, so a Wasm tool that calls
// agents or workflows acts for the run's owner and cannot name another
// resource (agentCaller and dataCaller honour the scoped resource first).
func runScope(resourceID string) *reqctx.Values {
	if resourceID == "" {
		resourceID = "workflow"
	}
	v := reqctx.New()
	v.SetString(reqctx.ResourceIDKey, resourceID)
	return v
}

// agentRunner runs a workflow's agent step as one turn without memory,
// owned by the run's resource; the agent's tools run in the run's scope.
type agentRunner struct{ svc *agent.Service }

func (a agentRunner) RunAgent(ctx context.Context, agentID, prompt, resourceID string) (string, error) {
	scope := runScope(resourceID)
	resourceID, _ = scope.GetString(reqctx.ResourceIDKey)
	res, err := a.svc.Generate(ctx, agent.Input{AgentID: agentID, ResourceID: resourceID, Ephemeral: true,
		RequestContext: scope, Messages: []llm.Message{{Role: llm.RoleUser, Content: prompt}}})
	if err != nil {
		return "", err
	}
	return res.Text, nil
}

// RunAgentObject runs a structured agent step: the turn's structured
// output (strict: a value that does not match fails the step).
func (a agentRunner) RunAgentObject(ctx context.Context, agentID, prompt, resourceID string, schema json.RawMessage) (json.RawMessage, error) {
	scope := runScope(resourceID)
	resourceID, _ = scope.GetString(reqctx.ResourceIDKey)
	res, err := a.svc.Generate(ctx, agent.Input{AgentID: agentID, ResourceID: resourceID, Ephemeral: true,
		RequestContext: scope, Messages: []llm.Message{{Role: llm.RoleUser, Content: prompt}},
		StructuredOutput: &agent.StructuredOutput{Schema: schema}})
	if err != nil {
		return nil, err
	}
	return res.Object, nil
}

// toolRunner runs the [[tools]] of a workflow's tool steps, in the run's
// scope.
type toolRunner map[string]agent.Tool

func (t toolRunner) RunTool(ctx context.Context, name string, args json.RawMessage, resourceID string) (json.RawMessage, error) {
	tool, ok := t[name]
	if !ok {
		return nil, fmt.Errorf("no tool %s", name)
	}
	return tool.Execute(reqctx.With(ctx, runScope(resourceID)), args)
}

// moduleStep is a workflow step served by a Wasm module.
type moduleStep struct {
	key     string // "workflow/step"
	step    config.Step
	timeout time.Duration
}

// workflowModuleSteps lists the wasm steps of every workflow, parallel and
// branch entries included.
func workflowModuleSteps(cfg *config.Config) []moduleStep {
	var out []moduleStep
	var walk func(wf string, def config.Workflow, steps []config.Step)
	walk = func(wf string, def config.Workflow, steps []config.Step) {
		for _, s := range steps {
			if s.Wasm != "" {
				timeout := s.Timeout
				if timeout <= 0 {
					timeout = def.StepTimeout
				}
				out = append(out, moduleStep{key: wf + "/" + s.ID, step: s, timeout: timeout})
			}
			walk(wf, def, s.Parallel)
			walk(wf, def, s.Branch)
		}
	}
	for _, id := range cfg.WorkflowIDs() {
		walk(id, cfg.Workflows[id], cfg.Workflows[id].Steps)
	}
	return out
}

// moduleRunner runs workflows' Wasm step modules, by "workflow/step".
type moduleRunner map[string]*plugin.Plugin

func (m moduleRunner) RunModule(ctx context.Context, workflowID, stepID string, body json.RawMessage) (int, []byte, error) {
	p, ok := m[workflowID+"/"+stepID]
	if !ok {
		return 0, nil, fmt.Errorf("no module is loaded for step %s of workflow %s", stepID, workflowID)
	}
	return p.Call(ctx, body)
}
