package plugin

import (
	"context"
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
	val     []byte
	expires time.Time // zero: never
}

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
	if !e.expires.IsZero() && time.Now().After(e.expires) {
		delete(s.m, memKey{ns, key})
		return nil, false, nil
	}
	return append([]byte(nil), e.val...), true, nil
}

// Set stores a copy of val under ns/key; ttl <= 0 means no expiry.
func (s *MemoryKV) Set(_ context.Context, ns, key string, val []byte, ttl time.Duration) error {
	e := kvEntry{val: append([]byte(nil), val...)}
	if ttl > 0 {
		e.expires = time.Now().Add(ttl)
	}
	s.mu.Lock()
	s.m[memKey{ns, key}] = e
	s.mu.Unlock()
	return nil
}

// Delete removes ns/key.
func (s *MemoryKV) Delete(_ context.Context, ns, key string) error {
	s.mu.Lock()
	delete(s.m, memKey{ns, key})
	s.mu.Unlock()
	return nil
}
