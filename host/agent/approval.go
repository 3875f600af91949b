package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Human in the loop (Mastra's requireToolApproval and tool suspension).
//
// A tool call that needs approval stops the turn: the stream emits
// tool-call, then tool-call-approval, then finish with reason "suspended";
// Generate returns FinishReason "suspended" and the Suspension. Nothing
// goes to the thread yet: the whole state of the loop (the prompt so far,
// the step's model answer, the parts of the reply) is written as a
// snapshot in mastra_workflow_snapshot under ("agentic-loop", run id), as
// Mastra keeps a suspended agent loop, so any instance sharing the
// database resumes it, after a restart too. Resume claims the snapshot in
// one conditional UPDATE (of two resumes exactly one wins), runs the call
// (approved) or tells the model it was declined (tool-output-denied), and
// goes on with the loop; the completed turn is saved as any other and the
// snapshot marked "success" (a late resume is then a conflict). A resumed turn that fails puts the snapshot back, so
// the approval can be given again.

// Chunk types of human in the loop.
const (
	ChunkToolCallApproval  = "tool-call-approval"
	ChunkToolCallSuspended = "tool-call-suspended"
	ChunkToolOutputDenied  = "tool-output-denied"
)

// FinishSuspended is the finish reason of a turn that waits for a human.
const FinishSuspended = "suspended"

// DeclinedReason is what the model sees of a declined call when the
// decline gives no reason (Mastra's text).
const DeclinedReason = "Tool call was not approved by the user"

// Errors of Resume, wrapped with detail. Callers map ErrRunNotFound to
// 404 and ErrRunClaimed to 409.
var (
	ErrRunNotFound = errors.New("agent: no suspended run")
	ErrRunClaimed  = errors.New("agent: suspended run already resumed")
)

// approvalSchema is the resumeSchema of an approval: Mastra's JSON Schema
// of {approved, reason?}, sent as JSON text.
const approvalSchema = `{"type":"object","properties":{"approved":{"type":"boolean"},"reason":{"type":"string"}},"required":["approved"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}`

// ApprovalTool is a Tool that may need a human's approval before each
// call (a [[tools]] entry with require_approval).
type ApprovalTool interface {
	Tool
	RequireApproval() bool
}

// ToolSuspend is the error a Tool's Execute returns to suspend the turn
// until a human (or another system) sends resume data: Mastra's
// suspend() in a tool. The call then runs again with the resume data
// under "resumeData" in its arguments (see Resume).
type ToolSuspend struct {
	// Payload is what the tool asks, shown in tool-call-suspended.
	Payload json.RawMessage
	// ResumeSchema, when set, is the JSON Schema of this suspension's
	// resume data, over the tool's own (a workflow's suspended step's).
	ResumeSchema json.RawMessage
	// delegated is the waiting call of a sub-agent's run (delegate.go).
	delegated *Suspension
}

type suspendPayloadKey struct{}

// SuspendPayload returns, in a tool call that resumes a suspension of
// the same call, the payload it suspended with (Mastra hands a resumed
// tool its suspendPayload): what the tool needs to find its own waiting
// work again. ok is false in a fresh call.
func SuspendPayload(ctx context.Context) (payload json.RawMessage, ok bool) {
	payload, ok = ctx.Value(suspendPayloadKey{}).(json.RawMessage)
	return payload, ok
}

func (e *ToolSuspend) Error() string { return "agent: tool suspended" }

// ToolResponse is a suspend's answer on the tool execute routes: 202 with
// the payload.
func (e *ToolSuspend) ToolResponse() (int, []byte) { return 202, e.Payload }

// ResumableTool is a Tool that declares the JSON Schema of its resume
// data (a [[tools]] entry's resume_schema); a resume whose data does not
// match it is refused before anything runs.
type ResumableTool interface {
	Tool
	ResumeSchema() json.RawMessage
}

// Suspension is what a suspended turn waits for.
type Suspension struct {
	ToolCallID, ToolName string
	Args                 json.RawMessage
	// Approval: the call waits for approve or decline; otherwise the tool
	// suspended itself and waits for resume data.
	Approval bool
	// Payload is the tool's own suspend payload (nil for an approval).
	Payload json.RawMessage
	// ResumeSchema is the JSON Schema of the resume data, as JSON text.
	ResumeSchema string
	// DelegatedRunID, when set, is the waiting run of a sub-agent this
	// call delegated to: ToolName and Args are the sub-agent's waiting
	// call's, ParentToolName and ParentArgs this call's (agent-<id>), as
	// Mastra shows a delegated approval. Deciding resumes that run.
	DelegatedRunID string          `json:",omitempty"`
	ParentToolName string          `json:",omitempty"`
	ParentArgs     json.RawMessage `json:",omitempty"`
	// usage is a sub-agent's usage until it waited, for a network's
	// agent-execution-approval (network.go); not stored, so a resumed
	// turn that announces the wait again shows none.
	usage llm.Usage
}

// ChunkPayload is the payload of the tool-call-approval or
// tool-call-suspended chunk, which generate also answers as its
// suspendPayload.
func (s *Suspension) ChunkPayload() any {
	if s.Approval {
		return approvalPayload{ToolCallID: s.ToolCallID, ToolName: s.ToolName, Args: s.Args, ResumeSchema: s.ResumeSchema, usage: s.usage}
	}
	return suspendedPayload{ToolCallID: s.ToolCallID, ToolName: s.ToolName, Args: s.Args,
		SuspendPayload: orNullJSON(s.Payload), ResumeSchema: s.ResumeSchema, usage: s.usage}
}

type approvalPayload struct {
	ToolCallID   string          `json:"toolCallId"`
	ToolName     string          `json:"toolName"`
	Args         json.RawMessage `json:"args"`
	ResumeSchema string          `json:"resumeSchema"`
	usage        llm.Usage       // Suspension.usage; not sent
}

type suspendedPayload struct {
	ToolCallID     string          `json:"toolCallId"`
	ToolName       string          `json:"toolName"`
	SuspendPayload json.RawMessage `json:"suspendPayload"`
	Args           json.RawMessage `json:"args"`
	ResumeSchema   string          `json:"resumeSchema,omitempty"`
	usage          llm.Usage       // Suspension.usage; not sent
}

type deniedPayload struct {
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"`
	Args       json.RawMessage `json:"args"`
	Approval   deniedApproval  `json:"approval"`
}

type deniedApproval struct {
	ID       string `json:"id"`
	Approved bool   `json:"approved"`
	Reason   string `json:"reason"`
}

func orNullJSON(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// needsApproval reports whether a call of tool name waits for a human:
// the turn asked it for every tool (requireToolApproval), or the agent
// (require_approval), or the tool itself, or the client for its tool.
func (r *run) needsApproval(name string) bool {
	if t := r.tool(name); t != nil {
		if _, builtin := t.(wmTool); builtin {
			return false // the server's own memory tool is not the user's to approve
		}
		if r.in.RequireToolApproval || r.a.RequireApproval {
			return true
		}
		at, ok := t.(ApprovalTool)
		return ok && at.RequireApproval()
	}
	if !r.isClientTool(name) {
		return false // an unknown tool: the model is told so at once
	}
	return r.in.RequireToolApproval || r.a.RequireApproval || r.in.ClientToolApproval[name]
}

// errSuspended ends the loop of a turn that waits for a human; r.wait
// says for what.
var errSuspended = errors.New("agent: turn suspended")

// loopState is everything a suspended turn needs to go on, kept in the
// snapshot document under "agentLoop".
type loopState struct {
	AgentID    string `json:"agentId"`
	ThreadID   string `json:"threadId"`
	ResourceID string `json:"resourceId"`
	MessageID  string `json:"messageId"`
	Ephemeral  bool   `json:"ephemeral,omitempty"`
	ReadOnly   bool   `json:"readOnly,omitempty"`
	NewThread  bool   `json:"newThread,omitempty"`
	// Messages are the turn's input messages, Inputs the same as they are
	// saved.
	Messages []llm.Message    `json:"messages"`
	Inputs   []memory.Message `json:"inputs"`
	// Request is the prompt of the waiting step's model call.
	Request llm.Request `json:"request"`
	// Step is the waiting step, Response its model's answer and Call the
	// index of the waiting call in Response.ToolCalls.
	Step     int          `json:"step"`
	Response llm.Response `json:"response"`
	Call     int          `json:"call"`
	// ToolMsgs are the answers of the step's calls before Call.
	ToolMsgs []llm.Message `json:"toolMsgs"`
	// StepCallsFrom is where this step's calls start in ToolCalls.
	StepCallsFrom int               `json:"stepCallsFrom"`
	ToolCalls     []ToolCallPayload `json:"toolCalls"`
	ToolResults   []Chunk           `json:"toolResults"`
	Parts         []memory.Part     `json:"parts"`
	Text          string            `json:"text"`
	Usage         llm.Usage         `json:"usage"`
	Steps         int               `json:"steps"`
	Model         int               `json:"model"`
	TextN         int               `json:"textN"`
	MaxSteps      int               `json:"maxSteps"`
	// ClientTools and the approval options of the turn.
	ClientTools         []llm.Tool      `json:"clientTools,omitempty"`
	ClientToolApproval  map[string]bool `json:"clientToolApproval,omitempty"`
	RequireToolApproval bool            `json:"requireToolApproval,omitempty"`
	WorkingMemory       bool            `json:"workingMemory,omitempty"`
	WorkingMemorySeen   string          `json:"workingMemorySeen,omitempty"`
	Wait                *Suspension     `json:"wait"`
	// Pending are all the calls of the step that wait (Wait is the
	// first), each decided on its own; the step's other calls ran. Empty
	// in a snapshot of an older server: the calls after Call did not run.
	Pending []*Suspension `json:"pending,omitempty"`
	// Saved: the input and the reply so far are in the thread already.
	Saved bool `json:"saved,omitempty"`
	// The turn's options that shape the rest of it: its structured
	// output, its tools and tool choice, a model it asked for (by
	// reference, resolved again on resume), and the steps so far.
	StructuredOutput *storedStructured `json:"structuredOutput,omitempty"`
	ActiveTools      []string          `json:"activeTools"`
	ToolChoice       string            `json:"toolChoice,omitempty"`
	ModelRef         string            `json:"modelRef,omitempty"`
	StepResults      []Step            `json:"stepResults,omitempty"`
	// Digest is the turn's idempotency digest, kept on its reply so a
	// retry of the request finds the turn as its own.
	Digest string `json:"digest,omitempty"`
}

// storedStructured is a StructuredOutput as a snapshot keeps it.
type storedStructured struct {
	Schema              json.RawMessage `json:"schema"`
	ModelRef            string          `json:"modelRef,omitempty"`
	ErrorStrategy       string          `json:"errorStrategy,omitempty"`
	FallbackValue       json.RawMessage `json:"fallbackValue,omitempty"`
	Instructions        string          `json:"instructions,omitempty"`
	JSONPromptInjection bool            `json:"jsonPromptInjection,omitempty"`
}

func storeStructured(o *StructuredOutput) *storedStructured {
	if o == nil {
		return nil
	}
	st := &storedStructured{Schema: o.Schema, ErrorStrategy: o.ErrorStrategy, FallbackValue: o.FallbackValue,
		Instructions: o.Instructions, JSONPromptInjection: o.JSONPromptInjection}
	if o.Model != nil {
		st.ModelRef = o.Model.Ref()
	}
	return st
}

// structuredOf rebuilds a stored StructuredOutput, resolving its model.
func (s *Service) structuredOf(st *storedStructured) (*StructuredOutput, error) {
	if st == nil {
		return nil, nil
	}
	o := &StructuredOutput{Schema: st.Schema, ErrorStrategy: st.ErrorStrategy, FallbackValue: st.FallbackValue,
		Instructions: st.Instructions, JSONPromptInjection: st.JSONPromptInjection}
	if st.ModelRef != "" {
		m, err := s.ResolveModel(st.ModelRef)
		if err != nil {
			return nil, err
		}
		o.Model = &m
	}
	return o, nil
}

// typedCalls gives tool-call chunks read back from a snapshot their
// typed payload again, as the chunks of a turn that never stopped have.
func typedCalls(chunks []Chunk) []Chunk {
	for i, c := range chunks {
		if _, ok := c.Payload.(ToolCallPayload); ok || c.Type != ChunkToolCall {
			continue
		}
		var p ToolCallPayload
		if b, err := json.Marshal(c.Payload); err == nil && json.Unmarshal(b, &p) == nil {
			chunks[i].Payload = p
		}
	}
	return chunks
}

// snapshotDoc is the snapshot row's document: the fields of Mastra's
// WorkflowRunState that its readers expect, and this server's loop state.
type snapshotDoc struct {
	RunID               string           `json:"runId"`
	Status              string           `json:"status"`
	Value               map[string]any   `json:"value"`
	Context             map[string]any   `json:"context"`
	ActivePaths         []int            `json:"activePaths"`
	SuspendedPaths      map[string][]int `json:"suspendedPaths"`
	WaitingPaths        map[string][]int `json:"waitingPaths"`
	ResumeLabels        map[string]any   `json:"resumeLabels"`
	SerializedStepGraph []any            `json:"serializedStepGraph"`
	Timestamp           int64            `json:"timestamp"`
	AgentLoop           *loopState       `json:"agentLoop"`
}

// waitingStep is the part of a suspended step a resume starts from.
type waitingStep struct {
	resp     *llm.Response
	call     int
	toolMsgs []llm.Message
	stepFrom int
	// approved, when the wait was an approval, is the decision; reason
	// the decline's. data is a suspended tool's resume data.
	approved bool
	reason   string
	data     json.RawMessage
	// decided is the call this resume decides; pending the step's other
	// waiting calls, by id; ranAll: the step's calls that do not wait ran
	// before the turn waited.
	decided string
	pending map[string]*Suspension
	ranAll  bool
	// wait is the decided call's Suspension.
	wait *Suspension
}

// announce sends the chunk of a call that waits: tool-call-approval or
// tool-call-suspended.
func (r *run) announce(w *Suspension) error {
	if w.Approval {
		return r.send(ChunkToolCallApproval, w.ChunkPayload())
	}
	return r.send(ChunkToolCallSuspended, w.ChunkPayload())
}

// invOf returns the tool invocation part of call id.
func (r *run) invOf(id string) *memory.ToolInvocation {
	for _, inv := range r.invs {
		if inv.ToolCallID == id {
			return inv
		}
	}
	return &memory.ToolInvocation{ToolCallID: id} // not kept: nothing to update
}

// suspend records what the turn waits for (waits, the step's waiting
// calls in order) and ends its loop.
func (r *run) suspend(req llm.Request, step int, resp *llm.Response, toolMsgs []llm.Message, stepFrom int, waits []*Suspension) error {
	w := waits[0]
	r.wait, r.waits = w, waits
	r.res.Suspension = w
	call := 0
	for i, tc := range resp.ToolCalls {
		if tc.ID == w.ToolCallID {
			call = i
			break
		}
	}
	st := &loopState{
		AgentID: r.a.ID, ThreadID: r.res.ThreadID, ResourceID: r.in.ResourceID, MessageID: r.res.MessageID,
		Ephemeral: r.in.Ephemeral, ReadOnly: r.in.ReadOnly, NewThread: r.newThread, Messages: r.in.Messages,
		Request: req, Step: step, Response: *resp, Call: call, ToolMsgs: toolMsgs, StepCallsFrom: stepFrom,
		ToolResults: r.res.ToolResults, Parts: r.parts, Text: r.allText.String(), Usage: r.res.Usage,
		Steps: r.res.Steps, Model: r.cur, TextN: r.textN, MaxSteps: r.maxSteps(),
		ClientTools: r.in.ClientTools, ClientToolApproval: r.in.ClientToolApproval,
		RequireToolApproval: r.in.RequireToolApproval, WorkingMemory: r.wmOn, WorkingMemorySeen: r.wmSeen, Wait: w, Pending: waits,
		StructuredOutput: storeStructured(r.in.StructuredOutput), ActiveTools: r.in.ActiveTools, ToolChoice: r.in.ToolChoice,
		StepResults: r.res.StepResults, Digest: r.idem.digest,
	}
	if r.in.Model != nil {
		st.ModelRef = r.in.Model.Ref()
	}
	for _, c := range r.res.ToolCalls {
		if p, ok := c.Payload.(ToolCallPayload); ok {
			st.ToolCalls = append(st.ToolCalls, p)
		}
	}
	r.state = st
	return errSuspended
}

// saveSuspended writes the snapshot of a turn that waits (inputs: its
// input messages as they will be saved) and emits its end: finish with
// reason "suspended".
func (r *run) saveSuspended(ctx, parent context.Context, inputs []memory.Message) (*Result, error) {
	if r.s.store == nil {
		return nil, fmt.Errorf("agent %s: tool %s needs approval, and approvals need a database to wait in", r.a.ID, r.wait.ToolName)
	}
	if gate := CommitGate(parent); gate != nil && !gate() {
		return nil, ErrAnswered
	}
	r.state.Inputs = inputs
	r.res.FinishReason = FinishSuspended
	r.res.Text = r.allText.String()
	r.res.Messages = nil
	if r.saves() {
		// The thread shows the waiting turn as Mastra's does: the input
		// and the reply so far, whose metadata names the waiting call
		// (Studio draws its Approve / Decline from it after a reload).
		msgs := append(append([]memory.Message(nil), inputs...), r.reply())
		for i := range msgs {
			msgs[i].ThreadID, msgs[i].ResourceID = r.res.ThreadID, r.in.ResourceID
		}
		turn := memory.Turn{Thread: memory.Thread{ID: r.res.ThreadID, ResourceID: r.in.ResourceID}, Messages: msgs}
		if err := r.saveTurn(ctx, turn); err != nil {
			return nil, r.fail(parent, &saveError{err})
		}
		r.state.Saved = true
		r.res.Messages = msgs
	}
	doc := snapshotDoc{RunID: r.res.RunID, Status: memory.SuspendedStatus, Value: map[string]any{},
		Context: map[string]any{}, ActivePaths: []int{}, SuspendedPaths: map[string][]int{}, WaitingPaths: map[string][]int{},
		ResumeLabels: map[string]any{}, SerializedStepGraph: []any{}, Timestamp: time.Now().UnixMilli(), AgentLoop: r.state}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("agent %s: suspend run %s: %w", r.a.ID, r.res.RunID, err)
	}
	if err := r.s.store.SaveSuspended(ctx, memory.SuspendedRun{RunID: r.res.RunID, ResourceID: r.in.ResourceID, Snapshot: b}); err != nil {
		if errors.Is(err, memory.ErrConflict) {
			return nil, fmt.Errorf("%w: runId %s is taken", ErrInvalidInput, r.res.RunID)
		}
		return nil, r.fail(parent, &saveError{err})
	}
	err = r.send(ChunkFinish, finishPayload{
		MessageID:  r.res.MessageID,
		StepResult: stepResult{Reason: FinishSuspended, Warnings: []any{}},
		Output:     stepOutput{Text: r.res.Text, ToolCalls: nonNil(r.res.ToolCalls), Usage: usageOf(r.res.Usage)},
		Metadata:   stepMetadata{ModelID: r.modelID()},
		Usage:      usageOf(r.res.Usage),
	})
	if err != nil {
		return nil, err // the snapshot is saved: the run waits all the same
	}
	return &r.res, nil
}

// saveTurn saves a turn's messages: all of them, or, when the turn's
// earlier suspension saved them already, its reply over the one saved
// then (same id).
func (r *run) saveTurn(ctx context.Context, turn memory.Turn) error {
	if !r.savedBefore {
		return r.s.store.AppendTurn(ctx, turn)
	}
	reply := turn.Messages[len(turn.Messages)-1]
	_, err := r.s.store.SaveMessages(ctx, turn.Thread.ResourceID, []memory.Message{reply})
	return err
}

// metadataKey is where a saved reply's metadata names the waiting call,
// as Mastra's does.
func (s *Suspension) metadataKey() string {
	if s.Approval {
		return "pendingToolApprovals"
	}
	return "suspendedTools"
}

// metadata is the waiting call's entry under metadataKey.
func (s *Suspension) metadata(runID string) map[string]any {
	m := map[string]any{"toolCallId": s.ToolCallID, "toolName": s.ToolName, "args": s.Args, "runId": runID, "type": "approval"}
	if s.ResumeSchema != "" {
		m["resumeSchema"] = s.ResumeSchema
	}
	if !s.Approval {
		m["type"], m["suspendPayload"] = "suspension", orNullJSON(s.Payload)
	}
	if s.DelegatedRunID != "" {
		m["delegatedRunId"], m["parentToolName"], m["parentArgs"] = s.DelegatedRunID, s.ParentToolName, s.ParentArgs
	}
	return m
}

// suspensionOf reads the waiting call a saved reply's metadata names
// (metadataKey), nil when it names none: the reply of a turn that waits.
func suspensionOf(meta map[string]any) *Suspension {
	for _, approval := range []bool{true, false} {
		w := &Suspension{Approval: approval}
		calls, _ := meta[w.metadataKey()].(map[string]any)
		for _, v := range calls {
			m, _ := v.(map[string]any)
			w.ToolCallID, _ = m["toolCallId"].(string)
			w.ToolName, _ = m["toolName"].(string)
			w.ResumeSchema, _ = m["resumeSchema"].(string)
			w.Args, _ = json.Marshal(m["args"])
			if !approval {
				w.Payload, _ = json.Marshal(m["suspendPayload"])
			}
			return w
		}
	}
	return nil
}

// endSuspended marks the snapshot of a resumed turn that is saved: it
// keeps only whose run it was, so a late resume is told it came second.
func (r *run) endSuspended(ctx context.Context) {
	doc := snapshotDoc{RunID: r.res.RunID, Status: memory.EndedStatus, Value: map[string]any{},
		Context: map[string]any{}, ActivePaths: []int{}, SuspendedPaths: map[string][]int{}, WaitingPaths: map[string][]int{},
		ResumeLabels: map[string]any{}, SerializedStepGraph: []any{}, Timestamp: time.Now().UnixMilli(),
		AgentLoop: &loopState{AgentID: r.a.ID, ThreadID: r.res.ThreadID, ResourceID: r.in.ResourceID, MessageID: r.res.MessageID}}
	b, _ := json.Marshal(doc) // plain types: cannot fail
	if err := r.s.store.EndSuspended(ctx, r.res.RunID, b); err != nil {
		r.s.log.WarnContext(ctx, "agent: could not end a resumed run's snapshot", "run", r.res.RunID, "err", err)
	}
}

// Resume is one resume of a suspended turn: an approval, a decline, or a
// suspended tool's resume data.
type Resume struct {
	AgentID, RunID string
	// ResourceID is the caller's resource; "" reaches any resource (an
	// admin, or auth off). A run of another resource is ErrRunNotFound.
	ResourceID string
	// ToolCallID, when set, must name the call the run waits for.
	ToolCallID string
	// Approved is an approve (true) or decline (false); nil resumes with
	// Data, which for an approval is read as {approved, reason?}.
	Approved *bool
	// Reason is a decline's reason, shown to the model.
	Reason string
	// Data is the resume data of a tool that suspended itself.
	Data json.RawMessage
	// RequestContext is handed to the tools the resumed turn runs.
	RequestContext *reqctx.Values
}

// SuspendedRun is one waiting turn, as listed.
type SuspendedRun struct {
	RunID, ThreadID, ResourceID string
	SuspendedAt                 time.Time
	Wait                        Suspension
	// Waits are every call the run waits for, Wait first.
	Waits []Suspension
}

// ListSuspended returns the waiting turns of agent agentID, newest first,
// of resourceID ("" = every resource) and threadID ("" = every thread);
// at most limit.
func (s *Service) ListSuspended(ctx context.Context, agentID, resourceID, threadID string, limit int) ([]SuspendedRun, error) {
	if _, ok := s.agents[agentID]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, agentID)
	}
	if s.store == nil {
		return nil, nil
	}
	rows, err := s.store.ListSuspended(ctx, memory.SuspendedFilter{AgentID: agentID, ResourceID: resourceID, ThreadID: threadID, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]SuspendedRun, 0, len(rows))
	for _, row := range rows {
		var doc snapshotDoc
		if json.Unmarshal(row.Snapshot, &doc) != nil || doc.AgentLoop == nil || doc.AgentLoop.Wait == nil {
			continue // not one of this server's (a Mastra server's run): it cannot be resumed here
		}
		st := doc.AgentLoop
		run := SuspendedRun{RunID: row.RunID, ThreadID: st.ThreadID, ResourceID: row.ResourceID,
			SuspendedAt: time.UnixMilli(doc.Timestamp).UTC(), Wait: *st.Wait, Waits: []Suspension{*st.Wait}}
		if len(st.Pending) > 0 {
			run.Waits = run.Waits[:0]
			for _, p := range st.Pending {
				run.Waits = append(run.Waits, *p)
			}
		}
		out = append(out, run)
	}
	return out, nil
}

