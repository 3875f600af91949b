package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/mastra-server/mastra-server/host/store"
	"github.com/mastra-server/mastra-server/internal/follow"
	"github.com/mastra-server/mastra-server/internal/wakeup"
)

// AgentRunner runs one agent turn for a step. The composition root wires
// it to the agent service.
type AgentRunner interface {
	// RunAgent asks agent agentID prompt on behalf of resourceID and
	// returns the reply text.
	RunAgent(ctx context.Context, agentID, prompt, resourceID string) (string, error)
}

// ObjectAgentRunner is an AgentRunner that also runs structured agent
// steps: the turn answers a JSON value matching schema (or fails).
type ObjectAgentRunner interface {
	RunAgentObject(ctx context.Context, agentID, prompt, resourceID string, schema json.RawMessage) (json.RawMessage, error)
}

// ToolRunner runs a [[tools]] tool for a step.
type ToolRunner interface {
	// RunTool runs tool name with the JSON arguments on behalf of
	// resourceID and returns its JSON result.
	RunTool(ctx context.Context, name string, args json.RawMessage, resourceID string) (json.RawMessage, error)
}

// ModuleRunner runs the Wasm module of a workflow's wasm step: body is
// POSTed to the guest, which answers a status and a body (see README "Wasm
// step modules"). The composition root loads the modules.
type ModuleRunner interface {
	RunModule(ctx context.Context, workflowID, stepID string, body json.RawMessage) (status int, resp []byte, err error)
}

// Principals carry who started a run to its steps, on any instance, for
// the budgets its steps' model calls count against. Of names the
// principal of the request that starts a run, from its context; the engine
// stores the name with the run (it must hold no secret), gives it to the
// run's nested runs, and With puts it back into the context of each of
// their steps. A resume keeps the starting principal.
type Principals interface {
	Of(ctx context.Context) string
	With(ctx context.Context, principal string) context.Context
}

// Errors the HTTP host maps to statuses.
var (
	// ErrNotFound: no such workflow or run (or the run is another
	// resource's).
	ErrNotFound = store.Named("workflow: not found", store.ErrNotFound)
	// ErrConflict: the run is not in a state that allows the call (start of
	// a started run, resume of a run that is not suspended).
	ErrConflict = store.Named("workflow: conflict", store.ErrConflict)
	// ErrUnavailable: the database cannot be reached (or is shutting
	// down); the call may succeed when it is back.
	ErrUnavailable = store.Named("workflow: database unavailable", store.ErrUnavailable)
)

// InputError is client data that does not match a schema; Field names it.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// Options configure an Engine.
type Options struct {
	// DB is the process's database (host/store), migrated; the engine
	// shares it and does not close it. On SQLite the engine is single
	// node: its dispatcher runs in this process.
	DB *store.DB
	// DatabaseURL (a postgres:// URL) or else SQLitePath: when DB is nil,
	// Open opens a database of the engine's own through host/store (tests
	// and tools), which Close closes.
	DatabaseURL string
	SQLitePath  string
	Definitions []Definition
	Agents      AgentRunner
	Tools       ToolRunner
	Modules     ModuleRunner
	Logger      *slog.Logger
	// InstanceID names this process in step leases; "" = random.
	InstanceID string
	// Workers bounds the steps this instance runs at once (default 32).
	Workers int
	// MaxSnapshot caps a run's snapshot; a step whose output would pass
	// it fails (default 4 MiB).
	MaxSnapshot int
	// Observer watches runs and steps (metrics, traces); nil: none.
	Observer Observer
	// Principals carry who started a run to its steps; nil: nobody.
	Principals Principals
	// CountsCacheTTL is how long run counts for every resource are cached
	// (Mastra caches them 5 s, the default).
	CountsCacheTTL time.Duration
	// InstanceLease is how long this instance counts as alive after it
	// last renewed its lease (Postgres; default 10 s): a dead instance's
	// steps run again elsewhere about this long after it died.
	InstanceLease time.Duration
}

// Engine runs workflows. It is safe for concurrent use.
type Engine struct {
	db        *db
	wfs       map[string]*workflow
	ids       []string
	agents    AgentRunner
	tools     ToolRunner
	modules   ModuleRunner
	log       *slog.Logger
	me        string
	disp      dispatcher
	hub       *wakeup.Hub
	maxSnap   int
	obs       Observer
	princ     Principals
	countsTTL time.Duration
	lease     time.Duration // the instance lease (instances.go)
	countsMu  sync.Mutex
	counts    map[string]Counts
	countsAt  time.Time
	closeOnce sync.Once
	stop      context.CancelFunc
	bg        sync.WaitGroup

	// watchers holds one reader per watched run (watch.go); watchReads
	// counts the statements run for watchers (tests).
	watchers   *follow.Group[runState]
	watchReads atomic.Int64
}

