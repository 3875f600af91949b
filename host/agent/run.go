package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Generate runs one turn and returns the whole reply. The model is called
// without streaming. The turn is saved when it completes; a failed turn
// saves nothing.
func (s *Service) Generate(ctx context.Context, in Input) (*Result, error) {
	return s.run(ctx, in, nil)
}

// Stream runs one turn, streaming the model's reply, and hands each chunk to
// emit in order; it returns the Result after the final chunk.
//
// Nothing is emitted before the model produced its first piece of reply (or
// finished): a failure before that returns an error and no chunk, so the
// caller can still answer with an HTTP status. A failure after it emits an
// "error" chunk with a safe message, then "step-finish" and "finish" with
// reason "error", and returns the error. When emit returns an error (the
// client is gone) the model call is cancelled and Stream returns emit's
// error at once, saving nothing; only when the final "finish" chunk itself
// cannot be sent has the (complete) turn already been saved.
func (s *Service) Stream(ctx context.Context, in Input, emit func(Chunk) error) (*Result, error) {
	if emit == nil {
		return nil, fmt.Errorf("%w: nil emit function", ErrInvalidInput)
	}
	return s.run(ctx, in, emit)
}

// run is the state of one turn.
type run struct {
	s    *Service
	a    *Agent
	in   Input
	emit func(Chunk) error // nil for Generate

	live      bool    // chunks go to emit (the model has produced something)
	queued    []Chunk // chunks held back until live
	gone      error   // emit's error: the client is gone
	textN     int     // text and reasoning blocks started, for their ids
	textID    string  // the open text block, "" when none
	thinkID   string  // the open reasoning block, "" when none
	inputs    []llm.ToolCall
	res       Result
	parts     []memory.Part
	invs      []*memory.ToolInvocation
	allText   strings.Builder
	clk       clock
	models    []Choice      // the agent's model, then its fallbacks
	cur       int           // the model in use: models[cur]
	start     *startPayload // the "start" chunk, which names the model that answers
	wmOn      bool          // the working memory is in the prompt and its tool offered
	wmSeen    string        // the working memory as the model last saw it
	newThread bool          // the turn starts its thread: a title may follow
	idem      idemTurn      // what the idempotency key derives; zero without one
	track     *Tracker      // the chunks that went out, to end a failed stream
	so        *structured   // the turn's structured output; nil without
	// recalled are messages of the thread that semantic recall brought
	// back (not among the last messages); recallSystem is the block of
	// other threads' recalled messages for the system prompt.
	recalled     []memory.Message
	recallSystem string
	// firstChunk tells the observer of the model call in progress that its
	// reply started; nil once told or when nobody watches.
	firstChunk func()
	// Human in the loop (approval.go): wait is what the turn stopped for,
	// state the loop's state to keep or resumed from, waiting the step a
	// resume starts with and claimed the snapshot it claimed.
	wait    *Suspension
	waits   []*Suspension // every call the turn waits for; wait is the first
	state   *loopState
	waiting *waitingStep
	claimed *memory.SuspendedRun
	// savedBefore: the resumed turn's messages were saved when it
	// suspended; its reply replaces the one saved then.
	savedBefore bool
	// convo is the conversation the model was last sent, and callID the
	// id of the tool call being run: what a delegation passes on.
	convo            []llm.Message
	callID, callName string
	// prompt is the first model call's messages (a resumed turn's: the
	// waiting step's), when promptSteps steps were done: the finish
	// chunk's messages.all starts with it (finish.go).
	prompt      []llm.Message
	promptSteps int
}

func (s *Service) run(parent context.Context, in Input, emit func(Chunk) error) (*Result, error) {
	if in.AgentID == "" {
		in.AgentID = s.defaultID
	}
	a, ok := s.agents[in.AgentID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, in.AgentID)
	}
	if err := validate(in); err != nil {
		return nil, err
	}
	if err := checkTools(a, in); err != nil {
		return nil, err
	}
	r := &run{s: s, a: a, in: in, emit: emit, models: a.choices()}
	if in.Model != nil {
		r.models = []Choice{*in.Model}
	}
	if in.StructuredOutput != nil {
		r.so = newStructured(in.StructuredOutput)
	}
	r.res = Result{RunID: in.RunID, ThreadID: in.ThreadID, ResourceID: in.ResourceID,
		MessageID: uuid.NewString(), Model: r.models[0].Ref()}
	if r.res.RunID == "" {
		r.res.RunID = uuid.NewString()
	}
	r.track = NewTracker(r.res.RunID)
	fresh := r.res.ThreadID == ""
	if fresh {
		r.res.ThreadID = uuid.NewString()
		r.newThread = true
	}
	return s.start(parent, r, fresh)
}

// start runs the turn r was made for, once admitted, under the observer.
func (s *Service) start(parent context.Context, r *run, fresh bool) (*Result, error) {
	a, in := r.a, r.in
	if s.admit != nil {
		if err := s.admit(parent, TurnInfo{Agent: a, RunID: r.res.RunID, ThreadID: r.res.ThreadID,
			ResourceID: r.owner(), Stream: r.emit != nil, Messages: in.Messages}); err != nil {
			return nil, err
		}
	}
	if s.obs == nil {
		return r.turn(parent, fresh)
	}
	ctx, end := s.obs.StartTurn(parent, TurnInfo{Agent: a, RunID: r.res.RunID, ThreadID: r.res.ThreadID,
		ResourceID: r.owner(), Stream: r.emit != nil, Messages: in.Messages})
	res, err := r.turn(ctx, fresh)
	o := outcome(ctx, err)
	if res != nil && res.Replayed {
		o = OutcomeReplayed
	}
	if res != nil && res.FinishReason == FinishSuspended {
		o = OutcomeSuspended
	}
	end(TurnEnd{Outcome: o, Result: res, Err: err})
	return res, err
}