// CountSuspended counts the waiting turns per agent id: every configured
// agent (0 when none waits), and no other id, so a metric labelled with
// them stays bounded.
func (s *Service) CountSuspended(ctx context.Context) (map[string]int, error) {
	out := make(map[string]int, len(s.agents))
	for id := range s.agents {
		out[id] = 0
	}
	if s.store == nil {
		return out, nil
	}
	n, err := s.store.CountSuspended(ctx)
	if err != nil {
		return nil, err
	}
	for id, c := range n {
		if _, ok := out[id]; ok {
			out[id] = c
		}
	}
	return out, nil
}

// ResumeGenerate resumes a suspended turn and returns the whole reply (or
// the next suspension).
func (s *Service) ResumeGenerate(ctx context.Context, rs Resume) (*Result, error) {
	return s.resume(ctx, rs, nil)
}

// ResumeStream resumes a suspended turn, streaming as Stream does. The
// checks (run, resource, tool call, the claim) happen before any chunk, so
// their failures are plain errors.
func (s *Service) ResumeStream(ctx context.Context, rs Resume, emit func(Chunk) error) (*Result, error) {
	if emit == nil {
		return nil, fmt.Errorf("%w: nil emit function", ErrInvalidInput)
	}
	return s.resume(ctx, rs, emit)
}

