package observe

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/mastra-server/mastra-server/host/memory"
)

// ScoreJob is one grading to do: a scorer, what it grades, and the
// trace it is stored under. It is JSON so that a durable queue (River on
// Postgres, host/scorejobs) can keep it: a job queued by one instance is
// run by any, and one whose instance dies is not lost.
type ScoreJob struct {
	ScorerID string `json:"scorerId"`
	// Input is the user's message (kept for LLM judges only); Output the
	// reply, or a workflow's result as JSON.
	Input  string `json:"input,omitempty"`
	Output string `json:"output"`
	// Tools, DurationMS and Tokens are the facts rules read
	// (tool_called, latency, tokens); Tokens is nil when unknown.
	Tools      []string `json:"tools,omitempty"`
	ToolsKnown bool     `json:"toolsKnown,omitempty"`
	DurationMS int64    `json:"durationMs,omitempty"`
	Tokens     *int     `json:"tokens,omitempty"`
	// Source is the score's scoreSource: "live" after a turn or run,
	// "trace" for POST /observability/traces/score.
	Source string `json:"source"`
	// Principal names who the turn or run was for (TokenBudget.Principal),
	// whose budget a judge's tokens count against with the resource's.
	Principal string `json:"principal,omitempty"`

	TraceID     string `json:"traceId"`
	SpanID      string `json:"spanId"`
	EntityType  string `json:"entityType,omitempty"`
	EntityID    string `json:"entityId,omitempty"`
	EntityName  string `json:"entityName,omitempty"`
	ResourceID  string `json:"resourceId,omitempty"`
	ThreadID    string `json:"threadId,omitempty"`
	RunID       string `json:"runId,omitempty"`
	ServiceName string `json:"serviceName,omitempty"`
}

// ScoreQueue keeps score jobs until a worker runs them (RunScore).
type ScoreQueue interface {
	Enqueue(ctx context.Context, job ScoreJob) error
}

// SetScoreQueue hands the jobs after this call to q instead of grading
// them in this process. Until then, and when q refuses a job (its
// database is down), jobs are graded here.
func (r *Recorder) SetScoreQueue(q ScoreQueue) { r.queue.Store(&q) }

// TokenBudget charges model tokens spent after a request, for its
// principal and resource: host/limits' budget of embedding calls
// (Limiter.Embeddings), whose rules a judge's call follows too.
type TokenBudget interface {
	// Principal names the principal of ctx's request ("" for none).
	Principal(ctx context.Context) string
	// SpendEmbed counts tokens spent for principal and resourceID.
	SpendEmbed(ctx context.Context, principal, resourceID string, tokens int)
}

// SetTokenBudget makes each judge's tokens count against the budgets of
// the turn's principal and the scored resource; nil charges nothing. A
// judge is not refused when they are spent: it grades a turn they allowed.
func (r *Recorder) SetTokenBudget(b TokenBudget) { r.budget.Store(&b) }

// principal is who ctx's request is for, when a budget wants to know.
func (r *Recorder) principal(ctx context.Context) string {
	if b := r.budget.Load(); b != nil && *b != nil {
		return (*b).Principal(ctx)
	}
	return ""
}

// HasScorers reports whether any scorer is configured.
func (r *Recorder) HasScorers() bool {
	return len(r.o.Scorers)+len(r.o.WorkflowScorers)+len(r.o.AllScorers) > 0
}