// turn runs the turn r was made for; fresh: its thread id was just made.
func (r *run) turn(parent context.Context, fresh bool) (*Result, error) {
	s, a, in := r.s, r.a, r.in
	if r.waiting != nil {
		return r.complete(parent, r.state.Inputs, false) // a resumed turn: history is in its state
	}
	if !fresh && s.store != nil && !in.Ephemeral {
		// The thread and its history in one read (one round trip on
		// Postgres); another resource's thread comes without messages.
		t, err := s.store.TurnHistory(parent, in.ResourceID, in.ThreadID, a.LastMessages)
		switch {
		case err == nil && t.ResourceID != in.ResourceID:
			return nil, fmt.Errorf("agent: thread %s: %w", in.ThreadID, memory.ErrNotFound)
		case err == nil:
			r.res.Remembered = t.Messages
		case errors.Is(err, memory.ErrNotFound):
			r.newThread = true
		case err != nil:
			return nil, fmt.Errorf("agent: load thread: %w", err)
		}
		if err == nil && a.GenerateTitle && t.Title == "" {
			// A thread created empty (POST /api/memory/threads) is new
			// until its first turn.
			if r.newThread, err = s.isEmpty(parent, in.ThreadID, r.res.Remembered); err != nil {
				return nil, err
			}
		}
	}
	if a.WorkingMemory != nil && s.store != nil && !in.Ephemeral {
		var err error
		r.wmSeen, err = s.store.WorkingMemory(parent, a.WorkingMemory.ref(in.ResourceID, r.res.ThreadID))
		if err != nil {
			return nil, fmt.Errorf("agent: load working memory: %w", err)
		}
		r.wmOn = true
	}
	inputs := inputMessages(in.Messages, r.res.Remembered, &r.clk)
	idem := in.IdempotencyKey != "" && r.saves()
	if idem {
		// A retry finds what its first attempt saved and answers with it,
		// without calling the model again.
		secret, err := s.idemSecret.get(parent, s.store)
		if err != nil {
			return nil, err
		}
		r.idem = deriveIdem(secret, a, in, len(inputs))
		r.res.MessageID = r.idem.reply
		for i := range inputs {
			inputs[i].ID = r.idem.in[i]
		}
		if ok, err := r.replay(parent, r.idem); err != nil || ok {
			if err != nil {
				return nil, err
			}
			return &r.res, r.emitReplay()
		}
	}

	if a.SemanticRecall != nil && s.store != nil && !in.Ephemeral {
		r.recall(parent)
	}
	return r.complete(parent, inputs, idem)
}

// complete runs the model loop of a turn whose input messages are inputs
// and saves it; idem: the turn has an idempotency key.
func (r *run) complete(parent context.Context, inputs []memory.Message, idem bool) (*Result, error) {
	s, a, in := r.s, r.a, r.in
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	if err := r.loop(ctx); err != nil {
		if errors.Is(err, errSuspended) {
			return r.saveSuspended(ctx, parent, inputs)
		}
		return nil, r.fail(parent, err)
	}
	var so soOutcome
	if r.so != nil {
		var err error
		if so, err = r.settle(ctx); err != nil {
			return nil, r.fail(parent, err)
		}
		r.res.Object, r.res.UsedFallbackValue = so.object, so.usedFallback
	}

	reply := r.reply()
	r.res.Messages = append(inputs, reply)
	for i := range r.res.Messages {
		r.res.Messages[i].ThreadID = r.res.ThreadID
		r.res.Messages[i].ResourceID = in.ResourceID
	}
	if r.saves() {
		// The gate settles the race with the first-byte timeout: either the
		// request was answered already and nothing is saved, or the answer
		// now waits for the save below.
		if gate := CommitGate(parent); gate != nil && !gate() {
			// A live stream still ends: a resumable run whose log could
			// not be held refuses its save after its first chunk.
			return nil, r.fail(parent, ErrAnswered)
		}
		turn := memory.Turn{Thread: memory.Thread{ID: r.res.ThreadID, ResourceID: in.ResourceID}, Messages: r.res.Messages}
		if err := r.saveTurn(ctx, turn); err != nil {
			if idem && errors.Is(err, memory.ErrMessageConflict) {
				// The same request, running alongside, saved first: its
				// turn is the answer, this one is dropped. A different
				// request with the key is refused.
				ok, rerr := r.replay(parent, r.idem)
				switch {
				case errors.Is(rerr, ErrIdempotencyKeyReused):
					err = rerr
				case rerr == nil && ok:
					r.res.Replayed = true
					err = nil
				}
			}
			if err != nil {
				return nil, r.fail(parent, &saveError{err})
			}
		}
		if a.SemanticRecall != nil && !r.res.Replayed {
			r.embedLater(parent)
		}
		// A delegation's thread is the sub-agent's working space, not a
		// conversation to title (Mastra's sub-agent runs do not title).
		if r.newThread && a.GenerateTitle && !r.res.Replayed && in.Owner == "" {
			s.titleLater(parent, a, in.ResourceID, r.res.ThreadID, in.Messages)
		}
	} else {
		r.res.Messages = nil
	}
	if r.claimed != nil {
		r.endSuspended(ctx)
	}
	fin := finishPayload{
		MessageID:  r.res.MessageID,
		StepResult: stepResult{Reason: r.res.FinishReason, Warnings: []any{}},
		Output:     stepOutput{Text: r.res.Text, ToolCalls: nonNil(r.res.ToolCalls), Usage: usageOf(r.res.Usage)},
		Metadata:   stepMetadata{ModelID: r.modelID()},
		Usage:      usageOf(r.res.Usage),
	}
	if n := len(r.res.StepResults); n > 0 && r.emit != nil {
		last := r.res.StepResults[n-1]
		fin.Metadata = stepMeta(last)
		fin.ProviderMetadata = ProviderMetadata(last.Provider, r.res.Usage)
		total := usageOf(r.res.Usage)
		fin.TotalUsage = &total
		fin.Response = &responseMeta{ID: last.ResponseID, ModelID: last.ReportedModel(), Timestamp: fin.Metadata.Timestamp,
			ModelMetadata: last.Metadata()}
		fin.Output.Steps, fin.Messages = stepValues(r.res.StepResults), r.finishMessages()
	}
	err := r.send(ChunkFinish, fin)
	if err != nil {
		return nil, err // saved all the same: the turn was complete
	}
	if so.object != nil {
		c := r.chunk(ChunkObjectResult, nil)
		c.Object = so.object
		switch {
		case so.usedFallback:
			c.Metadata = map[string]any{"fallback": true}
		case !r.so.direct():
			c.Metadata = map[string]any{"from": "structured-output"}
		}
		if err := r.sendChunk(c); err != nil {
			return nil, err // saved all the same
		}
	}
	return &r.res, nil
}

