package reqctx

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
)

// ResourceIDKey is the reserved key that scopes a request to one resource
// (tenant). When set by auth or by a trusted middleware it overrides any
// resourceId the client sent. Clients cannot set keys with ReservedPrefix.
const ResourceIDKey = "mastra__resourceId"

// UserKey is the reserved key under which auth stores the authenticated user.
const UserKey = "mastra__user"

// ReservedPrefix marks keys that only the server and trusted plugins may set.
const ReservedPrefix = "mastra__"

// ErrInvalidJSON is returned by Set when a value is not valid JSON.
var ErrInvalidJSON = errors.New("reqctx: value is not valid JSON")

// Values is a request's context map. The zero value is not usable; call New.
type Values struct {
	mu sync.RWMutex // guards m
	m  map[string]json.RawMessage
}

// New returns an empty Values.
func New() *Values {
	return &Values{m: make(map[string]json.RawMessage)}
}

// Get returns the JSON value stored under key.
func (v *Values) Get(key string) (json.RawMessage, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	val, ok := v.m[key]
	return val, ok
}

// GetString returns the value under key when it is a JSON string.
func (v *Values) GetString(key string) (string, bool) {
	raw, ok := v.Get(key)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Set stores a copy of the JSON value under key.
func (v *Values) Set(key string, value json.RawMessage) error {
	if !json.Valid(value) {
		return ErrInvalidJSON
	}
	cp := make(json.RawMessage, len(value))
	copy(cp, value)
	v.mu.Lock()
	v.m[key] = cp
	v.mu.Unlock()
	return nil
}

// SetString stores s as a JSON string under key.
func (v *Values) SetString(key, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	v.mu.Lock()
	v.m[key] = b
	v.mu.Unlock()
}

// Delete removes key.
func (v *Values) Delete(key string) {
	v.mu.Lock()
	delete(v.m, key)
	v.mu.Unlock()
}

// Keys returns the keys in sorted order.
func (v *Values) Keys() []string {
	v.mu.RLock()
	keys := make([]string, 0, len(v.m))
	for k := range v.m {
		keys = append(keys, k)
	}
	v.mu.RUnlock()
	sort.Strings(keys)
	return keys
}

// Snapshot returns a copy of the whole map.
func (v *Values) Snapshot() map[string]json.RawMessage {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make(map[string]json.RawMessage, len(v.m))
	for k, val := range v.m {
		out[k] = val
	}
	return out
}

// MergeClient merges values a client sent (a request body's requestContext or
// a query parameter). Reserved keys are dropped: a client never sets them.
func (v *Values) MergeClient(values map[string]json.RawMessage) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, val := range values {
		if strings.HasPrefix(k, ReservedPrefix) || !json.Valid(val) {
			continue
		}
		v.m[k] = val
	}
}

type contextKey struct{}

// With returns a copy of ctx that carries v.
func With(ctx context.Context, v *Values) context.Context {
	return context.WithValue(ctx, contextKey{}, v)
}

// From returns the Values carried by ctx, or nil when there are none.
func From(ctx context.Context) *Values {
	v, _ := ctx.Value(contextKey{}).(*Values)
	return v
}
