// Package embedjobs runs semantic recall's embedding jobs on River (a
// host/jobqueue queue): a job queued by one instance is run by any,
// survives a restart, and is retried with River's backoff when the
// embedding provider fails. SQLite servers keep the agent's in-process
// queue instead (single node).
//
// It imports host/agent for the job's shape only; host/app hands the
// Service's Embed over as the work.
package embedjobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/jobqueue"
	"github.com/mastra-server/mastra-server/host/store"
)

// Queue is River's queue of embedding jobs, apart from the workflows'
// default queue so that a burst of turns never delays a workflow step.
const Queue = "mastra_embeddings"

// jobArgs is a job's River arguments.
type jobArgs struct {
	agent.EmbedJob
}

func (jobArgs) Kind() string { return "mastra_embed_messages" }

// Jobs queues and works embedding jobs. It implements agent.EmbedQueue.
type Jobs struct {
	*jobqueue.Queue[jobArgs]
}

// Open makes the queue on the process's database, not yet working: call
// Start.
func Open(db *store.DB, work func(ctx context.Context, job agent.EmbedJob) error, log *slog.Logger) (*Jobs, error) {
	q, err := jobqueue.Open(db, jobqueue.Options{
		Name: "embedjobs", Queue: Queue, Component: "river-embeddings",
		// River waits attempt⁴ seconds between tries: 1 s, 16 s, 81 s, 256 s.
		MaxAttempts: 5, Timeout: time.Minute, Workers: 2,
	}, func(ctx context.Context, a jobArgs) error {
		err := work(ctx, a.EmbedJob)
		var deferred *agent.EmbedDeferredError
		if errors.As(err, &deferred) {
			// Over its resource's token budget: again when the window has
			// room, without spending an attempt (no new turn of that
			// resource runs meanwhile, so such jobs do not pile up).
			return river.JobSnooze(deferred.Wait)
		}
		return err
	}, log)
	if err != nil {
		return nil, err
	}
	return &Jobs{q}, nil
}

// Enqueue queues a job; see agent.EmbedQueue.
func (j *Jobs) Enqueue(ctx context.Context, job agent.EmbedJob) error {
	return j.Insert(ctx, jobArgs{job})
}
