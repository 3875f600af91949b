package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/llm"
)

// Mastra's legacy agent network (POST /api/agents/:agentId/network).
//
// Mastra runs a network as a workflow of its own: a routing agent picks
// one primitive (a sub-agent, a workflow or a tool) per iteration through
// structured output, the primitive runs, a completion check asks the
// routing agent whether the task is done, and so on until it is or the
// iterations run out. Here the routing agent is the agent itself and its
// choice is a tool call: its sub-agents and workflows are tools already
// (delegate.go), so one turn of the ordinary loop is the network run —
// with the loop's budgets, approvals, durable suspension and saving — and
// its chunks are rewritten into Mastra's network chunk families as they
// go. A step that calls a tool is a routing decision followed by that
// primitive's execution; a step that answers without a call is the
// routing agent finding the task complete, its text the final result.
//
// Chunk order of one iteration, as Mastra's: routing-agent-start,
// routing-agent-text-*, routing-agent-end, <kind>-execution-start,
// <kind>-execution-event-<inner chunk type>…, <kind>-execution-end (or
// -approval / -suspended, which end the stream until approved),
// network-execution-event-step-finish. The run ends with
// network-validation-start/-end and network-execution-event-finish.

// Network chunk types.
const (
	ChunkRoutingStart     = "routing-agent-start"
	ChunkRoutingTextStart = "routing-agent-text-start"
	ChunkRoutingTextDelta = "routing-agent-text-delta"
	ChunkRoutingEnd       = "routing-agent-end"
	ChunkNetworkStepEnd   = "network-execution-event-step-finish"
	ChunkNetworkFinish    = "network-execution-event-finish"
	ChunkValidationStart  = "network-validation-start"
	ChunkValidationEnd    = "network-validation-end"
	ChunkNetworkObject    = "network-object"
	ChunkNetworkObjResult = "network-object-result"
)

// Primitive kinds of a network, as Mastra names them.
const (
	PrimitiveAgent    = "agent"
	PrimitiveWorkflow = "workflow"
	PrimitiveTool     = "tool"
	PrimitiveNone     = "none"
)

// NetworkFrom is the "from" of network chunks.
const NetworkFrom = "NETWORK"

// WorkflowTool is a Tool that runs a workflow (an agent's
// workflow-<id>): a network shows its calls as workflow primitives.
type WorkflowTool interface {
	Tool
	WorkflowID() string
}

// Network options of one network run.
type Network struct {
	// MaxIterations bounds the routing decisions (Mastra's maxSteps on the
	// network route, default 1). As Mastra's loop, which counts from 0 and
	// stops once the count reaches it, up to MaxIterations+1 primitives
	// run; the step after the last one gives the final answer.
	MaxIterations int
	// Verbose asks the routing agent to say why it left the other
	// primitives out too (Mastra's routing.verboseIntrospection).
	Verbose bool
}

// networkInstructions tell the agent it routes: one primitive per step,
// and a final answer without a call once the task is done.
const networkInstructions = "You coordinate a network of primitives: your tools, sub-agents (agent-<id>) and workflows (workflow-<id>). " +
	"Call exactly one of them at a time, the one best suited to the task; take earlier results into account and do not " +
	"call the same primitive twice with the same arguments. Before a call, say in one sentence why you pick it. " +
	"When the task is complete, or no primitive can take it further, answer with the final result in natural language, without calling any."

const verboseInstructions = " When you pick a primitive, also say why you did not pick the others."

// DefaultNetworkIterations is Mastra's default maxSteps of a network.
const DefaultNetworkIterations = 1

