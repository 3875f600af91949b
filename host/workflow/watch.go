package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mastra-server/mastra-server/internal/follow"
)

// watchPoll is how often a run's reader reads without a notification: a
// missed one costs at most this.
const watchPoll = time.Second

// watchPage is the most chunks one read takes.
const watchPage = 200

// runState is a run as its watchers see it, read with its chunks.
type runState struct {
	// end is the number of chunks the run has logged, so the sequence
	// number of its last one.
	end    int64
	status string
	// pending: a step of the run is queued or running, which its cursor
	// alone tells; the run has not settled whatever its status says.
	pending bool
}

// Watch calls fn with the run's chunks after sequence number after (the
// number of chunks already had: chunks are numbered from 1, as stream
// chunks are), as they are committed (by any instance), and returns once
// the run has finished or, with untilSuspended, once it waits for a
// resume. The watchers of one run on this instance share one reader of it
// (internal/follow): one read of its state, and one of its new chunks if
// any, per wake-up, however many watch.
func (e *Engine) Watch(ctx context.Context, wfID, runID, resourceID string, after int64, untilSuspended bool, fn func(seq int64, chunk json.RawMessage) error) error {
	if _, err := e.GetRun(ctx, wfID, runID, resourceID); err != nil {
		return err
	}
	key := wfID + "/" + runID
	var until func(runState, int64) bool
	if untilSuspended {
		until = func(st runState, after int64) bool {
			return st.status == StatusSuspended && !st.pending && after >= st.end
		}
	}
	return e.watchers.Follow(ctx, key, key, runSource{e: e, wf: wfID, run: runID}, after, until, func(c follow.Chunk) error {
		return fn(c.Seq, json.RawMessage(c.Data))
	})
}

// runSource reads one run for its watchers.
type runSource struct {
	e       *Engine
	wf, run string
}

// Read reads what the run's watchers wait on in at most two statements.
// The first reads its cursor and chunk count only (not the snapshot, which
// can be megabytes: a foreach commits per element); while a step is
// pending the run has not settled, and the second reads the new chunks up
// to that count. Else the second reads the status with the count and the
// chunks, of one moment, so a finished run whose chunks are all read is
// done.
func (s runSource) Read(ctx context.Context, after int64) (follow.Page[runState], error) {
	st, err := s.e.watchCursor(ctx, s.wf, s.run)
	if err != nil {
		return follow.Page[runState]{}, err
	}
	p := follow.Page[runState]{State: st}
	if st.pending {
		if after < st.end {
			p.Chunks, err = s.e.readChunks(ctx, s.wf, s.run, after, st.end)
			p.More = len(p.Chunks) == watchPage
		}
		return p, err
	}
	p.State.status, p.State.end, p.Chunks, err = s.e.watchSettled(ctx, s.wf, s.run, after)
	if err != nil {
		return p, err
	}
	p.More = len(p.Chunks) == watchPage
	p.Done = !p.More && terminal(p.State.status)
	return p, nil
}

// Backlog reads the chunks after after up to upTo, a page at a time.
func (s runSource) Backlog(ctx context.Context, after, upTo int64, fn func(follow.Chunk) error) (int64, error) {
	for after < upTo {
		chunks, err := s.e.readChunks(ctx, s.wf, s.run, after, upTo)
		if err != nil {
			return after, err
		}
		for _, c := range chunks {
			if err := fn(c); err != nil {
				return after, err
			}
			after = c.Seq
		}
		if len(chunks) < watchPage {
			// The rest was pruned (a finished run keeps its last chunk).
			break
		}
	}
	return after, nil
}

