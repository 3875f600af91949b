// Package scorejobs runs scorers' gradings ([scorers.<id>]) as River jobs
// on Postgres, the queue the workflows and embedding jobs use: a job
// queued after a turn by one instance is run by any, and one whose
// instance dies before grading stays in river_job until another runs it.
// SQLite servers keep host/observe's in-process queue (single node).
//
// It imports host/observe for the job's shape only; host/app hands the
// recorder's RunScore over as the work.
package scorejobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mastra-server/mastra-server/host/observe"
	"github.com/mastra-server/mastra-server/host/store"
)

// Queue is River's queue of score jobs: apart from the workflows' and the
// embeddings', so that slow judges never delay either.
const Queue = "mastra_scores"

const (
	// maxAttempts bounds the tries of a job whose score could not be
	// stored (River waits attempt⁴ seconds between them). A judge's
	// failure is not retried: it is recorded as a failed score.
	maxAttempts = 5
	// jobTimeout covers a judge's call with its client's retries.
	jobTimeout = 2 * time.Minute
	workers    = 2
)

// jobArgs is a job's River arguments. The reply graded travels in them:
// river_job keeps it until River's cleaner deletes the completed job
// (River's retention, a day by default).
type jobArgs struct {
	observe.ScoreJob
}

func (jobArgs) Kind() string { return "mastra_score" }

type worker struct {
	river.WorkerDefaults[jobArgs]
	work func(ctx context.Context, job observe.ScoreJob) error
}

func (w *worker) Work(ctx context.Context, j *river.Job[jobArgs]) error {
	return w.work(ctx, j.Args.ScoreJob)
}

func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration { return jobTimeout }

// Jobs is a River client that queues and works score jobs. It implements
// observe.ScoreQueue.
type Jobs struct {
	client *river.Client[pgx.Tx]
}

// Open makes the queue on the process's database (host/store's pool and
// River driver; host/store migrates River's tables), not yet working: call
// Start. An instance that only queues need not start.
func Open(db *store.DB, work func(ctx context.Context, job observe.ScoreJob) error, log *slog.Logger) (*Jobs, error) {
	if !db.Postgres() {
		return nil, errors.New("scorejobs: River needs Postgres")
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, &worker{work: work})
	client, err := river.NewClient(db.River(), &river.Config{
		Queues:      map[string]river.QueueConfig{Queue: {MaxWorkers: workers}},
		Workers:     ws,
		Logger:      log.With("component", "river-scores"),
		JobTimeout:  jobTimeout,
		MaxAttempts: maxAttempts,
		// Jobs arrive by LISTEN/NOTIFY; fetch them at once.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("scorejobs: river: %w", err)
	}
	return &Jobs{client: client}, nil
}

// Start works the queue until Close.
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.client.Start(ctx); err != nil {
		return fmt.Errorf("scorejobs: start river: %w", err)
	}
	return nil
}

// Enqueue queues a job; see observe.ScoreQueue.
func (j *Jobs) Enqueue(ctx context.Context, job observe.ScoreJob) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := j.client.Insert(ctx, jobArgs{job}, &river.InsertOpts{Queue: Queue, MaxAttempts: maxAttempts})
	if err != nil {
		return fmt.Errorf("scorejobs: queue: %w", err)
	}
	return nil
}

// Close stops working (jobs in progress get until ctx ends, then run again
// on this or another instance); the database stays open (its owner closes
// it).
func (j *Jobs) Close(ctx context.Context) error {
	err := j.client.Stop(ctx)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = j.client.StopAndCancel(sctx)
	}
	return err
}