// RunNetwork runs one network turn of agent in.AgentID and streams it as
// Mastra's network chunks. It needs memory (HasMemory): the run is saved
// in its thread, and a primitive that waits for approval waits in the
// database (ResumeNetwork). Failures before the first chunk return an
// error and no chunk, as Stream's do.
func (s *Service) RunNetwork(ctx context.Context, in Input, opts Network, emit func(Chunk) error) (*Result, error) {
	if emit == nil {
		return nil, fmt.Errorf("%w: nil emit function", ErrInvalidInput)
	}
	if s.store == nil || in.Ephemeral {
		return nil, ErrNetworkMemory
	}
	if opts.MaxIterations <= 0 {
		opts.MaxIterations = DefaultNetworkIterations
	}
	if in.AgentID == "" {
		in.AgentID = s.defaultID
	}
	if in.RunID == "" {
		in.RunID = uuid.NewString()
	}
	if in.ThreadID == "" {
		in.ThreadID = in.RunID // Mastra's network thread defaults to its run id
	}
	if len(in.ClientTools) > 0 {
		return nil, &OptionError{Field: "clientTools", Message: "a network runs its primitives on the server"}
	}
	in.MaxSteps = opts.MaxIterations + 1
	extra := networkInstructions
	if opts.Verbose {
		extra += verboseInstructions
	}
	if in.Instructions != "" {
		extra += "\n\n" + in.Instructions
	}
	in.Instructions = extra
	a, ok := s.agents[in.AgentID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, in.AgentID)
	}
	n := &netStream{s: s, a: a, out: emit, runID: in.RunID, task: lastUserText(in.Messages), threadID: in.ThreadID,
		resourceID: in.ResourceID, verbose: opts.Verbose, maxIter: opts.MaxIterations, iter: 0}
	res, err := s.run(ctx, in, n.emit)
	return n.end(res, err)
}

// ResumeNetwork resumes a network turn that waits for an approval (or a
// suspended tool's data), streaming the rest as network chunks: Mastra's
// approve-network-tool-call and decline-network-tool-call. The checks
// and the claim fail as ResumeStream's do, before any chunk.
func (s *Service) ResumeNetwork(ctx context.Context, rs Resume, emit func(Chunk) error) (*Result, error) {
	if emit == nil {
		return nil, fmt.Errorf("%w: nil emit function", ErrInvalidInput)
	}
	r, err := s.claim(ctx, rs, nil)
	if err != nil {
		return nil, err
	}
	st := r.state
	n := &netStream{s: s, a: r.a, out: emit, runID: rs.RunID, task: lastUserText(st.Messages), threadID: st.ThreadID,
		resourceID: r.in.ResourceID, maxIter: max(st.MaxSteps-1, 1), resumed: true}
	n.iter = max(len(st.ToolCalls)-1, 0)
	r.emit = n.emit
	res, err := s.resumed(ctx, r)
	return n.end(res, err)
}

// ErrNetworkMemory refuses a network run without memory (Mastra's
// AGENT_NETWORK_MEMORY_REQUIRED, a 400).
var ErrNetworkMemory = errors.New("agent: a network needs memory")

func lastUserText(msgs []llm.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.RoleUser {
			return msgs[i].Content
		}
	}
	return ""
}

// primitive is one routing decision: the tool call and what it runs.
type primitive struct {
	id, kind, prompt   string
	callID, toolName   string
	args               json.RawMessage
	execID, reason     string
	iteration          int
	stepRunID, routeID string
}

// netStream rewrites one turn's chunks as network chunks.
type netStream struct {
	s                    *Service
	a                    *Agent
	out                  func(Chunk) error
	runID, task          string
	threadID, resourceID string
	verbose              bool
	maxIter              int
	// iter is the iteration of the next routing decision.
	iter int
	// routeID is the routing step's id, "" when no routing step is open
	// (after its routing-agent-end).
	routeID string
	text    strings.Builder // the routing step's text so far
	calls   map[string]*primitive
	last    *primitive // the last primitive run
	result  string     // its result, as the routing agent is shown it
	// resumed: the first tool-call is the waiting call, whose routing
	// was streamed before the turn waited.
	resumed  bool
	complete bool // the routing agent answered without a call
	final    string
	stepCall bool // the open step called a primitive
}

func (n *netStream) send(typ string, payload any) error {
	return n.out(Chunk{Type: typ, RunID: n.runID, From: NetworkFrom, Payload: payload})
}

type routingInput struct {
	Task                 string `json:"task"`
	PrimitiveID          string `json:"primitiveId"`
	PrimitiveType        string `json:"primitiveType"`
	Result               string `json:"result,omitempty"`
	Iteration            int    `json:"iteration"`
	ThreadID             string `json:"threadId,omitempty"`
	ThreadResourceID     string `json:"threadResourceId,omitempty"`
	IsOneOff             bool   `json:"isOneOff"`
	VerboseIntrospection bool   `json:"verboseIntrospection"`
}