func (s *Service) resume(parent context.Context, rs Resume, emit func(Chunk) error) (*Result, error) {
	r, err := s.claim(parent, rs, emit)
	if err != nil {
		return nil, err
	}
	return s.resumed(parent, r)
}

// ResumeLater claims a suspended turn now and runs the rest of it in the
// background, as generate does (Mastra's send-tool-approval: the answer
// says it was accepted; the turn's chunks are not this request's). It
// returns once the claim is made; the checks and the claim fail as
// ResumeGenerate's do. A shutdown (Close) cancels the turn, which then
// waits again.
func (s *Service) ResumeLater(ctx context.Context, rs Resume) error {
	r, err := s.claim(ctx, rs, nil)
	if err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(s.bg.ctx, cancel)
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		defer cancel()
		defer stop()
		if _, err := s.resumed(bg, r); err != nil {
			s.log.WarnContext(bg, "agent: a resumed turn failed", "agent", rs.AgentID, "run", rs.RunID, "err", err)
		}
	}()
	return nil
}

// claim checks a resume against its run and claims the run: the returned
// run goes on from where the turn waited.
func (s *Service) claim(parent context.Context, rs Resume, emit func(Chunk) error) (*run, error) {
	a, ok := s.agents[rs.AgentID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, rs.AgentID)
	}
	if s.store == nil {
		return nil, fmt.Errorf("%w: %s", ErrRunNotFound, rs.RunID)
	}
	// Checked before the claim, so a wrong request leaves the run waiting.
	row, err := s.store.SuspendedRunOf(parent, rs.RunID, rs.ResourceID)
	if err != nil {
		if errors.Is(err, memory.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrRunNotFound, rs.RunID)
		}
		return nil, err
	}
	var head snapshotDoc
	if json.Unmarshal(row.Snapshot, &head) != nil || head.AgentLoop == nil || head.AgentLoop.AgentID != a.ID {
		return nil, fmt.Errorf("%w: %s", ErrRunNotFound, rs.RunID)
	}
	if head.Status != memory.SuspendedStatus && head.Status != memory.ClaimedStatus {
		return nil, fmt.Errorf("%w: %s", ErrRunClaimed, rs.RunID)
	}
	// A claimed run is checked as a waiting one: the claim below says
	// whether its claim is still live (409) or ran out (memory.ClaimLease).
	doc, err := parseSnapshot(row.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrRunNotFound, rs.RunID)
	}
	w, others, err := decidedCall(doc.AgentLoop, rs)
	if err != nil {
		return nil, err
	}
	if !w.Approval && rs.Approved == nil && w.ResumeSchema != "" {
		schema, err := toolschema.For(json.RawMessage(w.ResumeSchema))
		if err == nil {
			err = schema.Validate(rs.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: resumeData: %s", ErrInvalidInput, truncate(err.Error(), maxToolError))
		}
	}
	ws := &waitingStep{decided: w.ToolCallID, pending: others, ranAll: len(doc.AgentLoop.Pending) > 0, wait: w}
	switch {
	case rs.Approved != nil:
		ws.approved, ws.reason = *rs.Approved, rs.Reason
		if !w.Approval && *rs.Approved {
			ws.data = json.RawMessage(`{"approved":true}`)
		}
	case w.Approval:
		var d struct {
			Approved *bool  `json:"approved"`
			Reason   string `json:"reason"`
		}
		if json.Unmarshal(rs.Data, &d) != nil || d.Approved == nil {
			return nil, fmt.Errorf("%w: resumeData: the run waits for an approval: expected {\"approved\": true|false, \"reason\"?: \"…\"}", ErrInvalidInput)
		}
		ws.approved, ws.reason = *d.Approved, d.Reason
	default:
		ws.approved, ws.data = true, rs.Data
	}
	if ws.reason == "" {
		ws.reason = DeclinedReason
	}
	claimed, err := s.store.ClaimSuspended(parent, rs.RunID, rs.ResourceID)
	switch {
	case errors.Is(err, memory.ErrRunClaimed):
		return nil, fmt.Errorf("%w: %s", ErrRunClaimed, rs.RunID)
	case errors.Is(err, memory.ErrNotFound):
		return nil, fmt.Errorf("%w: %s", ErrRunNotFound, rs.RunID)
	case err != nil:
		return nil, err
	}
	if doc, err = parseSnapshot(claimed.Snapshot); err != nil || doc.AgentLoop.AgentID != a.ID {
		// Replaced between the read and the claim by a run of another agent.
		_ = s.store.SaveSuspended(parent, claimed)
		return nil, fmt.Errorf("%w: %s", ErrRunNotFound, rs.RunID)
	}
	st := doc.AgentLoop
	in := Input{AgentID: a.ID, ThreadID: st.ThreadID, ResourceID: claimed.ResourceID, Messages: st.Messages,
		RunID: rs.RunID, ClientTools: st.ClientTools, ClientToolApproval: st.ClientToolApproval,
		RequireToolApproval: st.RequireToolApproval, RequestContext: rs.RequestContext, MaxSteps: st.MaxSteps,
		Ephemeral: st.Ephemeral, ReadOnly: st.ReadOnly, ActiveTools: st.ActiveTools, ToolChoice: st.ToolChoice}
	models := a.choices()
	so, err := s.structuredOf(st.StructuredOutput)
	if err == nil && st.ModelRef != "" {
		var m Choice
		if m, err = s.ResolveModel(st.ModelRef); err == nil {
			in.Model, models = &m, []Choice{m}
		}
	}
	if err != nil {
		// The configuration changed under the waiting turn: it waits on.
		_ = s.store.SaveSuspended(context.WithoutCancel(parent), claimed)
		return nil, fmt.Errorf("agent %s: resume run %s: %w", a.ID, rs.RunID, err)
	}
	in.StructuredOutput = so
	r := &run{s: s, a: a, in: in, emit: emit, models: models, state: st, claimed: &claimed, savedBefore: st.Saved}
	r.idem.digest = st.Digest
	if so != nil {
		r.so = newStructured(so)
	}
	r.res = Result{RunID: rs.RunID, ThreadID: st.ThreadID, ResourceID: claimed.ResourceID, MessageID: st.MessageID,
		Model: a.ModelRef(), Usage: st.Usage, Steps: st.Steps, StepResults: st.StepResults}
	for i := range r.res.StepResults {
		typedCalls(r.res.StepResults[i].ToolCalls)
	}
	if st.Model < len(r.models) {
		r.cur = st.Model
	}
	r.res.Model = r.model().Ref()
	for _, p := range st.ToolCalls {
		r.res.ToolCalls = append(r.res.ToolCalls, r.chunk(ChunkToolCall, p))
	}
	r.res.ToolResults = st.ToolResults
	r.parts = st.Parts
	for i := range r.parts {
		if inv := r.parts[i].ToolInvocation; inv != nil && r.parts[i].Type == "tool-invocation" {
			r.invs = append(r.invs, inv)
		}
	}
	r.allText.WriteString(st.Text)
	r.textN, r.newThread, r.wmOn, r.wmSeen = st.TextN, st.NewThread, st.WorkingMemory, st.WorkingMemorySeen
	resp := st.Response
	ws.resp, ws.call, ws.toolMsgs, ws.stepFrom = &resp, st.Call, st.ToolMsgs, st.StepCallsFrom
	r.waiting = ws
	r.track = NewTracker(rs.RunID)
	return r, nil
}

