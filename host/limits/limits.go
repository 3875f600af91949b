package limits

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/memory"
)

// Limits are one subject's budgets; 0 is no limit.
type Limits struct {
	RequestsPerMinute int
	TokensPerMinute   int
	// MaxStreams bounds the streams open at once.
	MaxStreams int
}

// On reports whether any limit is set.
func (l Limits) On() bool {
	return l.RequestsPerMinute > 0 || l.TokensPerMinute > 0 || l.MaxStreams > 0
}

// Subject is what a request is counted against, and the limits that apply.
type Subject struct {
	// Key names the counters: "resource:<id>", "user:<name>", "ip:<addr>".
	Key    string
	Limits Limits
	// Token is the user of the static token whose own limits these are;
	// "" for [Budgets.Global].
	Token string
}

// Budgets are the limits of every subject: the global ones, and those of
// the static tokens that have their own (by user).
type Budgets struct {
	Global Limits
	Tokens map[string]Limits
}

// Of is the limits of token ("" or a token without its own: the global
// ones).
func (b Budgets) Of(token string) Limits {
	if l, ok := b.Tokens[token]; ok && token != "" {
		return l
	}
	return b.Global
}

// On reports whether any limit is set, globally or for a token.
func (b Budgets) On() bool {
	if b.Global.On() {
		return true
	}
	for _, l := range b.Tokens {
		if l.On() {
			return true
		}
	}
	return false
}

// For is the subject key with the limits of token: its own, or for ""
// and a token without its own the global ones (then Token is "").
func (b Budgets) For(key, token string) Subject {
	if _, own := b.Tokens[token]; !own {
		token = ""
	}
	return Subject{Key: key, Limits: b.Of(token), Token: token}
}

// principal is a subject as work done later for it stores it: its
// counters and whose limits apply, never the limits themselves (they are
// read from the configuration when the work runs) nor any secret.
type principal struct {
	Key   string `json:"key"`
	Token string `json:"token,omitempty"`
}

// Principal names s for work that runs later, maybe on another instance
// (a workflow run's steps); [Budgets.Subject] turns it back into s.
func (s Subject) Principal() string {
	b, _ := json.Marshal(principal{Key: s.Key, Token: s.Token}) // two strings always marshal
	return string(b)
}

// Subject is the subject named by p (from [Subject.Principal]) with the
// limits b gives it now; false for "" or a name it cannot read.
func (b Budgets) Subject(p string) (Subject, bool) {
	var pr principal
	if p == "" || json.Unmarshal([]byte(p), &pr) != nil || pr.Key == "" {
		return Subject{}, false
	}
	return b.For(pr.Key, pr.Token), true
}

type subjectKey struct{}

// WithSubject returns ctx carrying s, for the turns and model calls of the
// request.
func WithSubject(ctx context.Context, s Subject) context.Context {
	return context.WithValue(ctx, subjectKey{}, s)
}

// SubjectFrom returns the subject of ctx's request, if any.
func SubjectFrom(ctx context.Context) (Subject, bool) {
	s, ok := ctx.Value(subjectKey{}).(Subject)
	return s, ok
}

// ExceededError is a refusal: which limit, and when to try again.
type ExceededError struct {
	// What is "requests", "model tokens" or "streams".
	What       string
	Limit      int
	RetryAfter time.Duration
}

func (e *ExceededError) Error() string {
	if e.What == "streams" {
		return fmt.Sprintf("limits: %d streams already open", e.Limit)
	}
	return fmt.Sprintf("limits: %s per minute over %d", e.What, e.Limit)
}

// Window is the length of a counting window.
const Window = time.Minute

// LeaseTTL is how long a stream's lease outlives its last renewal: the
// longest a dead instance's streams keep counting.
const LeaseTTL = 30 * time.Second

// leaseCallTimeout bounds a lease's renewal or release in the database.
const leaseCallTimeout = 5 * time.Second

// counter is where counts and leases live: the database (store.go), or
// the process. A lease lasts ttl from the counter's own clock.
type counter interface {
	AddCount(ctx context.Context, key string, window, n int64) (int64, error)
	Count(ctx context.Context, key string, window int64) (int64, error)
	PruneCounts(ctx context.Context, before int64) error
	AcquireLease(ctx context.Context, key, id string, max int, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, key, id string, ttl time.Duration) error
	ReleaseLease(ctx context.Context, key, id string) error
}

// Limiter counts and refuses. It is safe for concurrent use.
type Limiter struct {
	c   counter
	log *slog.Logger
	// Now is the clock of the counting windows, and of the leases of
	// NewMemory (NewStore's leases follow the database's clock); tests set
	// it before use.
	Now func() time.Time
	// Shared says the counts are shared across instances.
	Shared bool

	pruned atomic.Int64 // the last window whose old counters were pruned
}

// NewStore counts in store's database, shared by every instance on it.
func NewStore(store *memory.Store, log *slog.Logger) *Limiter {
	return &Limiter{c: newDBCounter(store), log: log, Now: time.Now, Shared: true}
}

// NewMemory counts in this process.
func NewMemory(log *slog.Logger) *Limiter {
	l := &Limiter{log: log, Now: time.Now}
	l.c = newLocal(func() time.Time { return l.Now() })
	return l
}