// watchCursor reads a run's chunk count and (from its cursor) whether a
// step is pending. A run without a side row (written by a Mastra server)
// has no chunks here.
func (e *Engine) watchCursor(ctx context.Context, wfID, runID string) (runState, error) {
	if _, err := e.workflow(wfID); err != nil {
		return runState{}, err
	}
	e.watchReads.Add(1)
	var st runState
	var end *int64
	var cur string
	err := (dbq{e.db}).queryRow(ctx, `SELECT r.next_seq, r.cursor
		FROM mastra_workflow_snapshot s LEFT JOIN mastra_server_workflow_runs r ON r.workflow_name = s.workflow_name AND r.run_id = s.run_id
		WHERE s.workflow_name = $1 AND s.run_id = $2`, wfID, runID).Scan(&end, ptrString(&cur))
	if err != nil {
		if isNoRows(err) {
			return st, fmt.Errorf("%w: run %s", ErrNotFound, runID)
		}
		return st, fmt.Errorf("workflow: watch run %s: %w", runID, err)
	}
	if end != nil {
		st.end = *end
	}
	if cur != "" {
		var c cursor
		if err := json.Unmarshal([]byte(cur), &c); err != nil {
			return st, fmt.Errorf("workflow: run %s: cursor: %w", runID, err)
		}
		for _, p := range c.Steps {
			if len(p.Pending) > 0 {
				st.pending = true
				break
			}
		}
	}
	return st, nil
}

// watchSettled reads a run's status, chunk count and a page of its chunks
// after after, in one statement.
func (e *Engine) watchSettled(ctx context.Context, wfID, runID string, after int64) (status string, end int64, chunks []follow.Chunk, err error) {
	e.watchReads.Add(1)
	rs, closeRows, err := (dbq{e.db}).query(ctx, `SELECT s.snapshot->>'status', r.next_seq, c.seq, c.chunk
		FROM mastra_workflow_snapshot s
		LEFT JOIN mastra_server_workflow_runs r ON r.workflow_name = s.workflow_name AND r.run_id = s.run_id
		LEFT JOIN mastra_server_workflow_chunks c ON c.workflow_name = s.workflow_name AND c.run_id = s.run_id
			AND c.seq >= $3 AND c.seq < r.next_seq
		WHERE s.workflow_name = $1 AND s.run_id = $2 ORDER BY c.seq LIMIT `+fmt.Sprint(watchPage), wfID, runID, after)
	if err != nil {
		return "", 0, nil, fmt.Errorf("workflow: watch run %s: %w", runID, err)
	}
	defer closeRows()
	found := false
	for rs.Next() {
		var n, seq *int64
		var b string
		if err := rs.Scan(ptrString(&status), &n, &seq, ptrString(&b)); err != nil {
			return "", 0, nil, fmt.Errorf("workflow: watch run %s: %w", runID, err)
		}
		found = true
		if n != nil {
			end = *n
		}
		if seq != nil {
			chunks = append(chunks, follow.Chunk{Seq: *seq + 1, Data: []byte(b)})
		}
	}
	if err := rs.Err(); err != nil {
		return "", 0, nil, fmt.Errorf("workflow: watch run %s: %w", runID, err)
	}
	if !found {
		return "", 0, nil, fmt.Errorf("%w: run %s", ErrNotFound, runID)
	}
	return status, end, chunks, nil
}

// readChunks reads a page of the run's chunks after after up to upTo. The
// seq column holds a chunk's index (from 0, as rows were always written);
// its sequence number is one more.
func (e *Engine) readChunks(ctx context.Context, wfID, runID string, after, upTo int64) ([]follow.Chunk, error) {
	e.watchReads.Add(1)
	rs, closeRows, err := (dbq{e.db}).query(ctx, `SELECT seq, chunk FROM mastra_server_workflow_chunks
		WHERE workflow_name = $1 AND run_id = $2 AND seq >= $3 AND seq < $4 ORDER BY seq LIMIT `+fmt.Sprint(watchPage), wfID, runID, after, upTo)
	if err != nil {
		return nil, fmt.Errorf("workflow: read chunks: %w", err)
	}
	defer closeRows()
	var out []follow.Chunk
	for rs.Next() {
		var seq int64
		var b string
		if err := rs.Scan(&seq, &b); err != nil {
			return nil, fmt.Errorf("workflow: read chunks: %w", err)
		}
		out = append(out, follow.Chunk{Seq: seq + 1, Data: []byte(b)})
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("workflow: read chunks: %w", err)
	}
	return out, nil
}