// Open compiles the definitions on the database. Call Start to run steps,
// Close to stop. The database must be migrated (host/store's migrations
// hold the workflow tables and River's).
func Open(ctx context.Context, o Options) (*Engine, error) {
	e := &Engine{wfs: map[string]*workflow{}, agents: o.Agents, tools: o.Tools, modules: o.Modules, log: o.Logger, me: o.InstanceID,
		hub: wakeup.NewHub(), maxSnap: o.MaxSnapshot, obs: o.Observer, princ: o.Principals}
	e.watchers = follow.NewGroup[runState](e.hub, watchPoll)
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.me == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		e.me = "mastra-server-" + hex.EncodeToString(b[:])
	}
	if e.maxSnap <= 0 {
		e.maxSnap = 4 << 20
	}
	if e.countsTTL = o.CountsCacheTTL; e.countsTTL <= 0 {
		e.countsTTL = 5 * time.Second
	}
	if e.lease = o.InstanceLease; e.lease <= 0 {
		e.lease = defaultInstanceLease
	}
	wfs, ids, cerr := compileAll(o.Definitions)
	if cerr != nil {
		return nil, cerr
	}
	e.wfs, e.ids = wfs, ids
	workers := o.Workers
	if workers <= 0 {
		workers = 32
	}
	st, owned := o.DB, false
	if st == nil {
		var err error
		st, err = store.Open(ctx, store.Options{DatabaseURL: o.DatabaseURL, SQLitePath: o.SQLitePath, MaxConns: min(max(workers/4, 8), 32)})
		if err != nil {
			return nil, fmt.Errorf("workflow: %w", err)
		}
		owned = true
	}
	e.db = newDB(st)
	e.db.owned = owned
	if st.Postgres() {
		disp, err := newRiver(e, e.db, workers)
		if err != nil {
			if owned {
				st.Close()
			}
			return nil, err
		}
		e.disp = disp
	} else {
		e.disp = newLocal(e, e.db, workers)
	}
	return e, nil
}

// Compile checks definitions as Open does (expressions, schemas, prompt
// templates, nested workflows), without a database: what validate runs.
func Compile(defs []Definition) error {
	_, _, err := compileAll(defs)
	return err
}

func compileAll(defs []Definition) (map[string]*workflow, []string, error) {
	wfs, ids := map[string]*workflow{}, make([]string, 0, len(defs))
	for _, d := range defs {
		w, err := compileDefinition(d)
		if err != nil {
			return nil, nil, err
		}
		wfs[d.ID] = w
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	if err := linkNested(wfs, ids); err != nil {
		return nil, nil, err
	}
	return wfs, ids, nil
}

// Start runs steps until Close: River's workers (Postgres) or the
// in-process dispatcher (SQLite), and the listener that wakes watchers.
func (e *Engine) Start(ctx context.Context) error {
	ctx, e.stop = context.WithCancel(context.WithoutCancel(ctx))
	if err := e.disp.start(ctx); err != nil {
		return err
	}
	if e.db.postgres() {
		e.bg.Add(1)
		go func() { defer e.bg.Done(); e.listen(ctx) }()
	}
	e.bg.Add(1)
	go func() { defer e.bg.Done(); e.pruneLoop(ctx) }()
	return nil
}

// Close stops running steps (a step cut short runs again later, here or on
// another instance) and closes the database.
func (e *Engine) Close(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		err = e.disp.close(ctx)
		e.watchers.Close()
		if e.stop != nil {
			e.stop()
		}
		e.bg.Wait()
		if e.db.owned {
			if cerr := e.db.st.Close(); err == nil {
				err = cerr
			}
		}
	})
	return err
}

// Info describes one workflow for the HTTP host.
type Info struct {
	ID, Description                        string
	InputSchema, OutputSchema, StateSchema json.RawMessage
	// Graph is Mastra's SerializedStepFlowEntry[].
	Graph json.RawMessage
	Steps []StepInfo
}

// StepInfo describes one step.
type StepInfo struct {
	ID, Description, Kind      string
	ResumeSchema, OutputSchema json.RawMessage
	CanSuspend                 bool
}

