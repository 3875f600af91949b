// Package follow shares one reader of a stored log among this instance's
// followers of it: the chunks of a resumable agent stream (host/runlog),
// the chunks of a workflow run (host/workflow).
//
// A log is a sequence of chunks numbered 1, 2, …; a follower names the last
// chunk it has (0: none) and is handed the ones after it. However many
// follow one log on an instance, one reader reads it, once per wake-up
// (internal/wakeup) or poll, and hands every follower what it read. A
// follower that joins late reads its backlog itself, once; one that falls a
// buffer behind is cut from the reader, reads its gap itself, and joins
// again, so a slow client never holds up the others.
//
// What a chunk means, how the log is read and when it has ended are the
// Source's.
package follow

import (
	"context"
	"sync"
	"time"

	"github.com/mastra-server/mastra-server/internal/wakeup"
)

// Chunk is one entry of a log.
type Chunk struct {
	Seq  int64 // 1, 2, …
	Data []byte
}

// Page is what one read of a log returns.
type Page[S comparable] struct {
	// Chunks are the chunks after the position read from, in order.
	Chunks []Chunk
	// State is the log's state as of the same moment (a run's status,
	// say), handed to the followers' until.
	State S
	// More asks for another read at once (the page was full, or the read
	// changed the log).
	More bool
	// Done: the log has ended, no chunk follows these. The reader stops
	// and its followers return nil.
	Done bool
	// Wait is the longest wait for a wake-up before the next read; 0 is
	// the Group's poll interval.
	Wait time.Duration
}

// Source reads one log for a reader.
type Source[S comparable] interface {
	// Read returns the chunks after after (at most a page) and the state.
	// An error stops the reader; its followers return it.
	Read(ctx context.Context, after int64) (Page[S], error)
	// Backlog hands fn the chunks after after up to upTo, and returns the
	// last one handed: a follower's own read of what the reader had read
	// before it joined, or of the gap it fell behind by.
	Backlog(ctx context.Context, after, upTo int64, fn func(Chunk) error) (int64, error)
}

// Buffer is how many chunks the reader holds for one follower
// before it cuts it.
const Buffer = 256

// Group holds this instance's readers of one kind of log. It is safe for
// concurrent use.
type Group[S comparable] struct {
	hub  *wakeup.Hub
	poll time.Duration

	mu      sync.Mutex // guards readers; taken before a reader's mu
	readers map[string]*reader[S]
	ctx     context.Context // ends with Close
	stop    context.CancelFunc
}

// NewGroup returns a Group whose readers wake on hub's signals of their
// wake key, or every poll when none comes.
func NewGroup[S comparable](hub *wakeup.Hub, poll time.Duration) *Group[S] {
	ctx, stop := context.WithCancel(context.Background())
	return &Group[S]{hub: hub, poll: poll, readers: map[string]*reader[S]{}, ctx: ctx, stop: stop}
}

// Close stops every reader; their followers return context.Canceled.
func (g *Group[S]) Close() { g.stop() }

// Readers returns how many logs are being read (tests).
func (g *Group[S]) Readers() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.readers)
}

// Followers returns how many follow log key through its reader (tests).
func (g *Group[S]) Followers(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.readers[key]
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.followers)
}

// reader reads one log for all of its followers.
type reader[S comparable] struct {
	g      *Group[S]
	key    string
	src    Source[S]
	cancel context.CancelFunc

	poke chan struct{} // asks for a read now (a follower with until joined)

	mu        sync.Mutex // guards the fields below
	pos       int64      // the last chunk read
	gen       int64      // reads begun
	state     S
	hasState  bool // a read has set state
	followers map[*follower[S]]struct{}
	err       error         // why it stopped; nil when the log ended
	done      chan struct{} // closed when it stopped, after its last chunk was handed out
}

// event is a chunk, the state after it (the last chunk of a read carries
// the read's state), or both; gen is the read's.
type event[S comparable] struct {
	chunk    Chunk
	hasChunk bool
	state    S
	hasState bool
	gen      int64
}

// follower is one follower's place at a reader.
type follower[S comparable] struct {
	r   *reader[S]
	ch  chan event[S]
	cut chan struct{} // closed when it fell behind and left the fan-out
	// joinGen is the last read begun when it joined: a state read before
	// it may predate what the follower's caller has seen (a resume that
	// committed just before the watch), so until trusts only later ones.
	joinGen int64
	// needState: it has an until and no state of a read begun after it
	// joined yet; the next read sends it one.
	needState bool
}

// Follow hands fn the chunks of the log key after after, in order, and
// returns nil once the log has ended (Page.Done) or until holds of its
// state and the follower's last chunk (nil until: only the end). It
// returns fn's error, ctx's, or the Source's. src reads the log when no
// reader of key runs yet; the reader wakes on the hub's signals of wake.
func (g *Group[S]) Follow(ctx context.Context, key, wake string, src Source[S], after int64,
	until func(state S, after int64) bool, fn func(Chunk) error) error {
	for {
		f, pos := g.join(key, wake, src, after, until != nil)
		var ended bool
		var err error
		after, ended, err = f.follow(ctx, after, pos, until, fn)
		g.leave(f)
		if err != nil || ended {
			return err
		}
	}
}

