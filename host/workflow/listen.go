package workflow

import (
	"context"
	"time"
)

// listen relays Postgres notifications of committed chunks (from any
// instance) to this instance's watchers, reconnecting when cut.
func (e *Engine) listen(ctx context.Context) {
	for ctx.Err() == nil {
		conn, err := e.db.pool.Acquire(ctx)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN mastra_workflow"); err == nil {
				for {
					n, werr := conn.Conn().WaitForNotification(ctx)
					if werr != nil {
						err = werr
						break
					}
					e.hub.Signal(n.Payload)
				}
			}
			// A connection left LISTENing must not go back to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
			conn.Release()
		}
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("workflow: listening for run changes failed; watchers poll until it is back", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
