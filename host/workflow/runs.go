package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// owned checks a loaded run against the caller's resource ("" = any).
func owned(r *runRow, resourceID string) error {
	if resourceID != "" && r.ResourceID != resourceID {
		return fmt.Errorf("%w: run %s", ErrNotFound, r.RunID)
	}
	return nil
}

// checkInput checks a run's input against the workflow's input schema
// (*InputError on inputData); no input is {} when there is a schema.
func (w *workflow) checkInput(input any) (any, error) {
	if w.input == nil {
		return input, nil
	}
	if input == nil {
		input = map[string]any{}
	}
	b, err := json.Marshal(input)
	if err != nil {
		return nil, &InputError{Field: "inputData", Message: err.Error()}
	}
	if err := w.input.Validate(b); err != nil {
		return nil, &InputError{Field: "inputData", Message: err.Error()}
	}
	return input, nil
}

// checkState checks a run's state against the workflow's state schema
// (*InputError on initialState); no state is {}.
func (w *workflow) checkState(state any) (map[string]any, error) {
	if state == nil {
		state = map[string]any{}
	}
	m, ok := state.(map[string]any)
	if !ok {
		return nil, &InputError{Field: "initialState", Message: fmt.Sprintf("expected an object, got %T", state)}
	}
	if w.state == nil {
		return m, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, &InputError{Field: "initialState", Message: err.Error()}
	}
	if err := w.state.Validate(b); err != nil {
		return nil, &InputError{Field: "initialState", Message: err.Error()}
	}
	return m, nil
}

// CheckStart checks a start's input as StartRun does, before anything is
// written: against the input schema, and the foreach lists the input
// decides against max_foreach_items (*InputError naming the cap).
func (e *Engine) CheckStart(wfID string, input any) error {
	w, err := e.workflow(wfID)
	if err != nil {
		return err
	}
	_, err = w.checkStart(input)
	return err
}

func (w *workflow) checkStart(input any) (any, error) {
	input, err := w.checkInput(input)
	if err != nil {
		return nil, err
	}
	return input, w.checkForeachCap(input)
}

// StartParams start a created run: Mastra's start body.
type StartParams struct {
	Workflow, RunID string
	// ResourceID, when set, must be the run's (ErrNotFound otherwise).
	ResourceID string
	// Input is checked against the workflow's input schema (*InputError
	// on inputData).
	Input any
	// InitialState is Mastra's initialState, checked against the
	// workflow's state schema (*InputError on initialState).
	InitialState   any
	RequestContext map[string]any
}

// StartRun starts a created run with its input (Mastra's start). A run
// that has started already is ErrConflict.
func (e *Engine) StartRun(ctx context.Context, p StartParams) error {
	wfID, runID, resourceID := p.Workflow, p.RunID, p.ResourceID
	w, err := e.workflow(wfID)
	if err != nil {
		return err
	}
	input, err := w.checkStart(p.Input)
	if err != nil {
		return err
	}
	state, err := w.checkState(p.InitialState)
	if err != nil {
		return err
	}
	return e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.load(ctx, tx, wfID, runID, true)
		if err != nil {
			return err
		}
		if err := owned(r, resourceID); err != nil {
			return err
		}
		if r.Snapshot.Status != StatusPending {
			return fmt.Errorf("%w: run %s is %s, not pending", ErrConflict, runID, r.Snapshot.Status)
		}
		if e.princ != nil {
			r.setPrincipal(tx, e.princ.Of(ctx))
		}
		t := e.turn(ctx, tx, w, r)
		if err := t.start(input, state, p.RequestContext); err != nil {
			return err
		}
		return e.save(ctx, tx, r, &t.fx)
	})
}

// StepPath reads the step of a resume body (Mastra's step: a step id, a
// path of ids as a list, or a path written "outer.inner"): the suspended
// step of the run's workflow first, then the steps inside its nested runs.
// Empty or null: every suspended step.
func StepPath(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, nil
		}
		return strings.Split(one, "."), nil
	}
	var path []string
	if err := json.Unmarshal(raw, &path); err != nil {
		return nil, errors.New("expected a step id or a list of step ids")
	}
	return path, nil
}

