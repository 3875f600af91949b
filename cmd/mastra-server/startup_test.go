package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// busyPort holds a port for the test, as another server would.
func busyPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// deadPostgres is the URL of a Postgres nobody listens for.
func deadPostgres(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return "postgres://postgres@127.0.0.1:" + port + "/mastra?sslmode=disable&connect_timeout=2"
}

// A port in use stops the start before anything is created: no SQLite
// file, no tables in Postgres.
func TestPortInUseCreatesNothing(t *testing.T) {
	t.Chdir(t.TempDir())
	port := busyPort(t)
	dbPath := filepath.Join(t.TempDir(), "m.db")
	_, _, err := runCmd(t, []string{"MASTRA_HOST=127.0.0.1", "MASTRA_PORT=" + port, "MASTRA_MEMORY__SQLITE_PATH=" + dbPath}, "serve")
	if exitCode(err) == 0 || !strings.Contains(err.Error(), "listen on 127.0.0.1:"+port) {
		t.Fatalf("serve on a busy port: exit %d (%v); want non-zero naming the address", exitCode(err), err)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("serve on a busy port created %s (stat: %v); want nothing created", dbPath, err)
	}

	url := pgtest.NewDatabase(t)
	_, _, err = runCmd(t, []string{"MASTRA_HOST=127.0.0.1", "MASTRA_PORT=" + port, "MEMORY_DATABASE_URL=" + url}, "serve")
	if exitCode(err) == 0 {
		t.Fatalf("serve on a busy port with Postgres: exit 0; want non-zero")
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(context.Background(),
		"SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("serve on a busy port created %d tables in Postgres; want none", tables)
	}
}

// validate checks the database too: an unreachable Postgres is a failure.
func TestValidateFailsWhenPostgresIsUnreachable(t *testing.T) {
	t.Chdir(t.TempDir())
	_, _, err := runCmd(t, []string{"MEMORY_DATABASE_URL=" + deadPostgres(t)}, "validate")
	if exitCode(err) == 0 || !strings.Contains(err.Error(), "database unreachable") {
		t.Fatalf("validate with an unreachable Postgres: exit %d (%v); want non-zero saying the database is unreachable", exitCode(err), err)
	}
}

// A server that starts without its database says so: an ERROR line with
// the cause, and a ready line that does not read as all well.
func TestUnreachablePostgresAtStartIsAnError(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := config.Load("", []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "MEMORY_DATABASE_URL=" + deadPostgres(t)})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), false, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	cancel()
	<-done
	var errorLine, readyLine string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "database unreachable") {
			errorLine = l
		}
		if strings.Contains(l, `msg="mastra-server listening"`) {
			readyLine = l
		}
	}
	if errorLine == "" || !strings.Contains(errorLine, "connect") {
		t.Errorf("no ERROR line naming the unreachable database and its cause:\n%s", logs)
	}
	if !strings.Contains(readyLine, "unavailable") {
		t.Errorf("ready line %q; want it to say the database is unavailable", readyLine)
	}
}
