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
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/mastra-server/mastra-server/host/agent"
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
	return w.work(ctx, j.Args.EmbedJob)
}

func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration { return jobTimeout }

// Jobs is a River client that queues and works embedding jobs. It
// implements agent.EmbedQueue.
type Jobs struct {
	client *river.Client[pgx.Tx]
	pool   *pgxpool.Pool
}

// Open connects to the Postgres of url (its own small pool), makes sure
// River's tables exist and returns the queue, not yet working: call Start.
func Open(ctx context.Context, url string, work func(ctx context.Context, job agent.EmbedJob) error, log *slog.Logger) (*Jobs, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("embedjobs: invalid database url")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 4 // the notifier, the producer, two workers' writes
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("embedjobs: open pool: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, &worker{work: work})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
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
		pool.Close()
		return nil, fmt.Errorf("embedjobs: river: %w", err)
	}
	return &Jobs{client: client, pool: pool}, nil
}

// migrate creates or upgrades River's tables, one instance at a time (the
// workflows' engine takes the same lock for the same tables).
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("embedjobs: migrate river: %w", err)
	}
	defer conn.Release()
	const lock = 0x7269766572 // "river", as host/workflow
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return fmt.Errorf("embedjobs: migrate river: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lock)
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("embedjobs: migrate river: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("embedjobs: migrate river: %w", err)
	}
	return nil
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
// on this or another instance) and closes the pool.
func (j *Jobs) Close(ctx context.Context) error {
	err := j.client.Stop(ctx)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = j.client.StopAndCancel(sctx)
	}
	j.pool.Close()
	return err
}
