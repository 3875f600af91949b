package workflow

import (
	"context"
	"sync"
	"time"
)

// hub wakes the watchers of a run when its chunks change.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[chan struct{}]struct{}{}} }

func (h *hub) subscribe(key string) chan struct{} {
	c := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs[key] == nil {
		h.subs[key] = map[chan struct{}]struct{}{}
	}
	h.subs[key][c] = struct{}{}
	h.mu.Unlock()
	return c
}

func (h *hub) unsubscribe(key string, c chan struct{}) {
	h.mu.Lock()
	delete(h.subs[key], c)
	if len(h.subs[key]) == 0 {
		delete(h.subs, key)
	}
	h.mu.Unlock()
}

func (h *hub) signal(key string) {
	h.mu.Lock()
	for c := range h.subs[key] {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
}

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
					e.hub.signal(n.Payload)
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
