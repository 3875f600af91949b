// Package jobqueue is one kind of background job kept by River on the
// process's Postgres (host/store's pool and River driver; host/store
// migrates River's tables): a job queued by one instance is worked by any,
// stays in river_job across a restart or a dead instance, and is retried
// with River's backoff. Semantic recall's embeddings (host/embedjobs) and
// scorers' gradings (host/scorejobs) are two such queues, each with its
// own River queue so that one's burst never delays the other or the
// workflows. SQLite servers have no River and keep in-process queues.
package jobqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mastra-server/mastra-server/host/store"
)

// Options describe a queue.
type Options struct {
	// Name prefixes errors ("embedjobs: queue: …").
	Name string
	// Queue is River's queue name; Component the logger's component.
	Queue, Component string
	// MaxAttempts bounds the tries of a job (River waits attempt⁴ seconds
	// between them); Timeout bounds one try; Workers is how many jobs an
	// instance works at once.
	MaxAttempts int
	Timeout     time.Duration
	Workers     int
}

// Queue queues and works jobs whose River arguments are A (A's Kind names
// the job kind in river_job).
type Queue[A river.JobArgs] struct {
	o      Options
	client *river.Client[pgx.Tx]
}

type worker[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	work    func(ctx context.Context, args A) error
	timeout time.Duration
}

func (w *worker[A]) Work(ctx context.Context, j *river.Job[A]) error { return w.work(ctx, j.Args) }

func (w *worker[A]) Timeout(*river.Job[A]) time.Duration { return w.timeout }

// Open makes the queue on db, not yet working: call Start (an instance
// that only queues need not). work is one try of a job; its error is
// River's to retry (river.JobSnooze to wait without spending an attempt).
func Open[A river.JobArgs](db *store.DB, o Options, work func(ctx context.Context, args A) error, log *slog.Logger) (*Queue[A], error) {
	if !db.Postgres() {
		return nil, errors.New(o.Name + ": River needs Postgres")
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, &worker[A]{work: work, timeout: o.Timeout})
	client, err := river.NewClient(db.River(), &river.Config{
		Queues:      map[string]river.QueueConfig{o.Queue: {MaxWorkers: o.Workers}},
		Workers:     ws,
		Logger:      log.With("component", o.Component),
		JobTimeout:  o.Timeout,
		MaxAttempts: o.MaxAttempts,
		// Jobs arrive by LISTEN/NOTIFY; fetch them at once.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: river: %w", o.Name, err)
	}
	return &Queue[A]{o: o, client: client}, nil
}

// Start works the queue until Close.
func (q *Queue[A]) Start(ctx context.Context) error {
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("%s: start river: %w", q.o.Name, err)
	}
	return nil
}

// Insert queues a job.
func (q *Queue[A]) Insert(ctx context.Context, args A) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := q.client.Insert(ctx, args, &river.InsertOpts{Queue: q.o.Queue, MaxAttempts: q.o.MaxAttempts}); err != nil {
		return fmt.Errorf("%s: queue: %w", q.o.Name, err)
	}
	return nil
}

// Close stops working (jobs in progress get until ctx ends, then run again
// on this or another instance); the database stays open (its owner closes
// it).
func (q *Queue[A]) Close(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = q.client.StopAndCancel(sctx)
	}
	return err
}
