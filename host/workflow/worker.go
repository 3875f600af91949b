package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

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
		sctx, end = e.obs.StartStep(ctx, StepRun{Workflow: j.Workflow, RunID: j.RunID, Step: j.Step, Kind: s.def.Kind, Iter: j.Iter, ResourceID: r.ResourceID})
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
			_, end = e.obs.StartStep(ctx, StepRun{Workflow: j.Workflow, RunID: j.RunID, Step: j.Step, Kind: s.def.Kind, Iter: j.Iter, ResourceID: r.ResourceID})
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