// join adds a follower at after to the reader of key, starting one when
// there is none, and returns it with the reader's position: chunks up to
// pos are the follower's to read, later ones come on its channel. A
// follower that needs a state (it has an until) asks a running reader for
// a read now.
func (g *Group[S]) join(key, wake string, src Source[S], after int64, needState bool) (*follower[S], int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.readers[key]
	if r == nil {
		// Its first follower is in before it reads: every read it makes
		// begins after the follower's call.
		ctx, cancel := context.WithCancel(g.ctx)
		r = &reader[S]{g: g, key: key, src: src, cancel: cancel, pos: after, poke: make(chan struct{}, 1),
			followers: map[*follower[S]]struct{}{}, done: make(chan struct{})}
		g.readers[key] = r
		f := &follower[S]{r: r, ch: make(chan event[S], Buffer), cut: make(chan struct{}), needState: needState}
		r.followers[f] = struct{}{}
		go r.read(ctx, wake)
		return f, after
	}
	if needState {
		select {
		case r.poke <- struct{}{}:
		default:
		}
	}
	f := &follower[S]{r: r, ch: make(chan event[S], Buffer), cut: make(chan struct{}), needState: needState}
	r.mu.Lock()
	r.followers[f] = struct{}{}
	pos := r.pos
	f.joinGen = r.gen
	r.mu.Unlock()
	return f, pos
}

// leave removes f from its reader, and stops the reader when f was its
// last follower.
func (g *Group[S]) leave(f *follower[S]) {
	r := f.r
	g.mu.Lock()
	defer g.mu.Unlock()
	r.mu.Lock()
	delete(r.followers, f)
	last := len(r.followers) == 0
	r.mu.Unlock()
	if last && g.readers[r.key] == r {
		delete(g.readers, r.key)
		r.cancel()
	}
}

// follow hands fn the chunks after after: up to pos from the Source, then
// those of the reader. ended is false when f was cut.
func (f *follower[S]) follow(ctx context.Context, after, pos int64,
	until func(S, int64) bool, fn func(Chunk) error) (int64, bool, error) {
	if after < pos {
		var err error
		if after, err = f.r.src.Backlog(ctx, after, pos, func(c Chunk) error {
			if err := fn(c); err != nil {
				return err
			}
			after = c.Seq
			return nil
		}); err != nil {
			return after, false, err
		}
	}
	// give hands fn a chunk it has not had; reports whether until holds
	// after a state.
	give := func(e event[S]) (bool, error) {
		if e.hasChunk && e.chunk.Seq > after {
			after = e.chunk.Seq
			if err := fn(e.chunk); err != nil {
				return false, err
			}
		}
		return e.hasState && e.gen > f.joinGen && until != nil && until(e.state, after), nil
	}
	// drain hands fn what the reader gave f before it stopped or cut f.
	drain := func() (bool, error) {
		for {
			select {
			case e := <-f.ch:
				if stop, err := give(e); stop || err != nil {
					return stop, err
				}
			default:
				return false, nil
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return after, false, ctx.Err()
		case e := <-f.ch:
			if stop, err := give(e); stop || err != nil {
				return after, stop, err
			}
		case <-f.cut:
			stop, err := drain()
			return after, stop, err
		case <-f.r.done:
			if stop, err := drain(); stop || err != nil {
				return after, stop, err
			}
			select {
			case <-f.cut: // cut before the end: it has a gap to read
				return after, false, nil
			default:
			}
			f.r.mu.Lock()
			err := f.r.err
			f.r.mu.Unlock()
			return after, err == nil, err
		}
	}
}

// read reads the log, woken by the hub or polls, until it ends, a read
// fails, or ctx ends (its last follower left).
func (r *reader[S]) read(ctx context.Context, wake string) {
	w := r.g.hub.Subscribe(wake)
	defer r.g.hub.Unsubscribe(wake, w)
	for {
		r.mu.Lock()
		after := r.pos
		r.gen++
		gen := r.gen
		r.mu.Unlock()
		p, err := r.src.Read(ctx, after)
		if err != nil {
			r.stop(err)
			return
		}
		r.fanOut(p, gen)
		if p.Done {
			r.stop(nil)
			return
		}
		if p.More {
			continue
		}
		wait := p.Wait
		if wait <= 0 {
			wait = r.g.poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			r.stop(ctx.Err())
			return
		case <-w:
		case <-r.poke:
		case <-t.C:
		}
		t.Stop()
	}
}

// fanOut hands read gen's page to every follower, cutting those whose
// buffer is full rather than waiting for them. The state goes with the
// last chunk, or alone when it changed without one or a follower waits for
// one: a buffer holds Buffer chunks whatever the reads.
func (r *reader[S]) fanOut(p Page[S], gen int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	send := func(e event[S]) {
		for f := range r.followers {
			select {
			case f.ch <- e:
			default:
				// It reads its gap itself and joins again.
				delete(r.followers, f)
				close(f.cut)
			}
		}
	}
	changed := !r.hasState || p.State != r.state
	r.state, r.hasState = p.State, true
	waiting := false
	for f := range r.followers {
		if f.needState && f.joinGen < gen {
			f.needState, waiting = false, true
		}
	}
	for i, c := range p.Chunks {
		e := event[S]{chunk: c, hasChunk: true, gen: gen}
		if i == len(p.Chunks)-1 {
			e.state, e.hasState = p.State, true
		}
		send(e)
		r.pos = c.Seq
	}
	if len(p.Chunks) == 0 && (changed || waiting) {
		send(event[S]{state: p.State, hasState: true, gen: gen})
	}
}

// stop ends the reader with err (nil: the log ended) for its followers; a
// follower that comes later starts another.
func (r *reader[S]) stop(err error) {
	r.g.mu.Lock()
	if r.g.readers[r.key] == r {
		delete(r.g.readers, r.key)
	}
	r.mu.Lock()
	r.err = err
	close(r.done)
	r.mu.Unlock()
	r.g.mu.Unlock()
	r.cancel()
}
