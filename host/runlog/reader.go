package runlog

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// followerBuffer is how many chunks the shared reader holds for one
// follower. A follower that falls this far behind is cut from the reader
// and reads its gap from the database itself, so a slow client never holds
// up the others.
const followerBuffer = 256

// dbReader reads one run of another instance from the database for all
// this instance's followers of it: once per wake-up, whatever their number.
// It stops when its last follower leaves.
type dbReader struct {
	l      *Log
	key    string
	run    Info // the run its followers were let in to
	cancel context.CancelFunc

	mu        sync.Mutex // guards the fields below
	pos       int64      // the last sequence number read
	followers map[*dbFollower]struct{}
	err       error         // why it stopped; nil when the run ended
	done      chan struct{} // closed when it stopped, after its last chunk was handed out
}

// dbFollower is one follower's place at a dbReader.
type dbFollower struct {
	r   *dbReader
	ch  chan logged
	cut chan struct{} // closed when it fell behind and left the fan-out
}

func readerKey(run Info) string {
	return fmt.Sprintf("%s\x00%s\x00%d", run.RunID, run.ResourceID, run.CreatedAt)
}

// join adds a follower at after to the reader of run, starting one when
// there is none, and returns it with the reader's position: chunks up to
// it are the follower's to read, later ones come on its channel.
func (l *Log) join(run Info, after int64) (*dbFollower, int64) {
	key := readerKey(run)
	l.readersMu.Lock()
	defer l.readersMu.Unlock()
	r := l.readers[key]
	if r == nil {
		ctx, cancel := context.WithCancel(l.ctx)
		r = &dbReader{l: l, key: key, run: run, cancel: cancel, pos: after,
			followers: map[*dbFollower]struct{}{}, done: make(chan struct{})}
		l.readers[key] = r
		go r.read(ctx)
	}
	f := &dbFollower{r: r, ch: make(chan logged, followerBuffer), cut: make(chan struct{})}
	r.mu.Lock()
	r.followers[f] = struct{}{}
	pos := r.pos
	r.mu.Unlock()
	return f, pos
}

// leave removes f from its reader, and stops the reader when f was its
// last follower.
func (l *Log) leave(f *dbFollower) {
	r := f.r
	l.readersMu.Lock()
	defer l.readersMu.Unlock()
	r.mu.Lock()
	delete(r.followers, f)
	last := len(r.followers) == 0
	r.mu.Unlock()
	if last && l.readers[r.key] == r {
		delete(l.readers, r.key)
		r.cancel()
	}
}

// followDB reads a run from the database, sharing this instance's reader of
// it: the chunks up to the reader's position when it joins (its backlog)
// it reads itself, once, then takes the reader's. Cut for falling behind,
// it reads its gap and joins again.
func (l *Log) followDB(ctx context.Context, run Info, after int64, fn func(int64, []byte) error) error {
	for {
		f, pos := l.join(run, after)
		var ended bool
		var err error
		after, ended, err = f.follow(ctx, run, after, pos, fn)
		l.leave(f)
		if err != nil || ended {
			return err
		}
	}
}

