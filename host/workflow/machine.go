package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mastra-server/mastra-server/host/toolschema"
)

// job is one step execution to dispatch: step Step of run RunID at
// iteration Iter (foreach element or loop round), not before At.
type job struct {
	Workflow string    `json:"w"`
	RunID    string    `json:"r"`
	Step     string    `json:"s"`
	Iter     int       `json:"i"`
	At       time.Time `json:"-"`
	// bulk: an element of a foreach step. Dispatch runs such jobs after
	// the other queued steps, so that one run's long list does not keep
	// other runs (of other resources) from their next step.
	bulk bool
}

func (j job) token() string { return j.Step + "@" + strconv.Itoa(j.Iter) }

// effects are what a transition writes besides the snapshot.
type effects struct {
	chunks []map[string]any
	jobs   []job
	// notify: jobs of the parent run's workflow step, queued when a nested
	// run suspends or ends (they belong to the parent, not to this run's
	// cursor).
	notify []job
	cancel []int64
	// started, finished: the run started, or ended with this status, for
	// the observer once committed.
	started  bool
	finished string
}

// turn is one transition of a run, inside transaction tx.
type turn struct {
	e   *Engine
	w   *workflow
	r   *runRow
	fx  effects
	ctx context.Context
	tx  *txn
}

func (e *Engine) turn(ctx context.Context, tx *txn, w *workflow, r *runRow) *turn {
	return &turn{e: e, w: w, r: r, ctx: ctx, tx: tx}
}

// start starts a pending run with its (checked) input and state.
func (t *turn) start(input any, state map[string]any, requestContext map[string]any) error {
	t.fx.started = true
	t.r.Snapshot.Status = StatusRunning
	t.r.Snapshot.Context.Input = input
	if state != nil {
		t.r.Snapshot.Value = state
	}
	if requestContext != nil {
		t.r.Snapshot.RequestContext = requestContext
	}
	t.chunk("workflow-start", map[string]any{"workflowId": t.w.def.ID, "runId": t.r.RunID})
	if err := t.startTop(0); err != nil {
		return err
	}
	t.settle()
	return nil
}

// notifyParent queues the parent's workflow step of a nested run, to take
// in the run's end or suspension.
func (t *turn) notifyParent() {
	if p := t.r.cur.Parent; p != nil {
		t.fx.notify = append(t.fx.notify, job{Workflow: p.Workflow, RunID: p.RunID, Step: p.Step, Iter: p.Iter})
	}
}

func (t *turn) chunk(typ string, payload map[string]any) {
	t.fx.chunks = append(t.fx.chunks, map[string]any{"type": typ, "payload": payload})
}

// full reads the run's snapshot when this change began without it: every
// change but a light foreach element's needs it.
func (t *turn) full() error { return t.e.fillSnapshot(t.ctx, t.tx, t.r) }

func (t *turn) progress(s *step) *progress {
	if t.r.cur.Steps == nil {
		t.r.cur.Steps = map[string]*progress{}
	}
	p := t.r.cur.Steps[s.def.ID]
	if p == nil {
		p = &progress{}
		t.r.cur.Steps[s.def.ID] = p
	}
	return p
}

// env is what expressions of step s see at iteration iter.
func (t *turn) env(s *step, iter int) ExprEnv {
	return envFor(t.w, t.r, s, iter)
}

func envFor(w *workflow, r *runRow, s *step, iter int) ExprEnv {
	env := ExprEnv{Input: r.Snapshot.Context.Input, Steps: map[string]any{}, RunID: r.RunID, State: r.Snapshot.Value}
	for id, res := range r.Snapshot.Context.Steps {
		if res.Status == StatusSuccess {
			env.Steps[id] = res.Output
		}
	}
	env.Prev = env.Input
	if s != nil && s.top > 0 {
		if res := r.Snapshot.Context.Steps[w.steps[s.top-1].def.ID]; res != nil {
			env.Prev = res.Output
		}
	}
	if s == nil {
		return env
	}
	p := r.cur.Steps[s.def.ID]
	switch {
	case s.foreach != nil:
		env.Item, env.Index = r.items[job{Step: s.def.ID, Iter: iter}.token()], iter
	case s.loop != nil:
		env.Iteration = iter
		if iter > 0 && p != nil && len(p.Outputs) > 0 {
			env.Prev = p.Outputs[0] // the last round's output
		}
	}
	if p != nil {
		if v, ok := p.Resume[job{Step: s.def.ID, Iter: iter}.token()]; ok {
			env.Resume = v
		}
	}
	return env
}

// startTop enters top-level step i, or finishes the run after the last.
func (t *turn) startTop(i int) error {
	if i >= len(t.w.steps) {
		return t.finishRun()
	}
	t.r.cur.Top = i
	return t.enter(t.w.steps[i])
}