type routingStartPayload struct {
	NetworkID string       `json:"networkId"`
	AgentID   string       `json:"agentId"`
	RunID     string       `json:"runId"`
	InputData routingInput `json:"inputData"`
}

type routingEndPayload struct {
	Task                string       `json:"task"`
	Result              string       `json:"result"`
	PrimitiveID         string       `json:"primitiveId"`
	PrimitiveType       string       `json:"primitiveType"`
	Prompt              string       `json:"prompt"`
	IsComplete          bool         `json:"isComplete"`
	SelectionReason     string       `json:"selectionReason"`
	Iteration           int          `json:"iteration"`
	RunID               string       `json:"runId"`
	ConversationContext []any        `json:"conversationContext"`
	Usage               usagePayload `json:"usage"`
}

// execArgs is the args of agent-execution-start: the routing step's
// output.
type execArgs struct {
	Task            string `json:"task"`
	PrimitiveID     string `json:"primitiveId"`
	PrimitiveType   string `json:"primitiveType"`
	Prompt          string `json:"prompt"`
	Result          string `json:"result"`
	IsComplete      bool   `json:"isComplete"`
	SelectionReason string `json:"selectionReason"`
	Iteration       int    `json:"iteration"`
}

type stepEndPayload struct {
	Task       string `json:"task"`
	Result     any    `json:"result"`
	IsComplete bool   `json:"isComplete"`
	Iteration  int    `json:"iteration"`
	RunID      string `json:"runId"`
}

// emit takes one chunk of the turn and sends its network form.
func (n *netStream) emit(c Chunk) error {
	switch c.Type {
	case ChunkStepStart:
		n.stepCall = false
		return n.openRouting()
	case ChunkTextStart:
		if n.routeID == "" {
			return nil
		}
		return n.send(ChunkRoutingTextStart, map[string]string{"runId": n.routeID})
	case ChunkTextDelta:
		p, ok := c.Payload.(textDeltaPayload)
		if !ok || n.routeID == "" {
			return nil
		}
		n.text.WriteString(p.Text)
		return n.send(ChunkRoutingTextDelta, map[string]string{"text": p.Text})
	case ChunkToolCall:
		p, ok := c.Payload.(ToolCallPayload)
		if !ok {
			return nil
		}
		return n.startPrimitive(p)
	case ChunkToolOutput:
		p, ok := c.Payload.(toolOutputPayload)
		if !ok {
			return nil
		}
		return n.event(p)
	case ChunkToolResult:
		p, ok := c.Payload.(toolResultPayload)
		if !ok {
			return nil
		}
		return n.endPrimitive(p.ToolCallID, p.Result, "")
	case ChunkToolError:
		p, ok := c.Payload.(toolErrorPayload)
		if !ok {
			return nil
		}
		return n.endPrimitive(p.ToolCallID, nil, p.Error.Message)
	case ChunkToolOutputDenied:
		p, ok := c.Payload.(deniedPayload)
		if !ok {
			return nil
		}
		return n.endPrimitive(p.ToolCallID, nil, p.Approval.Reason)
	case ChunkToolCallApproval, ChunkToolCallSuspended:
		return n.wait(c)
	case ChunkStepFinish:
		p, ok := c.Payload.(stepFinishPayload)
		if !ok || n.stepCall || n.routeID == "" || p.StepResult.Reason == FinishError {
			return nil
		}
		// A step without a call: the routing agent found the task
		// complete, and its text is the final result.
		n.complete, n.final = true, n.text.String()
		end := routingEndPayload{Task: n.task, Result: n.final, PrimitiveID: PrimitiveNone, PrimitiveType: PrimitiveNone,
			IsComplete: true, SelectionReason: n.final, Iteration: n.iter, RunID: n.routeID, ConversationContext: []any{},
			Usage: p.Output.Usage}
		n.routeID = ""
		if err := n.send(ChunkRoutingEnd, end); err != nil {
			return err
		}
		return n.send(ChunkNetworkStepEnd, stepEndPayload{Task: n.task, Result: n.final, IsComplete: true, Iteration: n.iter, RunID: n.runID})
	case ChunkError:
		c.From = NetworkFrom
		return n.out(c)
	case ChunkObject:
		return n.send(ChunkNetworkObject, map[string]json.RawMessage{"object": c.Object})
	}
	// start, finish (the network's own comes after the turn), reasoning,
	// the tool call's input streaming and step-finish of a step that
	// called a primitive have no network form.
	return nil
}