// stepMeta is the metadata of a step's chunks.
func stepMeta(st Step) stepMetadata {
	mm := st.Metadata()
	return stepMetadata{ID: st.ResponseID, Timestamp: st.Finished.Format(time.RFC3339Nano), ModelID: st.ReportedModel(),
		ModelMetadata: &mm, ProviderMetadata: ProviderMetadata(st.Provider, st.Usage)}
}

// settle ends the turn's structured output: the structuring pass in
// processor mode, then the check against the schema and the error
// strategy. A strict failure is the turn's error.
func (r *run) settle(ctx context.Context) (soOutcome, error) {
	text, finish := r.res.Text, r.res.FinishReason
	if !r.so.direct() {
		var err error
		if text, finish, err = r.structure(ctx, r.res.Text); err != nil {
			return soOutcome{}, err
		}
	}
	o := r.so.settle(text, finish)
	if o.err != nil {
		return o, o.err
	}
	if o.warning != "" {
		r.s.log.LogAttrs(ctx, slog.LevelWarn, "agent: structured output does not match its schema",
			slog.String("agent", r.a.ID), slog.String("run", r.res.RunID), slog.String("strategy", r.so.o.ErrorStrategy),
			slog.String("error", truncate(o.warning, maxToolError)))
	}
	return o, nil
}

func validate(in Input) error {
	var problems []string
	if in.ResourceID == "" {
		problems = append(problems, "resourceId is required")
	}
	if len(in.Messages) == 0 {
		problems = append(problems, "messages: at least one message is required")
	}
	for i, m := range in.Messages {
		switch m.Role {
		case llm.RoleUser, llm.RoleSystem, llm.RoleAssistant:
		case llm.RoleTool:
			if m.ToolCallID == "" {
				problems = append(problems, fmt.Sprintf("messages[%d]: a tool message needs a toolCallId", i))
			}
		default:
			problems = append(problems, fmt.Sprintf("messages[%d]: unknown role %q", i, m.Role))
		}
	}
	for i, t := range in.ClientTools {
		if t.Name == "" {
			problems = append(problems, fmt.Sprintf("clientTools[%d]: no name", i))
		}
	}
	if in.MaxSteps < 0 {
		problems = append(problems, "maxSteps: must not be negative")
	}
	if err := in.ModelSettings.Check(); err != nil {
		problems = append(problems, err.Error())
	}
	if in.StructuredOutput != nil {
		if err := in.StructuredOutput.Check(); err != nil {
			return err
		}
	}
	if len(in.IdempotencyKey) > MaxIdempotencyKey {
		problems = append(problems, fmt.Sprintf("idempotency key: at most %d bytes", MaxIdempotencyKey))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidInput, strings.Join(problems, "; "))
	}
	return nil
}

// model returns the model in use.
func (r *run) model() Choice { return r.models[r.cur] }

// modelID returns the model in use's name, or its provider's for echo.
func (r *run) modelID() string {
	if m := r.model(); m.ModelID != "" {
		return m.ModelID
	}
	return r.model().Provider
}

func (r *run) maxSteps() int {
	switch {
	case r.in.MaxSteps > 0:
		return r.in.MaxSteps
	case r.a.MaxSteps > 0:
		return r.a.MaxSteps
	}
	return DefaultMaxSteps
}

// tool returns the server tool of this turn named name: the agent's, or
// the built-in working memory tool; nil when there is none.
func (r *run) tool(name string) Tool {
	if r.wmTool() && name == WorkingMemoryTool {
		return wmTool{r}
	}
	if d, ok := r.delegation(name); ok {
		return d
	}
	return r.a.tool(name)
}

// tools lists the agent's tools, the built-in working memory tool and then
// the client's; a client tool with the name of a server tool is left out
// (the server's own tool wins).
func (r *run) tools() []llm.Tool {
	out := r.allTools()
	if r.in.ActiveTools == nil {
		return out
	}
	kept := out[:0]
	for _, t := range out {
		if slices.Contains(r.in.ActiveTools, t.Name) {
			kept = append(kept, t)
		}
	}
	return kept
}

// withContext puts a turn's context messages after the system prompt.
func withContext(msgs, extra []llm.Message) []llm.Message {
	if len(extra) == 0 {
		return msgs
	}
	at := 0
	if len(msgs) > 0 && msgs[0].Role == llm.RoleSystem {
		at = 1
	}
	return slices.Concat(msgs[:at], extra, msgs[at:])
}

