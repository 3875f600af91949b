package agent

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mastra-server/mastra-server/host/llm"
)

// Observer watches turns, model calls and tool calls, for metrics and
// traces; host/metrics and host/tracing implement it. Its methods run on
// the turn's goroutine; each returned end function is called exactly once.
// The context a Start method returns is the one the work then runs under
// (a trace span, say), so a model call inside a turn is the turn's child.
type Observer interface {
	StartTurn(ctx context.Context, t TurnInfo) (context.Context, func(TurnEnd))
	StartModelCall(ctx context.Context, c ModelCallInfo) (context.Context, ModelCallObserver)
	StartToolCall(ctx context.Context, c ToolCallInfo) (context.Context, func(ToolCallEnd))
}

// ModelCallObserver follows one model call.
type ModelCallObserver interface {
	// FirstChunk is called when a streamed reply produced its first piece.
	FirstChunk()
	// End is called once with the reply, or the error.
	End(resp *llm.Response, err error)
}

// TurnInfo describes a turn as it starts.
type TurnInfo struct {
	Agent    *Agent
	RunID    string
	ThreadID string
	// ResourceID is the thread's owner.
	ResourceID string
	Stream     bool
	// Messages are the turn's new messages, as the client sent them.
	Messages []llm.Message
}

// Turn outcomes.
const (
	OutcomeOK       = "ok"
	OutcomeError    = "error"
	OutcomeCanceled = "canceled" // the client left or the request timed out
	OutcomeReplayed = "replayed" // answered from a saved turn (idempotency key)
	// OutcomeSuspended: the turn waits for a human (approval.go); its
	// resume is a turn of its own.
	OutcomeSuspended = "suspended"
)

// TurnEnd is how a turn ended.
type TurnEnd struct {
	Outcome string
	// Result is the turn's result; nil when it failed.
	Result *Result
	Err    error
}

// ModelCallInfo describes one call to a model: one step of a turn, or one
// attempt of it when the agent falls back to another model.
type ModelCallInfo struct {
	Agent *Agent
	// Provider and Model are the model called (the agent's, or a
	// fallback); Model is "" for the echo model.
	Provider, Model string
	Request         *llm.Request
	Stream          bool
}

// ToolCallInfo describes one server-side tool call.
type ToolCallInfo struct {
	Agent *Agent
	// Tool is the tool's name; Known is false for a name the model made up
	// (no such tool), which observers must not take for a label.
	Tool       string
	Known      bool
	ToolCallID string
	Args       json.RawMessage
}

// Tool call outcomes: the tool answered, or its failure was shown to the
// model (bad arguments, its error, its panic, an unknown tool).
const (
	ToolOK    = "ok"
	ToolError = "error"
)

// ToolCallEnd is how a tool call ended.
type ToolCallEnd struct {
	Outcome string
	Result  json.RawMessage
	// Failure is the failure shown to the model, "" for ToolOK.
	Failure string
}

// SetObserver makes o watch every later turn; nil stops watching. Call it
// before serving: it is not synchronized with running turns.
func (s *Service) SetObserver(o Observer) { s.obs = o }

// outcome classifies a turn's error.
func outcome(ctx context.Context, err error) string {
	var gone *goneError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.As(err, &gone), errors.Is(err, ErrAnswered), ctx.Err() != nil:
		return OutcomeCanceled
	}
	return OutcomeError
}

// Observers joins observers into one, called in order.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) StartTurn(ctx context.Context, t TurnInfo) (context.Context, func(TurnEnd)) {
	ends := make([]func(TurnEnd), len(m))
	for i, o := range m {
		ctx, ends[i] = o.StartTurn(ctx, t)
	}
	return ctx, func(e TurnEnd) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](e)
		}
	}
}

func (m multiObserver) StartModelCall(ctx context.Context, c ModelCallInfo) (context.Context, ModelCallObserver) {
	calls := make(multiCall, len(m))
	for i, o := range m {
		ctx, calls[i] = o.StartModelCall(ctx, c)
	}
	return ctx, calls
}

func (m multiObserver) StartToolCall(ctx context.Context, c ToolCallInfo) (context.Context, func(ToolCallEnd)) {
	ends := make([]func(ToolCallEnd), len(m))
	for i, o := range m {
		ctx, ends[i] = o.StartToolCall(ctx, c)
	}
	return ctx, func(e ToolCallEnd) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](e)
		}
	}
}

type multiCall []ModelCallObserver

func (m multiCall) FirstChunk() {
	for _, c := range m {
		c.FirstChunk()
	}
}

func (m multiCall) End(resp *llm.Response, err error) {
	for i := len(m) - 1; i >= 0; i-- {
		m[i].End(resp, err)
	}
}
