package limits

import (
	"context"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
)

// Agents makes svc refuse a turn of a subject whose model tokens of this
// minute are spent, before any model call, and count the tokens of every
// model call against the subject of its request (see [WithSubject]). A
// turn no request started (a workflow's agent step) counts against its
// run's resource with the limits background (the global ones): the same
// budget as that resource's requests, so starting workflows does not get
// around it. It returns obs joined with the observer that counts; pass
// that to svc.SetObserver. A nil l changes nothing.
func (l *Limiter) Agents(svc *agent.Service, obs agent.Observer, background Limits) agent.Observer {
	if l == nil {
		return obs
	}
	svc.SetAdmission(func(ctx context.Context, t agent.TurnInfo) error {
		sub, ok := SubjectFrom(ctx)
		if !ok {
			if t.ResourceID == "" {
				return nil
			}
			sub = ResourceSubject(t.ResourceID, background)
		}
		return l.CheckTokens(ctx, sub)
	})
	return agent.Observers(obs, tokenSpender{l, background})
}

// ResourceSubject is the subject of a request, or a background turn, bound
// to resource id.
func ResourceSubject(id string, l Limits) Subject { return Subject{Key: "resource:" + id, Limits: l} }

// tokenSpender counts each model call's tokens against its request's
// subject.
type tokenSpender struct {
	l          *Limiter
	background Limits
}

// StartTurn gives a turn no request started its resource's subject, for
// its model calls.
func (o tokenSpender) StartTurn(ctx context.Context, t agent.TurnInfo) (context.Context, func(agent.TurnEnd)) {
	if _, ok := SubjectFrom(ctx); !ok && t.ResourceID != "" {
		ctx = WithSubject(ctx, ResourceSubject(t.ResourceID, o.background))
	}
	return ctx, func(agent.TurnEnd) {}
}

func (o tokenSpender) StartModelCall(ctx context.Context, _ agent.ModelCallInfo) (context.Context, agent.ModelCallObserver) {
	sub, ok := SubjectFrom(ctx)
	if !ok {
		return ctx, nopCall{}
	}
	return ctx, &spend{ctx: ctx, l: o.l, sub: sub}
}

func (o tokenSpender) StartToolCall(ctx context.Context, _ agent.ToolCallInfo) (context.Context, func(agent.ToolCallEnd)) {
	return ctx, func(agent.ToolCallEnd) {}
}

type spend struct {
	ctx context.Context // the call's, for its values; never its cancellation
	l   *Limiter
	sub Subject
}

func (s *spend) FirstChunk() {}

func (s *spend) End(resp *llm.Response, _ error) {
	if resp == nil {
		return
	}
	n := resp.Usage.TotalTokens
	if n == 0 {
		n = resp.Usage.InputTokens + resp.Usage.OutputTokens
	}
	_ = s.l.SpendTokens(s.ctx, s.sub, n) // a lost count lets a little more through, nothing worse
}

type nopCall struct{}

func (nopCall) FirstChunk()              {}
func (nopCall) End(*llm.Response, error) {}