// follow hands fn the chunks after after: up to pos from the database,
// then those of the reader. ended is false when f was cut.
func (f *dbFollower) follow(ctx context.Context, run Info, after, pos int64, fn func(int64, []byte) error) (int64, bool, error) {
	l := f.r.l
	if after < pos {
		var err error
		if after, err = l.readBacklog(ctx, run, after, pos, fn); err != nil {
			return after, false, err
		}
	}
	give := func(c logged) error {
		if c.Seq <= after {
			return nil
		}
		after = c.Seq
		return fn(c.Seq, c.Data)
	}
	// drain hands fn what the reader gave f before it stopped or cut f.
	drain := func() error {
		for {
			select {
			case c := <-f.ch:
				if err := give(c); err != nil {
					return err
				}
			default:
				return nil
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return after, false, ctx.Err()
		case c := <-f.ch:
			if err := give(c); err != nil {
				return after, false, err
			}
		case <-f.cut:
			return after, false, drain()
		case <-f.r.done:
			if err := drain(); err != nil {
				return after, false, err
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

// readBacklog hands fn the chunks of run after after up to upTo, then
// checks the run is still the one pinned (its id may have been deleted and
// logged again while they were read).
func (l *Log) readBacklog(ctx context.Context, run Info, after, upTo int64, fn func(int64, []byte) error) (int64, error) {
	for after < upTo {
		chunks, err := l.db.chunks(ctx, run.RunID, after, min(500, int(upTo-after)))
		if err != nil {
			return after, err
		}
		if len(chunks) == 0 {
			break
		}
		var batch []logged
		for _, c := range chunks {
			if c.Seq <= upTo {
				batch = append(batch, c)
			}
		}
		if err := l.checkPinned(ctx, run); err != nil {
			return after, err
		}
		for _, c := range batch {
			if err := fn(c.Seq, c.Data); err != nil {
				return after, err
			}
			after = c.Seq
		}
		if len(batch) < len(chunks) {
			break
		}
	}
	return after, nil
}

// checkPinned returns an error when run's id now names another run.
func (l *Log) checkPinned(ctx context.Context, run Info) error {
	info, err := l.db.info(ctx, run.RunID)
	if err != nil {
		return err
	}
	if !sameRun(info.ResourceID, info.CreatedAt, run) {
		return fmt.Errorf("runlog: run %s was replaced while followed: %w", run.RunID, ErrNotFound)
	}
	return nil
}

// read reads the run, woken by notifications or polls, until it ends, it
// fails, or ctx ends (its last follower left).
func (r *dbReader) read(ctx context.Context) {
	l, runID := r.l, r.run.RunID
	wake := l.hub.Subscribe(runID)
	defer l.hub.Unsubscribe(runID, wake)
	r.mu.Lock()
	after := r.pos
	r.mu.Unlock()
	const page = 500
	for {
		// The run and its new chunks in one read: the state and the
		// chunks are of one moment, so a page not full is all of them.
		info, chunks, err := l.db.runChunks(ctx, runID, after, page)
		if err != nil {
			r.stop(err)
			return
		}
		if !sameRun(info.ResourceID, info.CreatedAt, r.run) {
			r.stop(fmt.Errorf("runlog: run %s was replaced while followed: %w", runID, ErrNotFound))
			return
		}
		if len(chunks) > 0 {
			r.fanOut(chunks)
			after = chunks[len(chunks)-1].Seq
		}
		if len(chunks) == page {
			continue
		}
		if info.Status != StatusRunning {
			r.stop(nil)
			return
		}
		wait := l.o.PollInterval
		if left := time.Until(time.UnixMilli(info.LeaseUntil)); left < 0 {
			if err := l.failLost(ctx, info); err != nil {
				r.stop(err)
				return
			}
			continue
		} else if left+time.Millisecond < wait {
			wait = left + time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			r.stop(ctx.Err())
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// fanOut hands chunks to every follower, cutting those whose buffer is
// full rather than waiting for them.
func (r *dbReader) fanOut(chunks []logged) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range chunks {
		for f := range r.followers {
			select {
			case f.ch <- c:
			default:
				// It reads its gap from the database and joins again.
				delete(r.followers, f)
				close(f.cut)
			}
		}
		r.pos = c.Seq
	}
}

// stop ends the reader with err (nil: the run ended) for its followers; a
// follower that comes later starts another.
func (r *dbReader) stop(err error) {
	r.l.readersMu.Lock()
	if r.l.readers[r.key] == r {
		delete(r.l.readers, r.key)
	}
	r.mu.Lock()
	r.err = err
	close(r.done)
	r.mu.Unlock()
	r.l.readersMu.Unlock()
	r.cancel()
}
