package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// check reads the database once the faults are healed and checks the
// history against it: runs first (they get time after the heal to end or
// suspend), then turns, reads and orphans. Each broken check is a
// violation with the operations that show it.
func check(ctx context.Context, dbURL string, r *report) error {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	ops := r.h.snapshot()
	r.mu.Lock()
	r.all = ops
	r.mu.Unlock()
	if err := checkRuns(ctx, db, r, ops); err != nil {
		return err
	}
	msgs, err := readMessages(ctx, db)
	if err != nil {
		return err
	}
	checkTurns(r, ops, msgs)
	checkReads(r, ops)
	checkAnswers(r, ops)
	return checkOrphans(ctx, db, r)
}

// storedRun is a workflow run as the database holds it.
type storedRun struct {
	workflow, status, resource string
	approvedBy                 string         // the approval step's resume data "by", once resumed
	stepsDone                  []string       // steps with status success in the snapshot
	finishes                   []string       // workflowStatus of each terminal workflow-finish chunk
	results                    map[string]int // successful workflow-step-result chunks, by step
	jobs                       string         // its step jobs in River's table, for a run open at settle
	settled                    bool           // seen ended or suspended (checkRuns)
}

func readRuns(ctx context.Context, db *sql.DB) (map[string]*storedRun, error) {
	runs := map[string]*storedRun{}
	rows, err := db.QueryContext(ctx, `SELECT run_id, workflow_name, coalesce("resourceId", ''), snapshot FROM mastra_workflow_snapshot`)
	if err != nil {
		return nil, fmt.Errorf("reading runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, wf, res string
		var snap []byte
		if err := rows.Scan(&id, &wf, &res, &snap); err != nil {
			return nil, err
		}
		var s struct {
			Status  string                     `json:"status"`
			Context map[string]json.RawMessage `json:"context"`
		}
		if err := json.Unmarshal(snap, &s); err != nil {
			return nil, fmt.Errorf("run %s: snapshot: %w", id, err)
		}
		run := &storedRun{workflow: wf, status: s.Status, resource: res, results: map[string]int{}}
		for step, raw := range s.Context {
			type by struct {
				By string `json:"by"`
			}
			var res struct {
				Status        string `json:"status"`
				Output        by     `json:"output"`
				ResumePayload by     `json:"resumePayload"`
			}
			if step == "input" || json.Unmarshal(raw, &res) != nil {
				continue
			}
			if step == "approval" {
				// The resume that won the claim, even if the run was
				// cancelled before the step finished.
				run.approvedBy = cmp.Or(res.ResumePayload.By, res.Output.By)
			}
			if res.Status == "success" {
				run.stepsDone = append(run.stepsDone, step)
			}
		}
		runs[id] = run
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	chunks, err := db.QueryContext(ctx, `SELECT run_id, chunk->>'type', coalesce(chunk->'payload'->>'workflowStatus', ''),
		coalesce(chunk->'payload'->>'id', ''), coalesce(chunk->'payload'->>'status', '')
		FROM mastra_server_workflow_chunks WHERE chunk->>'type' IN ('workflow-finish', 'workflow-step-result')`)
	if err != nil {
		return nil, fmt.Errorf("reading run chunks: %w", err)
	}
	defer chunks.Close()
	for chunks.Next() {
		var id, typ, wfStatus, step, status string
		if err := chunks.Scan(&id, &typ, &wfStatus, &step, &status); err != nil {
			return nil, err
		}
		run := runs[id]
		if run == nil {
			continue // an orphan: checkOrphans counts them
		}
		switch {
		case typ == "workflow-finish" && isTerminal(wfStatus):
			run.finishes = append(run.finishes, wfStatus)
		case typ == "workflow-step-result" && status == "success":
			run.results[step]++
		}
	}
	return runs, chunks.Err()
}

// checkRuns: every acknowledged run ends or suspends within settle of the
// heal; a run has one terminal outcome and each step's output is recorded
// once; of two raced resumes exactly one applies.
func checkRuns(ctx context.Context, db *sql.DB, r *report, ops []op) error {
	settle := r.opts.settle
	acked := startsAcknowledged(ops)
	settled := map[string]time.Duration{} // after the heal
	late := map[string]string{}           // River's jobs of a run open at settle
	var runs map[string]*storedRun
	for {
		var err error
		if runs, err = readRuns(ctx, db); err != nil {
			return err
		}
		since := time.Since(r.healed)
		open := 0
		for _, o := range acked {
			run := runs[o.run]
			if _, done := settled[o.run]; done {
				continue
			}
			if run != nil && (isTerminal(run.status) || run.status == "suspended") {
				settled[o.run] = since
				continue
			}
			open++
			if _, seen := late[o.run]; !seen && since > settle {
				late[o.run] = riverJobs(ctx, db, o.run)
			}
		}
		if open == 0 || since > settle || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for id, jobs := range late {
		if run := runs[id]; run != nil {
			run.jobs = jobs
		}
	}
	for id := range settled {
		if run := runs[id]; run != nil {
			run.settled = true
		}
	}
	checkRunStates(r, ops, runs, settle)
	return nil
}

// riverJobs describes the River jobs of a run's steps: what a run that
// does not move on waits for.
func riverJobs(ctx context.Context, db *sql.DB, runID string) string {
	rows, err := db.QueryContext(ctx, `SELECT args->>'s', state, attempt, coalesce(attempted_at, created_at), coalesce(array_to_string(attempted_by, ','), '')
		FROM river_job WHERE args->>'r' = $1 ORDER BY id`, runID)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var step, state, by string
		var attempt int
		var at time.Time
		if err := rows.Scan(&step, &state, &attempt, &at, &by); err != nil {
			return "unknown (" + err.Error() + ")"
		}
		parts = append(parts, fmt.Sprintf("%s %s (attempt %d by %s, %s ago)", step, state, attempt, by, time.Since(at).Round(time.Second)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// startsAcknowledged is the starts answered 200: runs that must end or
// suspend.
func startsAcknowledged(ops []op) []op {
	var acked []op
	for _, o := range ops {
		if o.kind == "start" && o.outcome == ok {
			acked = append(acked, o)
		}
	}
	return acked
}

// checkRunStates judges the runs as stored once settled: each must have
// ended or suspended within settle of the heal.
func checkRunStates(r *report, ops []op, runs map[string]*storedRun, settle time.Duration) {
	acked := startsAcknowledged(ops)
	by := map[string]int{}
	bad := 0
	for _, o := range acked {
		run := runs[o.run]
		switch {
		case run == nil:
			bad++
			r.violated("runs end or suspend", fmt.Sprintf("run %s was started (200) and is not stored", o.run), touching(ops, "", o.run))
		case !run.settled:
			bad++
			r.violated("runs end or suspend", fmt.Sprintf("run %s is %s %s after the heal; its step jobs: %s", o.run, run.status, settle, run.jobs),
				touching(ops, "", o.run))
		default:
			by[run.status]++
		}
	}
	r.holds(bad == 0, "runs end or suspend after the heal", "%d started: %d success, %d suspended, %d canceled, %d failed, %d neither within %s",
		len(acked), by["success"], by["suspended"], by["canceled"], by["failed"], bad, settle)

	bad = 0
	for _, id := range slices.Sorted(maps.Keys(runs)) {
		run := runs[id]
		var what []string
		if len(run.finishes) > 1 || (isTerminal(run.status) && (len(run.finishes) != 1 || run.finishes[0] != run.status)) {
			what = append(what, fmt.Sprintf("status %s with terminal outcomes %v", run.status, run.finishes))
		}
		for step, n := range run.results {
			if n > 1 {
				what = append(what, fmt.Sprintf("step %s's output recorded %d times", step, n))
			}
		}
		for _, step := range run.stepsDone {
			if run.results[step] == 0 {
				what = append(what, fmt.Sprintf("step %s succeeded with no output recorded", step))
			}
		}
		if len(what) > 0 {
			bad++
			r.violated("one outcome per run", fmt.Sprintf("run %s: %s", id, strings.Join(what, "; ")), touching(ops, "", id))
		}
	}
	r.holds(bad == 0, "one terminal outcome per run, each step output once", "%d runs stored, %d wrong", len(runs), bad)

	checkResumes(r, ops, runs)
}

// checkResumes: of two resumes raced on one suspended run, exactly one is
// applied and answered 200; the other gets a conflict.
func checkResumes(r *report, ops []op, runs map[string]*storedRun) {
	races := map[int][]op{}
	for _, o := range ops {
		if o.kind == "resume" {
			races[o.race] = append(races[o.race], o)
		}
	}
	bad, decided := 0, 0
	for race, pair := range races {
		run := runs[pair[0].run]
		var won []op
		definite := true
		applied := false
		var what string
		for _, o := range pair {
			if o.outcome == ok {
				won = append(won, o)
			}
			definite = definite && (o.outcome == ok || o.outcome == fail)
			if run != nil && run.approvedBy == o.resumeData {
				applied = true
				if o.outcome == fail {
					what = fmt.Sprintf("the resume answered %q was applied", o.note)
				}
			}
		}
		switch {
		case what != "":
		case len(won) > 1:
			what = "both resumes answered 200"
		case len(won) == 1 && (run == nil || run.approvedBy != won[0].resumeData):
			what = fmt.Sprintf("the resume answered 200 (%s) is not the one applied (%q)", won[0].resumeData, run.approvedBy)
		case definite && len(won) == 0:
			what = "neither resume applied: both refused"
		case run != nil && run.approvedBy != "" && !applied:
			what = fmt.Sprintf("applied %q, which neither resume sent", run.approvedBy)
		}
		if definite {
			decided++
		}
		if what != "" {
			bad++
			r.violated("one resume wins", fmt.Sprintf("race %d on run %s: %s", race, pair[0].run, what), touching(ops, "", pair[0].run))
		}
	}
	r.holds(bad == 0, "exactly one of two raced resumes applied", "%d races (%d with both answers definite), %d wrong", len(races), decided, bad)
}

// storedMessage is one message of a soak thread.
type storedMessage struct {
	thread, role, text, resource, marker string
}

// messageText is the text of a stored message's content (Mastra's format
// 2 JSON, or plain text).
func messageText(content string) string {
	var v struct {
		Content string `json:"content"`
		Parts   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"parts"`
	}
	if json.Unmarshal([]byte(content), &v) != nil {
		return content
	}
	if v.Content != "" {
		return v.Content
	}
	var b strings.Builder
	for _, p := range v.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// readMessages reads the messages of the soak's threads, each thread's
// in the order a read of it answers (by creation time).
func readMessages(ctx context.Context, db *sql.DB) (map[string][]storedMessage, error) {
	rows, err := db.QueryContext(ctx, `SELECT thread_id, role, content, coalesce("resourceId", '') FROM mastra_messages
		WHERE thread_id LIKE 'tenant-%' ORDER BY thread_id, "createdAt", id`)
	if err != nil {
		return nil, fmt.Errorf("reading messages: %w", err)
	}
	defer rows.Close()
	byThread := map[string][]storedMessage{}
	for rows.Next() {
		var m storedMessage
		var content string
		if err := rows.Scan(&m.thread, &m.role, &content, &m.resource); err != nil {
			return nil, err
		}
		m.text = messageText(content)
		m.marker = markerName.FindString(m.text)
		byThread[m.thread] = append(byThread[m.thread], m)
	}
	return byThread, rows.Err()
}

// checkTurns: no acknowledged turn lost, none stored twice, the reply a
// client read (a resumed stream's chunks joined) is the stored one, each
// thread's turns are whole, apart, and in the real-time order of the
// acknowledged turns that did not overlap, and every message is in its
// tenant's thread.
func checkTurns(r *report, ops []op, byThread map[string][]storedMessage) {
	// Where each turn is: its user message's index in its thread, and its
	// messages by role.
	type stored struct {
		user, assistant int
		threads         []string
		answer          string
		pos             int
	}
	turns := map[string]*stored{}
	torn := 0
	for thread, msgs := range byThread {
		for i, m := range msgs {
			if m.marker == "" {
				continue
			}
			s := turns[m.marker]
			if s == nil {
				s = &stored{}
				turns[m.marker] = s
			}
			if !slices.Contains(s.threads, thread) {
				s.threads = append(s.threads, thread)
			}
			switch m.role {
			case "user":
				s.user++
				s.pos = i
				// A turn's two messages are saved together: its answer is
				// the very next message.
				if i+1 >= len(msgs) || msgs[i+1].role != "assistant" || msgs[i+1].marker != m.marker {
					torn++
					r.violated("per-thread order", fmt.Sprintf("turn %s in %s is not followed by its own answer", m.marker, thread),
						turnHistory(ops, m.marker, thread))
				}
			case "assistant":
				s.assistant++
				s.answer = m.text
			}
		}
	}

	var lost, wrongText, resumedExact, resumedWrong int
	acked := 0
	for _, o := range ops {
		if (o.kind != "generate" && o.kind != "stream") || o.outcome != ok {
			continue
		}
		acked++
		s := turns[o.marker]
		switch {
		case s == nil || s.user == 0 || s.assistant == 0:
			lost++
			r.violated("no acknowledged turn lost", fmt.Sprintf("turn %s was acknowledged and is not stored whole", o.marker), turnHistory(ops, o.marker, o.thread))
		case len(s.threads) != 1 || s.threads[0] != o.thread:
			lost++
			r.violated("no acknowledged turn lost", fmt.Sprintf("turn %s was sent to %s and is stored in %v", o.marker, o.thread, s.threads), turnHistory(ops, o.marker, o.thread))
		case s.answer != o.text || !strings.HasPrefix(o.text, "ok "+o.marker+" "):
			wrongText++
			check := "the reply read is the reply stored"
			if o.resumes > 0 {
				check = "resumed streams exact"
				resumedWrong++
			}
			r.violated(check, fmt.Sprintf("turn %s: the client read %q, the thread holds %q", o.marker, o.text, s.answer), turnHistory(ops, o.marker, o.thread))
		case o.resumes > 0:
			resumedExact++
		}
	}
	r.holds(lost == 0, "no acknowledged turn lost", "%d acknowledged, %d not stored", acked, lost)
	r.holds(wrongText == 0, "the reply read is the reply stored", "%d read differently", wrongText)
	r.holds(resumedWrong == 0, "resumed streams exact", "%d acknowledged streams read across a reconnect equal the stored reply, %d do not", resumedExact, resumedWrong)

	twice := 0
	for marker, s := range turns {
		if s.user > 1 || s.assistant > 1 || len(s.threads) > 1 || s.user != s.assistant {
			twice++
			r.violated("no turn stored twice", fmt.Sprintf("turn %s: %d user and %d assistant messages in %v", marker, s.user, s.assistant, s.threads),
				turnHistory(ops, marker, s.threads[0]))
		}
	}
	r.holds(twice == 0, "no turn stored twice or in part", "%d turns stored (%d acknowledged), %d repeated or partial", len(turns), acked, twice)

	outOfOrder := checkOrder(r, ops, func(marker string) (int, bool) {
		s := turns[marker]
		if s == nil || s.user != 1 {
			return 0, false
		}
		return s.pos, true
	})
	r.holds(torn+outOfOrder == 0, "per-thread order", "%d turns not next to their answer, %d pairs against real-time order", torn, outOfOrder)

	// A stored message's resource is its thread's tenant, and so is the
	// client that sent the turn.
	leaked := 0
	tenantOf := processTenants(ops)
	for thread, msgs := range byThread {
		for _, m := range msgs {
			owner := threadTenant(thread)
			if m.resource != owner || (m.marker != "" && tenantOf[markerProcess(m.marker)] != owner) {
				leaked++
				r.violated("tenant isolation", fmt.Sprintf("a %s message of %s (resource %q, turn %s) in %s's thread", m.role, m.marker, m.resource, m.marker, owner),
					turnHistory(ops, m.marker, thread))
			}
		}
	}
	r.holds(leaked == 0, "tenant isolation of stored messages", "%d messages in another tenant's thread", leaked)
}

// checkOrder: on each thread, an acknowledged turn that completed before
// another began is stored before it. It returns the pairs in the wrong
// order (one reported per later turn).
func checkOrder(r *report, ops []op, position func(marker string) (int, bool)) int {
	type turn struct {
		o   op
		pos int
	}
	byThread := map[string][]turn{}
	for _, o := range ops {
		if (o.kind != "generate" && o.kind != "stream") || o.outcome != ok {
			continue
		}
		if pos, found := position(o.marker); found {
			byThread[o.thread] = append(byThread[o.thread], turn{o, pos})
		}
	}
	bad := 0
	for thread, ts := range byThread {
		done := slices.Clone(ts)
		slices.SortFunc(done, func(a, b turn) int { return int(a.o.complete - b.o.complete) })
		// latest[i] is the turn stored last among done[:i+1].
		latest := make([]int, len(done))
		for i := range done {
			latest[i] = i
			if i > 0 && done[latest[i-1]].pos > done[i].pos {
				latest[i] = latest[i-1]
			}
		}
		for _, b := range ts {
			n := sort.Search(len(done), func(i int) bool { return done[i].o.complete >= b.o.invoke })
			if n == 0 {
				continue
			}
			a := done[latest[n-1]]
			if a.pos > b.pos {
				bad++
				r.violated("per-thread order", fmt.Sprintf("in %s, turn %s completed before turn %s began but is stored after it", thread, a.o.marker, b.o.marker),
					between(ops, thread, a.o, b.o))
			}
		}
	}
	return bad
}

// checkReads: no read returns another tenant's thread, run, turn or
// resource.
func checkReads(r *report, ops []op) {
	runOwner := ownerOfRun(ops)
	tenantOf := processTenants(ops)
	reads, bad := 0, 0
	for _, o := range ops {
		if !strings.HasPrefix(o.kind, "read") && o.kind != "probe" || o.outcome != ok {
			continue
		}
		reads++
		for _, id := range o.seen {
			kind, v, _ := strings.Cut(id, ":")
			owner := ""
			switch kind {
			case "thread":
				owner = threadTenant(v)
			case "run":
				owner = runOwner[v]
			case "marker":
				owner = tenantOf[markerProcess(v)]
			case "resource":
				owner = v
			}
			if owner != "" && owner != o.tenant {
				bad++
				shown := []op{o}
				for _, x := range ops {
					if x.id != o.id && ((kind == "run" && x.run == v) || (kind == "marker" && x.marker == v) || (kind == "thread" && x.thread == v && x.kind != "probe")) {
						shown = append(shown, x)
					}
				}
				slices.SortFunc(shown, func(a, b op) int { return a.id - b.id })
				r.violated("tenant isolation", fmt.Sprintf("%s of %s read %s %s of %s", o.kind, o.tenant, kind, v, owner), shown)
				break
			}
		}
	}
	r.holds(bad == 0, "no read returns another tenant's id", "%d reads answered, %d returned another tenant's id", reads, bad)
}

// checkAnswers: an outage is answered 503 (or 504), never 500 (README,
// HTTP API). Off unless enforce: the workflow routes answer 500 while
// Postgres is down (a server bug found by this checker, not fixed yet).
func checkAnswers(r *report, ops []op) {
	byKind := map[string]int{}
	n := 0
	for _, o := range ops {
		if !slices.Contains(o.answers, 500) {
			continue
		}
		n++
		byKind[o.kind]++
		r.violated("no 500 answers", fmt.Sprintf("%s answered 500", o.kind), []op{o})
	}
	var kinds []string
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, byKind[k]))
	}
	r.holds(n == 0, "no 500 answers", "%d operations answered 500 (%s)", n, strings.Join(kinds, ", "))
}

func threadTenant(thread string) string {
	t, _, _ := strings.Cut(thread, "-thread-")
	return t
}

// markerProcess is the client that sent turn marker ("soak-<client>-<n>").
func markerProcess(marker string) int {
	parts := strings.Split(marker, "-")
	if len(parts) < 2 {
		return -1
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return -1
	}
	return n
}

func processTenants(ops []op) map[int]string {
	m := map[int]string{}
	for _, o := range ops {
		m[o.process] = o.tenant
	}
	return m
}

// turnHistory is the minimal history of a turn: its own operation and
// the operations on its thread that overlap it (with a second either
// side).
func turnHistory(ops []op, marker, thread string) []op {
	var self *op
	for i := range ops {
		if ops[i].marker == marker && marker != "" {
			self = &ops[i]
		}
	}
	if self == nil {
		return touching(ops, thread, "")
	}
	end := self.complete
	if end == 0 {
		end = time.Duration(1 << 62)
	}
	var out []op
	for _, o := range touching(ops, thread, "") {
		oEnd := o.complete
		if oEnd == 0 {
			oEnd = time.Duration(1 << 62)
		}
		if o.id == self.id || (o.invoke <= end+time.Second && oEnd+time.Second >= self.invoke) {
			out = append(out, o)
		}
	}
	return out
}

// between is the operations on thread from a's invocation to b's
// completion: two turns out of order and what ran around them.
func between(ops []op, thread string, a, b op) []op {
	var out []op
	for _, o := range touching(ops, thread, "") {
		if o.id == a.id || o.id == b.id || (o.invoke >= a.invoke && o.invoke <= b.complete) {
			out = append(out, o)
		}
	}
	return out
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
