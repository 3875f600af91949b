package plugin

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryKV is an in-process KV with expiry, used when Config.KV is nil. It
// is lost on restart and not shared between server instances.
type MemoryKV struct {
	mu sync.Mutex // guards m
	m  map[memKey]kvEntry
}

type memKey struct{ ns, key string }

type kvEntry struct {
	val      []byte
	expires  time.Time // zero: never
	resource string    // whose quota it counts against
}

func (e kvEntry) expired(now time.Time) bool { return !e.expires.IsZero() && now.After(e.expires) }

var _ KV = (*MemoryKV)(nil)

// NewMemoryKV returns an empty MemoryKV.
func NewMemoryKV() *MemoryKV { return &MemoryKV{m: make(map[memKey]kvEntry)} }

// Get returns a copy of the value under ns/key.
func (s *MemoryKV) Get(_ context.Context, ns, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[memKey{ns, key}]
	if !ok {
		return nil, false, nil
	}
	if e.expired(time.Now()) {
		delete(s.m, memKey{ns, key})
		return nil, false, nil
	}
	return append([]byte(nil), e.val...), true, nil
}

// Set stores a copy of val under ns/key; ttl <= 0 means no expiry. The
// quota is counted and the value stored under one lock, so concurrent Sets
// never pass it. Counting walks the whole map: this store is for tests and
// single-process use.
func (s *MemoryKV) Set(_ context.Context, ns, key string, val []byte, ttl time.Duration, q KVQuota) error {
	now := time.Now()
	e := kvEntry{val: append([]byte(nil), val...), resource: q.ResourceID}
	if ttl > 0 {
		e.expires = now.Add(ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, bytes := 0, int64(0)
	for k, old := range s.m {
		switch {
		case old.expired(now):
			delete(s.m, k)
		case k.ns == ns && k.key != key && old.resource == q.ResourceID:
			keys++
			bytes += int64(len(k.key) + len(old.val))
		}
	}
	if keys+1 > q.MaxKeys || bytes+int64(len(key)+len(val)) > q.MaxBytes {
		return fmt.Errorf("%w: %d keys and %d bytes in use, the quota is %d keys and %d bytes",
			ErrKVQuota, keys, bytes, q.MaxKeys, q.MaxBytes)
	}
	s.m[memKey{ns, key}] = e
	return nil
}

// Delete removes ns/key.
func (s *MemoryKV) Delete(_ context.Context, ns, key string) error {
	s.mu.Lock()
	delete(s.m, memKey{ns, key})
	s.mu.Unlock()
	return nil
}
