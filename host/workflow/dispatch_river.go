package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// dispatcher queues step jobs inside a run's transaction and runs them.
type dispatcher interface {
	enqueue(ctx context.Context, tx *txn, jobs []job) ([]int64, error)
	cancel(ctx context.Context, tx *txn, ids []int64) error
	start(ctx context.Context) error
	close(ctx context.Context) error
}

// jobPriority is a job's priority, River's scale: 1 is fetched first. A
// foreach element's job comes after every other queued step (first in,
// first out within a priority), so that a run's long list, which keeps
// only its concurrency's worth of elements queued, does not make a new
// run of another resource wait for it.
func jobPriority(j job) int {
	if j.bulk {
		return 2
	}
	return 1
}

// stepArgs is a step job's River arguments.
type stepArgs struct {
	job
}

func (stepArgs) Kind() string { return "mastra_workflow_step" }

type stepWorker struct {
	river.WorkerDefaults[stepArgs]
	e *Engine
}

func (w *stepWorker) Work(ctx context.Context, j *river.Job[stepArgs]) error {
	err := w.e.work(ctx, j.Args.job)
	if errors.Is(err, errLeased) {
		// Another instance holds the step; look again when its lease ends,
		// or sooner, when that instance's own lease may have expired.
		return river.JobSnooze(min(w.timeout(j), w.e.lease))
	}
	return err
}

// Timeout is the step's own timeout plus time to commit its result, not
// River's default.
func (w *stepWorker) Timeout(j *river.Job[stepArgs]) time.Duration { return w.timeout(j) }

func (w *stepWorker) timeout(j *river.Job[stepArgs]) time.Duration {
	if wf := w.e.wfs[j.Args.Workflow]; wf != nil {
		if s := wf.byID[j.Args.Step]; s != nil {
			return s.timeout + commitMargin
		}
	}
	return time.Minute
}

// commitMargin is what a step gets beyond its timeout to record its
// failure.
const commitMargin = 10 * time.Second

type riverDispatch struct {
	client *river.Client[pgx.Tx]
	pool   pgPool
	log    *slog.Logger
	ctx    context.Context // until close: scheduled wake-ups stop with it
	stop   context.CancelFunc
	// me and lease are this instance's liveness lease (instances.go).
	me       string
	lease    time.Duration
	liveStop context.CancelFunc
	liveDone chan struct{}
}

// newRiver is the dispatcher on the process's pool; River's tables were
// migrated with every other (host/store).
func newRiver(e *Engine, d *db, workers int) (dispatcher, error) {
	// The longest step timeout, not at least a minute: River's rescuer
	// (global, so not per step) gives a stuck job back this long after it
	// began, plus its interval (30 s). A dead instance's steps are taken
	// over sooner, after its instance lease (instances.go); the rescuer is
	// left for a live instance's stuck worker.
	var maxTimeout time.Duration
	for _, w := range e.wfs {
		maxTimeout = max(maxTimeout, w.maxTime)
	}
	if maxTimeout == 0 {
		maxTimeout = time.Minute
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, &stepWorker{e: e})
	client, err := river.NewClient(d.st.River(), &river.Config{
		ID:      e.me,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		Workers: ws,
		Logger:  e.log.With("component", "river"),
		// A stuck step is run again once its timeout has passed (not after
		// River's default hour); stepWorker.Timeout sets each step's own.
		JobTimeout:           maxTimeout + commitMargin,
		RescueStuckJobsAfter: maxTimeout + 2*commitMargin,
		// New jobs arrive by LISTEN/NOTIFY; fetch them at once.
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: time.Second,
		MaxAttempts:       25,
	})
	if err != nil {
		return nil, fmt.Errorf("workflow: river: %w", err)
	}
	dctx, stop := context.WithCancel(context.Background())
	return &riverDispatch{client: client, pool: d.pool, log: e.log, ctx: dctx, stop: stop, me: e.me, lease: e.lease}, nil
}