// Resume resumes the suspended step at path (every suspended step when
// empty) with data, checked against the step's resume schema. A path
// [step, inner, …] resumes inside the nested run of a workflow step. Two
// resumes of one suspended step: the first wins, the second is
// ErrConflict. The claim is a compare-and-set on the run's version, taken
// under its row lock, in the transaction that queues the resumed step.
func (e *Engine) Resume(ctx context.Context, wfID, runID, resourceID string, path []string, data any) error {
	w, err := e.workflow(wfID)
	if err != nil {
		return err
	}
	if len(path) > 0 && w.byID[path[0]] == nil {
		return &InputError{Field: "step", Message: fmt.Sprintf("workflow %s has no step %q", wfID, path[0])}
	}
	return e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.load(ctx, tx, wfID, runID, true)
		if err != nil {
			return err
		}
		if err := owned(r, resourceID); err != nil {
			return err
		}
		if p := r.cur.Parent; p != nil {
			return fmt.Errorf("%w: run %s is nested in run %s of workflow %s; resume that run", ErrConflict, runID, p.RunID, p.Workflow)
		}
		return e.resumeTx(ctx, tx, w, r, path, data)
	})
}

// resumeTx resumes run r (locked in tx) at path; see Resume.
func (e *Engine) resumeTx(ctx context.Context, tx *txn, w *workflow, r *runRow, path []string, data any) error {
	t := e.turn(ctx, tx, w, r)
	resumed := 0
	for id, p := range r.cur.Steps {
		if len(path) > 0 && path[0] != id {
			continue
		}
		s := w.byID[id]
		for tok := range p.Suspended {
			iter := 0
			if _, after, ok := strings.Cut(tok, "@"); ok {
				iter, _ = strconv.Atoi(after)
			}
			if s.nested != nil {
				c, err := e.load(ctx, tx, s.nested.def.ID, p.Children[tok], true)
				if err != nil {
					return err
				}
				var inner []string
				if len(path) > 1 {
					inner = path[1:]
					if s.nested.byID[inner[0]] == nil {
						return &InputError{Field: "step", Message: fmt.Sprintf("nested workflow %s has no step %q", s.nested.def.ID, inner[0])}
					}
				}
				if err := e.resumeTx(ctx, tx, s.nested, c, inner, data); err != nil {
					return err
				}
				// The child reports its end or next suspension back.
			} else {
				if len(path) > 1 {
					return &InputError{Field: "step", Message: fmt.Sprintf("step %s of workflow %s is not a nested workflow", id, w.def.ID)}
				}
				if s.resume != nil {
					b, err := json.Marshal(data)
					if err != nil || data == nil {
						b = []byte("null")
					}
					if err := s.resume.Validate(b); err != nil {
						return &InputError{Field: "resumeData", Message: err.Error()}
					}
				}
				if p.Resume == nil {
					p.Resume = map[string]any{}
				}
				p.Resume[tok] = data
				t.fx.jobs = append(t.fx.jobs, job{Workflow: w.def.ID, RunID: r.RunID, Step: id, Iter: iter})
			}
			delete(p.Suspended, tok)
			if p.Pending == nil {
				p.Pending = map[string]bool{}
			}
			p.Pending[tok] = true
			if res := r.Snapshot.Context.Steps[id]; res != nil {
				res.Status, res.ResumePayload, res.ResumedAt = StatusRunning, data, nowMs()
			}
			delete(r.Snapshot.SuspendedPaths, id)
			t.chunk("workflow-step-start", map[string]any{"id": id, "stepCallId": r.RunID + "-" + id, "status": StatusRunning,
				"resumePayload": data})
			resumed++
		}
	}
	if resumed == 0 {
		return fmt.Errorf("%w: run %s has no suspended step to resume (status %s)", ErrConflict, r.RunID, r.Snapshot.Status)
	}
	t.settle()
	return e.save(ctx, tx, r, &t.fx)
}