// openRouting starts a routing step: the decision of iteration n.iter.
func (n *netStream) openRouting() error {
	n.routeID = uuid.NewString()
	n.text.Reset()
	in := routingInput{Task: n.task, PrimitiveType: PrimitiveNone, Result: n.result, Iteration: n.iter,
		ThreadID: n.threadID, ThreadResourceID: n.resourceID, VerboseIntrospection: n.verbose}
	if n.last != nil {
		in.PrimitiveID, in.PrimitiveType = n.last.id, n.last.kind
	}
	return n.send(ChunkRoutingStart, routingStartPayload{NetworkID: n.a.ID, AgentID: n.a.ID, RunID: n.routeID, InputData: in})
}

// primitiveOf reads what a tool call runs.
func (n *netStream) primitiveOf(p ToolCallPayload) *primitive {
	pr := &primitive{id: p.ToolName, kind: PrimitiveTool, callID: p.ToolCallID, toolName: p.ToolName, args: p.Args,
		prompt: string(p.Args), execID: uuid.NewString()}
	if id, ok := strings.CutPrefix(p.ToolName, SubAgentToolPrefix); ok && n.isSubAgent(id) {
		pr.id, pr.kind = id, PrimitiveAgent
		var a struct {
			Prompt string `json:"prompt"`
		}
		if json.Unmarshal(p.Args, &a) == nil {
			pr.prompt = a.Prompt
		}
		return pr
	}
	if wt, ok := n.a.tool(p.ToolName).(WorkflowTool); ok {
		pr.id, pr.kind = wt.WorkflowID(), PrimitiveWorkflow
		var a struct {
			InputData json.RawMessage `json:"inputData"`
		}
		if json.Unmarshal(p.Args, &a) == nil && len(a.InputData) > 0 {
			pr.prompt = string(a.InputData)
		}
	}
	return pr
}

func (n *netStream) isSubAgent(id string) bool {
	for _, sub := range n.a.SubAgents {
		if sub.ID == id {
			return true
		}
	}
	return false
}

// startPrimitive ends the routing step with the call's primitive and
// starts its execution. A second call in one step is a routing decision
// of its own.
func (n *netStream) startPrimitive(p ToolCallPayload) error {
	pr := n.primitiveOf(p)
	pr.iteration = n.iter
	if n.calls == nil {
		n.calls = map[string]*primitive{}
	}
	n.calls[p.ToolCallID] = pr
	// The model call that made the step's calls is the routing step of
	// the first: its usage is that decision's, as Mastra's routing-agent-end
	// carries its routing call's; a second call in the step cost nothing more.
	var usage usagePayload
	if !n.stepCall {
		usage = usageOf(p.stepUsage)
	}
	n.stepCall = true
	if n.resumed {
		// The waiting call: its routing was streamed before the turn
		// waited; its execution starts again, as Mastra's resumed step.
		n.resumed = false
	} else {
		if n.routeID == "" {
			if err := n.openRouting(); err != nil {
				return err
			}
		}
		pr.reason = n.text.String()
		end := routingEndPayload{Task: n.task, PrimitiveID: pr.id, PrimitiveType: pr.kind, Prompt: pr.prompt,
			SelectionReason: pr.reason, Iteration: pr.iteration, RunID: n.routeID, ConversationContext: []any{}, Usage: usage}
		n.routeID = ""
		n.text.Reset()
		if err := n.send(ChunkRoutingEnd, end); err != nil {
			return err
		}
	}
	args := execArgs{Task: n.task, PrimitiveID: pr.id, PrimitiveType: pr.kind, Prompt: pr.prompt,
		SelectionReason: pr.reason, Iteration: pr.iteration}
	switch pr.kind {
	case PrimitiveAgent:
		return n.send("agent-execution-start", map[string]any{"agentId": pr.id, "args": args, "runId": pr.execID})
	case PrimitiveWorkflow:
		return n.send("workflow-execution-start", map[string]any{"workflowId": pr.id, "args": args, "runId": pr.execID})
	}
	return n.send("tool-execution-start", map[string]any{"args": map[string]any{
		"task": n.task, "primitiveId": pr.id, "primitiveType": pr.kind, "prompt": pr.prompt, "result": "",
		"selectionReason": pr.reason, "iteration": pr.iteration, "args": pr.args, "toolName": pr.toolName, "toolCallId": pr.callID,
	}, "runId": n.runID})
}

