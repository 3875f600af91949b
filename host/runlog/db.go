package runlog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/follow"
)

// The log's tables, queried here and nowhere else: a row per run in
// mastra_server_stream_runs says who runs it (owner), until when its lease
// holds (lease_until, Unix milliseconds), its state and its last sequence
// number; mastra_server_stream_chunks holds its chunks by sequence number,
// from 1. Chunks are appended only by the lease holder, in one statement
// per batch that also moves last_seq and the lease, and, on Postgres,
// notifies the channel memory.StreamChannel (whose listener stays with the
// database's connection) with the ids of the runs that took chunks. The
// migrations that create the tables are with the others (host/memory).

// Run states, as Info.Status gives them.
const (
	StatusRunning = "running"
	StatusDone    = "done"   // ended by its runner
	StatusFailed  = "failed" // ended by another instance once its lease expired
)

// Info is a logged run.
type Info struct {
	Run
	Owner, Status string
	LastSeq       int64
	// LeaseUntil, CreatedAt and UpdatedAt are Unix milliseconds.
	LeaseUntil, CreatedAt, UpdatedAt int64
}

// logged is one logged chunk, as the shared reader hands it out.
type logged = follow.Chunk

// errConflict is a run id createRun cannot take (Start's ErrTaken).
var errConflict = errors.New("runlog: run id in use")

// db runs the log's statements on the store's database.
type db struct {
	bun *bun.DB
	pg  bool
}

// createRun logs a new running run. A run id already logged is
// errConflict, unless the earlier run has ended and belongs to the same
// resource: then its log is replaced (Mastra's client reuses a run id when
// it continues a turn after a client tool).
func (s *db) createRun(ctx context.Context, r Info) error {
	if s.pg {
		return s.createRunPG(ctx, r)
	}
	err := s.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var resource, status string
		// SQLite: the transaction holds the database's write lock, so the
		// row read cannot change before the write below.
		err := tx.QueryRowContext(ctx, `SELECT resource_id, status FROM mastra_server_stream_runs WHERE run_id = ?`,
			r.RunID).Scan(&resource, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO mastra_server_stream_runs
				(run_id, resource_id, agent_id, thread_id, owner, status, last_seq, lease_until, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
				r.RunID, r.ResourceID, r.AgentID, r.ThreadID, r.Owner, StatusRunning, r.LeaseUntil, r.CreatedAt, r.CreatedAt)
			return err
		case err != nil:
			return err
		case resource != r.ResourceID || status == StatusRunning:
			return errConflict
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mastra_server_stream_chunks WHERE run_id = ?`, r.RunID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mastra_server_stream_runs SET agent_id = ?, thread_id = ?, owner = ?,
			status = ?, last_seq = 0, lease_until = ?, created_at = ?, updated_at = ? WHERE run_id = ?`,
			r.AgentID, r.ThreadID, r.Owner, StatusRunning, r.LeaseUntil, r.CreatedAt, r.CreatedAt, r.RunID)
		return err
	})
	if err != nil && !errors.Is(err, errConflict) {
		return classify(fmt.Errorf("runlog: create stream run %s: %w", r.RunID, err))
	}
	return err
}

// createRunPG is createRun in one statement (a turn pays it
// before its first token); the chunks of a replaced run go after.
func (s *db) createRunPG(ctx context.Context, r Info) error {
	var replaced bool
	err := s.bun.QueryRowContext(ctx, `INSERT INTO mastra_server_stream_runs AS old
		(run_id, resource_id, agent_id, thread_id, owner, status, last_seq, lease_until, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, thread_id = EXCLUDED.thread_id,
			owner = EXCLUDED.owner, status = EXCLUDED.status, last_seq = 0, lease_until = EXCLUDED.lease_until,
			created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
		WHERE old.resource_id = EXCLUDED.resource_id AND old.status <> 'running'
		RETURNING xmax <> 0`,
		r.RunID, r.ResourceID, r.AgentID, r.ThreadID, r.Owner, StatusRunning, r.LeaseUntil, r.CreatedAt, r.CreatedAt).Scan(&replaced)
	if errors.Is(err, sql.ErrNoRows) {
		return errConflict
	}
	if err == nil && replaced {
		_, err = s.bun.ExecContext(ctx, `DELETE FROM mastra_server_stream_chunks WHERE run_id = ?`, r.RunID)
	}
	return classify(wrapf(err, "runlog: create stream run %s", r.RunID))
}