// Cancel cancels a run: queued steps are removed, a running step's result
// is discarded, nested runs are cancelled. Cancelling a finished run
// changes nothing.
func (e *Engine) Cancel(ctx context.Context, wfID, runID, resourceID string) error {
	w, err := e.workflow(wfID)
	if err != nil {
		return err
	}
	return e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.load(ctx, tx, wfID, runID, true)
		if err != nil {
			return err
		}
		if err := owned(r, resourceID); err != nil {
			return err
		}
		return e.cancelTx(ctx, tx, w, r)
	})
}

// cancelTx cancels run r, locked in tx.
func (e *Engine) cancelTx(ctx context.Context, tx *txn, w *workflow, r *runRow) error {
	if terminal(r.Snapshot.Status) {
		return nil
	}
	t := e.turn(ctx, tx, w, r)
	for id, p := range r.cur.Steps {
		if res := r.Snapshot.Context.Steps[id]; res != nil && (len(p.Pending) > 0 || len(p.Suspended) > 0) {
			res.Status, res.EndedAt = StatusCanceled, nowMs()
		}
	}
	if err := t.endRun(StatusCanceled, nil, nil); err != nil {
		return err
	}
	return e.save(ctx, tx, r, &t.fx)
}

// GetRun reads a run of resourceID ("" = any resource).
func (e *Engine) GetRun(ctx context.Context, wfID, runID, resourceID string) (*Run, error) {
	if _, err := e.workflow(wfID); err != nil {
		return nil, err
	}
	r, err := e.load(ctx, dbq{e.db}, wfID, runID, false)
	if err != nil {
		return nil, err
	}
	if err := owned(r, resourceID); err != nil {
		return nil, err
	}
	return &r.Run, nil
}

// DeleteRun deletes a run, its chunks, its queued steps and its nested runs.
// A nested run is deleted with its parent, not alone (ErrConflict).
func (e *Engine) DeleteRun(ctx context.Context, wfID, runID, resourceID string) error {
	if _, err := e.workflow(wfID); err != nil {
		return err
	}
	return e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.load(ctx, tx, wfID, runID, true)
		if err != nil {
			return err
		}
		if err := owned(r, resourceID); err != nil {
			return err
		}
		if p := r.cur.Parent; p != nil {
			// The parent waits on it: it goes with the parent.
			return fmt.Errorf("%w: run %s is nested in run %s of workflow %s; delete that run", ErrConflict, runID, p.RunID, p.Workflow)
		}
		return e.deleteTx(ctx, tx, r)
	})
}

// deleteTx deletes run r (locked in tx), its queued jobs and its nested
// runs.
func (e *Engine) deleteTx(ctx context.Context, tx *txn, r *runRow) error {
	wfID, runID := r.Workflow, r.RunID
	children, err := e.itemChildren(ctx, tx, r)
	if err != nil {
		return err
	}
	for _, c := range append(children, r.cur.Children...) {
		cr, err := e.load(ctx, tx, c.Workflow, c.RunID, true)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if err := e.deleteTx(ctx, tx, cr); err != nil {
			return err
		}
	}
	var ids []int64
	for _, id := range r.cur.Jobs {
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		if err := e.disp.cancel(ctx, tx, ids); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`DELETE FROM mastra_workflow_snapshot WHERE workflow_name = $1 AND run_id = $2`,
		`DELETE FROM mastra_server_workflow_runs WHERE workflow_name = $1 AND run_id = $2`,
		`DELETE FROM mastra_server_workflow_chunks WHERE workflow_name = $1 AND run_id = $2`,
		`DELETE FROM mastra_server_workflow_leases WHERE workflow_name = $1 AND run_id = $2`,
		`DELETE FROM mastra_server_workflow_foreach WHERE workflow_name = $1 AND run_id = $2`,
	} {
		if _, err := tx.exec(ctx, q, wfID, runID); err != nil {
			return fmt.Errorf("workflow: delete run %s: %w", runID, err)
		}
	}
	return nil
}