// checkTools refuses activeTools and toolChoice naming a tool the turn
// does not have.
func checkTools(a *Agent, in Input) error {
	has := func(name string) bool {
		if a.tool(name) != nil || (a.WorkingMemory != nil && name == WorkingMemoryTool) {
			return true
		}
		if id, ok := strings.CutPrefix(name, SubAgentToolPrefix); ok && slices.ContainsFunc(a.SubAgents, func(s SubAgent) bool { return s.ID == id }) {
			return true
		}
		for _, t := range in.ClientTools {
			if t.Name == name {
				return true
			}
		}
		return false
	}
	for _, name := range in.ActiveTools {
		if !has(name) {
			return &OptionError{Field: "activeTools", Message: fmt.Sprintf("no tool %q", truncate(name, 100))}
		}
	}
	switch in.ToolChoice {
	case "", "auto", "none", "required":
	default:
		if !has(in.ToolChoice) {
			return &OptionError{Field: "toolChoice", Message: fmt.Sprintf("no tool %q", truncate(in.ToolChoice, 100))}
		}
	}
	return nil
}

// allTools lists every tool of the turn, before activeTools.
func (r *run) allTools() []llm.Tool {
	var out []llm.Tool
	for _, t := range r.a.Tools {
		out = append(out, llm.Tool{Name: t.Name(), Description: t.Description(), Parameters: t.InputSchema()})
	}
	if r.wmTool() {
		t := wmTool{r}
		out = append(out, llm.Tool{Name: t.Name(), Description: t.Description(), Parameters: t.InputSchema()})
	}
	for _, sub := range r.a.SubAgents {
		d := delegation{r: r, sub: sub}
		out = append(out, llm.Tool{Name: d.Name(), Description: d.Description(), Parameters: d.InputSchema()})
	}
	for _, t := range r.in.ClientTools {
		if r.tool(t.Name) == nil {
			out = append(out, t)
		}
	}
	return out
}

