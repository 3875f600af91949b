package embedjobs

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/store"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A queued job is worked with its arguments intact; a failing one stays
// in River, to be retried, with its error recorded.
func TestJobsRunAndRetry(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	var (
		mu  sync.Mutex
		got []agent.EmbedJob
	)
	done := make(chan struct{}, 16)
	db, err := store.Open(ctx, store.Options{DatabaseURL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	jobs, err := Open(db, func(ctx context.Context, job agent.EmbedJob) error {
		mu.Lock()
		got = append(got, job)
		mu.Unlock()
		done <- struct{}{}
		if job.AgentID == "failing" {
			return errors.New("provider down")
		}
		return nil
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobs.Close(context.Background()) })
	want := agent.EmbedJob{AgentID: "a", ResourceID: "alice", MessageIDs: []string{"m1", "m2"}}
	for _, j := range []agent.EmbedJob{want, {AgentID: "failing", ResourceID: "bob", MessageIDs: []string{"m3"}}} {
		if err := jobs.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("jobs were not worked")
		}
	}
	mu.Lock()
	first := got[0]
	if got[1].AgentID == "a" {
		first = got[1]
	}
	mu.Unlock()
	if first.ResourceID != "alice" || len(first.MessageIDs) != 2 || first.MessageIDs[1] != "m2" {
		t.Errorf("job = %+v; want %+v", first, want)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var (
		state, msg string
		attempt    int
	)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		err = conn.QueryRow(ctx, `SELECT state, attempt, coalesce(errors[1]->>'error', '') FROM river_job
			WHERE queue = $1 AND args->>'agentId' = 'failing'`, Queue).Scan(&state, &attempt, &msg)
		if err == nil && msg != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if state == "completed" || state == "discarded" || attempt < 1 || msg != "provider down" {
		t.Errorf("failing job: state %q, attempt %d, error %q (%v); want it kept for a retry with its error", state, attempt, msg, err)
	}
}

// A job its budget refuses (agent.EmbedDeferredError) is snoozed for the
// wait, not failed: it runs again, with its principal, and completes
// without an error or a spent attempt on record.
func TestDeferredJobIsSnoozed(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DatabaseURL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []agent.EmbedJob
	)
	done := make(chan struct{})
	jobs, err := Open(db, func(ctx context.Context, job agent.EmbedJob) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, job)
		if len(got) == 1 {
			return &agent.EmbedDeferredError{Wait: 10 * time.Millisecond, Err: errors.New("limits: model tokens per minute over 5")}
		}
		close(done)
		return nil
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobs.Close(context.Background()) })
	job := agent.EmbedJob{AgentID: "a", ResourceID: "alice", MessageIDs: []string{"m1"}, Principal: `{"key":"resource:alice","token":"alice"}`}
	if err := jobs.Enqueue(ctx, job); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the deferred job did not run again")
	}
	mu.Lock()
	if got[1].Principal != job.Principal {
		t.Errorf("the job's principal on its second run = %q; want %q", got[1].Principal, job.Principal)
	}
	mu.Unlock()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var (
		state, snoozes string
		nerrs          int
	)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		err = conn.QueryRow(ctx, `SELECT state, coalesce(metadata->>'snoozes', ''), coalesce(array_length(errors, 1), 0) FROM river_job
			WHERE queue = $1`, Queue).Scan(&state, &snoozes, &nerrs)
		if err == nil && state == "completed" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if state != "completed" || snoozes != "1" || nerrs != 0 {
		t.Errorf("deferred job: state %q, snoozes %q, %d errors (%v); want completed after 1 snooze, no error", state, snoozes, nerrs, err)
	}
}