// notifyInsert wakes River's producers now, as River's own insert
// notification would (channel <schema>.river_insert, payload {"queue": …},
// as riverpgxv5 0.51 sends it); see enqueue and wake for why.
const (
	notifyInsert        = `SELECT pg_notify(current_schema() || '.river_insert', $1)`
	notifyInsertPayload = `{"queue": "` + river.QueueDefault + `"}`
)

func (d *riverDispatch) enqueue(ctx context.Context, tx *txn, jobs []job) ([]int64, error) {
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		opts := &river.InsertOpts{Priority: jobPriority(j)}
		if !j.At.IsZero() {
			opts.ScheduledAt = j.At
		}
		params[i] = river.InsertManyParams{Args: stepArgs{j}, InsertOpts: opts}
	}
	res, err := d.client.InsertManyTx(ctx, tx.pg, params)
	if err != nil {
		return nil, fmt.Errorf("workflow: queue steps: %w", err)
	}
	// River notifies its producers of an insert at most once per
	// FetchCooldown per client: the next step of a run, queued within a
	// millisecond of the last, would then wait for River's fetch poll (a
	// second). Notify on River's insert channel at each commit that queues
	// a step, in the commit's own batch.
	tx.extra = append(tx.extra, stmt{notifyInsert, []any{notifyInsertPayload}})

	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.Job.ID
		if at := jobs[i].At; !at.IsZero() && time.Until(at) > 0 {
			id := r.Job.ID
			tx.afterCommit = append(tx.afterCommit, func() {
				time.AfterFunc(time.Until(at), func() { d.wake(id) })
			})
		}
	}
	return ids, nil
}

// wake makes a scheduled step (a sleep) available at its time. River
// moves scheduled jobs to available only in its leader's scheduler pass,
// every 5 s, and its producers then find them at their next 1 s poll: a
// 100 ms sleep took up to 6 s. The instance that queued the sleep wakes it
// on time; should it be gone, River's scheduler still does, later.
func (d *riverDispatch) wake(id int64) {
	if d.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		j, err := d.client.JobGetTx(ctx, tx, id)
		if errors.Is(err, river.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if j.State != rivertype.JobStateScheduled {
			return nil // cancelled, or River's scheduler came first
		}
		if _, err := d.client.JobRetryTx(ctx, tx, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, notifyInsert, notifyInsertPayload)
		return err
	})
	if err != nil && d.ctx.Err() == nil {
		d.log.Warn("workflow: waking a scheduled step failed; River's scheduler will", "job", id, "err", err)
	}
}

func (d *riverDispatch) cancel(ctx context.Context, tx *txn, ids []int64) error {
	for _, id := range ids {
		if _, err := d.client.JobCancelTx(ctx, tx.pg, id); err != nil && !errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("workflow: cancel job %d: %w", id, err)
		}
	}
	return nil
}

func (d *riverDispatch) start(ctx context.Context) error {
	// The lease exists before River runs a step here, so that the step is
	// taken over should this instance die.
	if err := d.renewInstance(ctx); err != nil {
		return err
	}
	if err := d.forgetDead(ctx); err != nil {
		d.log.Warn("workflow: instance lease", "err", err) // housekeeping; the next start tries again
	}
	if err := d.client.Start(ctx); err != nil {
		return fmt.Errorf("workflow: start river: %w", err)
	}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.liveStop, d.liveDone = stop, make(chan struct{})
	go func() { defer close(d.liveDone); d.livenessLoop(lctx) }()
	return nil
}

// close stops fetching and lets running steps finish until ctx ends; then
// cancels them (they run again after their lease).
func (d *riverDispatch) close(ctx context.Context) error {
	d.stop()
	err := d.client.Stop(ctx)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = d.client.StopAndCancel(sctx)
	}
	if d.liveStop != nil {
		d.liveStop()
		<-d.liveDone
		d.expireInstance(ctx)
	}
	return err
}
