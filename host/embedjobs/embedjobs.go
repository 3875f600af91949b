// Package embedjobs runs semantic recall's embedding jobs on River, the
// Postgres job queue the workflows use: a job queued by one instance is run
// by any, survives a restart, and is retried with River's backoff when the
// embedding provider fails. SQLite servers keep the agent's in-process
// queue instead (single node).
//
// It imports host/agent for the job's shape only; host/app hands the
// Service's Embed over as the work.
package embedjobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/store"
)

// Queue is River's queue of embedding jobs, apart from the workflows'
// default queue so that a burst of turns never delays a workflow step.
const Queue = "mastra_embeddings"

const (
	// maxAttempts bounds the tries of a job (River waits attempt⁴ seconds
	// between them: 1 s, 16 s, 81 s, 256 s).
	maxAttempts = 5
	jobTimeout  = time.Minute
	workers     = 2
)

// jobArgs is a job's River arguments.
type jobArgs struct {
	agent.EmbedJob
}

func (jobArgs) Kind() string { return "mastra_embed_messages" }

type worker struct {
	river.WorkerDefaults[jobArgs]
	work func(ctx context.Context, job agent.EmbedJob) error
}

func (w *worker) Work(ctx context.Context, j *river.Job[jobArgs]) error {
	err := w.work(ctx, j.Args.EmbedJob)
	var deferred *agent.EmbedDeferredError
	if errors.As(err, &deferred) {
		// Over its resource's token budget: again when the window has
		// room, without spending an attempt (no new turn of that
		// resource runs meanwhile, so such jobs do not pile up).
		return river.JobSnooze(deferred.Wait)
	}
	return err
}

func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration { return jobTimeout }

// Jobs is a River client that queues and works embedding jobs. It
// implements agent.EmbedQueue.
type Jobs struct {
	client *river.Client[pgx.Tx]
}

// Open makes the queue on the process's database (host/store's pool and
// River driver; host/store migrates River's tables), not yet working: call
// Start.
func Open(db *store.DB, work func(ctx context.Context, job agent.EmbedJob) error, log *slog.Logger) (*Jobs, error) {
	if !db.Postgres() {
		return nil, errors.New("embedjobs: River needs Postgres")
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, &worker{work: work})
	client, err := river.NewClient(db.River(), &river.Config{
		Queues:      map[string]river.QueueConfig{Queue: {MaxWorkers: workers}},
		Workers:     ws,
		Logger:      log.With("component", "river-embeddings"),
		JobTimeout:  jobTimeout,
		MaxAttempts: maxAttempts,
		// Jobs arrive by LISTEN/NOTIFY; fetch them at once.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("embedjobs: river: %w", err)
	}
	return &Jobs{client: client}, nil
}

// Start works the queue until Close.
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.client.Start(ctx); err != nil {
		return fmt.Errorf("embedjobs: start river: %w", err)
	}
	return nil
}

// Enqueue queues a job; see agent.EmbedQueue.
func (j *Jobs) Enqueue(ctx context.Context, job agent.EmbedJob) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := j.client.Insert(ctx, jobArgs{job}, &river.InsertOpts{Queue: Queue, MaxAttempts: maxAttempts})
	if err != nil {
		return fmt.Errorf("embedjobs: queue: %w", err)
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