func (r *run) isClientTool(name string) bool {
	for _, t := range r.in.ClientTools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// loop calls the model until it stops calling server tools, a client tool
// is called or the step limit is reached.
func (r *run) loop(ctx context.Context) error {
	system := r.a.Instructions
	for _, more := range []string{r.in.Instructions, r.wmInstructions(), r.recallSystem, r.soInstructions()} {
		if more != "" {
			if system != "" {
				system += "\n\n"
			}
			system += more
		}
	}
	req := llm.Request{
		Messages:   withContext(prompt(system, r.history(), r.in.Messages), r.in.Context),
		Tools:      r.tools(),
		ToolChoice: r.in.ToolChoice,
	}
	r.a.ModelSettings.Override(r.in.ModelSettings).apply(&req)
	first := 0
	if r.waiting != nil {
		// A resumed turn goes on from the step it waited in; its answer
		// is the human's, so the stream starts at once.
		req, first, r.live = r.state.Request, r.state.Step, true
	}
	r.prompt, r.promptSteps = req.Messages, len(r.res.StepResults)
	toolCtx := context.WithValue(context.WithValue(ctx, turnResourceKey{}, r.owner()), toolRunKey{}, r)
	if r.in.RequestContext != nil {
		toolCtx = reqctx.With(toolCtx, r.in.RequestContext)
	}
	r.start = &startPayload{ID: r.a.ID, MessageID: r.res.MessageID, ThreadID: r.res.ThreadID, ResourceID: r.res.ResourceID}
	if err := r.send(ChunkStart, r.start); err != nil {
		return err
	}
	for step := first; ; step++ {
		var (
			resp        *llm.Response
			st          Step
			from        int // the first call of resp to handle
			stepFrom    = len(r.res.ToolCalls)
			stepResults []Chunk
			toolMsgs    []llm.Message
			pending     bool // a client tool was called
		)
		ws := r.waiting
		r.waiting = nil
		if ws != nil {
			resp, from, toolMsgs, stepFrom = ws.resp, ws.call, ws.toolMsgs, ws.stepFrom
			// The step began before the turn waited; its start time is
			// not kept, so the resumed step counts from now.
			cur := r.model()
			st = Step{Text: resp.Text, Reasoning: resp.Reasoning, FinishReason: resp.FinishReason, Usage: resp.Usage,
				ResponseID: resp.ID, ResponseModel: resp.Model, Provider: cur.Provider, ModelID: cur.ModelID,
				StartedAt: time.Now().UTC(), Finished: time.Now().UTC()}
		} else {
			started := r.clk.next()
			stepAt := started.UnixMilli()
			if err := r.send(ChunkStepStart, stepStartPayload{MessageID: r.res.MessageID, StartedAt: stepAt, Warnings: []any{}}); err != nil {
				return err
			}
			var err error
			resp, err = r.call(ctx, req)
			if err != nil {
				return err
			}
			cur := r.model()
			st = Step{Text: resp.Text, Reasoning: resp.Reasoning, FinishReason: resp.FinishReason, Usage: resp.Usage,
				ResponseID: resp.ID, ResponseModel: resp.Model, Provider: cur.Provider, ModelID: cur.ModelID,
				StartedAt: started, Finished: time.Now().UTC()}
			r.parts = append(r.parts, memory.Part{Type: "step-start", Model: r.model().Ref(), CreatedAt: stepAt})
			r.res.Model = r.model().Ref()
			r.res.Steps++
			r.res.Usage = r.res.Usage.Add(resp.Usage)
			r.allText.WriteString(resp.Text)
			for _, rs := range resp.Reasoning {
				r.parts = append(r.parts, reasoningPart(rs, r.clk.next().UnixMilli()))
			}
			if resp.Text != "" {
				r.parts = append(r.parts, memory.Part{Type: "text", Text: resp.Text, CreatedAt: r.clk.next().UnixMilli()})
			}
		}

		// waits are the step's calls that wait for a human: each is
		// announced as it comes, the others run, and the turn stops at the
		// end of the step (approval.go).
		var waits []*Suspension
		for i := from; i < len(resp.ToolCalls); i++ {
			tc := resp.ToolCalls[i]
			args := argsJSON(tc.Arguments)
			var inv *memory.ToolInvocation
			switch {
			case ws != nil && tc.ID == ws.decided:
				// The call this resume decides: its chunk and part exist.
				msg, done, err := r.decide(ws, tc)
				if err != nil {
					return err
				}
				if done {
					toolMsgs = append(toolMsgs, msg)
					continue
				}
				inv = r.invOf(tc.ID)
			case ws != nil && ws.pending[tc.ID] != nil:
				// Another call of the step still waits: announced again, so
				// the resumed stream says what is left to decide.
				w := ws.pending[tc.ID]
				if err := r.announce(w); err != nil {
					return err
				}
				waits = append(waits, w)
				continue
			case ws != nil && ws.ranAll:
				continue // run before the turn waited: its answer is in toolMsgs
			default:
				call := r.chunk(ChunkToolCall, ToolCallPayload{ToolCallID: tc.ID, ToolName: tc.Name, Args: args, stepUsage: resp.Usage})
				r.res.ToolCalls = append(r.res.ToolCalls, call)
				if err := r.sendChunk(call); err != nil {
					return err
				}
				n := step
				inv = &memory.ToolInvocation{State: "call", ToolCallID: tc.ID, ToolName: tc.Name, Args: args, Step: &n}
				r.parts = append(r.parts, memory.Part{Type: "tool-invocation", ToolInvocation: inv})
				r.invs = append(r.invs, inv)
				if r.needsApproval(tc.Name) {
					w := &Suspension{ToolCallID: tc.ID, ToolName: tc.Name, Args: args, Approval: true, ResumeSchema: approvalSchema}
					if err := r.announce(w); err != nil {
						return err
					}
					waits = append(waits, w)
					continue
				}
			}
			if r.tool(tc.Name) == nil && r.isClientTool(tc.Name) {
				pending = true
				continue
			}
			var resume json.RawMessage // a suspended tool's resume data
			callCtx := toolCtx
			switch {
			case ws != nil && tc.ID == ws.decided && ws.wait != nil && ws.wait.DelegatedRunID != "":
				callCtx = context.WithValue(toolCtx, delegatedResumeKey{}, ws) // delegate.go
			case ws != nil && tc.ID == ws.decided && ws.data != nil:
				resume = ws.data
				if ws.wait != nil && !ws.wait.Approval {
					callCtx = context.WithValue(toolCtx, suspendPayloadKey{}, orNullJSON(ws.wait.Payload))
				}
			}
			r.convo, r.callID, r.callName = req.Messages, tc.ID, tc.Name
			result, failure, err := r.execute(callCtx, tc, resume)
			var ts *ToolSuspend
			if errors.As(err, &ts) {
				w := r.suspendedBy(tc, ts)
				if err := r.announce(w); err != nil {
					return err
				}
				waits = append(waits, w)
				continue
			}
			if err != nil {
				return err
			}
			inv.State, inv.Result = "result", result
			var out Chunk
			if failure != "" {
				out = r.chunk(ChunkToolError, toolErrorPayload{ToolCallID: tc.ID, ToolName: tc.Name, Args: args,
					Error: errorObject{Message: failure, Name: "ToolError"}})
			} else {
				out = r.chunk(ChunkToolResult, toolResultPayload{Args: args, ToolCallID: tc.ID, ToolName: tc.Name, Result: result})
			}
			r.res.ToolResults = append(r.res.ToolResults, out)
			stepResults = append(stepResults, out)
			if err := r.sendChunk(out); err != nil {
				return err
			}
			toolMsgs = append(toolMsgs, llm.Message{Role: llm.RoleTool, ToolCallID: tc.ID, Content: r.modelOutput(tc.Name, result, failure)})
		}

		if len(waits) > 0 {
			return r.suspend(req, step, resp, toolMsgs, stepFrom, waits)
		}
		reason := resp.FinishReason
		if len(resp.ToolCalls) > 0 {
			reason = llm.FinishToolCalls
		}
		r.res.FinishReason = reason
		st.FinishReason, st.ToolCalls, st.ToolResults = reason, nonNil(r.res.ToolCalls[stepFrom:]), stepResults
		r.res.StepResults = append(r.res.StepResults, st)
		more := len(resp.ToolCalls) > 0 && !pending && step+1 < r.maxSteps()
		meta := stepMeta(st)
		err := r.send(ChunkStepFinish, stepFinishPayload{
			MessageID:        r.res.MessageID,
			StepResult:       stepResult{Reason: reason, Warnings: []any{}, IsContinued: more},
			Output:           stepOutput{Text: resp.Text, ToolCalls: st.ToolCalls, Usage: usageOf(resp.Usage)},
			Metadata:         meta,
			ProviderMetadata: meta.ProviderMetadata,
		})
		if err != nil {
			return err
		}
		if !more {
			r.res.Text = r.allText.String()
			return nil
		}
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, Content: resp.Text, ToolCalls: resp.ToolCalls, Reasoning: resp.Reasoning})
		req.Messages = append(req.Messages, toolMsgs...)
	}
}

