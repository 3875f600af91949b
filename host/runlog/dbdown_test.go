package runlog

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openPGLog opens a log on the Postgres database url.
func openPGLog(t *testing.T, url string, o Options) *Log {
	t.Helper()
	return openStoreLog(t, memory.Options{DatabaseURL: url, MaxOpenConns: 4}, o)
}

func openAdmin(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// listeners returns the backends of the test database that listen.
func listeners(t *testing.T, db *sql.DB) map[int]bool {
	t.Helper()
	rows, err := db.Query(`SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'idle' AND query LIKE 'LISTEN %'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		out[pid] = true
	}
	return out
}

// TestFollowerHearsChunksAfterListenerCut: the LISTEN connection of a
// follower's instance is cut by the server; it listens again, and a
// follower of another instance's run gets its chunks by notification (it
// never polls here, and the runner's lease is far away).
func TestFollowerHearsChunksAfterListenerCut(t *testing.T) {
	url := pgtest.NewDatabase(t)
	runner := openPGLog(t, url, Options{Lease: time.Hour, FlushInterval: time.Millisecond})
	follower := openPGLog(t, url, Options{Lease: time.Hour, PollInterval: time.Hour})
	admin := openAdmin(t, url)
	deadline := time.Now().Add(30 * time.Second) // a deadlock guard, not a timing assertion
	var old map[int]bool
	for old = listeners(t, admin); len(old) < 2 || !follower.Listening(); old = listeners(t, admin) {
		if time.Now().After(deadline) {
			t.Fatal("the logs never listened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`); err != nil {
		t.Fatal(err)
	}
	for {
		fresh := 0
		for pid := range listeners(t, admin) {
			if !old[pid] {
				fresh++
			}
		}
		if fresh == 2 && follower.Listening() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the logs never listened again")
		}
		time.Sleep(10 * time.Millisecond)
	}

	ctx := context.Background()
	w, err := runner.Start(ctx, Run{RunID: "R", ResourceID: "r", AgentID: "a", ThreadID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	w.Append([]byte(`{"type":"start"}`))
	if err := w.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	fs, wait := followMany(t, follower, "R", 1)
	waitAll(t, fs, 1)
	w.Append([]byte(`{"type":"finish"}`))
	if err := w.End(false); err != nil {
		t.Fatal(err)
	}
	waitAll(t, fs, 2)
	wait()
	if fs[0].err != nil || len(fs[0].data) != 2 || fs[0].data[1] != `{"type":"finish"}` {
		t.Fatalf("follower got %q, err %v", fs[0].data, fs[0].err)
	}
}

// TestBatchRetriedAfterDatabaseStall: while the stream tables cannot be
// written (another session holds them locked), Hold reports the failed
// write; once they can, the pending chunks go with a retried batch, End
// succeeds, and another instance reads the whole run in order.
func TestBatchRetriedAfterDatabaseStall(t *testing.T) {
	url := pgtest.NewDatabase(t)
	runner := openPGLog(t, url, Options{Lease: 500 * time.Millisecond, FlushInterval: time.Millisecond})
	other := openPGLog(t, url, Options{})
	admin := openAdmin(t, url)
	ctx := context.Background()
	w, err := runner.Start(ctx, Run{RunID: "R", ResourceID: "r", AgentID: "a", ThreadID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	w.Append([]byte(`{"n":1}`))
	if err := w.Hold(ctx); err != nil {
		t.Fatal(err)
	}

	lock, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(`LOCK TABLE mastra_server_stream_runs IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	w.Append([]byte(`{"n":2}`))
	err = w.Hold(ctx)
	if err == nil || errors.Is(err, ErrLost) {
		t.Fatalf("Hold with the tables locked: %v; want the write's error", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}

	w.Append([]byte(`{"n":3}`))
	if err := w.End(false); err != nil {
		t.Fatalf("End after the stall: %v", err)
	}
	info, err := other.Info(ctx, "R")
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != StatusDone || info.LastSeq != 3 {
		t.Fatalf("run logged as %s with %d chunks; want done with 3", info.Status, info.LastSeq)
	}
	var got []string
	if err := other.Follow(ctx, info, 0, func(_ int64, c []byte) error {
		got = append(got, string(c))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != `{"n":1}` || got[1] != `{"n":2}` || got[2] != `{"n":3}` {
		t.Fatalf("other instance read %q", got)
	}
}
