package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// check waits (up to settle) for the acknowledged workflow runs to end,
// then reads the database and records the invariants in r.
func check(ctx context.Context, dbURL string, settle time.Duration, r *report) error {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkRuns(ctx, db, settle, r); err != nil {
		return err
	}
	if err := checkTurns(ctx, db, r); err != nil {
		return err
	}
	return checkOrphans(ctx, db, r)
}

// terminal are the run statuses that end a run.
var terminal = []string{"success", "failed", "canceled", "bailed"}

func checkRuns(ctx context.Context, db *sql.DB, settle time.Duration, r *report) error {
	r.mu.Lock()
	runs := slices.Clone(r.runs)
	r.mu.Unlock()
	deadline := time.Now().Add(settle)
	for {
		status := map[string]string{}
		rows, err := db.QueryContext(ctx, `SELECT run_id, snapshot->>'status' FROM mastra_workflow_snapshot WHERE workflow_name = 'soak'`)
		if err != nil {
			return fmt.Errorf("reading runs: %w", err)
		}
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				rows.Close()
				return err
			}
			status[id] = st
		}
		rows.Close()
		by := map[string]int{}
		var open, missing []string
		for _, id := range runs {
			st, ok := status[id]
			switch {
			case !ok:
				missing = append(missing, id)
			case !slices.Contains(terminal, st):
				open = append(open, id+" "+st)
			}
			by[st]++
		}
		if len(open) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			r.holds(len(missing) == 0, "acknowledged workflow runs kept", "%d started, %d missing%s", len(runs), len(missing), firstOf(missing))
			r.holds(len(open) == 0, "acknowledged workflow runs ended",
				"%d success, %d failed, %d not ended %s after the traffic%s", by["success"], by["failed"], len(open),
				time.Since(r.trafficEnded).Round(time.Second), firstOf(open))
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkTurns: every acknowledged turn is stored exactly once (one user
// message, one answer, in the thread the client was told, with the text it
// read), and every turn in the database is whole (no user message without
// its answer, nothing twice).
func checkTurns(ctx context.Context, db *sql.DB, r *report) error {
	rows, err := db.QueryContext(ctx, `SELECT substring(content from 'soak-[0-9]+-[0-9]+') AS marker, role, thread_id, content
		FROM mastra_messages WHERE content LIKE '%soak-%'`)
	if err != nil {
		return fmt.Errorf("reading messages: %w", err)
	}
	defer rows.Close()
	type stored struct {
		user, assistant int
		threads         []string
		answer          string
	}
	inDB := map[string]*stored{}
	for rows.Next() {
		var marker sql.NullString
		var role, thread, content string
		if err := rows.Scan(&marker, &role, &thread, &content); err != nil {
			return err
		}
		if !marker.Valid || strings.HasPrefix(marker.String, "wf-") {
			continue
		}
		s := inDB[marker.String]
		if s == nil {
			s = &stored{}
			inDB[marker.String] = s
		}
		switch role {
		case "user":
			s.user++
		case "assistant":
			s.assistant++
			s.answer = content
		}
		if !slices.Contains(s.threads, thread) {
			s.threads = append(s.threads, thread)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}

	r.mu.Lock()
	turns := make(map[string]ackedTurn, len(r.turns))
	for k, v := range r.turns {
		turns[k] = v
	}
	r.mu.Unlock()
	var bad []string
	for marker, t := range turns {
		s := inDB[marker]
		switch {
		case s == nil:
			bad = append(bad, marker+" not stored")
		case s.user != 1 || s.assistant != 1:
			bad = append(bad, fmt.Sprintf("%s stored %d user and %d assistant messages", marker, s.user, s.assistant))
		case t.threadID != "" && (len(s.threads) != 1 || s.threads[0] != t.threadID):
			bad = append(bad, fmt.Sprintf("%s stored in %v, the client was told %s", marker, s.threads, t.threadID))
		case t.text != "ok "+marker:
			bad = append(bad, fmt.Sprintf("%s: the client read %q", marker, t.text))
		case !strings.Contains(s.answer, "ok "+marker):
			bad = append(bad, fmt.Sprintf("%s: the stored answer is not its own", marker))
		}
	}
	slices.Sort(bad)
	r.holds(len(bad) == 0, "acknowledged turns stored exactly once", "%d acknowledged, %d wrong%s", len(turns), len(bad), firstOf(bad))

	var half []string
	whole := 0
	for marker, s := range inDB {
		if s.user == 1 && s.assistant == 1 && len(s.threads) == 1 {
			whole++
			continue
		}
		half = append(half, fmt.Sprintf("%s: %d user, %d assistant in %d threads", marker, s.user, s.assistant, len(s.threads)))
	}
	slices.Sort(half)
	r.holds(len(half) == 0, "nothing half-saved", "%d turns in the database (%d not acknowledged), %d partial or repeated%s",
		len(inDB), len(inDB)-len(turns), len(half), firstOf(half))
	return nil
}

// checkOrphans: no message without its thread, no side row of a workflow
// run without the run.
func checkOrphans(ctx context.Context, db *sql.DB, r *report) error {
	queries := []struct{ what, sql string }{
		{"messages without a thread", `SELECT count(*) FROM mastra_messages m
			WHERE NOT EXISTS (SELECT 1 FROM mastra_threads t WHERE t.id = m.thread_id)`},
		{"run cursors without a run", `SELECT count(*) FROM mastra_server_workflow_runs w
			WHERE NOT EXISTS (SELECT 1 FROM mastra_workflow_snapshot s WHERE s.workflow_name = w.workflow_name AND s.run_id = w.run_id)`},
		{"run chunks without a run", `SELECT count(*) FROM mastra_server_workflow_chunks c
			WHERE NOT EXISTS (SELECT 1 FROM mastra_workflow_snapshot s WHERE s.workflow_name = c.workflow_name AND s.run_id = c.run_id)`},
	}
	var parts []string
	total := 0
	for _, q := range queries {
		var n int
		if err := db.QueryRowContext(ctx, q.sql).Scan(&n); err != nil {
			return fmt.Errorf("%s: %w", q.what, err)
		}
		total += n
		parts = append(parts, fmt.Sprintf("%d %s", n, q.what))
	}
	r.holds(total == 0, "no orphan rows", "%s", strings.Join(parts, ", "))
	return nil
}
