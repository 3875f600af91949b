package limits

import (
	"context"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
)

// Agents makes svc refuse a turn, before any model call, while this
// minute's model tokens are spent for any subject the turn counts against,
// and count the tokens of each model call against every one of them. A
// turn counts against its principal, the subject in its context (see
// [WithSubject]: its request's, or for a workflow step the one that
// started the run), and against the resource it runs for with the global
// limits, unless that resource is its principal already (a token's own
// limits replace the global ones for its resource). So neither a workflow
// nor an admin's call for a tenant gets around a budget. A turn of work
// no request carries ([AsWork]) also counts as one request of each. It
// returns obs joined with the observer that counts; pass that to
// svc.SetObserver. A nil l changes nothing.
func (l *Limiter) Agents(svc *agent.Service, obs agent.Observer, global Limits) agent.Observer {
	if l == nil {
		return obs
	}
	svc.SetAdmission(func(ctx context.Context, t agent.TurnInfo) error {
		subs := subjectsOf(ctx, t.ResourceID, global)
		if ctx.Value(workKey{}) != nil {
			for _, sub := range subs {
				if err := l.Request(ctx, sub); err != nil {
					if _, over := err.(*ExceededError); over {
						return err
					}
					// As for a request: the counters are unreachable, the
					// turn goes on.
					l.log.WarnContext(ctx, "limits: counting a turn of background work failed; not limited", "err", err)
				}
			}
		}
		for _, sub := range subs {
			if err := l.CheckTokens(ctx, sub); err != nil {
				return err
			}
		}
		return nil
	})
	return agent.Observers(obs, tokenSpender{l, global})
}

type workKey struct{}

// AsWork marks ctx as work that no request carries, a workflow step: each
// turn under it counts as one request of its subjects, as the turn of a
// request does through its request, so that a run's steps cannot make
// more calls a minute than its starter's requests may.
func AsWork(ctx context.Context) context.Context { return context.WithValue(ctx, workKey{}, true) }

// subjectsOf is what a turn for resourceID counts against: the principal
// in ctx, if any, and the resource with the global limits unless it is
// that principal.
func subjectsOf(ctx context.Context, resourceID string, global Limits) []Subject {
	var out []Subject
	p, ok := SubjectFrom(ctx)
	if ok {
		out = append(out, p)
	}
	if res := ResourceSubject(resourceID, global); resourceID != "" && (!ok || p.Key != res.Key) {
		out = append(out, res)
	}
	return out
}

// ResourceSubject is the subject of a request, or a background turn, bound
// to resource id.
func ResourceSubject(id string, l Limits) Subject { return Subject{Key: "resource:" + id, Limits: l} }

// turnSubjectsKey holds, in a turn's context, the subjects its model calls
// count against.
type turnSubjectsKey struct{}

// tokenSpender counts each model call's tokens against its turn's
// subjects.
type tokenSpender struct {
	l      *Limiter
	global Limits
}

// StartTurn gives the turn's model calls (and its thread's title) the
// subjects they count against.
func (o tokenSpender) StartTurn(ctx context.Context, t agent.TurnInfo) (context.Context, func(agent.TurnEnd)) {
	return context.WithValue(ctx, turnSubjectsKey{}, subjectsOf(ctx, t.ResourceID, o.global)), func(agent.TurnEnd) {}
}

func (o tokenSpender) StartModelCall(ctx context.Context, _ agent.ModelCallInfo) (context.Context, agent.ModelCallObserver) {
	subs, _ := ctx.Value(turnSubjectsKey{}).([]Subject)
	if len(subs) == 0 {
		return ctx, nopCall{}
	}
	return ctx, &spend{ctx: ctx, l: o.l, subs: subs}
}

func (o tokenSpender) StartToolCall(ctx context.Context, _ agent.ToolCallInfo) (context.Context, func(agent.ToolCallEnd)) {
	return ctx, func(agent.ToolCallEnd) {}
}

type spend struct {
	ctx  context.Context // the call's, for its values; never its cancellation
	l    *Limiter
	subs []Subject
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
	for _, sub := range s.subs {
		_ = s.l.SpendTokens(s.ctx, sub, n) // a lost count lets a little more through, nothing worse
	}
}

type nopCall struct{}

func (nopCall) FirstChunk()              {}
func (nopCall) End(*llm.Response, error) {}