// call asks the model in use for one step, falling back to the agent's
// next model while a call fails before its first token with an error worth
// another provider (fallbackWorthy).
func (r *run) call(ctx context.Context, req llm.Request) (*llm.Response, error) {
	for {
		resp, answered, err := r.attempt(ctx, req)
		if err == nil || answered || r.cur+1 >= len(r.models) || !fallbackWorthy(ctx, err) {
			return resp, err
		}
		from := r.model().Ref()
		r.cur++
		if r.a.OnFallback != nil {
			r.a.OnFallback(FallbackEvent{AgentID: r.a.ID, RunID: r.res.RunID, From: from, To: r.model().Ref(), Err: err})
		}
	}
}

// fallbackWorthy reports an error of the provider rather than of the
// request or the caller: unavailable (429, 5xx, connection refused or
// reset) or no response within the provider's timeout, while the turn's
// own context is still live.
func fallbackWorthy(ctx context.Context, err error) bool {
	return ctx.Err() == nil && (errors.Is(err, llm.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded))
}

// attempt asks the model in use for one step: whole for Generate, streamed
// for Stream, turning the pieces into chunks. answered reports that the
// model produced some of its reply, after which no fallback is possible.
func (r *run) attempt(ctx context.Context, req llm.Request) (*llm.Response, bool, error) {
	if r.s.obs == nil {
		return r.attempt1(ctx, req)
	}
	m := r.model()
	ctx, mc := r.s.obs.StartModelCall(ctx, ModelCallInfo{Agent: r.a, Provider: m.Provider, Model: m.ModelID,
		Request: &req, Stream: r.emit != nil})
	r.firstChunk = mc.FirstChunk
	resp, answered, err := r.attempt1(ctx, req)
	r.firstChunk = nil
	mc.End(resp, err)
	return resp, answered, err
}

func (r *run) attempt1(ctx context.Context, req llm.Request) (_ *llm.Response, answered bool, _ error) {
	m := r.model()
	req.Model = m.ModelID
	if r.so != nil && r.so.direct() && !r.so.o.JSONPromptInjection && !m.NoJSONSchema {
		// Per call: a fallback's provider may want the schema otherwise.
		req.ResponseFormat = &llm.ResponseFormat{Schema: r.so.schemaFor(m.Provider)}
	}
	if r.emit == nil {
		resp, err := m.Model.Generate(ctx, req)
		if err != nil {
			return nil, false, r.modelError(err)
		}
		return resp, true, nil
	}
	if !r.live {
		// Still held back: the start chunk names the model that answers.
		r.start.ModelID, r.start.Provider = r.modelID(), m.Provider
	}
	r.inputs = r.inputs[:0]
	resp, err := m.Model.Stream(ctx, req, func(d llm.Delta) error {
		answered = true
		return r.onDelta(d)
	})
	if err != nil {
		if r.gone != nil {
			return nil, true, r.gone
		}
		return nil, answered, r.modelError(err)
	}
	if err := r.goLive(); err != nil {
		return nil, true, err
	}
	if err := r.endText(); err != nil {
		return nil, true, err
	}
	if err := r.endReasoning(); err != nil {
		return nil, true, err
	}
	for _, tc := range r.inputs {
		if err := r.send(ChunkToolInputEnd, toolInputEndPayload{ToolCallID: tc.ID}); err != nil {
			return nil, true, err
		}
	}
	return resp, true, nil
}

