package memory

import (
	"fmt"
	"sync"
)

// BusyError refuses a bulk write whose resource already holds its share
// of the connection pool (Options.BulkWriteConns) with other bulk writes.
// Nothing was written; the caller may retry once one of them is done.
type BusyError struct {
	// Conns is the share: how many bulk writes one resource may run at once.
	Conns int
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("memory: %d bulk writes of this resource already running (its share of the connections)", e.Conns)
}

// resourceShare counts the connections each resource's bulk writes hold,
// so that one resource never holds more than max of them: the rest of
// the pool stays free for everyone else's turns. A write over the share is
// refused rather than queued, because a queued request would keep its
// decoded batch in memory while it waits.
type resourceShare struct {
	max  int
	mu   sync.Mutex
	held map[string]int // guarded by mu; keys with 0 are deleted
}

func newResourceShare(max int) *resourceShare {
	return &resourceShare{max: max, held: map[string]int{}}
}

// take takes one of resource's connections, or reports false when all
// its share is taken. release gives it back; call it once.
func (s *resourceShare) take(resource string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[resource] >= s.max {
		return nil, false
	}
	s.held[resource]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.held[resource]--; s.held[resource] <= 0 {
			delete(s.held, resource)
		}
	}, true
}
