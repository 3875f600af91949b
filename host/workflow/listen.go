package workflow

import (
	"context"
	"time"
)

// notifyChannel carries the keys of runs that committed chunks, from any
// instance (engine.save notifies it).
const notifyChannel = "mastra_workflow"

// listen relays notifications of committed chunks (from any instance) to
// this instance's watchers, on the instance's one LISTEN connection
// (host/store), listening again when it is cut.
func (e *Engine) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := e.db.st.Listen(ctx, notifyChannel, nil, e.hub.Signal)
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