// decidedCall returns the waiting call a resume decides (the one it
// names, else the first) and the step's other waiting calls, by id.
func decidedCall(st *loopState, rs Resume) (*Suspension, map[string]*Suspension, error) {
	pending := st.Pending
	if len(pending) == 0 {
		pending = []*Suspension{st.Wait}
	}
	var w *Suspension
	others := map[string]*Suspension{}
	for _, p := range pending {
		if w == nil && (rs.ToolCallID == "" || rs.ToolCallID == p.ToolCallID) {
			w = p
			continue
		}
		others[p.ToolCallID] = p
	}
	if w == nil {
		ids := make([]string, len(pending))
		for i, p := range pending {
			ids[i] = p.ToolCallID
		}
		return nil, nil, fmt.Errorf("%w: toolCallId: run %s waits for tool call %s", ErrInvalidInput, rs.RunID, strings.Join(ids, ", "))
	}
	return w, others, nil
}

// resumed runs the rest of a claimed turn.
func (s *Service) resumed(parent context.Context, r *run) (*Result, error) {
	res, err := s.start(parent, r, false)
	if err != nil && r.wait == nil {
		// The resumed turn failed or was cancelled: it waits again, for
		// the same decision, as it did before the claim.
		if rerr := s.store.SaveSuspended(context.WithoutCancel(parent), *r.claimed); rerr != nil {
			s.log.WarnContext(parent, "agent: could not put a failed resume back", "run", r.res.RunID, "err", rerr)
		}
	}
	return res, err
}

