package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/memory"
)

// newLimiter returns the limiter of [server.limits] and the tokens' own
// limits, or nil when no limit is configured (the default). On Postgres the
// counts are shared by every instance on the database; on SQLite, one
// node, they stay in the process (RATIONALE.md, "Limits").
func newLimiter(c config.Server, store *memory.Store, log *slog.Logger) *limits.Limiter {
	on := globalLimits(c).On()
	for _, t := range c.Auth.Tokens {
		on = on || tokenLimits(c, t).On()
	}
	if !on {
		return nil
	}
	l := limits.NewMemory(log)
	if store.Kind() == "postgres" {
		l = limits.NewStore(store, log)
	}
	l.Now = limitsClock
	return l
}

// limitsClock is the limiter's clock; tests stop it, so that no minute
// (the counting window) ends in the middle of one.
var limitsClock = time.Now

// globalLimits is [server.limits].
func globalLimits(c config.Server) limits.Limits {
	return limits.Limits{RequestsPerMinute: c.Limits.RequestsPerMinute, TokensPerMinute: c.Limits.TokensPerMinute,
		MaxStreams: c.Limits.MaxStreams}
}

// tokenLimits is [server.limits] with what token t's own limits set.
func tokenLimits(c config.Server, t config.Token) limits.Limits {
	l := globalLimits(c)
	if o := t.Limits; o != nil {
		if o.RequestsPerMinute != nil {
			l.RequestsPerMinute = *o.RequestsPerMinute
		}
		if o.TokensPerMinute != nil {
			l.TokensPerMinute = *o.TokensPerMinute
		}
		if o.MaxStreams != nil {
			l.MaxStreams = *o.MaxStreams
		}
	}
	return l
}

// budgets are every subject's limits: [server.limits], and the tokens'
// own by user.
func budgets(c config.Server) limits.Budgets {
	b := limits.Budgets{Global: globalLimits(c)}
	for _, t := range c.Auth.Tokens {
		if t.Limits != nil {
			if b.Tokens == nil {
				b.Tokens = map[string]limits.Limits{}
			}
			b.Tokens[t.User] = tokenLimits(c, t)
		}
	}
	return b
}

// runPrincipals carry the limits subject of the request that starts a
// workflow run to the run's steps (workflow.Principals): a step's turns
// (its agent's, a Wasm tool's agent calls, those of nested runs) then
// spend the starter's budgets, requests and model tokens, on whichever
// instance runs the step. The run stores the subject's key and its token's user, so the
// limits are those configured when the step runs.
type runPrincipals struct{ budgets limits.Budgets }

func (p runPrincipals) Of(ctx context.Context) string {
	if sub, ok := limits.SubjectFrom(ctx); ok {
		return sub.Principal()
	}
	return ""
}

func (p runPrincipals) With(ctx context.Context, principal string) context.Context {
	ctx = limits.AsWork(ctx)
	if sub, ok := p.budgets.Subject(principal); ok {
		return limits.WithSubject(ctx, sub)
	}
	return ctx
}
