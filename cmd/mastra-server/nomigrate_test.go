package main

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// A workflow and resumable streams: every part of the server that keeps
// tables or listens for notifications is on.
const fullToml = `
[server.streams]
resumable = true

[agents.assistant]
model = "echo"

[workflows.flow]
[[workflows.flow.steps]]
id = "only"
map = '{"ok": true}'
`

// startServe runs the serve command with args until the test ends and
// returns its base URL once it listens.
func startServe(t *testing.T, env []string, args ...string) string {
	t.Helper()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), env, &syncBuffer{}, logs) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := regexp.MustCompile(`msg="mastra-server listening" addr=(\S+)`)
	deadline := time.Now().Add(30 * time.Second) // a deadlock guard, not a timing assertion
	for {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			return "http://" + m[1]
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve %v ended: %v\n%s", args, err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve %v never listened:\n%s", args, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// `migrate` on an empty Postgres database creates every table, River's
// included; `serve --no-migrate` then starts on it without migrating, and
// the instance holds one LISTEN connection for all its listeners (the
// stream log's, the workflow watchers', River's).
func TestMigrateThenServeWithoutMigrating(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, "mastra.toml"), []byte(fullToml), 0o644); err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDatabase(t)
	env := []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "MEMORY_DATABASE_URL=" + url}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := func() map[string]bool {
		rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[n] = true
		}
		return out
	}

	// Refused before migrate: the database answers and needs migrations.
	_, _, err = runCmd(t, env, "serve", "--no-migrate")
	if err == nil || !strings.Contains(err.Error(), "not migrated") || !strings.Contains(err.Error(), "mastra-server migrate") {
		t.Fatalf("serve --no-migrate on an empty database = %v; want a refusal naming the migrate command", err)
	}
	if got := tables(); len(got) != 0 {
		t.Fatalf("the refused start created tables: %v", got)
	}

	if _, logs, err := runCmd(t, env, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, logs)
	}
	got := tables()
	for _, want := range []string{"mastra_threads", "mastra_messages", "mastra_resources", "mastra_workflow_snapshot",
		"mastra_server_stream_runs", "mastra_server_workflow_instances", "river_job", "river_migration", "river_leader", "river_queue"} {
		if !got[want] {
			t.Errorf("after migrate, no table %s (have %v)", want, got)
		}
	}
	before := len(got)

	base := startServe(t, env, "--no-migrate")
	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("health = %d; want 200", res.StatusCode)
	}
	res, err = http.Post(base+"/api/workflows/flow/start-async", "application/json", strings.NewReader(`{"inputData":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("workflow start-async = %d; want 200", res.StatusCode)
	}
	if after := len(tables()); after != before {
		t.Errorf("serve --no-migrate changed the tables: %d, then %d", before, after)
	}

	// Every listener of the instance is up once each has heard something:
	// the stream log and workflow watchers listen from the start, River's
	// notifier once its client runs (the workflow above ran on it).
	var n int
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'mastra-server' AND query LIKE 'LISTEN%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(0)
	if n != 1 {
		t.Errorf("the instance holds %d LISTEN connections; want 1", n)
	}
}