// Workflows lists the workflows, sorted by id.
func (e *Engine) Workflows() []Info {
	out := make([]Info, 0, len(e.ids))
	for _, id := range e.ids {
		out = append(out, e.wfs[id].info())
	}
	return out
}

// Workflow describes workflow id.
func (e *Engine) Workflow(id string) (Info, bool) {
	w, ok := e.wfs[id]
	if !ok {
		return Info{}, false
	}
	return w.info(), true
}

func (w *workflow) info() Info {
	in := Info{ID: w.def.ID, Description: w.def.Description, InputSchema: w.def.InputSchema,
		OutputSchema: w.def.OutputSchema, StateSchema: w.def.StateSchema, Graph: w.graph}
	var walk func([]*step)
	walk = func(ss []*step) {
		for _, s := range ss {
			if s.def.Kind != "parallel" && s.def.Kind != "branch" {
				in.Steps = append(in.Steps, StepInfo{ID: s.def.ID, Description: s.def.Description, Kind: s.def.Kind,
					ResumeSchema: s.def.ResumeSchema, OutputSchema: s.def.OutputSchema, CanSuspend: s.def.Kind == "suspend" || s.def.Kind == "wasm"})
			}
			walk(s.children)
		}
	}
	walk(w.steps)
	return in
}

// Run is a run as stored.
type Run struct {
	Workflow   string
	RunID      string
	ResourceID string
	Snapshot   Snapshot
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Seq is the number of stream chunks the run has logged, so the
	// number of its last one: Watch after it for what comes next.
	Seq int64
}

// runRow is a run with the engine's side state, as loaded for a change.
type runRow struct {
	Run
	cur     cursor
	version int64
	nextSeq int64
	// principal names who started the run (Principals.Of), "" for nobody.
	principal string
	// snap: Snapshot was read. A foreach element's job reads and writes
	// only the cursor when it can (see step.light); save then leaves the
	// snapshot as it is.
	snap bool
	// keepSnapshot: this change left the snapshot as read (a foreach
	// element that was not the last); save does not write it.
	keepSnapshot bool
	// items are the foreach elements read for this change, by token.
	items map[string]any
}

func (e *Engine) workflow(id string) (*workflow, error) {
	w, ok := e.wfs[id]
	if !ok {
		return nil, fmt.Errorf("%w: workflow %s", ErrNotFound, id)
	}
	return w, nil
}

