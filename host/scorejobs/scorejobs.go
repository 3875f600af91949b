// Package scorejobs runs scorers' gradings ([scorers.<id>]) as River jobs
// (a host/jobqueue queue): a job queued after a turn by one instance is
// run by any, and one whose instance dies before grading stays in river_job
// until another runs it. SQLite servers keep host/observe's in-process
// queue (single node).
//
// It imports host/observe for the job's shape only; host/app hands the
// recorder's RunScore over as the work.
package scorejobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/mastra-server/mastra-server/host/jobqueue"
	"github.com/mastra-server/mastra-server/host/observe"
	"github.com/mastra-server/mastra-server/host/store"
)

// Queue is River's queue of score jobs: apart from the workflows' and the
// embeddings', so that slow judges never delay either.
const Queue = "mastra_scores"

// jobArgs is a job's River arguments. The reply graded travels in them:
// river_job keeps it until River's cleaner deletes the completed job
// (River's retention, a day by default).
type jobArgs struct {
	observe.ScoreJob
}

func (jobArgs) Kind() string { return "mastra_score" }

// Jobs queues and works score jobs. It implements observe.ScoreQueue.
type Jobs struct {
	*jobqueue.Queue[jobArgs]
}

// Open makes the queue on the process's database, not yet working: call
// Start. An instance that only queues need not start.
func Open(db *store.DB, work func(ctx context.Context, job observe.ScoreJob) error, log *slog.Logger) (*Jobs, error) {
	q, err := jobqueue.Open(db, jobqueue.Options{
		Name: "scorejobs", Queue: Queue, Component: "river-scores",
		// Attempts are for a score that could not be stored: a judge's
		// failure is not retried but recorded as a failed score. The
		// timeout covers a judge's call with its client's retries.
		MaxAttempts: 5, Timeout: 2 * time.Minute, Workers: 2,
	}, func(ctx context.Context, a jobArgs) error { return work(ctx, a.ScoreJob) }, log)
	if err != nil {
		return nil, err
	}
	return &Jobs{q}, nil
}

// Enqueue queues a job; see observe.ScoreQueue.
func (j *Jobs) Enqueue(ctx context.Context, job observe.ScoreJob) error {
	return j.Insert(ctx, jobArgs{job})
}
