package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
)

// Sub-agent memory modes (SubAgent.Memory).
const (
	// MemoryIsolated runs each delegation in a fresh thread of the
	// sub-agent's own resource, derived from the caller's: the sub-agent
	// keeps no history between delegations and shares no working memory
	// or recall with its caller, nor with any other caller.
	MemoryIsolated = "isolated"
	// MemoryShared runs the delegations of one conversation in one
	// thread of the caller's resource (<parent thread>-agent-<key>): the
	// sub-agent remembers its earlier work in this conversation, and
	// shares the caller's resource-scoped working memory and recall.
	MemoryShared = "shared"
)

// SubAgentToolPrefix starts the name of the tool that delegates to a
// sub-agent: "agent-<key>", as in Mastra.
const SubAgentToolPrefix = "agent-"

// SubAgent is an agent another agent may delegate to (Mastra's agents
// option of a supervisor agent). It becomes the tool agent-<ID>.
type SubAgent struct {
	// ID names the agent of the same Service.
	ID string
	// Memory is MemoryIsolated ("" means it) or MemoryShared.
	Memory string
}

// subAgentInput is the JSON Schema of an agent-<key> tool's arguments,
// Mastra's (core ≥ 1.8): threadId and resourceId are nullable because
// OpenAI's strict mode sends null for what it leaves out.
var subAgentInput = json.RawMessage(`{"type":"object","properties":{` +
	`"prompt":{"type":"string","description":"The task for the agent"},` +
	`"threadId":{"type":["string","null"]},` +
	`"resourceId":{"type":["string","null"]},` +
	`"instructions":{"type":["string","null"],"description":"Instructions added to the agent's own"},` +
	`"maxSteps":{"type":["integer","null"],"minimum":3}},` +
	`"required":["prompt"]}`)

// delegation is the agent-<key> tool of one turn: it knows the turn it
// runs in (its resource, its conversation and its stream).
type delegation struct {
	r   *run
	sub SubAgent
}

func (d delegation) Name() string { return SubAgentToolPrefix + d.sub.ID }

func (d delegation) Description() string {
	if a := d.r.s.agents[d.sub.ID]; a != nil && a.Description != "" {
		return a.Description
	}
	return "Agent: " + d.sub.ID
}

func (d delegation) InputSchema() json.RawMessage { return subAgentInput }

// subAgentOutput is an agent-<key> tool's result, Mastra's output schema
// plus finishReason and usage, which Mastra's value also carries.
type subAgentOutput struct {
	Text                string          `json:"text"`
	SubAgentThreadID    string          `json:"subAgentThreadId,omitempty"`
	SubAgentResourceID  string          `json:"subAgentResourceId,omitempty"`
	SubAgentToolResults []subToolResult `json:"subAgentToolResults,omitempty"`
	FinishReason        string          `json:"finishReason"`
	Usage               usagePayload    `json:"usage"`
}

type subToolResult struct {
	ToolName   string          `json:"toolName"`
	ToolCallID string          `json:"toolCallId"`
	Result     json.RawMessage `json:"result"`
	Args       json.RawMessage `json:"args,omitempty"`
	IsError    bool            `json:"isError,omitempty"`
}

