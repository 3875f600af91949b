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
	jobs, err := Open(ctx, url, func(ctx context.Context, job agent.EmbedJob) error {
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
