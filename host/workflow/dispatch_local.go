package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// localDispatch is the SQLite dispatcher: jobs in a table, run by this
// process. SQLite mode is single-node, so at start every job marked
// running was cut short by the last stop and is run again.
type localDispatch struct {
	e       *Engine
	db      *db
	workers chan struct{}
	wake    chan struct{}
	mu      sync.Mutex
	running map[int64]context.CancelFunc
	wg      sync.WaitGroup
	done    chan struct{}
	stopped chan struct{}
	started bool
}

func newLocal(e *Engine, d *db, workers int) dispatcher {
	return &localDispatch{e: e, db: d, workers: make(chan struct{}, workers), wake: make(chan struct{}, 1),
		running: map[int64]context.CancelFunc{}, done: make(chan struct{}), stopped: make(chan struct{})}
}

func (l *localDispatch) enqueue(ctx context.Context, tx *txn, jobs []job) ([]int64, error) {
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		b, err := json.Marshal(j)
		if err != nil {
			return nil, err
		}
		at := j.At
		if at.IsZero() {
			at = time.Now()
		}
		if err := tx.queryRow(ctx, `INSERT INTO mastra_server_workflow_jobs (run_id, args, run_at, state, priority) VALUES ($1, $2, $3, 'available', $4) RETURNING id`,
			j.RunID, string(b), at.UnixMilli(), jobPriority(j)).Scan(&ids[i]); err != nil {
			return nil, fmt.Errorf("workflow: queue step: %w", err)
		}
	}
	tx.afterCommit = append(tx.afterCommit, l.poke)
	return ids, nil
}

func (l *localDispatch) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *localDispatch) cancel(ctx context.Context, tx *txn, ids []int64) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `DELETE FROM mastra_server_workflow_jobs WHERE id = $1`, id); err != nil {
			return fmt.Errorf("workflow: cancel job %d: %w", id, err)
		}
	}
	tx.afterCommit = append(tx.afterCommit, func() {
		l.mu.Lock()
		for _, id := range ids {
			if c := l.running[id]; c != nil {
				c()
			}
		}
		l.mu.Unlock()
	})
	return nil
}

func (l *localDispatch) start(ctx context.Context) error {
	q := dbq{l.db}
	if _, err := q.exec(ctx, `UPDATE mastra_server_workflow_jobs SET state = 'available' WHERE state = 'running'`); err != nil {
		return fmt.Errorf("workflow: requeue interrupted steps: %w", err)
	}
	// Leases of the last process died with it.
	if _, err := q.exec(ctx, `DELETE FROM mastra_server_workflow_leases`); err != nil {
		return fmt.Errorf("workflow: clear leases: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		<-l.done
		cancel()
	}()
	l.started = true
	go l.loop(ctx)
	return nil
}

func (l *localDispatch) loop(ctx context.Context) {
	defer close(l.stopped)
	for {
		next, err := l.dispatchDue(ctx)
		if err != nil && ctx.Err() == nil {
			l.e.log.Warn("workflow: dispatch failed; retrying", "err", err)
			next = time.Second
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-l.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// dispatchDue starts every due job a worker slot is free for, by priority
// then age (as River fetches them), and says how long to sleep before the
// next scheduled one.
func (l *localDispatch) dispatchDue(ctx context.Context) (time.Duration, error) {
	for {
		select {
		case l.workers <- struct{}{}:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		var id int64
		var args string
		now := time.Now().UnixMilli()
		err := l.db.inTx(ctx, func(tx *txn) error {
			err := tx.queryRow(ctx, `SELECT id, args FROM mastra_server_workflow_jobs WHERE state = 'available' AND run_at <= $1 ORDER BY priority, run_at, id LIMIT 1`, now).Scan(&id, &args)
			if err != nil {
				return err
			}
			_, err = tx.exec(ctx, `UPDATE mastra_server_workflow_jobs SET state = 'running', attempt = attempt + 1 WHERE id = $1`, id)
			return err
		})
		if err != nil {
			<-l.workers
			if !isNoRows(err) {
				return 0, err
			}
			var at sql.NullInt64
			if err := (dbq{l.db}).queryRow(ctx, `SELECT min(run_at) FROM mastra_server_workflow_jobs WHERE state = 'available'`).Scan(&at); err != nil {
				return 0, err
			}
			if !at.Valid {
				return time.Minute, nil
			}
			return max(time.Until(time.UnixMilli(at.Int64)), time.Millisecond), nil
		}
		var j job
		if err := json.Unmarshal([]byte(args), &j); err != nil {
			<-l.workers
			l.finish(context.WithoutCancel(ctx), id, nil)
			continue
		}
		jctx, cancel := context.WithCancel(ctx)
		l.mu.Lock()
		l.running[id] = cancel
		l.mu.Unlock()
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer func() { <-l.workers }()
			err := l.e.work(jctx, j)
			l.mu.Lock()
			delete(l.running, id)
			l.mu.Unlock()
			cancel()
			if ctx.Err() != nil {
				return // stopping: the job stays "running" and is requeued at the next start
			}
			l.finish(ctx, id, err)
		}()
	}
}

// finish removes a done job, or puts a failed one back with a backoff.
func (l *localDispatch) finish(ctx context.Context, id int64, err error) {
	q := dbq{l.db}
	var qerr error
	if err == nil {
		_, qerr = q.exec(ctx, `DELETE FROM mastra_server_workflow_jobs WHERE id = $1`, id)
	} else {
		if !errors.Is(err, errLeased) {
			l.e.log.Warn("workflow: step job failed; will retry", "job", id, "err", err)
		}
		_, qerr = q.exec(ctx, `UPDATE mastra_server_workflow_jobs SET state = 'available', run_at = $2 WHERE id = $1`,
			id, time.Now().Add(time.Second).UnixMilli())
	}
	if qerr != nil && !strings.Contains(qerr.Error(), "closed") {
		l.e.log.Warn("workflow: recording a finished job failed", "job", id, "err", qerr)
	}
	l.poke()
}

func (l *localDispatch) close(ctx context.Context) error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	if !l.started {
		return nil
	}
	select {
	case <-l.stopped:
	case <-ctx.Done():
	}
	waited := make(chan struct{})
	go func() { l.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