// deleteRun removes a run and its chunks (a run that never sent a
// chunk: its request was answered with an error instead).
func (s *db) deleteRun(ctx context.Context, runID string) error {
	err := s.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mastra_server_stream_chunks WHERE run_id = ?`, runID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM mastra_server_stream_runs WHERE run_id = ?`, runID)
		return err
	})
	return classify(wrapf(err, "runlog: delete stream run %s", runID))
}

// appendItem is one run's part of a batch: its chunks after After, and
// its status after them.
type appendItem struct {
	RunID  string
	After  int64
	Chunks [][]byte
	Status string
}

// appendRuns logs the chunks of several runs held by owner, renewing
// their leases to leaseUntil, and reports which runs took them (held): a
// run not held by owner, ended or moved on takes nothing. On Postgres it is one statement, notifications included: an
// instance writes all its streams' chunks at once.
func (s *db) appendRuns(ctx context.Context, owner string, leaseUntil, now int64, items []appendItem) (held map[string]bool, err error) {
	held = make(map[string]bool, len(items))
	if len(items) == 0 {
		return held, nil
	}
	if s.pg {
		err = s.appendRunsPG(ctx, owner, leaseUntil, now, items, held)
	} else {
		err = s.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, it := range items {
				ok, err := appendRunSQLite(ctx, tx, owner, leaseUntil, now, it)
				if err != nil {
					return err
				}
				held[it.RunID] = ok
			}
			return nil
		})
	}
	if err != nil {
		return nil, classify(fmt.Errorf("runlog: append stream chunks: %w", err))
	}
	return held, nil
}

func appendRunSQLite(ctx context.Context, tx bun.Tx, owner string, leaseUntil, now int64, it appendItem) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE mastra_server_stream_runs SET last_seq = ?, lease_until = ?, status = ?, updated_at = ?
		WHERE run_id = ? AND owner = ? AND status = 'running' AND last_seq = ?`,
		it.After+int64(len(it.Chunks)), leaseUntil, it.Status, now, it.RunID, owner, it.After)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	for i, c := range it.Chunks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mastra_server_stream_chunks (run_id, seq, chunk) VALUES (?, ?, ?)`,
			it.RunID, it.After+int64(i)+1, string(c)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// appendRunsPG is appendRuns in one statement: the runs'
// compare-and-set (ok), the chunks of those that took them (ins), and one
// notification naming them (note).
//
// The statement is written here rather than formatted by bun: a batch
// holds every chunk an instance streamed in a flush interval, and copying
// each once, dollar-quoted (no escaping, whatever standard_conforming_strings
// says), costs a fraction of formatting three arguments per chunk.
func (s *db) appendRunsPG(ctx context.Context, owner string, leaseUntil, now int64, items []appendItem, held map[string]bool) error {
	tag := dollarTag(owner, items)
	q := make([]byte, 0, 1024+streamBytes(items))
	str := func(v string) {
		q = append(q, tag...)
		q = append(q, v...)
		q = append(q, tag...)
	}
	num := func(n int64) { q = strconv.AppendInt(q, n, 10) }
	q = append(q, "WITH uv (run_id, after_seq, last_seq, status) AS (VALUES "...)
	for i, it := range items {
		if i > 0 {
			q = append(q, ", "...)
		}
		q = append(q, '(')
		str(it.RunID)
		q = append(q, ", "...)
		num(it.After)
		q = append(q, "::bigint, "...)
		num(it.After + int64(len(it.Chunks)))
		q = append(q, "::bigint, "...)
		str(it.Status)
		q = append(q, ')')
	}
	q = append(q, "), ok AS (UPDATE mastra_server_stream_runs r SET last_seq = uv.last_seq, lease_until = "...)
	num(leaseUntil)
	q = append(q, ", status = uv.status, updated_at = "...)
	num(now)
	q = append(q, " FROM uv WHERE r.run_id = uv.run_id AND r.owner = "...)
	str(owner)
	q = append(q, " AND r.status = 'running' AND r.last_seq = uv.after_seq RETURNING r.run_id, r.last_seq)"...)
	// The chunks' list opens with its first row: sep is "" until then.
	{
		sep := ""
		for _, it := range items {
			for i, c := range it.Chunks {
				if sep == "" {
					q = append(q, ", ins AS (INSERT INTO mastra_server_stream_chunks (run_id, seq, chunk) SELECT c.run_id, c.seq, c.chunk FROM (VALUES "...)
				}
				q = append(q, sep...)
				sep = ", "
				q = append(q, '(')
				str(it.RunID)
				q = append(q, ", "...)
				num(it.After + int64(i) + 1)
				q = append(q, "::bigint, "...)
				q = append(q, tag...)
				q = append(q, c...)
				q = append(q, tag...)
				q = append(q, ')')
			}
		}
		if sep != "" {
			q = append(q, ") AS c (run_id, seq, chunk) JOIN ok ON ok.run_id = c.run_id)"...)
		}
	}
	// One notification for the batch, naming its runs ("*": too many to
	// name within the 8000-byte payload; every follower looks).
	q = append(q, `, note AS (SELECT pg_notify('`+memory.StreamChannel+`',
		CASE WHEN coalesce(sum(length(run_id) + 1), 0) > 7000 THEN '*' ELSE coalesce(string_agg(run_id, ' '), '') END) FROM ok)
		SELECT run_id, last_seq FROM ok, note`...)
	rows, err := s.bun.QueryContext(ctx, string(q)) // no arguments: bun leaves it as it is
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var ignored any
		if err := rows.Scan(&id, &ignored); err != nil {
			return err
		}
		held[id] = true
	}
	return rows.Err()
}