// RunFilter selects runs of a listing.
type RunFilter struct {
	ResourceID       string // "" = every resource
	Status           string
	FromDate, ToDate time.Time
	Offset, Limit    int // Limit 0 = all
}

// ListRuns lists runs of a workflow, newest first, and their total.
func (e *Engine) ListRuns(ctx context.Context, wfID string, f RunFilter) ([]Run, int, error) {
	if _, err := e.workflow(wfID); err != nil {
		return nil, 0, err
	}
	where := []string{"workflow_name = $1"}
	args := []any{wfID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.ResourceID != "" {
		add(`"resourceId" = ?`, f.ResourceID)
	}
	if f.Status != "" {
		add(`snapshot->>'status' = ?`, f.Status)
	}
	if !f.FromDate.IsZero() {
		add(`"createdAt" >= ?`, e.db.ts(f.FromDate))
	}
	if !f.ToDate.IsZero() {
		add(`"createdAt" <= ?`, e.db.ts(f.ToDate))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := (dbq{e.db}).queryRow(ctx, `SELECT count(*) FROM mastra_workflow_snapshot WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("workflow: count runs: %w", err)
	}
	q := `SELECT run_id, "resourceId", snapshot, "createdAt", "updatedAt" FROM mastra_workflow_snapshot WHERE ` + cond +
		` ORDER BY "createdAt" DESC, run_id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", f.Limit, max(f.Offset, 0))
	}
	rs, closeRows, err := (dbq{e.db}).query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("workflow: list runs: %w", err)
	}
	defer closeRows()
	var out []Run
	for rs.Next() {
		var run Run
		var res *string
		var snap string
		var created, updated any
		if err := rs.Scan(&run.RunID, &res, &snap, &created, &updated); err != nil {
			return nil, 0, fmt.Errorf("workflow: list runs: %w", err)
		}
		run.Workflow, run.CreatedAt, run.UpdatedAt = wfID, parseTS(created), parseTS(updated)
		if res != nil {
			run.ResourceID = *res
		}
		if err := json.Unmarshal([]byte(snap), &run.Snapshot); err != nil {
			return nil, 0, fmt.Errorf("workflow: run %s: snapshot: %w", run.RunID, err)
		}
		out = append(out, run)
	}
	return out, total, rs.Err()
}

// Counts are a workflow's running and suspended runs.
type Counts struct {
	Running   int `json:"running"`
	Suspended int `json:"suspended"`
}

// RunCounts counts running and suspended runs per workflow. The counts of
// every resource are cached for CountsCacheTTL (Mastra: 5 s), as a
// dashboard polls them; a resource's own are counted at each call.
func (e *Engine) RunCounts(ctx context.Context, resourceID string) (map[string]Counts, error) {
	if resourceID != "" {
		return e.runCounts(ctx, resourceID)
	}
	e.countsMu.Lock()
	defer e.countsMu.Unlock()
	if e.counts == nil || time.Since(e.countsAt) >= e.countsTTL {
		c, err := e.runCounts(ctx, "")
		if err != nil {
			return nil, err
		}
		e.counts, e.countsAt = c, time.Now()
	}
	out := make(map[string]Counts, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out, nil
}

func (e *Engine) runCounts(ctx context.Context, resourceID string) (map[string]Counts, error) {
	out := map[string]Counts{}
	for _, id := range e.ids {
		out[id] = Counts{}
	}
	q := `SELECT workflow_name, snapshot->>'status', count(*) FROM mastra_workflow_snapshot
		WHERE snapshot->>'status' IN ('running', 'suspended', 'waiting')`
	var args []any
	if resourceID != "" {
		q += ` AND "resourceId" = $1`
		args = append(args, resourceID)
	}
	rs, closeRows, err := (dbq{e.db}).query(ctx, q+` GROUP BY workflow_name, snapshot->>'status'`, args...)
	if err != nil {
		return nil, fmt.Errorf("workflow: run counts: %w", err)
	}
	defer closeRows()
	for rs.Next() {
		var name, status string
		var n int
		if err := rs.Scan(&name, &status, &n); err != nil {
			return nil, fmt.Errorf("workflow: run counts: %w", err)
		}
		if _, ok := out[name]; !ok {
			continue
		}
		c := out[name]
		if status == StatusSuspended {
			c.Suspended += n
		} else {
			c.Running += n
		}
		out[name] = c
	}
	return out, rs.Err()
}

// Wait returns the run once it has finished or waits for a resume.
func (e *Engine) Wait(ctx context.Context, wfID, runID, resourceID string) (*Run, error) {
	key := wfID + "/" + runID
	wake := e.hub.Subscribe(key)
	defer e.hub.Unsubscribe(key, wake)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		r, err := e.settledRun(ctx, wfID, runID, resourceID)
		if err != nil {
			return nil, err
		}
		if r != nil && (terminal(r.Snapshot.Status) || r.Snapshot.Status == StatusSuspended) {
			return &r.Run, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		case <-tick.C:
		}
	}
}

// settledRun reads run runID of resourceID ("" = any) for a waiter: nil
// while a step of it is queued or running, which its cursor alone tells
// (the run is running then), else the whole run. A waiter is woken at
// every commit of the run, each foreach element's included, and the
// snapshot it would read grows with the run's input.
func (e *Engine) settledRun(ctx context.Context, wfID, runID, resourceID string) (*runRow, error) {
	if _, err := e.workflow(wfID); err != nil {
		return nil, err
	}
	r, err := e.loadRun(ctx, dbq{e.db}, wfID, runID, false, false)
	if errors.Is(err, ErrNotFound) {
		r, err = e.load(ctx, dbq{e.db}, wfID, runID, false) // a run without a side row
	}
	if err != nil {
		return nil, err
	}
	if err := owned(r, resourceID); err != nil {
		return nil, err
	}
	for _, p := range r.cur.Steps {
		if len(p.Pending) > 0 {
			return nil, nil
		}
	}
	if r.snap {
		return r, nil
	}
	return e.load(ctx, dbq{e.db}, wfID, runID, false)
}

// defaultChunkRetention is how long a finished run's chunks are kept when
// its workflow sets no chunk_retention: config's default, which host/app
// always passes; this one serves tests and library callers (README lists
// the two packages that fill zeros).
const defaultChunkRetention = 24 * time.Hour

// PruneChunks deletes the stream chunks of finished runs that are older
// than their workflow's chunk retention, all but each run's last chunk
// (its workflow-finish, with the result), and returns how many it
// deleted. The log is what observe replays; a finished run's snapshot
// keeps its result and steps. Start runs it periodically.
func (e *Engine) PruneChunks(ctx context.Context) (int64, error) {
	var total int64
	now := time.Now()
	for _, id := range e.ids {
		keep := e.wfs[id].def.ChunkRetention
		if keep <= 0 {
			keep = defaultChunkRetention
		}
		n, err := dbq{e.db}.exec(ctx, `DELETE FROM mastra_server_workflow_chunks
			WHERE workflow_name = $1 AND created_at < $2
			AND run_id IN (SELECT run_id FROM mastra_workflow_snapshot WHERE workflow_name = $1
				AND snapshot->>'status' IN ('success', 'failed', 'canceled'))
			AND seq < (SELECT r.next_seq - 1 FROM mastra_server_workflow_runs r
				WHERE r.workflow_name = $1 AND r.run_id = mastra_server_workflow_chunks.run_id)`,
			id, now.Add(-keep).UnixMilli())
		if err != nil {
			return total, fmt.Errorf("workflow: prune chunks of %s: %w", id, err)
		}
		total += n
	}
	return total, nil
}

// pruneLoop prunes chunk logs every few minutes (more often when a
// workflow keeps them briefly) until ctx ends. Every instance prunes; the
// deletes are idempotent.
func (e *Engine) pruneLoop(ctx context.Context) {
	every := 10 * time.Minute
	for _, w := range e.wfs {
		if r := w.def.ChunkRetention; r > 0 && r/4 < every {
			every = max(r/4, time.Second)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := e.PruneChunks(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("workflow: pruning chunk logs failed", "err", err)
			}
		}
	}
}
