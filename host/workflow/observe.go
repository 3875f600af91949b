package workflow

import (
	"context"
	"errors"
	"time"
)

// Observer watches runs and steps, for metrics and traces; host/metrics and
// host/tracing implement it. Workflow and step ids come from the
// configuration, so they are bounded; run ids are not.
type Observer interface {
	// RunStarted is called once a run's start has committed.
	RunStarted(workflow string)
	// RunFinished is called once a run's end (StatusSuccess, StatusFailed
	// or StatusCanceled) has committed: once per run, on the instance
	// that committed it.
	RunFinished(workflow, status string)
	// StartStep is called as this instance begins a step's work. The
	// context returned is the step's (an agent step's turn runs in it);
	// end is called once with one of the Step* outcomes.
	StartStep(ctx context.Context, s StepRun) (context.Context, func(outcome string))
}

// StepRun is one execution of a step.
type StepRun struct {
	Workflow, RunID, Step, Kind string
	// Iter is the iteration of a step inside a loop or foreach (0 else).
	Iter int
	// ResourceID is the run's resource ("" for none); not a label.
	ResourceID string
}

// Outcomes of a step's execution.
const (
	StepOK       = "ok"
	StepError    = "error"
	StepTimeout  = "timeout"
	StepCanceled = "canceled" // the instance shut down: the step runs again
	StepSuspend  = "suspended"
)

// stepOutcome classes a step's error; shutdown is ctx's (the worker's) end.
func stepOutcome(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return StepOK
	case errors.As(err, new(*suspension)):
		return StepSuspend
	case ctx.Err() != nil:
		return StepCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return StepTimeout
	}
	return StepError
}

// Observers joins observers into one, called in order; nil when none.
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

func (m multiObserver) RunStarted(w string) {
	for _, o := range m {
		o.RunStarted(w)
	}
}

func (m multiObserver) RunFinished(w, status string) {
	for _, o := range m {
		o.RunFinished(w, status)
	}
}

func (m multiObserver) StartStep(ctx context.Context, s StepRun) (context.Context, func(string)) {
	ends := make([]func(string), len(m))
	for i, o := range m {
		ctx, ends[i] = o.StartStep(ctx, s)
	}
	return ctx, func(outcome string) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](outcome)
		}
	}
}

// RunEndObserver is an Observer that also wants a finished run's input
// and result (host/observe's workflow scorers grade the result). The
// engine looks for it by type assertion: other observers need not care.
type RunEndObserver interface {
	// RunEnded is called once a run's end has committed, after
	// RunFinished, on the instance that committed it. The values are the
	// run's own: read them, do not change them.
	RunEnded(RunEnd)
}

// RunEnd is a finished run.
type RunEnd struct {
	Workflow, RunID, ResourceID string
	// Status is StatusSuccess, StatusFailed or StatusCanceled.
	Status string
	// Input is the run's input; Result its result (nil unless success).
	Input, Result any
	// Created is when the run was created (its duration runs from there,
	// suspensions included).
	Created time.Time
	// Principal names who started the run (Principals.Of), "" for nobody.
	Principal string
}

func (m multiObserver) RunEnded(end RunEnd) {
	for _, o := range m {
		if ro, ok := o.(RunEndObserver); ok {
			ro.RunEnded(end)
		}
	}
}

// observeCommit tells the observer, once tx has committed, of the run's
// start or end that fx records.
func (e *Engine) observeCommit(tx *txn, r *runRow, fx *effects) {
	if e.obs == nil {
		return
	}
	wf := r.Workflow
	if fx.started {
		tx.afterCommit = append(tx.afterCommit, func() { e.obs.RunStarted(wf) })
	}
	if status := fx.finished; status != "" {
		tx.afterCommit = append(tx.afterCommit, func() { e.obs.RunFinished(wf, status) })
		if ro, ok := e.obs.(RunEndObserver); ok {
			end := RunEnd{Workflow: wf, RunID: r.RunID, ResourceID: r.ResourceID, Status: status,
				Input: r.Snapshot.Context.Input, Result: r.Snapshot.Result, Created: r.CreatedAt, Principal: r.principal}
			tx.afterCommit = append(tx.afterCommit, func() { ro.RunEnded(end) })
		}
	}
}