// CreateRun creates a pending run (Mastra's create-run). runID "" gets a
// new uuid. Creating a run that exists returns it, unless it is another
// resource's (ErrNotFound).
func (e *Engine) CreateRun(ctx context.Context, wfID, runID, resourceID string) (*Run, error) {
	w, err := e.workflow(wfID)
	if err != nil {
		return nil, err
	}
	if runID == "" {
		runID = uuid.NewString()
	}
	var out *Run
	err = e.db.inTx(ctx, func(tx *txn) error {
		r, err := e.load(ctx, tx, wfID, runID, true)
		if err == nil {
			if resourceID != "" && r.ResourceID != resourceID {
				return fmt.Errorf("%w: run %s", ErrNotFound, runID)
			}
			out = &r.Run
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		nr, err := e.insertRun(ctx, tx, w, runID, resourceID, nil)
		if err != nil {
			return err
		}
		out = &nr.Run
		return nil
	})
	return out, err
}

// insertRun writes a new pending run of w in tx; parent is the run and
// step a nested run reports to (nil for a run of its own).
func (e *Engine) insertRun(ctx context.Context, tx *txn, w *workflow, runID, resourceID string, parent *parentRef) (*runRow, error) {
	now := time.Now().UTC()
	snap := Snapshot{RunID: runID, Status: StatusPending, RequestContext: map[string]any{}, Value: map[string]any{},
		Context: StepContext{Steps: map[string]*StepResult{}}, SerializedStepGraph: w.graph,
		ActivePaths: []int{}, ActiveStepsPath: map[string][]int{}, SuspendedPaths: map[string][]int{},
		ResumeLabels: map[string]any{}, WaitingPaths: map[string][]int{}, Timestamp: now.UnixMilli()}
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec(ctx, `INSERT INTO mastra_workflow_snapshot (workflow_name, run_id, "resourceId", snapshot, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
		VALUES ($1, $2, $3, $4, $5, $5, $6, $6)`, w.def.ID, runID, nullable(resourceID), string(b), e.db.ts(now), now); err != nil {
		return nil, fmt.Errorf("workflow: create run: %w", err)
	}
	cur := cursor{Parent: parent}
	cb, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec(ctx, `INSERT INTO mastra_server_workflow_runs (workflow_name, run_id, version, cursor, next_seq) VALUES ($1, $2, 0, $3, 0)`,
		w.def.ID, runID, string(cb)); err != nil {
		return nil, fmt.Errorf("workflow: create run: %w", err)
	}
	return &runRow{Run: Run{Workflow: w.def.ID, RunID: runID, ResourceID: resourceID, Snapshot: snap, CreatedAt: now, UpdatedAt: now}, cur: cur, snap: true}, nil
}

// load reads a run and its side state; lock takes its row for the
// transaction. A run without a side row (written by a Mastra server) is
// readable but not runnable here.
func (e *Engine) load(ctx context.Context, q querier, wfID, runID string, lock bool) (*runRow, error) {
	return e.loadRun(ctx, q, wfID, runID, lock, true)
}

// loadRun is load; without withSnapshot the snapshot is not read (its
// row is still locked), for changes that touch only the cursor.
func (e *Engine) loadRun(ctx context.Context, q querier, wfID, runID string, lock, withSnapshot bool) (*runRow, error) {
	var res *string
	var snap, cur string
	var created, updated any
	var version, seq *int64
	lockSQL, join := "", "LEFT JOIN"
	if lock {
		// Both rows locked: Postgres then re-reads both when it waited for
		// the lock, so the version read is the latest.
		lockSQL, join = e.db.forUpdate(), "JOIN"
	}
	// Without the snapshot, no column stored after it either: SQLite
	// would walk the snapshot's overflow pages to reach them.
	cols := `s."resourceId", s.snapshot, s."createdAt", s."updatedAt"`
	if !withSnapshot {
		cols = `s."resourceId", '', NULL, NULL`
	}
	var principal string
	err := q.queryRow(ctx, `SELECT `+cols+`, r.cursor, r.version, r.next_seq, r.limits_principal
		FROM mastra_workflow_snapshot s `+join+` mastra_server_workflow_runs r ON r.workflow_name = s.workflow_name AND r.run_id = s.run_id
		WHERE s.workflow_name = $1 AND s.run_id = $2`+lockSQL, wfID, runID).Scan(&res, ptrString(&snap), &created, &updated, ptrString(&cur), &version, &seq,
		ptrString(&principal))
	if err != nil {
		if isNoRows(err) {
			return nil, fmt.Errorf("%w: run %s", ErrNotFound, runID)
		}
		return nil, fmt.Errorf("workflow: load run %s: %w", runID, err)
	}
	r := &runRow{Run: Run{Workflow: wfID, RunID: runID, CreatedAt: parseTS(created), UpdatedAt: parseTS(updated)}, principal: principal}
	if res != nil {
		r.ResourceID = *res
	}
	r.Snapshot.Context.Steps = map[string]*StepResult{}
	if withSnapshot {
		if err := r.readSnapshot(snap); err != nil {
			return nil, err
		}
	}
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &r.cur); err != nil {
			return nil, fmt.Errorf("workflow: run %s: cursor: %w", runID, err)
		}
	}
	if version != nil {
		r.version = *version
	}
	if seq != nil {
		r.nextSeq = *seq
		r.Seq = *seq
	}
	return r, nil
}

// readSnapshot decodes the run's snapshot column into r.
func (r *runRow) readSnapshot(snap string) error {
	if err := json.Unmarshal([]byte(snap), &r.Snapshot); err != nil {
		return fmt.Errorf("workflow: run %s: snapshot: %w", r.RunID, err)
	}
	if r.Snapshot.Context.Steps == nil {
		r.Snapshot.Context.Steps = map[string]*StepResult{}
	}
	r.snap = true
	return nil
}

// fillSnapshot reads the snapshot of a run loaded without it (its row is
// locked in q's transaction already).
func (e *Engine) fillSnapshot(ctx context.Context, q querier, r *runRow) error {
	if r.snap {
		return nil
	}
	var snap string
	if err := q.queryRow(ctx, `SELECT snapshot FROM mastra_workflow_snapshot WHERE workflow_name = $1 AND run_id = $2`,
		r.Workflow, r.RunID).Scan(ptrString(&snap)); err != nil {
		return fmt.Errorf("workflow: load run %s: %w", r.RunID, err)
	}
	return r.readSnapshot(snap)
}

// nullString scans a nullable text column into a string ("" for NULL).
type nullString struct{ p *string }

func ptrString(p *string) any { return &nullString{p} }

