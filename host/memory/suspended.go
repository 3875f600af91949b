package memory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Suspended agent turns (tool approval, a tool that suspended itself) are
// kept as Mastra keeps them: one mastra_workflow_snapshot row with
// workflow_name "agentic-loop" and the turn's run id, so any instance
// sharing the database resumes them, and after a restart. The snapshot is
// a JSON document whose "status" is "suspended" while the run waits and
// "running" once a resume claimed it and "success" once that turn is
// saved; the host/agent package owns the rest
// of the document. The filters below read agentLoop.agentId and
// agentLoop.threadId from it.

// AgentLoopWorkflow is the workflow_name of suspended agent turns.
const AgentLoopWorkflow = "agentic-loop"

// Statuses of a suspended run's snapshot.
const (
	SuspendedStatus = "suspended"
	ClaimedStatus   = "running"
	EndedStatus     = "success"
)

// ErrRunClaimed is a claim of a run that another resume took first.
var ErrRunClaimed = errors.New("memory: suspended run already resumed")

// ClaimLease is how long a claimed run belongs to the resume that claimed
// it. A claim older than this is taken for the claim of an instance that
// died during the resumed turn (its own end would have moved the run on):
// the run waits again, is listed and may be claimed anew. It is far longer
// than a turn runs (model calls time out within minutes).
const ClaimLease = 15 * time.Minute

// waiting is the condition of a run that waits: suspended, or claimed by
// a resume whose lease ran out. Its one argument is the lease's start.
const waiting = `(snapshot->>'status' = 'suspended' OR (snapshot->>'status' = 'running' AND "updatedAt" < ?))`

// SuspendedRun is one suspended agent turn.
type SuspendedRun struct {
	RunID, ResourceID string
	// Snapshot is the whole snapshot document.
	Snapshot json.RawMessage
}

// SuspendedFilter selects suspended runs of one agent.
type SuspendedFilter struct {
	AgentID string
	// ResourceID "" means every resource (an admin, or auth off).
	ResourceID string
	// ThreadID "" means every thread.
	ThreadID string
	// Limit caps the rows read.
	Limit int
}

// SaveSuspended writes a suspended run's snapshot, replacing the run's
// earlier one (a resumed turn that suspends again). A run id held by
// another resource is ErrConflict: run ids come from clients, and a
// client must not overwrite another tenant's waiting turn by naming it.
func (s *Store) SaveSuspended(ctx context.Context, r SuspendedRun) error {
	now := time.Now().UTC()
	ts := s.snapshotTime(now)
	var one int
	err := s.db.QueryRowContext(ctx, `INSERT INTO mastra_workflow_snapshot AS old
		(workflow_name, run_id, "resourceId", snapshot, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workflow_name, run_id) DO UPDATE SET snapshot = EXCLUDED.snapshot,
			"updatedAt" = EXCLUDED."updatedAt", "updatedAtZ" = EXCLUDED."updatedAtZ"
		WHERE old."resourceId" = EXCLUDED."resourceId"
		RETURNING 1`,
		AgentLoopWorkflow, r.RunID, r.ResourceID, string(r.Snapshot), ts, ts, ts, ts).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrConflict
	}
	return classify(wrapf(err, "memory: save suspended run %s", r.RunID))
}

// snapshotTime is a timestamp as the workflow engine writes it to
// mastra_workflow_snapshot (SQLite keeps text), so both read each other's.
func (s *Store) snapshotTime(t time.Time) any {
	if s.kind == "postgres" {
		return t
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// leaseStart is the time before which a claim has run out.
func (s *Store) leaseStart() any { return s.snapshotTime(time.Now().UTC().Add(-ClaimLease)) }

// scope adds the resource condition of a suspended-run statement.
func scope(q string, args []any, resourceID string) (string, []any) {
	if resourceID == "" {
		return q, args
	}
	return q + ` AND "resourceId" = ?`, append(args, resourceID)
}

// SuspendedRunOf reads a run waiting or claimed; resourceID "" reads any
// resource's. A run of another resource is ErrNotFound.
func (s *Store) SuspendedRunOf(ctx context.Context, runID, resourceID string) (SuspendedRun, error) {
	q, args := scope(`SELECT "resourceId", snapshot FROM mastra_workflow_snapshot WHERE workflow_name = ? AND run_id = ?`,
		[]any{AgentLoopWorkflow, runID}, resourceID)
	r := SuspendedRun{RunID: runID}
	var res sql.NullString
	var snap []byte
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&res, &snap)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, classify(fmt.Errorf("memory: read suspended run %s: %w", runID, err))
	}
	r.ResourceID, r.Snapshot = res.String, snap
	return r, nil
}