// window is the index of the window holding t, and when it ends.
func window(t time.Time) (int64, time.Duration) {
	w := t.UnixMilli() / Window.Milliseconds()
	end := time.UnixMilli((w + 1) * Window.Milliseconds())
	return w, end.Sub(t)
}

func retryAfter(d time.Duration) time.Duration { return max(d.Round(time.Second), time.Second) }

// Request counts one request of s and refuses it when it is over s's
// requests per minute.
func (l *Limiter) Request(ctx context.Context, s Subject) error {
	limit := s.Limits.RequestsPerMinute
	if limit <= 0 {
		return nil
	}
	w, rest := window(l.Now())
	n, err := l.c.AddCount(ctx, s.Key+"|requests", w, 1)
	l.prune(ctx, w)
	if err != nil {
		return err
	}
	if n > int64(limit) {
		return &ExceededError{What: "requests", Limit: limit, RetryAfter: retryAfter(rest)}
	}
	return nil
}

// CheckTokens refuses a new model call of s while the model tokens of the
// current window are at or over s's budget.
func (l *Limiter) CheckTokens(ctx context.Context, s Subject) error {
	limit := s.Limits.TokensPerMinute
	if limit <= 0 {
		return nil
	}
	w, rest := window(l.Now())
	n, err := l.c.Count(ctx, s.Key+"|tokens", w)
	if err != nil {
		return err
	}
	if n >= int64(limit) {
		return &ExceededError{What: "model tokens", Limit: limit, RetryAfter: retryAfter(rest)}
	}
	return nil
}

// SpendTokens adds the n tokens a model call of s used.
func (l *Limiter) SpendTokens(ctx context.Context, s Subject, n int) error {
	if s.Limits.TokensPerMinute <= 0 || n <= 0 {
		return nil
	}
	w, _ := window(l.Now())
	_, err := l.c.AddCount(context.WithoutCancel(ctx), s.Key+"|tokens", w, int64(n))
	return err
}

// AcquireStream takes one of s's stream slots for as long as the stream
// runs; call release when it ends. With no slot free it is an
// *ExceededError.
func (l *Limiter) AcquireStream(ctx context.Context, s Subject) (release func(), err error) {
	limit := s.Limits.MaxStreams
	if limit <= 0 {
		return func() {}, nil
	}
	key, id := s.Key+"|streams", uuid.NewString()
	ok, err := l.c.AcquireLease(ctx, key, id, limit, LeaseTTL)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &ExceededError{What: "streams", Limit: limit, RetryAfter: time.Second}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // renew while the stream runs
		defer close(done)
		t := time.NewTicker(LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.Background(), leaseCallTimeout)
				err := l.c.RenewLease(rctx, key, id, LeaseTTL)
				cancel()
				if err != nil {
					l.log.Warn("limits: renewing a stream lease failed", "err", err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			// The stream's end waits for this: a hung database must not
			// hold it longer than the timeout (the lease expires anyway).
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseCallTimeout)
			defer cancel()
			if err := l.c.ReleaseLease(rctx, key, id); err != nil {
				l.log.Warn("limits: releasing a stream lease failed; it expires by itself", "err", err, "ttl", LeaseTTL)
			}
		})
	}, nil
}

// prune drops the counters of windows before the previous one, once per
// window per instance.
func (l *Limiter) prune(ctx context.Context, w int64) {
	last := l.pruned.Load()
	if last >= w || !l.pruned.CompareAndSwap(last, w) {
		return
	}
	if err := l.c.PruneCounts(context.WithoutCancel(ctx), w-1); err != nil {
		l.log.Warn("limits: pruning old counters failed", "err", err)
	}
}

// local is the in-process counter.
type local struct {
	now    func() time.Time
	mu     sync.Mutex // guards counts, leases
	counts map[localCount]int64
	leases map[string]map[string]time.Time // key → id → expiry
}

type localCount struct {
	key    string
	window int64
}

func newLocal(now func() time.Time) *local {
	return &local{now: now, counts: map[localCount]int64{}, leases: map[string]map[string]time.Time{}}
}

func (c *local) AddCount(_ context.Context, key string, window, n int64) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := localCount{key, window}
	c.counts[k] += n
	return c.counts[k], nil
}

func (c *local) Count(_ context.Context, key string, window int64) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[localCount{key, window}], nil
}

func (c *local) PruneCounts(_ context.Context, before int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.counts {
		if k.window < before {
			delete(c.counts, k)
		}
	}
	return nil
}

func (c *local) AcquireLease(_ context.Context, key, id string, max int, ttl time.Duration) (bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	ls := c.leases[key]
	for lid, exp := range ls {
		if !exp.After(now) {
			delete(ls, lid)
		}
	}
	if len(ls) >= max {
		return false, nil
	}
	if ls == nil {
		ls = map[string]time.Time{}
		c.leases[key] = ls
	}
	ls[id] = now.Add(ttl)
	return true, nil
}

func (c *local) RenewLease(_ context.Context, key, id string, ttl time.Duration) error {
	expires := c.now().Add(ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.leases[key][id]; ok {
		c.leases[key][id] = expires
	}
	return nil
}

func (c *local) ReleaseLease(_ context.Context, key, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.leases[key], id)
	if len(c.leases[key]) == 0 {
		delete(c.leases, key)
	}
	return nil
}
