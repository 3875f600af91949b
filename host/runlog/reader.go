package runlog

import (
	"context"
	"fmt"
	"time"

	"github.com/mastra-server/mastra-server/internal/follow"
)

// readerPage is the most chunks one read of a run takes.
const readerPage = 500

// runReader reads one run of another instance from the database for all
// this instance's followers of it (internal/follow shares it: one read per
// wake-up, whatever their number).
type runReader struct {
	l   *Log
	run Info // the run its followers were let in to
}

func readerKey(run Info) string {
	return fmt.Sprintf("%s\x00%s\x00%d", run.RunID, run.ResourceID, run.CreatedAt)
}

// followDB reads a run from the database through this instance's shared
// reader of it.
func (l *Log) followDB(ctx context.Context, run Info, after int64, fn func(int64, []byte) error) error {
	return l.readers.Follow(ctx, readerKey(run), run.RunID, runReader{l: l, run: run}, after, nil, func(c follow.Chunk) error {
		return fn(c.Seq, c.Data)
	})
}

// Read reads the run and its new chunks in one statement: the state and
// the chunks are of one moment, so a page not full is all of them. A run
// whose lease expired is ended here (failLost) and read again at once.
func (r runReader) Read(ctx context.Context, after int64) (follow.Page[string], error) {
	l := r.l
	info, chunks, err := l.db.runChunks(ctx, r.run.RunID, after, readerPage)
	if err != nil {
		return follow.Page[string]{}, err
	}
	if !sameRun(info.ResourceID, info.CreatedAt, r.run) {
		return follow.Page[string]{}, fmt.Errorf("runlog: run %s was replaced while followed: %w", r.run.RunID, ErrNotFound)
	}
	p := follow.Page[string]{Chunks: chunks, State: info.Status}
	switch {
	case len(chunks) == readerPage:
		p.More = true
	case info.Status != StatusRunning:
		p.Done = true
	default:
		left := time.Until(time.UnixMilli(info.LeaseUntil))
		if left < 0 {
			if err := l.failLost(ctx, info); err != nil {
				return p, err
			}
			p.More = true
		} else if left+time.Millisecond < l.o.PollInterval {
			p.Wait = left + time.Millisecond
		}
	}
	return p, nil
}

// Backlog hands fn the chunks of the run after after up to upTo, checking
// after each page that the run is still the one pinned (its id may have
// been deleted and logged again while they were read).
func (r runReader) Backlog(ctx context.Context, after, upTo int64, fn func(follow.Chunk) error) (int64, error) {
	l, run := r.l, r.run
	for after < upTo {
		chunks, err := l.db.chunks(ctx, run.RunID, after, min(readerPage, int(upTo-after)))
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
			if err := fn(c); err != nil {
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