// parseSnapshot reads a snapshot document of this server's.
func parseSnapshot(b []byte) (*snapshotDoc, error) {
	var doc snapshotDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.AgentLoop == nil || doc.AgentLoop.Wait == nil {
		return nil, errors.New("agent: not a snapshot of this server")
	}
	return &doc, nil
}

// suspendedBy returns the Suspension of a call whose tool suspended itself
// (its ToolSuspend).
func (r *run) suspendedBy(tc llm.ToolCall, ts *ToolSuspend) *Suspension {
	if d := ts.delegated; d != nil {
		// A sub-agent's call waits: this call waits for it, shown as the
		// sub-agent's call under this call's id, as Mastra's.
		w := *d
		w.ToolCallID, w.ParentToolName, w.ParentArgs = tc.ID, tc.Name, argsJSON(tc.Arguments)
		return &w
	}
	w := &Suspension{ToolCallID: tc.ID, ToolName: tc.Name, Args: argsJSON(tc.Arguments), Payload: ts.Payload}
	if rt, ok := r.tool(tc.Name).(ResumableTool); ok {
		if s := rt.ResumeSchema(); len(s) > 0 {
			w.ResumeSchema = string(s)
		}
	}
	if len(ts.ResumeSchema) > 0 {
		w.ResumeSchema = string(ts.ResumeSchema)
	}
	if len(w.Payload) == 0 || !json.Valid(w.Payload) {
		w.Payload, _ = json.Marshal(string(w.Payload)) // a string always marshals
	}
	return w
}

