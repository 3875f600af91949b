package scorejobs

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/observe"
	"github.com/mastra-server/mastra-server/host/store"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// instance is one server's share of the test: its own pool, memory store
// and recorder on the common database.
type instance struct {
	db  *store.DB
	mem *memory.Store
	rec *observe.Recorder
}

func newInstance(t *testing.T, url string) *instance {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DatabaseURL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mem, err := memory.New(db, 4, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := observe.NewScorer("says-hi", "Says hi", "", "contains", "hi", "", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := observe.New(observe.Options{Store: mem, QueueSize: 100, BatchSize: 10, FlushInterval: time.Millisecond,
		ServiceName: "test", Scorers: map[string][]*observe.Scorer{"helper": {sc}}})
	rec.Start(ctx)
	return &instance{db: db, mem: mem, rec: rec}
}

// A turn's score is graded by a River job, not by the turn: instance A
// queues it and stops (as if it died right after the turn) without
// working its queue; instance B, on the same database, runs the job and
// the score is stored with A's trace.
func TestScoreJobRunByAnotherInstance(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	a := newInstance(t, url)
	queueA, err := Open(a.db, func(context.Context, observe.ScoreJob) error {
		t.Error("instance A worked a job it never started working")
		return nil
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	a.rec.SetScoreQueue(queueA)
	turnCtx, end := a.rec.Agents().StartTurn(ctx, agent.TurnInfo{Agent: &agent.Agent{ID: "helper"}, RunID: "run-1",
		ThreadID: "t-1", ResourceID: "alice", Messages: []llm.Message{{Role: llm.RoleUser, Content: "greet me"}}})
	_ = turnCtx
	end(agent.TurnEnd{Outcome: agent.OutcomeOK, Result: &agent.Result{Text: "hi there"}})
	a.rec.Close(ctx) // queues what is pending, then A is gone

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var queued int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE queue = $1 AND state = 'available'`, Queue).Scan(&queued); err != nil || queued != 1 {
		t.Fatalf("jobs waiting after A's turn = %d (%v); want 1", queued, err)
	}
	if n, _, err := a.mem.ListScores(ctx, memory.EventQuery{ResourceID: "alice"}); err != nil || len(n) != 0 {
		t.Fatalf("scores before any worker = %d (%v); want none: the turn must not grade", len(n), err)
	}

	b := newInstance(t, url)
	defer b.rec.Close(ctx)
	jobsB, err := Open(b.db, b.rec.RunScore, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobsB.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobsB.Close(context.Background()) })

	var scores []memory.Score
	for deadline := time.Now().Add(30 * time.Second); len(scores) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if scores, _, err = b.mem.ListScores(ctx, memory.EventQuery{ResourceID: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(scores) != 1 {
		t.Fatalf("scores = %d; want the one graded by B", len(scores))
	}
	s := scores[0]
	var traceID string
	if err := conn.QueryRow(ctx, `SELECT args->>'traceId' FROM river_job WHERE queue = $1`, Queue).Scan(&traceID); err != nil {
		t.Fatal(err)
	}
	if s.ScorerID != "says-hi" || s.Score != 1 || s.TraceID == nil || *s.TraceID != traceID || *s.ThreadID != "t-1" ||
		*s.ScoreSource != "live" || *s.EntityID != "helper" {
		t.Errorf("score = %+v (trace %v); want says-hi 1 on the job's trace %s", s, s.TraceID, traceID)
	}
	var state string
	for deadline := time.Now().Add(10 * time.Second); state != "completed" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_ = conn.QueryRow(ctx, `SELECT state FROM river_job WHERE queue = $1`, Queue).Scan(&state)
	}
	if state != "completed" {
		t.Errorf("job state = %q; want completed", state)
	}
}