// onDelta turns one streamed piece into chunks.
func (r *run) onDelta(d llm.Delta) error {
	if r.firstChunk != nil {
		r.firstChunk()
		r.firstChunk = nil
	}
	if err := r.goLive(); err != nil {
		return err
	}
	if d.Reasoning != "" {
		if err := r.endText(); err != nil {
			return err
		}
		if r.thinkID == "" {
			r.thinkID = fmt.Sprintf("rsn-%d", r.textN)
			r.textN++
			if err := r.send(ChunkReasoningStart, textIDPayload{ID: r.thinkID}); err != nil {
				return err
			}
		}
		if err := r.send(ChunkReasoningDelta, textDeltaPayload{ID: r.thinkID, Text: d.Reasoning}); err != nil {
			return err
		}
	}
	if d.Text != "" {
		if err := r.endReasoning(); err != nil {
			return err
		}
		if r.textID == "" {
			r.textID = fmt.Sprintf("txt-%d", r.textN)
			r.textN++
			if err := r.send(ChunkTextStart, textIDPayload{ID: r.textID}); err != nil {
				return err
			}
		}
		if r.so != nil && r.so.direct() {
			// Mastra sends the partial object before the text that made it.
			if v := r.so.partial(d.Text); v != nil {
				c := r.chunk(ChunkObject, nil)
				c.Object = v
				if err := r.sendChunk(c); err != nil {
					return err
				}
			}
		}
		if err := r.send(ChunkTextDelta, textDeltaPayload{ID: r.textID, Text: d.Text}); err != nil {
			return err
		}
	}
	if d.ToolCallStart != nil {
		if err := r.endText(); err != nil {
			return err
		}
		if err := r.endReasoning(); err != nil {
			return err
		}
		for len(r.inputs) <= d.ToolCallIndex {
			r.inputs = append(r.inputs, llm.ToolCall{})
		}
		r.inputs[d.ToolCallIndex] = *d.ToolCallStart
		if err := r.send(ChunkToolInputStart, toolInputStartPayload{ToolCallID: d.ToolCallStart.ID, ToolName: d.ToolCallStart.Name}); err != nil {
			return err
		}
	}
	if d.ArgsDelta != "" && d.ToolCallIndex < len(r.inputs) {
		tc := r.inputs[d.ToolCallIndex]
		if err := r.send(ChunkToolCallDelta, toolCallDeltaPayload{ArgsTextDelta: d.ArgsDelta, ToolCallID: tc.ID, ToolName: tc.Name}); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) endReasoning() error {
	if r.thinkID == "" {
		return nil
	}
	id := r.thinkID
	r.thinkID = ""
	return r.send(ChunkReasoningEnd, textEndPayload{Type: ChunkReasoningEnd, ID: id})
}

func (r *run) endText() error {
	if r.textID == "" {
		return nil
	}
	id := r.textID
	r.textID = ""
	return r.send(ChunkTextEnd, textEndPayload{Type: ChunkTextEnd, ID: id})
}

// execute runs a server tool. A failure the model should see (unknown
// tool, arguments that are not a JSON object or do not match the tool's
// input schema, the tool's error or panic)
// comes back as failure, with result {"error": failure}; err is set only
// when the turn itself is cancelled, or is the tool's *ToolSuspend. A
// resumed call (resume: its resume data) gets the data in its arguments,
// which are not checked again, as in Mastra.
func (r *run) execute(ctx context.Context, tc llm.ToolCall, resume json.RawMessage) (result json.RawMessage, failure string, err error) {
	t := r.tool(tc.Name)
	if r.s.obs != nil {
		var end func(ToolCallEnd)
		ctx, end = r.s.obs.StartToolCall(ctx, ToolCallInfo{Agent: r.a, Tool: tc.Name, Known: t != nil,
			ToolCallID: tc.ID, Args: tc.Arguments})
		defer func() {
			var ts *ToolSuspend
			if errors.As(err, &ts) {
				end(ToolCallEnd{Outcome: ToolOK, Result: ts.Payload})
				return
			}
			if err != nil {
				end(ToolCallEnd{Outcome: OutcomeCanceled, Failure: err.Error()})
				return
			}
			o := ToolOK
			if failure != "" {
				o = ToolError
			}
			end(ToolCallEnd{Outcome: o, Result: result, Failure: failure})
		}()
	}
	defer func() {
		if failure != "" {
			result, _ = json.Marshal(map[string]string{"error": failure}) // a string map always marshals
		}
	}()
	if t == nil {
		return nil, fmt.Sprintf("unknown tool %q", truncate(tc.Name, 100)), nil
	}
	var obj map[string]json.RawMessage
	if a := bytes.TrimSpace(tc.Arguments); len(a) == 0 || a[0] != '{' || json.Unmarshal(a, &obj) != nil {
		return nil, "invalid arguments: not a JSON object", nil
	}
	// The working memory tool checks its own arguments: a JSON update is a
	// patch (fields left out, null to remove) that the schema it shows
	// the model would refuse.
	args := tc.Arguments
	if resume != nil {
		args = withResumeData(args, resume)
	} else if _, builtin := t.(wmTool); !builtin {
		schema, serr := toolschema.For(t.InputSchema())
		if serr != nil { // NewService compiled it already: only a tool whose schema changed gets here
			return nil, "tool unavailable: its input schema does not compile", nil
		}
		if verr := schema.Validate(tc.Arguments); verr != nil {
			return nil, "invalid arguments: " + truncate(verr.Error(), maxToolError), nil
		}
	}
	out, terr := r.runTool(ctx, t, args)
	if ctx.Err() != nil {
		return nil, "", fmt.Errorf("agent %s: tool %s: %w", r.a.ID, tc.Name, ctx.Err())
	}
	var ts *ToolSuspend
	if errors.As(terr, &ts) {
		return nil, "", ts
	}
	if terr != nil {
		r.s.log.LogAttrs(ctx, slog.LevelWarn, "agent: tool failed",
			slog.String("agent", r.a.ID), slog.String("tool", tc.Name), slog.String("run", r.res.RunID), slog.String("error", terr.Error()))
		return nil, "tool failed: " + truncate(terr.Error(), maxToolError), nil
	}
	out = bytes.TrimSpace(out)
	switch {
	case len(out) == 0:
		out = json.RawMessage("null")
	case !json.Valid(out):
		out, _ = json.Marshal(string(out)) // a string always marshals
	}
	return out, "", nil
}

// runTool calls t.Execute, turning a panic into an error.
func (r *run) runTool(ctx context.Context, t Tool, args json.RawMessage) (out json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.s.log.LogAttrs(ctx, slog.LevelError, "agent: tool panicked",
				slog.String("agent", r.a.ID), slog.String("tool", t.Name()), slog.String("panic", fmt.Sprint(p)))
			err = errors.New("tool crashed")
		}
	}()
	return t.Execute(ctx, args)
}

const maxToolError = 500

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// reply builds the saved assistant message of the turn.
func (r *run) reply() memory.Message {
	at := r.clk.next()
	c := memory.Content{
		Format:          2,
		Parts:           r.parts,
		Content:         r.res.Text,
		ToolInvocations: r.invs,
	}
	meta := replyMetadata{finishReason: r.res.FinishReason, modelID: r.modelID(), provider: r.model().Provider,
		digest: r.idem.digest, usage: usageOf(r.res.Usage)}
	if r.res.Object != nil && r.idem.digest != "" {
		// Kept with the reply, so a retry by idempotency key answers it
		// too (only then: it is read back for nothing else).
		meta.object, meta.usedFallback = r.res.Object, r.res.UsedFallbackValue
	}
	m := memory.Message{ID: r.res.MessageID, Role: llm.RoleAssistant, Type: "v2", CreatedAt: at}
	if len(r.waits) == 0 {
		b, err := appendReplyContent(make([]byte, 0, 256+2*len(r.res.Text)), &c, &meta)
		if err == nil {
			// Handed to the store parsed, so its save need not parse it.
			md, ok := meta.decoded()
			if !ok {
				m.Content = b
				return m
			}
			c.Metadata = md
			return m.WithParsed(b, c)
		}
		// Raw JSON that is not valid: json.Marshal fails on it below too.
	}
	// The waiting calls' entries are maps: the metadata goes as a map.
	c.Metadata = meta.asMap()
	for _, w := range r.waits {
		m, _ := c.Metadata[w.metadataKey()].(map[string]any)
		if m == nil {
			m = map[string]any{}
			c.Metadata[w.metadataKey()] = m
		}
		m[w.ToolCallID] = w.metadata(r.res.RunID)
	}
	m.Content, _ = json.Marshal(c) // plain types and (but for a caller's bug) valid raw JSON
	return m
}