// withResumeData returns a resumed call's arguments with the resume data
// under "resumeData", as Mastra hands a resumed tool its resumeData.
func withResumeData(args, data json.RawMessage) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(args, &obj) != nil || obj == nil {
		obj = map[string]json.RawMessage{}
	}
	obj["resumeData"] = orNullJSON(data)
	b, _ := json.Marshal(obj) // raw values that parsed: cannot fail
	return b
}

// decide handles the waiting call of a resumed step: a declined call
// gets the decline as its result (tool-output-denied) and done is true; an
// approved one goes on to run. The resumed stream first repeats the call's
// tool-call chunk, so that it reads on its own: a client that builds the
// reply from one stream (client-js does) finds the call its result
// answers.
func (r *run) decide(ws *waitingStep, tc llm.ToolCall) (msg llm.Message, done bool, err error) {
	args := argsJSON(tc.Arguments)
	if err := r.send(ChunkToolCall, ToolCallPayload{ToolCallID: tc.ID, ToolName: tc.Name, Args: args}); err != nil {
		return llm.Message{}, true, err
	}
	if ws.approved || (ws.wait != nil && ws.wait.DelegatedRunID != "") {
		// Approved, or a sub-agent's call: the delegation resumes the
		// sub-agent's run with the decision, whatever it is.
		return llm.Message{}, false, nil
	}
	out, _ := json.Marshal(ws.reason) // a string always marshals
	for _, inv := range r.invs {
		if inv.ToolCallID == tc.ID {
			inv.State, inv.Result = "result", out
		}
	}
	c := r.chunk(ChunkToolOutputDenied, deniedPayload{ToolCallID: tc.ID, ToolName: tc.Name, Args: args,
		Approval: deniedApproval{ID: tc.ID, Approved: false, Reason: ws.reason}})
	r.res.ToolResults = append(r.res.ToolResults, c)
	if err := r.sendChunk(c); err != nil {
		return llm.Message{}, true, err
	}
	return llm.Message{Role: llm.RoleTool, ToolCallID: tc.ID, Content: string(out)}, true, nil
}