// ClaimSuspended takes a waiting run for one resume: in one conditional
// UPDATE its status moves from "suspended" (or "running" past its
// ClaimLease) to "running", so of two resumes racing, exactly one gets the
// snapshot (with status "suspended") and the other ErrRunClaimed. A run
// that does not exist for resourceID ("" = any) is ErrNotFound.
func (s *Store) ClaimSuspended(ctx context.Context, runID, resourceID string) (SuspendedRun, error) {
	set := `jsonb_set(snapshot, '{status}', '"running"')`
	if s.kind != "postgres" {
		set = `json_set(snapshot, '$.status', 'running')`
	}
	ts := s.snapshotTime(time.Now().UTC())
	q, args := scope(`UPDATE mastra_workflow_snapshot SET snapshot = `+set+`, "updatedAt" = ?, "updatedAtZ" = ?
		WHERE workflow_name = ? AND run_id = ? AND `+waiting,
		[]any{ts, ts, AgentLoopWorkflow, runID, s.leaseStart()}, resourceID)
	var res sql.NullString
	var snap []byte
	err := s.db.QueryRowContext(ctx, q+` RETURNING "resourceId", snapshot`, args...).Scan(&res, &snap)
	if errors.Is(err, sql.ErrNoRows) {
		if _, rerr := s.SuspendedRunOf(ctx, runID, resourceID); rerr != nil {
			return SuspendedRun{}, rerr
		}
		return SuspendedRun{}, ErrRunClaimed
	}
	if err != nil {
		return SuspendedRun{}, classify(fmt.Errorf("memory: claim suspended run %s: %w", runID, err))
	}
	// The returned document says "running"; the caller wants the state it
	// claimed, which differs from it by that status only.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(snap, &doc); err != nil {
		return SuspendedRun{}, fmt.Errorf("memory: suspended run %s: %w", runID, err)
	}
	doc["status"] = json.RawMessage(`"suspended"`)
	snap, _ = json.Marshal(doc) // raw values that just parsed
	return SuspendedRun{RunID: runID, ResourceID: res.String, Snapshot: snap}, nil
}

// EndSuspended replaces the snapshot of a run whose resumed turn
// completed: a later resume of it finds it (ErrRunClaimed, not
// ErrNotFound) without the state it no longer needs.
func (s *Store) EndSuspended(ctx context.Context, runID string, snapshot json.RawMessage) error {
	ts := s.snapshotTime(time.Now().UTC())
	_, err := s.db.ExecContext(ctx, `UPDATE mastra_workflow_snapshot SET snapshot = ?, "updatedAt" = ?, "updatedAtZ" = ?
		WHERE workflow_name = ? AND run_id = ?`, string(snapshot), ts, ts, AgentLoopWorkflow, runID)
	return classify(wrapf(err, "memory: end suspended run %s", runID))
}

// ListSuspended returns the waiting runs of an agent (status "suspended",
// or a claim whose lease ran out), newest first, at most f.Limit.
func (s *Store) ListSuspended(ctx context.Context, f SuspendedFilter) ([]SuspendedRun, error) {
	q, args := scope(`SELECT run_id, "resourceId", snapshot FROM mastra_workflow_snapshot
		WHERE workflow_name = ? AND `+waiting+` AND snapshot->'agentLoop'->>'agentId' = ?`,
		[]any{AgentLoopWorkflow, s.leaseStart(), f.AgentID}, f.ResourceID)
	if f.ThreadID != "" {
		q += ` AND snapshot->'agentLoop'->>'threadId' = ?`
		args = append(args, f.ThreadID)
	}
	q += ` ORDER BY "updatedAt" DESC, run_id LIMIT ?`
	args = append(args, max(f.Limit, 1))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("memory: list suspended runs: %w", err))
	}
	defer rows.Close()
	var out []SuspendedRun
	for rows.Next() {
		var r SuspendedRun
		var res sql.NullString
		var snap []byte
		if err := rows.Scan(&r.RunID, &res, &snap); err != nil {
			return nil, classify(fmt.Errorf("memory: list suspended runs: %w", err))
		}
		r.ResourceID, r.Snapshot = res.String, snap
		out = append(out, r)
	}
	return out, classify(wrapf(rows.Err(), "memory: list suspended runs"))
}

// CountSuspended counts the waiting runs per agent id (for metrics).
func (s *Store) CountSuspended(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT snapshot->'agentLoop'->>'agentId', count(*) FROM mastra_workflow_snapshot
		WHERE workflow_name = ? AND `+waiting+` GROUP BY snapshot->'agentLoop'->>'agentId'`,
		AgentLoopWorkflow, s.leaseStart())
	if err != nil {
		return nil, classify(fmt.Errorf("memory: count suspended runs: %w", err))
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id sql.NullString
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, classify(fmt.Errorf("memory: count suspended runs: %w", err))
		}
		out[id.String] += n
	}
	return out, classify(wrapf(rows.Err(), "memory: count suspended runs"))
}