// Execute runs the sub-agent's turn in this process, for the caller's
// resource: its budgets and its scope (the request context's scoped
// resource) are the caller's, whatever the model wrote. The model's
// threadId and resourceId never name what the sub-agent reads or writes:
// a model talked into naming another tenant's ids reaches nothing (Mastra
// #21625). The sub-agent sees the prompt, and the caller's conversation
// without its system prompt and tool parts as context (never saved).
// Streamed, its chunks reach the client as tool-output chunks.
func (d delegation) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	r := d.r
	var a struct {
		Prompt       string  `json:"prompt"`
		Instructions *string `json:"instructions"`
		MaxSteps     *int    `json:"maxSteps"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	if strings.TrimSpace(a.Prompt) == "" {
		return nil, errors.New("prompt is required")
	}
	sa := r.s.agents[d.sub.ID]
	in := Input{AgentID: d.sub.ID, Messages: []llm.Message{{Role: llm.RoleUser, Content: a.Prompt}},
		Context: stripToolParts(r.convo), Owner: r.owner(), Ephemeral: r.in.Ephemeral || r.s.store == nil, ReadOnly: r.in.ReadOnly}
	if a.Instructions != nil {
		in.Instructions = *a.Instructions
	}
	if a.MaxSteps != nil {
		// Mastra caps a delegation's steps at the sub-agent's own limit.
		in.MaxSteps = min(*a.MaxSteps, (&run{a: sa}).maxSteps())
	}
	in.ThreadID, in.ResourceID = d.ids()
	if v := r.in.RequestContext; v != nil {
		// A copy: the sub-agent's tools may write theirs without touching
		// the caller's; the scoped resource stays the caller's.
		cp := reqctx.New()
		for k, val := range v.Snapshot() {
			_ = cp.Set(k, val) // values of a Values are valid JSON
		}
		in.RequestContext = cp
	}
	// The sub-agent's save is its own: the caller's request answers when
	// the caller's turn is saved, through the caller's commit gate.
	ctx = WithCommitGate(ctx, nil)
	var emit func(Chunk) error
	if r.emit != nil {
		emit = func(c Chunk) error {
			_, err := EmitToolOutput(ctx, c)
			return err
		}
	}
	var res *Result
	var err error
	if ws, _ := ctx.Value(delegatedResumeKey{}).(*waitingStep); ws != nil && ws.decided == r.callID {
		// The caller's turn waited for this sub-agent's call: the decision
		// resumes the sub-agent's run, which goes on from where it waited.
		res, err = r.s.resume(ctx, ws.delegatedResume(d.sub.ID, d.resource()), emit)
	} else {
		res, err = r.s.run(ctx, in, emit)
	}
	if err != nil {
		var gone *goneError
		if errors.As(err, &gone) {
			return nil, err
		}
		return nil, fmt.Errorf("agent %s: %s", d.sub.ID, delegationFailure(ctx, err))
	}
	if res.FinishReason == FinishSuspended && res.Suspension != nil {
		// The sub-agent's run waits (in the database, under its own run
		// id): so does this call, and the caller's turn with it.
		w := *res.Suspension
		w.DelegatedRunID, w.usage = res.RunID, res.Usage
		return nil, &ToolSuspend{Payload: w.Payload, delegated: &w}
	}
	out := subAgentOutput{Text: res.Text, SubAgentThreadID: res.ThreadID, SubAgentResourceID: res.ResourceID,
		FinishReason: res.FinishReason, Usage: usageOf(res.Usage)}
	if in.Ephemeral {
		out.SubAgentThreadID = ""
	}
	for _, c := range res.ToolResults {
		switch p := c.Payload.(type) {
		case toolResultPayload:
			out.SubAgentToolResults = append(out.SubAgentToolResults, subToolResult{ToolName: p.ToolName, ToolCallID: p.ToolCallID,
				Result: p.Result, Args: p.Args})
		case toolErrorPayload:
			msg, _ := json.Marshal(p.Error.Message) // a string always marshals
			out.SubAgentToolResults = append(out.SubAgentToolResults, subToolResult{ToolName: p.ToolName, ToolCallID: p.ToolCallID,
				Result: msg, Args: p.Args, IsError: true})
		}
	}
	return json.Marshal(out)
}

// delegationFailure is what the caller's model is told of a sub-agent's
// failed turn: the safe message of a model or store failure, or the
// refusal itself (invalid input, a budget spent).
func delegationFailure(ctx context.Context, err error) string {
	var save *saveError
	var st *llm.StatusError
	switch {
	case errors.As(err, &st), errors.As(err, &save), errors.Is(err, llm.ErrUnavailable), errors.Is(err, memory.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		if msg := failMessage(ctx, err); msg != "" {
			return msg
		}
		return "cancelled"
	}
	return truncate(err.Error(), maxToolError)
}

// modelOutput is what the model is shown of a tool's result: a
// delegation's text alone (Mastra's toModelOutput), any other result
// whole.
func (r *run) modelOutput(name string, result json.RawMessage, failure string) string {
	if _, ok := r.delegation(name); ok && failure == "" {
		var out struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(result, &out) == nil {
			return out.Text
		}
	}
	return string(result)
}

// ids returns the thread and resource a delegation saves under, both
// derived from the caller's so that no two callers ever share them.
func (d delegation) ids() (thread, resource string) {
	r := d.r
	if d.sub.Memory == MemoryShared {
		return r.res.ThreadID + "-" + SubAgentToolPrefix + d.sub.ID, r.res.ResourceID
	}
	return r.res.ThreadID + "-" + d.sub.ID + "-" + uuid.NewString(), SubAgentResource(r.res.ResourceID, d.sub.ID)
}

// resource is the resource a delegation's thread is kept under.
func (d delegation) resource() string {
	if d.sub.Memory == MemoryShared {
		return d.r.res.ResourceID
	}
	return SubAgentResource(d.r.res.ResourceID, d.sub.ID)
}

type delegatedResumeKey struct{}

// delegatedResume is the resume of a sub-agent's waiting run (agentID's
// run, kept under resource) with the decision this resume carries.
func (ws *waitingStep) delegatedResume(agentID, resource string) Resume {
	rs := Resume{AgentID: agentID, RunID: ws.wait.DelegatedRunID, ResourceID: resource}
	switch {
	case ws.wait.Approval || !ws.approved:
		approved := ws.approved
		rs.Approved, rs.Reason = &approved, ws.reason
	default:
		rs.Data = ws.data
	}
	return rs
}

// SubAgentResource is the resource of an isolated sub-agent's threads
// when the caller's resource is caller: its own, per caller.
func SubAgentResource(caller, subAgentID string) string {
	return caller + "/" + SubAgentToolPrefix + subAgentID
}

// stripToolParts is the caller's conversation as a sub-agent sees it
// (Mastra's stripParentToolParts): no system prompt, no tool results, no
// tool calls; a message left empty is dropped.
func stripToolParts(msgs []llm.Message) []llm.Message {
	var out []llm.Message
	for _, m := range msgs {
		switch {
		case m.Role == llm.RoleSystem, m.Role == llm.RoleTool:
			continue
		case m.Role == llm.RoleAssistant && strings.TrimSpace(m.Content) == "":
			continue
		}
		out = append(out, llm.Message{Role: m.Role, Content: m.Content, Name: m.Name})
	}
	return out
}

// delegations returns agent's agent-<key> tool named name in run r.
func (r *run) delegation(name string) (delegation, bool) {
	id, ok := strings.CutPrefix(name, SubAgentToolPrefix)
	if !ok {
		return delegation{}, false
	}
	for _, sub := range r.a.SubAgents {
		if sub.ID == id {
			return delegation{r: r, sub: sub}, true
		}
	}
	return delegation{}, false
}

type turnResourceKey struct{}

type toolRunKey struct{}

// EmitToolOutput sends output (a chunk of the tool's own work, e.g. a
// workflow run's) to a streamed turn's client as a tool-output chunk of
// the tool call being run with ctx, as Mastra's tool writer does; it
// reports whether the turn is streamed. Call it from Execute's goroutine,
// before Execute returns. An error is the client's: the turn ends.
func EmitToolOutput(ctx context.Context, output any) (bool, error) {
	r, _ := ctx.Value(toolRunKey{}).(*run)
	if r == nil || r.emit == nil {
		return false, nil
	}
	c := r.chunk(ChunkToolOutput, toolOutputPayload{Output: output, ToolCallID: r.callID, ToolName: r.callName})
	c.From = "USER" // as Mastra's ToolStream marks it
	return true, r.sendChunk(c)
}

// ToolOutputStreamed reports whether EmitToolOutput reaches a client in
// the tool call being run with ctx, so a tool need not watch for what
// nobody reads.
func ToolOutputStreamed(ctx context.Context) bool {
	r, _ := ctx.Value(toolRunKey{}).(*run)
	return r != nil && r.emit != nil
}

// TurnResource returns the resource the turn whose tool runs with ctx
// runs for (its caller's, for a sub-agent's turn): what a tool that
// starts work of its own (a workflow-<id> tool) starts it for.
func TurnResource(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(turnResourceKey{}).(string)
	return id, ok && id != ""
}

// owner is the resource the turn runs for: its own, or its caller's for
// a delegation.
func (r *run) owner() string {
	if r.in.Owner != "" {
		return r.in.Owner
	}
	return r.in.ResourceID
}

// checkSubAgents refuses sub-agents that are not agents of the service,
// named twice, or whose tool name another tool has, and cycles of
// delegation (an agent that would, through others, delegate to itself).
func checkSubAgents(agents map[string]*Agent, sorted []*Agent) []error {
	var errs []error
	for _, a := range sorted {
		seen := map[string]bool{}
		for _, sub := range a.SubAgents {
			switch {
			case agents[sub.ID] == nil:
				errs = append(errs, fmt.Errorf("agent %q: sub-agent %q is not an agent", a.ID, sub.ID))
			case seen[sub.ID]:
				errs = append(errs, fmt.Errorf("agent %q: sub-agent %q named twice", a.ID, sub.ID))
			case a.tool(SubAgentToolPrefix+sub.ID) != nil:
				errs = append(errs, fmt.Errorf("agent %q: a tool is named %q like its sub-agent's", a.ID, SubAgentToolPrefix+sub.ID))
			case sub.Memory != "" && sub.Memory != MemoryIsolated && sub.Memory != MemoryShared:
				errs = append(errs, fmt.Errorf("agent %q: sub-agent %q: memory %q is not isolated or shared", a.ID, sub.ID, sub.Memory))
			}
			seen[sub.ID] = true
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if c := delegationCycle(func(id string) []string {
		var out []string
		if a := agents[id]; a != nil {
			for _, sub := range a.SubAgents {
				out = append(out, sub.ID)
			}
		}
		return out
	}, agentIDs(sorted)); c != nil {
		errs = append(errs, fmt.Errorf("agent: delegation cycle %s", strings.Join(c, " → ")))
	}
	return errs
}

func agentIDs(as []*Agent) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// delegationCycle returns a cycle of the graph whose edges subs gives,
// walked from ids in order, as the path that closes it (a, b, a); nil when
// there is none.
func delegationCycle(subs func(id string) []string, ids []string) []string {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var path []string
	var walk func(id string) []string
	walk = func(id string) []string {
		switch state[id] {
		case open:
			for i, p := range path {
				if p == id {
					return append(append([]string(nil), path[i:]...), id)
				}
			}
		case done:
			return nil
		}
		state[id] = open
		path = append(path, id)
		for _, s := range subs(id) {
			if c := walk(s); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		return nil
	}
	for _, id := range ids {
		if c := walk(id); c != nil {
			return c
		}
	}
	return nil
}