// event forwards a chunk of a running sub-agent or workflow as
// <kind>-execution-event-<its type>, the chunk whole under payload with
// the execution's run id, as Mastra's.
func (n *netStream) event(p toolOutputPayload) error {
	pr := n.calls[p.ToolCallID]
	if pr == nil || pr.kind == PrimitiveTool {
		return nil
	}
	var inner map[string]any
	switch o := p.Output.(type) {
	case Chunk:
		inner = map[string]any{"type": o.Type, "runId": pr.execID, "from": o.From}
		if o.Payload != nil {
			inner["payload"] = o.Payload
		}
		if o.Object != nil {
			inner["object"] = o.Object
		}
		if o.Metadata != nil {
			inner["metadata"] = o.Metadata
		}
	case json.RawMessage:
		if json.Unmarshal(o, &inner) != nil {
			return nil
		}
		inner["runId"] = pr.execID
	default:
		return nil
	}
	typ, _ := inner["type"].(string)
	if typ == "" {
		return nil
	}
	return n.send(pr.kind+"-execution-event-"+typ, inner)
}

// endPrimitive ends a call's execution with its result (or failure) and
// ends its iteration.
func (n *netStream) endPrimitive(callID string, result json.RawMessage, failure string) error {
	pr := n.calls[callID]
	if pr == nil {
		return nil
	}
	var shown any = json.RawMessage(orNullJSON(result))
	text := string(orNullJSON(result))
	if failure != "" {
		shown, text = failure, failure
	}
	var err error
	switch pr.kind {
	case PrimitiveAgent:
		var out subAgentOutput
		if failure == "" && json.Unmarshal(result, &out) == nil {
			shown, text = out.Text, out.Text
		}
		err = n.send("agent-execution-end", map[string]any{"task": n.task, "agentId": pr.id, "result": shown,
			"isComplete": false, "iteration": pr.iteration, "runId": pr.execID, "usage": out.Usage})
	case PrimitiveWorkflow:
		// Zero usage: the workflow engine does not count its steps' tokens
		// (its own finish chunk says zeros too).
		err = n.send("workflow-execution-end", map[string]any{"task": n.task, "primitiveId": pr.id, "primitiveType": pr.kind,
			"result": shown, "isComplete": false, "iteration": pr.iteration, "name": pr.id, "runId": pr.execID, "usage": usagePayload{}})
	default:
		err = n.send("tool-execution-end", map[string]any{"task": n.task, "primitiveId": pr.id, "primitiveType": pr.kind,
			"result": shown, "isComplete": false, "iteration": pr.iteration, "toolCallId": pr.callID, "toolName": pr.toolName})
	}
	if err != nil {
		return err
	}
	n.last, n.result = pr, text
	if err := n.send(ChunkNetworkStepEnd, stepEndPayload{Task: n.task, Result: shown, Iteration: pr.iteration, RunID: n.runID}); err != nil {
		return err
	}
	n.iter = pr.iteration + 1
	return nil
}

