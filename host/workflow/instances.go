package workflow

import (
	"context"
	"fmt"
	"time"
)

// An instance on Postgres holds a liveness lease in
// mastra_server_workflow_instances, renewed every third of its length. Once
// an instance's lease has expired, any instance makes the step jobs River
// still has running on it (River's attempted_by names its client, whose id
// is the instance's) available again, and a step lease that instance held
// may be taken over (claim). A dead instance's steps so run again within
// about a lease and a renewal interval, whatever the steps' timeouts;
// River's rescuer, which waits for the longest step timeout, remains the
// fallback for a live instance's stuck worker. A live instance renews, so
// its slow steps are never taken from it; one that lost its lease and
// comes back (paused, cut off) is fenced at its step's commit (work).

// defaultInstanceLease is how long an instance counts as alive after its
// last renewal.
const defaultInstanceLease = 10 * time.Second

// renewInstance writes this instance's lease.
func (d *riverDispatch) renewInstance(ctx context.Context) error {
	until := time.Now().Add(d.lease).UnixMilli()
	_, err := d.pool.Exec(ctx, `INSERT INTO mastra_server_workflow_instances (instance_id, lease_expires_at) VALUES ($1, $2)
		ON CONFLICT (instance_id) DO UPDATE SET lease_expires_at = $2`, d.me, until)
	if err != nil {
		return fmt.Errorf("workflow: renew instance lease: %w", err)
	}
	return nil
}

// forgetDead drops the instances gone for a day (River's rescuer covers
// what they left). Rows come only from starts, so an instance does this
// at its start, not at every renewal.
func (d *riverDispatch) forgetDead(ctx context.Context) error {
	if _, err := d.pool.Exec(ctx, `DELETE FROM mastra_server_workflow_instances WHERE lease_expires_at < $1`,
		time.Now().Add(-24*time.Hour).UnixMilli()); err != nil {
		return fmt.Errorf("workflow: forget dead instances: %w", err)
	}
	return nil
}

// requeueDead makes the step jobs running on instances whose lease has
// expired available again, and wakes River's producers for them.
func (d *riverDispatch) requeueDead(ctx context.Context) (int64, error) {
	now := time.Now().UnixMilli()
	tag, err := d.pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'running' AND kind = $1 AND attempted_by[array_length(attempted_by, 1)] IN (
			SELECT instance_id FROM mastra_server_workflow_instances WHERE lease_expires_at < $2 AND instance_id <> $3)`,
		stepArgs{}.Kind(), now, d.me)
	if err != nil {
		return 0, fmt.Errorf("workflow: requeue the steps of dead instances: %w", err)
	}
	if tag.RowsAffected() > 0 {
		if _, err := d.pool.Exec(ctx, notifyInsert, notifyInsertPayload); err != nil {
			return 0, fmt.Errorf("workflow: requeue the steps of dead instances: notify: %w", err)
		}
	}
	return tag.RowsAffected(), nil
}

// livenessLoop renews this instance's lease and requeues dead instances'
// steps every third of the lease until ctx ends.
func (d *riverDispatch) livenessLoop(ctx context.Context) {
	t := time.NewTicker(d.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, d.lease/3)
		err := d.renewInstance(rctx)
		if err == nil {
			var n int64
			if n, err = d.requeueDead(rctx); n > 0 {
				d.log.Info("workflow: steps of an instance whose lease expired are queued again", "steps", n)
			}
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			d.log.Warn("workflow: instance lease", "err", err)
		}
	}
}

// expireInstance gives the lease up once River has stopped, so that what a
// stop left running is taken over at once.
func (d *riverDispatch) expireInstance(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, _ = d.pool.Exec(rctx, `UPDATE mastra_server_workflow_instances SET lease_expires_at = 0 WHERE instance_id = $1`, d.me)
}