// chunk builds a chunk of this run.
func (r *run) chunk(typ string, payload any) Chunk {
	return Chunk{Type: typ, RunID: r.res.RunID, From: "AGENT", Payload: payload}
}

func (r *run) send(typ string, payload any) error {
	return r.sendChunk(r.chunk(typ, payload))
}

// sendChunk emits a chunk, or holds it back until the model has produced
// something. Generate emits nothing.
func (r *run) sendChunk(c Chunk) error {
	if r.emit == nil {
		return nil
	}
	if r.gone != nil {
		return r.gone
	}
	if !r.live {
		r.queued = append(r.queued, c)
		return nil
	}
	r.track.Track(c)
	if err := r.emit(c); err != nil {
		r.gone = &goneError{err}
		return r.gone
	}
	return nil
}

// goLive sends the held-back chunks; from now on chunks go out at once.
func (r *run) goLive() error {
	if r.live || r.emit == nil {
		return nil
	}
	r.live = true
	q := r.queued
	r.queued = nil
	for _, c := range q {
		if err := r.sendChunk(c); err != nil {
			return err
		}
	}
	return nil
}

// modelError wraps a model's error with the agent and model, keeping the
// cause for errors.Is and errors.As.
func (r *run) modelError(err error) error {
	return fmt.Errorf("agent %s: model %s: %w", r.a.ID, r.model().Ref(), err)
}

// goneError is emit's error: the client went away.
type goneError struct{ err error }

func (e *goneError) Error() string { return "agent: stream client gone: " + e.err.Error() }
func (e *goneError) Unwrap() error { return e.err }

// saveError is a failure to save a completed turn.
type saveError struct{ err error }

func (e *saveError) Error() string { return "agent: save turn: " + e.err.Error() }
func (e *saveError) Unwrap() error { return e.err }

// fail ends a failed turn. When chunks already went out and someone is
// there to read more, it emits the end its tracker writes (ending.go): an
// "error" chunk with a safe message, then "step-finish" and "finish" with
// reason "error". Every exit of a live stream that does not finish comes
// through here, so that no caller has to end a stream. It returns err.
func (r *run) fail(parent context.Context, err error) error {
	if r.emit == nil || !r.live || r.gone != nil {
		return err
	}
	msg := failMessage(parent, err)
	if msg == "" {
		return err // the client went away: nobody to tell
	}
	r.s.log.LogAttrs(parent, slog.LevelDebug, "agent: stream failed after its first chunk",
		slog.String("agent", r.a.ID), slog.String("run", r.res.RunID), slog.String("error", err.Error()))
	r.track.modelID = r.modelID() // a fallback may answer a later step
	for _, c := range r.track.End(msg) {
		_ = r.sendChunk(c)
	}
	return err
}

// failMessage is the "error" chunk's message for a turn that failed with
// err; "" when the turn was cancelled without an EndCause.
func failMessage(parent context.Context, err error) string {
	var save *saveError
	var end *EndCause
	var soe *StructuredOutputError
	switch {
	case parent.Err() != nil:
		if errors.As(context.Cause(parent), &end) {
			return end.Message
		}
		return ""
	case errors.As(err, &soe):
		return soe.Message
	case errors.As(err, &save), errors.Is(err, ErrAnswered):
		return "could not save the conversation"
	case errors.Is(err, context.DeadlineExceeded):
		return "model timed out"
	case errors.Is(err, llm.ErrUnavailable):
		return "model provider unavailable"
	}
	return "model provider error"
}

func nonNil(c []Chunk) []Chunk {
	if c == nil {
		return []Chunk{}
	}
	return c
}

// soInstructions is the structured output's part of the system prompt:
// the schema when it is injected, the fields to cover in processor mode.
func (r *run) soInstructions() string {
	switch {
	case r.so == nil:
		return ""
	case !r.so.direct():
		return r.so.fieldsNote()
	case r.so.o.JSONPromptInjection:
		return r.so.injection()
	}
	for _, m := range r.models {
		if m.NoJSONSchema {
			// The prompt is built once; a fallback without the format
			// needs the schema there too.
			return r.so.injection()
		}
	}
	return ""
}

// wmInstructions is the working memory block of the system prompt, "" when
// the turn has no working memory.
func (r *run) wmInstructions() string {
	if !r.wmOn {
		return ""
	}
	if r.in.ReadOnly {
		return r.a.WorkingMemory.readOnlyInstructions(r.wmSeen)
	}
	return r.a.WorkingMemory.instructions(r.wmSeen)
}

// saves says the turn writes memory: a store, and neither Ephemeral nor
// ReadOnly.
func (r *run) saves() bool { return r.s.store != nil && !r.in.Ephemeral && !r.in.ReadOnly }

// wmTool says the working memory tool is offered: working memory on and
// the turn not ReadOnly.
func (r *run) wmTool() bool { return r.wmOn && !r.in.ReadOnly }