// jobOf is the job of scorer sc for the span sp.
func jobOf(sc *Scorer, sp *memory.Span, source, principal, input, output string) ScoreJob {
	j := ScoreJob{ScorerID: sc.ID, Output: output, Source: source, Principal: principal, TraceID: sp.TraceID, SpanID: sp.SpanID,
		EntityType: deref(sp.EntityType), EntityID: deref(sp.EntityID), EntityName: deref(sp.EntityName),
		ResourceID: deref(sp.ResourceID), ThreadID: deref(sp.ThreadID), RunID: deref(sp.RunID), ServiceName: deref(sp.ServiceName)}
	if sc.LLM() {
		j.Input = input
	}
	return j
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// enqueueScore hands a job to the scorer goroutine, or drops it when its
// queue is full. The turn never waits for a database or a judge.
func (r *Recorder) enqueueScore(j ScoreJob) {
	select {
	case r.scores <- j:
	default:
		r.scoresDropped.Add(1)
	}
}

// scoreLoop moves jobs to the durable queue, or grades them here when
// there is none (SQLite) or it refuses them.
func (r *Recorder) scoreLoop(ctx context.Context) {
	for {
		select {
		case j := <-r.scores:
			r.dispatch(ctx, j)
		case <-ctx.Done():
			for {
				select {
				case j := <-r.scores:
					r.dispatch(ctx, j)
				default:
					return
				}
			}
		}
	}
}

func (r *Recorder) dispatch(ctx context.Context, j ScoreJob) {
	// A job taken from the channel is finished even while Close runs.
	ctx = context.WithoutCancel(ctx)
	if q := r.queue.Load(); q != nil && *q != nil {
		err := (*q).Enqueue(ctx, j)
		if err == nil {
			return
		}
		r.o.Logger.Warn("observability: score job not queued; grading it here", "scorer", j.ScorerID, "err", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_ = r.RunScore(ctx, j)
}

// scorer is the scorer of id, among every agent's and workflow's.
func (r *Recorder) scorer(id string) *Scorer {
	for _, sc := range r.o.AllScorers {
		if sc.ID == id || sc.Name == id {
			return sc
		}
	}
	for _, m := range []map[string][]*Scorer{r.o.Scorers, r.o.WorkflowScorers} {
		for _, list := range m {
			for _, sc := range list {
				if sc.ID == id || sc.Name == id {
					return sc
				}
			}
		}
	}
	return nil
}

// RunScore grades job and stores the score. A judge that fails is
// recorded as a failed score (0, metadata.status "failed", the error as
// reason), not retried: the model client has retried already. The error
// returned is the store's (a durable queue retries the job then). A
// scorer no longer configured drops the job.
func (r *Recorder) RunScore(ctx context.Context, j ScoreJob) error {
	sc := r.scorer(j.ScorerID)
	if sc == nil {
		r.o.Logger.Warn("observability: score job for a scorer not configured; dropped", "scorer", j.ScorerID)
		return nil
	}
	sub := Subject{Output: j.Output, Tools: j.Tools, ToolsKnown: j.ToolsKnown, DurationMS: j.DurationMS}
	if j.Tokens != nil {
		sub.Tokens, sub.TokensKnown = *j.Tokens, true
	}
	g, err := sc.Grade(ctx, j.Input, sub)
	meta := map[string]any{}
	if g.Judge != "" {
		meta["judge"], meta["usage"] = g.Judge, g.Usage
		if n := g.Usage.InputTokens + g.Usage.OutputTokens; n > 0 {
			if b := r.budget.Load(); b != nil && *b != nil {
				(*b).SpendEmbed(ctx, j.Principal, j.ResourceID, n)
			}
		}
	}
	if err != nil {
		r.judgeFailed.Add(1)
		r.o.Logger.Warn("observability: scorer failed", "scorer", sc.ID, "err", err)
		g.Score, g.Reason = 0, "the scorer failed: "+clip(err.Error(), 500)
		meta["status"], meta["error"] = "failed", clip(err.Error(), 500)
	}
	row := memory.Score{ScoreID: uuid.NewString(), Timestamp: memory.SpanTime{Time: time.Now()}, ScorerID: sc.ID,
		ScorerName: &sc.Name, ScoreSource: &j.Source, Score: g.Score, Reason: &g.Reason,
		EventContext: memory.EventContext{TraceID: strp(j.TraceID), SpanID: strp(j.SpanID), EntityType: strp(j.EntityType),
			EntityID: strp(j.EntityID), EntityName: strp(j.EntityName), ResourceID: strp(j.ResourceID), ThreadID: strp(j.ThreadID),
			RunID: strp(j.RunID), ServiceName: strp(j.ServiceName), Source: strp(liveSource(j.Source))}}
	if len(meta) > 0 {
		row.Metadata, _ = json.Marshal(meta)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.o.Store.SaveScore(sctx, row); err != nil {
		r.scoresFailed.Add(1)
		r.o.Logger.Warn("observability: score not stored", "scorer", sc.ID, "err", err)
		return err
	}
	r.scored.Add(1)
	return nil
}

// liveSource is the row's source column: Mastra writes "LIVE" for scores
// made as runs happen.
func liveSource(scoreSource string) string {
	if scoreSource == "live" {
		return "LIVE"
	}
	return "TRACE"
}

// ScoreTrace queues the grading of a stored span's output by the
// scorer of id (or name), as POST /observability/traces/score asks: found
// is false when there is no such scorer (target may be nil to ask only
// that), queued false when the span has no stored reply (content capture
// was off), the scorer needs the turn's tool calls (a stored agent span
// does not list them) or the scorer queue is full.
func (r *Recorder) ScoreTrace(id string, target *memory.Span) (found, queued bool) {
	sc := r.scorer(id)
	if sc == nil || target == nil {
		return sc != nil, false
	}
	output, ok := storedText(target.Output)
	if !ok || sc.NeedsTools() {
		return true, false
	}
	j := jobOf(sc, target, "trace", "", lastUserMessage(target.Input), output)
	if target.EndedAt != nil {
		j.DurationMS = target.EndedAt.Sub(target.StartedAt.Time).Milliseconds()
	}
	var attrs struct{ Usage *usageJSON }
	if json.Unmarshal(target.Attributes, &attrs) == nil && attrs.Usage != nil {
		n := attrs.Usage.InputTokens + attrs.Usage.OutputTokens
		j.Tokens = &n
	}
	before := r.scoresDropped.Load()
	r.enqueueScore(j)
	return true, r.scoresDropped.Load() == before
}

// storedText is the text of a stored output: {text} for an agent run, the
// JSON itself for anything else (a workflow's result).
func storedText(out memory.SpanJSON) (string, bool) {
	if len(out) == 0 || string(out) == "null" {
		return "", false
	}
	var o struct{ Text *string }
	if json.Unmarshal(out, &o) == nil && o.Text != nil {
		return *o.Text, true
	}
	return string(out), true
}

// lastUserMessage is the last user message of a stored agent input.
func lastUserMessage(in memory.SpanJSON) string {
	var ms []struct{ Role, Content string }
	if json.Unmarshal(in, &ms) != nil {
		return ""
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Role == "user" {
			return ms[i].Content
		}
	}
	return ""
}
