// Package wakeup wakes the goroutines waiting on a key: the followers of a
// stream run (host/runlog) or the watchers of a workflow run
// (host/workflow), when a notification says it changed.
//
// A wake-up is a hint, not a message: a subscriber's channel holds at most
// one, and the subscriber then reads the state it waits on (from the
// database) itself. So a signal never blocks, and several signals before a
// read cost one read.
package wakeup

import "sync"

// Hub holds the subscribers of each key. The zero value is not ready: use
// NewHub.
type Hub struct {
	mu   sync.Mutex // guards subs
	subs map[string]map[chan struct{}]struct{}
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[chan struct{}]struct{}{}} }

// Subscribe returns a channel that receives a value after each Signal of
// key (at most one pending); Unsubscribe it when done.
func (h *Hub) Subscribe(key string) chan struct{} {
	c := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs[key] == nil {
		h.subs[key] = map[chan struct{}]struct{}{}
	}
	h.subs[key][c] = struct{}{}
	h.mu.Unlock()
	return c
}

// Unsubscribe removes c from key's subscribers.
func (h *Hub) Unsubscribe(key string, c chan struct{}) {
	h.mu.Lock()
	delete(h.subs[key], c)
	if len(h.subs[key]) == 0 {
		delete(h.subs, key)
	}
	h.mu.Unlock()
}

// Signal wakes key's subscribers.
func (h *Hub) Signal(key string) {
	h.mu.Lock()
	for c := range h.subs[key] {
		wake(c)
	}
	h.mu.Unlock()
}

// SignalAll wakes every subscriber (a notification too large to name its
// keys, say).
func (h *Hub) SignalAll() {
	h.mu.Lock()
	for _, subs := range h.subs {
		for c := range subs {
			wake(c)
		}
	}
	h.mu.Unlock()
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default: // one is pending already
	}
}