// setPrincipal makes p run r's principal, written with tx's next save
// (a run's start): it never changes after. Nobody ("", as with limits
// off) is the column's NULL already, and costs no statement.
func (r *runRow) setPrincipal(tx *txn, p string) {
	r.principal = p
	if p == "" {
		return
	}
	tx.extra = append(tx.extra, stmt{`UPDATE mastra_server_workflow_runs SET limits_principal = $3 WHERE workflow_name = $1 AND run_id = $2`,
		[]any{r.Workflow, r.RunID, nullable(p)}})
}

// nullable is s for a nullable text column: NULL for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (n *nullString) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*n.p = ""
	case string:
		*n.p = x
	case []byte:
		*n.p = string(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		*n.p = string(b)
	}
	return nil
}

// save writes a changed run: snapshot, cursor (compare-and-set on the
// version read), chunks, and queues or cancels jobs, all in tx.
func (e *Engine) save(ctx context.Context, tx *txn, r *runRow, fx *effects) error {
	now := time.Now().UTC()
	if r.cur.Jobs == nil {
		r.cur.Jobs = map[string]int64{}
	}
	for _, id := range fx.cancel {
		for tok, jid := range r.cur.Jobs {
			if jid == id {
				delete(r.cur.Jobs, tok)
			}
		}
	}
	if len(fx.cancel) > 0 {
		if err := e.disp.cancel(ctx, tx, fx.cancel); err != nil {
			return err
		}
	}
	if len(fx.jobs)+len(fx.notify) > 0 {
		ids, err := e.disp.enqueue(ctx, tx, append(fx.jobs[:len(fx.jobs):len(fx.jobs)], fx.notify...))
		if err != nil {
			return err
		}
		for i, j := range fx.jobs {
			r.cur.Jobs[j.token()] = ids[i]
		}
	}
	cur, err := json.Marshal(r.cur)
	if err != nil {
		return err
	}
	key := r.Workflow + "/" + r.RunID
	stmts := []stmt{
		{`UPDATE mastra_server_workflow_runs SET cursor = $3, version = version + 1, next_seq = $5
		WHERE workflow_name = $1 AND run_id = $2 AND version = $4`, []any{r.Workflow, r.RunID, string(cur), r.version, r.nextSeq + int64(len(fx.chunks))}},
	}
	if r.snap && !r.keepSnapshot {
		r.Snapshot.Timestamp = now.UnixMilli()
		r.Snapshot.ActivePaths, r.Snapshot.ActiveStepsPath = []int{}, map[string][]int{}
		snap, err := json.Marshal(r.Snapshot)
		if err != nil {
			return fmt.Errorf("workflow: snapshot: %w", err)
		}
		if len(snap) > e.maxSnap {
			return errSnapshotTooLarge
		}
		stmts = append(stmts, stmt{`UPDATE mastra_workflow_snapshot SET snapshot = $3, "updatedAt" = $4, "updatedAtZ" = $5
		WHERE workflow_name = $1 AND run_id = $2`, []any{r.Workflow, r.RunID, string(snap), e.db.ts(now), now}})
	}
	for i, c := range fx.chunks {
		c["runId"] = r.RunID
		c["from"] = "WORKFLOW"
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		stmts = append(stmts, stmt{`INSERT INTO mastra_server_workflow_chunks (workflow_name, run_id, seq, chunk, created_at) VALUES ($1, $2, $3, $4, $5)`,
			[]any{r.Workflow, r.RunID, r.nextSeq + int64(i), string(b), now.UnixMilli()}})
	}
	if e.db.postgres() {
		// Delivered at commit to every instance, this one included.
		stmts = append(stmts, stmt{`SELECT pg_notify('mastra_workflow', $1)`, []any{key}})
	} else {
		tx.afterCommit = append(tx.afterCommit, func() { e.hub.Signal(key) })
	}
	stmts = append(stmts, tx.extra...)
	tx.extra = nil
	// One round trip on Postgres; the compare-and-set is checked after.
	n, err := tx.execAll(ctx, stmts)
	if err != nil {
		return fmt.Errorf("workflow: save run %s: %w", r.RunID, err)
	}
	if n[0] == 0 {
		return fmt.Errorf("%w: run %s changed meanwhile", ErrConflict, r.RunID)
	}
	r.version++
	r.nextSeq += int64(len(fx.chunks))
	e.observeCommit(tx, r, fx)
	return nil
}

var errSnapshotTooLarge = errors.New("workflow: the run's snapshot would pass its size cap")