// wait sends the network form of a call that waits for a human: the
// stream ends after it until the run is approved, declined or resumed.
func (n *netStream) wait(c Chunk) error {
	var callID, toolName, schema string
	var args, payload json.RawMessage
	var usage llm.Usage // a sub-agent's until it waited
	suspended := c.Type == ChunkToolCallSuspended
	switch p := c.Payload.(type) {
	case approvalPayload:
		callID, toolName, args, schema, usage = p.ToolCallID, p.ToolName, p.Args, p.ResumeSchema, p.usage
	case suspendedPayload:
		callID, toolName, args, schema, payload, usage = p.ToolCallID, p.ToolName, p.Args, p.ResumeSchema, p.SuspendPayload, p.usage
	default:
		return nil
	}
	pr := n.calls[callID]
	if pr == nil {
		pr = &primitive{id: toolName, kind: PrimitiveTool, callID: callID, toolName: toolName, args: args}
	}
	body := map[string]any{"toolName": toolName, "toolCallId": callID, "args": args, "selectionReason": pr.reason,
		"resumeSchema": schema, "runId": n.runID}
	if suspended {
		body["suspendPayload"] = payload
	}
	typ := "tool-execution-"
	switch pr.kind {
	case PrimitiveAgent:
		typ = "agent-execution-"
		body["agentId"], body["args"], body["runId"], body["usage"] = pr.id, map[string]string{"prompt": pr.prompt}, pr.execID, usageOf(usage)
	case PrimitiveWorkflow:
		typ = "workflow-execution-"
		body["workflowId"], body["name"], body["runId"], body["usage"] = pr.id, pr.id, pr.execID, usagePayload{}
	}
	if suspended {
		return n.send(typ+"suspended", body)
	}
	return n.send(typ+"approval", body)
}

type validationEndPayload struct {
	RunID               string `json:"runId"`
	Iteration           int    `json:"iteration"`
	Passed              bool   `json:"passed"`
	Results             []any  `json:"results"`
	Duration            int    `json:"duration"`
	TimedOut            bool   `json:"timedOut"`
	Reason              string `json:"reason"`
	MaxIterationReached bool   `json:"maxIterationReached"`
	SuppressFeedback    bool   `json:"suppressFeedback"`
}

type networkFinishPayload struct {
	Task             string          `json:"task"`
	PrimitiveID      string          `json:"primitiveId"`
	PrimitiveType    string          `json:"primitiveType"`
	Prompt           string          `json:"prompt"`
	Result           string          `json:"result"`
	Object           json.RawMessage `json:"object,omitempty"`
	IsComplete       bool            `json:"isComplete"`
	CompletionReason string          `json:"completionReason"`
	Iteration        int             `json:"iteration"`
	ThreadID         string          `json:"threadId,omitempty"`
	ThreadResourceID string          `json:"threadResourceId,omitempty"`
	IsOneOff         bool            `json:"isOneOff"`
	Usage            usagePayload    `json:"usage"`
	ValidationPassed bool            `json:"validationPassed"`
}

// end closes a network turn that ran to its end: the completion check's
// chunks and network-execution-event-finish (a structured result last,
// as network-object-result). A turn that waits or failed ends as its
// stream did.
func (n *netStream) end(res *Result, err error) (*Result, error) {
	if err != nil || res == nil || res.FinishReason == FinishSuspended {
		return res, err
	}
	iter := n.iter
	if !n.complete {
		iter = max(n.iter-1, 0)
	}
	reason := "Task complete"
	if !n.complete {
		reason = fmt.Sprintf("Max iterations reached: %d", n.maxIter)
	}
	if err := n.send(ChunkValidationStart, map[string]any{"runId": n.runID, "iteration": iter, "checksCount": 1}); err != nil {
		return res, err
	}
	if err := n.send(ChunkValidationEnd, validationEndPayload{RunID: n.runID, Iteration: iter, Passed: n.complete, Results: []any{},
		Reason: reason, MaxIterationReached: !n.complete}); err != nil {
		return res, err
	}
	fin := networkFinishPayload{Task: n.task, PrimitiveID: PrimitiveNone, PrimitiveType: PrimitiveNone, Result: n.final,
		Object: res.Object, IsComplete: n.complete, CompletionReason: reason, Iteration: iter, ThreadID: res.ThreadID,
		ThreadResourceID: res.ResourceID, Usage: usageOf(res.Usage), ValidationPassed: n.complete}
	if !n.complete && n.last != nil {
		fin.PrimitiveID, fin.PrimitiveType, fin.Prompt, fin.Result = n.last.id, n.last.kind, n.last.prompt, n.result
	}
	if err := n.send(ChunkNetworkFinish, fin); err != nil {
		return res, err
	}
	if res.Object != nil {
		if err := n.send(ChunkNetworkObjResult, map[string]json.RawMessage{"object": res.Object}); err != nil {
			return res, err
		}
	}
	return res, nil
}
