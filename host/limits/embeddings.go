package limits

import (
	"context"
	"errors"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
)

// Embeddings charges semantic recall's embedding calls to the model-token
// budgets, as model calls are: a turn's query embedding to the turn's
// principal and resource, a saved message's embedding (a job run later,
// maybe on another instance) to the principal and resource of the turn
// that saved it, named in the job. A call is refused while any of them has
// spent this window's tokens: the query's recall is skipped (the turn goes
// on without it, as with any recall failure), a job waits for the next
// window (agent.EmbedDeferredError); its tokens count after the call.
// Budgets come from b, the configuration's. A nil l charges nothing.
func (l *Limiter) Embeddings(b Budgets) agent.EmbedBudget {
	if l == nil {
		return nil
	}
	return embedBudget{l: l, b: b}
}

type embedBudget struct {
	l *Limiter
	b Budgets
}

func (e embedBudget) Principal(ctx context.Context) string {
	if s, ok := SubjectFrom(ctx); ok {
		return s.Principal()
	}
	return ""
}

// subjects is what an embedding for principal and resourceID counts
// against: as a turn's model call (subjectsOf), with the principal's
// limits of now.
func (e embedBudget) subjects(principal, resourceID string) []Subject {
	var out []Subject
	p, ok := e.b.Subject(principal)
	if ok {
		out = append(out, p)
	}
	if res := ResourceSubject(resourceID, e.b.Global); resourceID != "" && (!ok || p.Key != res.Key) {
		out = append(out, res)
	}
	return out
}

func (e embedBudget) CheckEmbed(ctx context.Context, principal, resourceID string) (time.Duration, error) {
	for _, sub := range e.subjects(principal, resourceID) {
		err := e.l.CheckTokens(ctx, sub)
		var over *ExceededError
		switch {
		case errors.As(err, &over):
			return over.RetryAfter, err
		case err != nil:
			// As for a request: the counters are unreachable, the call
			// goes on.
			e.l.log.WarnContext(ctx, "limits: checking an embedding's budget failed; not limited", "err", err)
		}
	}
	return 0, nil
}

func (e embedBudget) SpendEmbed(ctx context.Context, principal, resourceID string, tokens int) {
	for _, sub := range e.subjects(principal, resourceID) {
		_ = e.l.SpendTokens(ctx, sub, tokens) // a lost count lets a little more through, nothing worse
	}
}