// enter starts step s: a group starts its entries, a repeated step its
// first rounds, any other step its one job.
func (t *turn) enter(s *step) error {
	p := t.progress(s)
	switch s.def.Kind {
	case "parallel", "branch":
		p.Group = map[string]bool{}
		t.started(s, 0)
		var run []*step
		for _, c := range s.children {
			if s.def.Kind == "branch" {
				v, err := c.when.eval(t.env(c, 0))
				if err != nil {
					return t.failStep(c, 0, err)
				}
				if ok, _ := v.(bool); !ok {
					continue
				}
			}
			run = append(run, c)
			p.Group[c.def.ID] = true
		}
		if len(run) == 0 {
			return t.finishStep(s, map[string]any{})
		}
		for _, c := range run {
			if err := t.enter(c); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case s.foreach != nil:
		v, err := s.foreach.eval(t.env(s, 0))
		if err != nil {
			return t.failStep(s, 0, err)
		}
		items, ok := v.([]any)
		if !ok && v != nil {
			return t.failStep(s, 0, fmt.Errorf("foreach %q: expected a list, got %T", s.def.Foreach, v))
		}
		if c := t.w.def.MaxForeachItems; c > 0 && len(items) > c {
			return t.failStep(s, 0, t.w.capError(s, len(items)))
		}
		t.started(s, 0)
		if len(items) == 0 {
			return t.finishStep(s, []any{})
		}
		if err := t.e.storeItems(t.ctx, t.tx, t.r, s, items); err != nil {
			return err
		}
		p.Total, p.Next, p.Done = len(items), 0, 0
		for p.Next < len(items) && p.Next < max(1, s.def.Concurrency) {
			t.r.setItem(s, p.Next, items[p.Next])
			p.Next++
			if err := t.launch(s, p.Next-1); err != nil {
				return err
			}
		}
		return nil
	}
	t.started(s, 0)
	return t.launch(s, 0)
}

// started records that step s began.
func (t *turn) started(s *step, iter int) {
	if iter > 0 {
		return
	}
	env := t.env(s, 0)
	t.r.Snapshot.Context.Steps[s.def.ID] = &StepResult{Status: StatusRunning, Payload: env.Prev, StartedAt: nowMs()}
	t.chunk("workflow-step-start", map[string]any{"id": s.def.ID, "stepCallId": t.r.RunID + "-" + s.def.ID,
		"status": StatusRunning, "payload": env.Prev, "startedAt": nowMs()})
}

// launch queues round iter of step s, or suspends it.
func (t *turn) launch(s *step, iter int) error {
	p := t.progress(s)
	j := job{Workflow: t.w.def.ID, RunID: t.r.RunID, Step: s.def.ID, Iter: iter, bulk: s.foreach != nil}
	if s.foreach != nil && (s.def.Kind == "workflow" || s.def.Kind == "sleep_until") {
		// These read their expressions now, with the element.
		if err := t.e.loadItem(t.ctx, t.tx, t.r, s, iter); err != nil {
			return err
		}
	}
	switch s.def.Kind {
	case "suspend":
		v, err := s.suspend.eval(t.env(s, iter))
		if err != nil {
			return t.failStep(s, iter, err)
		}
		t.suspendStep(s, iter, v)
		return nil
	case "workflow":
		return t.startChild(s, iter)
	case "sleep":
		j.At = time.Now().Add(s.def.Sleep)
		t.chunk("workflow-step-waiting", map[string]any{"id": s.def.ID, "status": StatusWaiting, "until": j.At.UnixMilli()})
	case "sleep_until":
		v, err := s.until.eval(t.env(s, iter))
		if err != nil {
			return t.failStep(s, iter, err)
		}
		at, err := asTime(v)
		if err != nil {
			return t.failStep(s, iter, err)
		}
		j.At = at
		t.chunk("workflow-step-waiting", map[string]any{"id": s.def.ID, "status": StatusWaiting, "until": at.UnixMilli()})
	}
	if p.Pending == nil {
		p.Pending = map[string]bool{}
	}
	p.Pending[j.token()] = true
	t.fx.jobs = append(t.fx.jobs, j)
	return nil
}

// suspendStep makes round iter of step s wait for a resume, with payload.
func (t *turn) suspendStep(s *step, iter int, payload any) {
	p := t.progress(s)
	tok := job{Step: s.def.ID, Iter: iter}.token()
	delete(p.Pending, tok)
	if p.Suspended == nil {
		p.Suspended = map[string]bool{}
	}
	p.Suspended[tok] = true
	res := t.r.Snapshot.Context.Steps[s.def.ID]
	if res == nil {
		res = &StepResult{StartedAt: nowMs()}
		t.r.Snapshot.Context.Steps[s.def.ID] = res
	}
	res.Status, res.SuspendPayload, res.SuspendedAt = StatusSuspended, payload, nowMs()
	t.r.Snapshot.SuspendedPaths[s.def.ID] = t.path(s)
	t.chunk("workflow-step-suspended", map[string]any{"id": s.def.ID, "status": StatusSuspended, "suspendPayload": payload})
}

// startChild starts round iter of workflow step s: a run of the nested
// workflow, created and started in this transaction, which reports back
// to this step (notifyParent) when it suspends or ends.
func (t *turn) startChild(s *step, iter int) error {
	env := t.env(s, iter)
	in := env.Prev
	if s.input != nil {
		v, err := s.input.eval(env)
		if err != nil {
			return t.failStep(s, iter, err)
		}
		in = v
	}
	in, err := s.nested.checkInput(in)
	if err != nil {
		return t.failStep(s, iter, fmt.Errorf("nested workflow %s: %w", s.nested.def.ID, err))
	}
	// The child starts from the parent's state.
	state, err := s.nested.checkState(t.r.Snapshot.Value)
	if err != nil {
		return t.failStep(s, iter, fmt.Errorf("nested workflow %s: %w", s.nested.def.ID, err))
	}
	tok := job{Step: s.def.ID, Iter: iter}.token()
	c, err := t.e.insertRun(t.ctx, t.tx, s.nested, uuid.NewString(), t.r.ResourceID,
		&parentRef{Workflow: t.w.def.ID, RunID: t.r.RunID, Step: s.def.ID, Iter: iter})
	if err != nil {
		return err
	}
	c.setPrincipal(t.tx, t.r.principal) // the child's steps spend its starter's budgets
	ct := t.e.turn(t.ctx, t.tx, s.nested, c)
	if err := ct.start(in, state, t.r.Snapshot.RequestContext); err != nil {
		return err
	}
	if err := t.e.save(t.ctx, t.tx, c, &ct.fx); err != nil {
		return err
	}
	p := t.progress(s)
	if p.Pending == nil {
		p.Pending = map[string]bool{}
	}
	if p.Children == nil {
		p.Children = map[string]string{}
	}
	p.Pending[tok], p.Children[tok] = true, c.RunID
	if s.foreach != nil {
		// In the element's row: the cursor does not grow per element.
		return t.e.recordChild(t.ctx, t.tx, t.r, s, iter, c.RunID)
	}
	t.r.cur.Children = append(t.r.cur.Children, childRef{Workflow: s.nested.def.ID, RunID: c.RunID})
	return nil
}

// path is the step's index path in the graph, as Mastra's suspendedPaths.
func (t *turn) path(s *step) []int {
	if s.parent == nil {
		return []int{s.top}
	}
	for i, c := range s.parent.children {
		if c == s {
			return []int{s.top, i}
		}
	}
	return []int{s.top}
}

func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}, fmt.Errorf("sleep_until: %q is not an RFC 3339 time", x)
		}
		return t, nil
	case int:
		return time.UnixMilli(int64(x)), nil
	case float64:
		return time.UnixMilli(int64(x)), nil
	case time.Time:
		return x, nil
	}
	return time.Time{}, fmt.Errorf("sleep_until: expected RFC 3339 text or Unix milliseconds, got %T", v)
}