// failRun ends a running run whose lease expired before now, whose
// last sequence number is still lastSeq, by logging chunks numbered from
// first (> lastSeq) as owner. ok is false when the run is not in that
// state (its runner came back, or another instance ended it first).
func (s *db) failRun(ctx context.Context, runID, owner string, lastSeq, first int64, chunks [][]byte, now int64) (ok bool, err error) {
	err = s.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		last := first + int64(len(chunks)) - 1
		res, err := tx.ExecContext(ctx, `UPDATE mastra_server_stream_runs SET status = ?, owner = ?, last_seq = ?, updated_at = ?
			WHERE run_id = ? AND status = 'running' AND lease_until < ? AND last_seq = ?`,
			StatusFailed, owner, last, now, runID, now, lastSeq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		for i, c := range chunks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mastra_server_stream_chunks (run_id, seq, chunk) VALUES (?, ?, ?)`,
				runID, first+int64(i), string(c)); err != nil {
				return err
			}
		}
		if s.pg {
			_, err = tx.ExecContext(ctx, "SELECT pg_notify('"+memory.StreamChannel+"', ?)", runID)
		}
		return err
	})
	if err != nil {
		return false, classify(fmt.Errorf("runlog: fail stream run %s: %w", runID, err))
	}
	return ok, nil
}

// renewLeases moves the lease of the runs runIDs that owner still
// holds to leaseUntil.
func (s *db) renewLeases(ctx context.Context, owner string, runIDs []string, leaseUntil int64) error {
	if len(runIDs) == 0 {
		return nil
	}
	_, err := s.bun.ExecContext(ctx, `UPDATE mastra_server_stream_runs SET lease_until = ?
		WHERE owner = ? AND status = 'running' AND run_id IN (?)`, leaseUntil, owner, bun.In(runIDs))
	return classify(wrapf(err, "runlog: renew stream leases"))
}

// info returns a logged run; ErrNotFound when there is none.
func (s *db) info(ctx context.Context, runID string) (Info, error) {
	var r Info
	err := s.bun.QueryRowContext(ctx, `SELECT run_id, resource_id, agent_id, thread_id, owner, status, last_seq,
		lease_until, created_at, updated_at FROM mastra_server_stream_runs WHERE run_id = ?`, runID).
		Scan(&r.RunID, &r.ResourceID, &r.AgentID, &r.ThreadID, &r.Owner, &r.Status, &r.LastSeq, &r.LeaseUntil, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("runlog: stream run %s: %w", runID, ErrNotFound)
	}
	return r, classify(wrapf(err, "runlog: stream run %s", runID))
}

// running returns the id of the newest running run of a thread by
// an agent for a resource; ErrNotFound when there is none.
func (s *db) running(ctx context.Context, resourceID, agentID, threadID string) (string, error) {
	var id string
	err := s.bun.QueryRowContext(ctx, `SELECT run_id FROM mastra_server_stream_runs
		WHERE thread_id = ? AND resource_id = ? AND agent_id = ? AND status = 'running'
		ORDER BY created_at DESC LIMIT 1`, threadID, resourceID, agentID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("runlog: running stream of thread %s: %w", threadID, ErrNotFound)
	}
	return id, classify(wrapf(err, "runlog: running stream of thread %s", threadID))
}

// runChunks returns a logged run and up to limit of its chunks after
// sequence number after, in order, in one read (what a follower of another
// instance's run pays per wake-up); ErrNotFound when there is no such run.
func (s *db) runChunks(ctx context.Context, runID string, after int64, limit int) (Info, []logged, error) {
	var r Info
	rows, err := s.bun.QueryContext(ctx, `SELECT r.run_id, r.resource_id, r.agent_id, r.thread_id, r.owner, r.status,
		r.last_seq, r.lease_until, r.created_at, r.updated_at, c.seq, c.chunk
		FROM mastra_server_stream_runs r LEFT JOIN mastra_server_stream_chunks c
			ON c.run_id = r.run_id AND c.seq > ? AND c.seq <= r.last_seq
		WHERE r.run_id = ? ORDER BY c.seq LIMIT ?`, after, runID, limit)
	if err != nil {
		return r, nil, classify(fmt.Errorf("runlog: stream run %s: %w", runID, err))
	}
	defer rows.Close()
	found := false
	var out []logged
	for rows.Next() {
		var seq sql.NullInt64
		var data sql.NullString
		if err := rows.Scan(&r.RunID, &r.ResourceID, &r.AgentID, &r.ThreadID, &r.Owner, &r.Status,
			&r.LastSeq, &r.LeaseUntil, &r.CreatedAt, &r.UpdatedAt, &seq, &data); err != nil {
			return r, nil, classify(fmt.Errorf("runlog: stream run %s: %w", runID, err))
		}
		found = true
		if seq.Valid {
			out = append(out, logged{Seq: seq.Int64, Data: []byte(data.String)})
		}
	}
	if err := rows.Err(); err != nil {
		return r, nil, classify(fmt.Errorf("runlog: stream run %s: %w", runID, err))
	}
	if !found {
		return r, nil, fmt.Errorf("runlog: stream run %s: %w", runID, ErrNotFound)
	}
	return r, out, nil
}

// chunks returns up to limit chunks of a run after sequence number
// after, in order.
func (s *db) chunks(ctx context.Context, runID string, after int64, limit int) ([]logged, error) {
	rows, err := s.bun.QueryContext(ctx, `SELECT seq, chunk FROM mastra_server_stream_chunks
		WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`, runID, after, limit)
	if err != nil {
		return nil, classify(fmt.Errorf("runlog: stream chunks %s: %w", runID, err))
	}
	defer rows.Close()
	var out []logged
	for rows.Next() {
		var c logged
		var data string
		if err := rows.Scan(&c.Seq, &data); err != nil {
			return nil, classify(fmt.Errorf("runlog: stream chunks %s: %w", runID, err))
		}
		c.Data = []byte(data)
		out = append(out, c)
	}
	return out, classify(wrapf(rows.Err(), "runlog: stream chunks %s", runID))
}

// prune deletes the runs (and their chunks) that ended before
// cutoff, and those whose lease expired before it without anyone ending
// them (Unix milliseconds). It returns how many runs it deleted.
func (s *db) prune(ctx context.Context, cutoff int64) (int64, error) {
	const old = `(status <> 'running' AND updated_at < ?) OR lease_until < ?`
	var n int64
	err := s.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mastra_server_stream_chunks WHERE run_id IN
			(SELECT run_id FROM mastra_server_stream_runs WHERE `+old+`)`, cutoff, cutoff); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM mastra_server_stream_runs WHERE `+old, cutoff, cutoff)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, classify(wrapf(err, "runlog: prune stream runs"))
}

// dollarTag is a dollar-quote delimiter ($m…$) that none of the batch's
// values contains.
func dollarTag(owner string, items []appendItem) string {
	for n := uint64(0); ; n++ {
		tag := "$m" + strconv.FormatUint(n, 36) + "$"
		clash := strings.Contains(owner, tag)
		for _, it := range items {
			if clash {
				break
			}
			clash = strings.Contains(it.RunID, tag) || strings.Contains(it.Status, tag)
			for _, c := range it.Chunks {
				if clash {
					break
				}
				clash = bytes.Contains(c, []byte(tag))
			}
		}
		if !clash {
			return tag
		}
	}
}

// streamBytes is the size of a batch's chunks.
func streamBytes(items []appendItem) int {
	n := 0
	for _, it := range items {
		for _, c := range it.Chunks {
			n += len(c) + 64
		}
	}
	return n
}

// classify marks errors that mean "the database cannot be reached" as
// the store's are (memory.ErrUnavailable), so that a route answers 503.
func classify(err error) error { return memory.Classify(err) }

// wrapf wraps a non-nil err with a message; nil stays nil.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