// checkOutput checks out against schema sc (nil: anything).
func checkOutput(sc *toolschema.Schema, out any) error {
	if sc == nil {
		return nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return sc.Validate(b)
}

// complete applies the output of round iter of step s.
func (t *turn) complete(s *step, iter int, out any) error {
	if err := checkOutput(s.output, out); err != nil {
		return t.failStep(s, iter, fmt.Errorf("step %s: output does not match its output_schema: %w", s.def.ID, err))
	}
	p := t.progress(s)
	tok := job{Step: s.def.ID, Iter: iter}.token()
	delete(p.Pending, tok)
	delete(p.Suspended, tok)
	delete(p.Resume, tok)
	delete(p.Children, tok)
	delete(t.r.cur.Jobs, tok)
	switch {
	case s.foreach != nil:
		if len(p.LegacyItems) > 0 {
			if err := t.upgradeForeach(s, p); err != nil {
				return err
			}
		}
		p.Done++
		t.chunk("workflow-step-progress", map[string]any{"id": s.def.ID, "completedCount": p.Done, "totalCount": p.Total,
			"currentIndex": iter, "iterationStatus": StatusSuccess})
		if p.Done >= p.Total {
			outs, err := t.itemOutputs(s, iter, out)
			if err != nil {
				return err
			}
			return t.finishStep(s, outs)
		}
		if err := t.recordItem(s, iter, out); err != nil {
			return err
		}
		if p.Next < p.Total {
			p.Next++
			if err := t.launch(s, p.Next-1); err != nil {
				return err
			}
		}
		// The snapshot is as loaded (an element that is not the last
		// changes only the cursor) unless launching the next one failed
		// the run; and the run stays running while elements are pending.
		// Then it need not be written again.
		if !terminal(t.r.Snapshot.Status) && len(p.Pending) > 0 {
			t.r.keepSnapshot = true
		}
		return nil
	case s.loop != nil:
		env := t.env(s, iter)
		env.Output = out
		v, err := s.loop.eval(env)
		if err != nil {
			return t.failStep(s, iter, err)
		}
		cond, _ := v.(bool)
		if cond == s.isWhile { // until: stop when true; while: go on while true
			if iter+1 >= s.def.MaxIterations && s.def.MaxIterations > 0 {
				return t.failStep(s, iter, fmt.Errorf("loop did not end after %d iterations (max_iterations)", s.def.MaxIterations))
			}
			p.Iter = iter + 1
			p.Outputs = []any{out}
			return t.launch(s, iter+1)
		}
		return t.finishStep(s, out)
	}
	return t.finishStep(s, out)
}

// finishStep records step s's output and moves on.
func (t *turn) finishStep(s *step, out any) error {
	if err := t.full(); err != nil {
		return err
	}
	if s.children != nil {
		if err := checkOutput(s.output, out); err != nil {
			return t.failStep(s, 0, fmt.Errorf("step %s: output does not match its output_schema: %w", s.def.ID, err))
		}
	}
	if s.setState != nil {
		env := t.env(s, 0)
		env.Output = out
		v, err := s.setState.eval(env)
		if err != nil {
			return t.failStep(s, 0, err)
		}
		state, ok := v.(map[string]any)
		if !ok {
			return t.failStep(s, 0, fmt.Errorf("step %s: set_state gave %T, not an object", s.def.ID, v))
		}
		if _, err := t.w.checkState(state); err != nil {
			msg := err.Error()
			if ie := (*InputError)(nil); errors.As(err, &ie) {
				msg = ie.Message
			}
			return t.failStep(s, 0, fmt.Errorf("step %s: state does not match the state_schema: %s", s.def.ID, msg))
		}
		t.r.Snapshot.Value = state
	}
	res := t.r.Snapshot.Context.Steps[s.def.ID]
	if res == nil {
		res = &StepResult{StartedAt: nowMs()}
		t.r.Snapshot.Context.Steps[s.def.ID] = res
	}
	res.Status, res.Output, res.EndedAt = StatusSuccess, out, nowMs()
	delete(t.r.Snapshot.SuspendedPaths, s.def.ID)
	delete(t.r.cur.Steps, s.def.ID)
	t.chunk("workflow-step-result", map[string]any{"id": s.def.ID, "stepCallId": t.r.RunID + "-" + s.def.ID,
		"status": StatusSuccess, "output": out, "endedAt": res.EndedAt})
	t.chunk("workflow-step-finish", map[string]any{"id": s.def.ID, "metadata": map[string]any{}})
	if s.parent != nil {
		gp := t.progress(s.parent)
		delete(gp.Group, s.def.ID)
		if len(gp.Group) > 0 {
			return nil
		}
		outs := map[string]any{}
		for _, c := range s.parent.children {
			if r := t.r.Snapshot.Context.Steps[c.def.ID]; r != nil && r.Status == StatusSuccess && r.StartedAt >= t.r.Snapshot.Context.Steps[s.parent.def.ID].StartedAt {
				outs[c.def.ID] = r.Output
			}
		}
		return t.finishStep(s.parent, outs)
	}
	return t.startTop(s.top + 1)
}

// failStep fails step s and with it the run.
func (t *turn) failStep(s *step, iter int, err error) error {
	if lerr := t.full(); lerr != nil {
		return lerr
	}
	msg := err.Error()
	res := t.r.Snapshot.Context.Steps[s.def.ID]
	if res == nil {
		res = &StepResult{StartedAt: nowMs()}
		t.r.Snapshot.Context.Steps[s.def.ID] = res
	}
	res.Status, res.Error, res.EndedAt = StatusFailed, msg, nowMs()
	t.chunk("workflow-step-result", map[string]any{"id": s.def.ID, "status": StatusFailed, "error": msg})
	return t.endRun(StatusFailed, nil, map[string]any{"message": msg, "name": "Error"})
}

func (t *turn) finishRun() error {
	env := t.env(nil, 0)
	var out any
	if t.w.result != nil {
		v, err := t.w.result.eval(env)
		if err != nil {
			return t.endRun(StatusFailed, nil, map[string]any{"message": err.Error(), "name": "Error"})
		}
		out = v
	} else if last := t.r.Snapshot.Context.Steps[t.w.steps[len(t.w.steps)-1].def.ID]; last != nil {
		out = last.Output
	}
	if err := checkOutput(t.w.output, out); err != nil {
		msg := fmt.Sprintf("workflow %s: result does not match the output_schema: %v", t.w.def.ID, err)
		return t.endRun(StatusFailed, nil, map[string]any{"message": msg, "name": "Error"})
	}
	return t.endRun(StatusSuccess, out, nil)
}

// endRun makes the run terminal and cancels whatever is still queued.
func (t *turn) endRun(status string, result, errVal any) error {
	t.r.Snapshot.Status = status
	t.fx.finished = status
	t.r.Snapshot.Result, t.r.Snapshot.Error = result, errVal
	for _, id := range t.r.cur.Jobs {
		t.fx.cancel = append(t.fx.cancel, id)
	}
	// Nested runs still going end with this one.
	for id, p := range t.r.cur.Steps {
		s := t.w.byID[id]
		if s == nil || s.nested == nil {
			continue
		}
		for _, childID := range p.Children {
			c, err := t.e.load(t.ctx, t.tx, s.nested.def.ID, childID, true)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if err := t.e.cancelTx(t.ctx, t.tx, s.nested, c); err != nil {
				return err
			}
		}
	}
	t.notifyParent()
	t.r.cur.Steps = nil
	// The element rows go; the nested runs they name stay the run's.
	children, err := t.e.itemChildren(t.ctx, t.tx, t.r)
	if err != nil {
		return err
	}
	t.r.cur.Children = append(t.r.cur.Children, children...)
	t.tx.extra = append(t.tx.extra, stmt{`DELETE FROM mastra_server_workflow_foreach WHERE workflow_name = $1 AND run_id = $2`,
		[]any{t.r.Workflow, t.r.RunID}})
	t.r.Snapshot.SuspendedPaths = map[string][]int{}
	if status == StatusCanceled {
		t.chunk("workflow-canceled", map[string]any{})
	}
	t.chunk("workflow-finish", map[string]any{"workflowStatus": status, "finalWorkflowResult": t.resultPayload(),
		"output": map[string]any{"usage": map[string]any{"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}}, "metadata": map[string]any{}})
	return nil
}

// settle sets the run's status from its active steps: running while any
// job is queued, suspended when only suspended steps remain. A change made
// without the snapshot (a light foreach element, which leaves elements
// pending: see complete) leaves the status running.
func (t *turn) settle() {
	if !t.r.snap || terminal(t.r.Snapshot.Status) {
		return
	}
	pending, suspended := false, false
	for _, p := range t.r.cur.Steps {
		pending = pending || len(p.Pending) > 0
		suspended = suspended || len(p.Suspended) > 0
	}
	switch {
	case pending:
		t.r.Snapshot.Status = StatusRunning
	case suspended:
		if t.r.Snapshot.Status != StatusSuspended {
			t.notifyParent()
			t.chunk("workflow-finish", map[string]any{"workflowStatus": StatusSuspended, "finalWorkflowResult": t.resultPayload(),
				"output": map[string]any{"usage": map[string]any{"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}}, "metadata": map[string]any{}})
		}
		t.r.Snapshot.Status = StatusSuspended
	}
}

// resultPayload is Mastra's WorkflowResult of the run as it stands.
func (t *turn) resultPayload() map[string]any { return ResultOf(&t.r.Run) }

// ResultOf is Mastra's WorkflowResult of a run: status, result or error or
// the suspended steps, steps, input.
func ResultOf(r *Run) map[string]any {
	s := r.Snapshot
	out := map[string]any{"status": s.Status, "steps": s.Context.Steps, "input": s.Context.Input, "state": s.Value}
	switch s.Status {
	case StatusSuccess:
		out["result"] = s.Result
	case StatusFailed:
		out["error"] = s.Error
	case StatusSuspended:
		paths := [][]string{}
		var payload any
		ids := make([]string, 0, len(s.SuspendedPaths))
		for id := range s.SuspendedPaths {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			// A nested workflow step's path goes on into the child:
			// [step, inner step, …] (Mastra's __workflow_meta.path).
			path := []string{id}
			if r := s.Context.Steps[id]; r != nil {
				payload = r.SuspendPayload
				path = append(path, metaPath(r.SuspendPayload)...)
			}
			paths = append(paths, path)
		}
		out["suspended"] = paths
		out["suspendPayload"] = payload
	}
	return out
}

// metaPath is the path inside a nested run that a suspend payload carries
// (Mastra's __workflow_meta.path), nil for a step's own suspend.
func metaPath(payload any) []string {
	m, _ := payload.(map[string]any)
	meta, _ := m["__workflow_meta"].(map[string]any)
	list, _ := meta["path"].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// nestedSuspendPayload is what a workflow step suspends with when its
// child run suspended: the child's suspended step's payload, with
// __workflow_meta naming the child run and the path to that step in it.
func nestedSuspendPayload(c *runRow) any {
	ids := make([]string, 0, len(c.Snapshot.SuspendedPaths))
	for id := range c.Snapshot.SuspendedPaths {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := map[string]any{}
	path := []string{}
	if len(ids) > 0 {
		if res := c.Snapshot.Context.Steps[ids[0]]; res != nil {
			if m, ok := res.SuspendPayload.(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
			path = append([]string{ids[0]}, metaPath(res.SuspendPayload)...)
		}
	}
	out["__workflow_meta"] = map[string]any{"runId": c.RunID, "path": path}
	return out
}

// settleChild takes in the state of a workflow step's child run: its
// result as the step's output, its failure as the step's, its suspension
// as the step's. The child queued this job when it suspended or ended.
func (e *Engine) settleChild(ctx context.Context, w *workflow, s *step, j job) error {
	return e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.load(ctx, tx, j.Workflow, j.RunID, true)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		p := r.cur.Steps[s.def.ID]
		tok := j.token()
		if terminal(r.Snapshot.Status) || p == nil || p.Children[tok] == "" {
			return nil
		}
		t := e.turn(ctx, tx, w, r)
		c, err := e.load(ctx, tx, s.nested.def.ID, p.Children[tok], false)
		switch {
		case errors.Is(err, ErrNotFound):
			err = t.failStep(s, j.Iter, fmt.Errorf("nested workflow %s: run %s was deleted", s.nested.def.ID, p.Children[tok]))
		case err != nil:
			return err
		case c.Snapshot.Status == StatusSuccess:
			err = t.complete(s, j.Iter, c.Snapshot.Result)
		case c.Snapshot.Status == StatusFailed:
			err = t.failStep(s, j.Iter, fmt.Errorf("nested workflow %s failed: %s", s.nested.def.ID, errorMessage(c.Snapshot.Error)))
		case c.Snapshot.Status == StatusCanceled:
			err = t.failStep(s, j.Iter, fmt.Errorf("nested workflow %s was cancelled", s.nested.def.ID))
		case c.Snapshot.Status == StatusSuspended && !p.Suspended[tok]:
			t.suspendStep(s, j.Iter, nestedSuspendPayload(c))
		default:
			return nil // still running: a later job brings its end
		}
		if err != nil {
			return err
		}
		t.settle()
		return e.save(ctx, tx, r, &t.fx)
	})
}

// errorMessage is the message of a run's error as stored.
func errorMessage(v any) string {
	if m, ok := v.(map[string]any); ok {
		if s, ok := m["message"].(string); ok {
			return s
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// work runs one job: the step, then its transition. An error means the
// job should be tried again (the database failed); a step's own failure is
// committed as the run's failure.
func (e *Engine) work(ctx context.Context, j job) error {
	w, ok := e.wfs[j.Workflow]
	var s *step
	if ok {
		s = w.byID[j.Step]
	}
	if s == nil {
		// An instance with another configuration (a rolling deploy): leave
		// the step to one that knows it.
		return fmt.Errorf("workflow: this instance does not define step %s of workflow %s", j.Step, j.Workflow)
	}
	if s.nested != nil {
		return e.settleChild(ctx, w, s, j)
	}
	if s.inline() {
		return e.workInline(ctx, w, s, j)
	}
	r, err := e.loadForJob(ctx, dbq{e.db}, s, j, false)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted
	} else if err != nil {
		return err
	}
	if !pendingToken(r, j) {
		return nil // finished, cancelled, or a duplicate delivery
	}
	if s.foreach != nil {
		if err := e.loadItem(ctx, dbq{e.db}, r, s, j.Iter); err != nil {
			return err
		}
	}
	attempt, err := e.claim(ctx, j, s.timeout)
	if err != nil {
		return err
	}
	if attempt == 0 {
		return errLeased
	}
	sctx, end := ctx, func(string) {}
	if e.obs != nil {
		sctx, end = e.obs.StartStep(ctx, StepRun{Workflow: j.Workflow, RunID: j.RunID, Step: j.Step, Kind: s.def.Kind, Iter: j.Iter})
	}
	sctx, cancel := context.WithTimeout(sctx, s.timeout)
	out, stepErr := e.execute(sctx, w, r, s, j.Iter)
	cancel()
	end(stepOutcome(ctx, stepErr))
	if stepErr != nil && ctx.Err() != nil {
		// Shutting down: give the lease back so that the step runs again
		// at once, here after a restart or on another instance.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_, _ = dbq{e.db}.exec(rctx, `DELETE FROM mastra_server_workflow_leases WHERE workflow_name = $1 AND run_id = $2 AND token = $3 AND lease_owner = $4`,
			j.Workflow, j.RunID, j.token(), e.me)
		cancel()
		return ctx.Err()
	}
	if errors.Is(stepErr, context.DeadlineExceeded) {
		stepErr = fmt.Errorf("step %s timed out after %s", s.def.ID, s.timeout)
	}
	return e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.loadForJob(ctx, tx, s, j, true)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		if !pendingToken(r, j) {
			return nil
		}
		// Fencing: the lease must still be this claim's. Another instance
		// takes the step over once this one's instance lease expired (it
		// was paused or cut off); then that instance's result counts, and
		// this one records nothing.
		held, err := tx.exec(ctx, `DELETE FROM mastra_server_workflow_leases
			WHERE workflow_name = $1 AND run_id = $2 AND token = $3 AND lease_owner = $4 AND attempt = $5`,
			j.Workflow, j.RunID, j.token(), e.me, attempt)
		if err != nil {
			return fmt.Errorf("workflow: release lease: %w", err)
		}
		if held == 0 {
			e.log.Warn("workflow: a step's lease was taken over while it ran here; its result is dropped",
				"workflow", j.Workflow, "run", j.RunID, "step", j.Step)
			return nil
		}
		t := e.turn(ctx, tx, w, r)
		var susp *suspension
		if errors.As(stepErr, &susp) {
			if err := t.full(); err != nil {
				return err
			}
			t.suspendStep(s, j.Iter, susp.payload)
		} else if stepErr != nil {
			err = t.failStep(s, j.Iter, stepErr)
		} else {
			err = t.complete(s, j.Iter, out)
		}
		if err != nil {
			return err
		}
		t.settle()
		err = e.save(ctx, tx, r, &t.fx)
		if errors.Is(err, errSnapshotTooLarge) {
			return errSnapshotTooLarge
		}
		return err
	})
}

var errLeased = errors.New("workflow: step leased by another instance")

// inline says step s's work is only expressions over the run's data, with
// no call out: it runs inside the transaction that commits it, under the
// run's row lock, without a lease (a crash rolls it back with the
// transaction). That saves a read and the lease's two writes per step.
func (s *step) inline() bool {
	switch s.def.Kind {
	case "map", "sleep", "sleep_until", "suspend":
		return true
	}
	return false
}

// workInline runs an inline step and commits its transition in one
// transaction.
func (e *Engine) workInline(ctx context.Context, w *workflow, s *step, j job) error {
	return e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.loadForJob(ctx, tx, s, j, true)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if !pendingToken(r, j) {
			return nil // finished, cancelled, or a duplicate delivery
		}
		if s.foreach != nil {
			if err := e.loadItem(ctx, tx, r, s, j.Iter); err != nil {
				return err
			}
		}
		end := func(string) {}
		if e.obs != nil {
			_, end = e.obs.StartStep(ctx, StepRun{Workflow: j.Workflow, RunID: j.RunID, Step: j.Step, Kind: s.def.Kind, Iter: j.Iter})
		}
		out, stepErr := e.execute(ctx, w, r, s, j.Iter)
		end(stepOutcome(ctx, stepErr))
		t := e.turn(ctx, tx, w, r)
		if stepErr != nil {
			err = t.failStep(s, j.Iter, stepErr)
		} else {
			err = t.complete(s, j.Iter, out)
		}
		if err != nil {
			return err
		}
		t.settle()
		return e.save(ctx, tx, r, &t.fx)
	})
}

// loadForJob loads the run of job j of step s: without its snapshot for
// an element of a light foreach step, which needs only the cursor.
func (e *Engine) loadForJob(ctx context.Context, q querier, s *step, j job, lock bool) (*runRow, error) {
	return e.loadRun(ctx, q, j.Workflow, j.RunID, lock, !s.light)
}

func pendingToken(r *runRow, j job) bool {
	if terminal(r.Snapshot.Status) {
		return false
	}
	p := r.cur.Steps[j.Step]
	return p != nil && p.Pending[j.token()]
}

// claim takes the step's lease for this instance and returns the claim's
// attempt (0: another instance holds it). A step runs on one instance at
// a time, and again elsewhere only once its lease has expired (it hung
// past its timeout) or its instance's lease has (it died; instances.go).
func (e *Engine) claim(ctx context.Context, j job, timeout time.Duration) (int64, error) {
	now := time.Now()
	var attempt int64
	err := dbq{e.db}.queryRow(ctx, `INSERT INTO mastra_server_workflow_leases (workflow_name, run_id, token, lease_owner, lease_expires_at, attempt)
		VALUES ($1, $2, $3, $4, $5, 1)
		ON CONFLICT (workflow_name, run_id, token) DO UPDATE SET lease_owner = $4, lease_expires_at = $5,
			attempt = mastra_server_workflow_leases.attempt + 1
		WHERE mastra_server_workflow_leases.lease_expires_at < $6 OR mastra_server_workflow_leases.lease_owner = $4
			OR mastra_server_workflow_leases.lease_owner IN (
				SELECT instance_id FROM mastra_server_workflow_instances WHERE lease_expires_at < $6)
		RETURNING attempt`,
		j.Workflow, j.RunID, j.token(), e.me, now.Add(timeout).UnixMilli(), now.UnixMilli()).Scan(&attempt)
	if isNoRows(err) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("workflow: lease: %w", err)
	}
	return attempt, nil
}

// execute runs step s's work (outside any transaction).
func (e *Engine) execute(ctx context.Context, w *workflow, r *runRow, s *step, iter int) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("step %s panicked: %v", s.def.ID, p)
		}
	}()
	if e.princ != nil {
		ctx = e.princ.With(ctx, r.principal) // its model calls spend the starter's budgets
	}
	env := envFor(w, r, s, iter)
	switch s.def.Kind {
	case "map":
		return s.mapP.eval(env)
	case "sleep", "sleep_until":
		return env.Prev, nil
	case "suspend":
		return env.Resume, nil
	case "agent":
		prompt, err := s.render(env)
		if err != nil {
			return nil, err
		}
		if e.agents == nil {
			return nil, errors.New("no agents are configured")
		}
		if s.def.StructuredOutput {
			oa, ok := e.agents.(ObjectAgentRunner)
			if !ok {
				return nil, errors.New("structured agent steps are not supported here")
			}
			raw, err := oa.RunAgentObject(ctx, s.def.Agent, prompt, r.ResourceID, s.def.OutputSchema)
			if err != nil {
				return nil, fmt.Errorf("agent %s: %w", s.def.Agent, err)
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("agent %s: structured output is not JSON: %w", s.def.Agent, err)
			}
			return v, nil
		}
		text, err := e.agents.RunAgent(ctx, s.def.Agent, prompt, r.ResourceID)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", s.def.Agent, err)
		}
		return map[string]any{"text": text}, nil
	case "wasm":
		return e.runModule(ctx, w, r, s, iter, env)
	case "tool":
		args := env.Prev
		if s.input != nil {
			if args, err = s.input.eval(env); err != nil {
				return nil, err
			}
		}
		b, err := json.Marshal(args)
		if err != nil {
			return nil, err
		}
		if e.tools == nil {
			return nil, errors.New("no tools are configured")
		}
		res, err := e.tools.RunTool(ctx, s.def.Tool, b, r.ResourceID)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", s.def.Tool, err)
		}
		var v any
		if err := json.Unmarshal(res, &v); err != nil {
			return nil, fmt.Errorf("tool %s: result is not JSON: %w", s.def.Tool, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("step %s: kind %q cannot run", s.def.ID, s.def.Kind)
}

// suspension is a step's answer that it waits for a resume, with payload.
type suspension struct{ payload any }

func (s *suspension) Error() string { return "step suspended" }

// runModule runs a wasm step's module: it gets {inputData, resumeData (once
// resumed), runId, stepId, iteration} and answers 2xx with the step's
// output, 202 with the payload to suspend with, any other status to fail
// the step.
func (e *Engine) runModule(ctx context.Context, w *workflow, r *runRow, s *step, iter int, env ExprEnv) (any, error) {
	in := env.Prev
	if s.input != nil {
		v, err := s.input.eval(env)
		if err != nil {
			return nil, err
		}
		in = v
	}
	if e.modules == nil {
		return nil, errors.New("no Wasm step modules are loaded")
	}
	call := map[string]any{"inputData": in, "runId": r.RunID, "stepId": s.def.ID, "iteration": iter, "state": env.State}
	if env.Resume != nil {
		call["resumeData"] = env.Resume
	}
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	status, resp, err := e.modules.RunModule(ctx, w.def.ID, s.def.ID, body)
	if err != nil {
		return nil, fmt.Errorf("wasm step %s: %w", s.def.ID, err)
	}
	var out any
	if len(bytes.TrimSpace(resp)) > 0 {
		if err := json.Unmarshal(resp, &out); err != nil {
			if status < 200 || status > 299 {
				out = string(resp)
			} else {
				return nil, fmt.Errorf("wasm step %s: the module's answer is not JSON: %w", s.def.ID, err)
			}
		}
	}
	switch {
	case status == 202:
		return nil, &suspension{payload: out}
	case status < 200 || status > 299:
		msg := strings.TrimSpace(string(resp))
		if r := []rune(msg); len(r) > 300 {
			msg = string(r[:300]) + "…"
		}
		return nil, fmt.Errorf("wasm step %s answered status %d: %s", s.def.ID, status, msg)
	}
	return out, nil
}
