package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// listening counts the backends of the database named application that
// wait on LISTEN.
func listening(t *testing.T, admin *sql.DB, app string) int {
	t.Helper()
	var n int
	if err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND query LIKE 'LISTEN%'`, app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two channels, three subscribers: one connection hears them all, each
// subscriber gets its own channel's payloads; when the connection is cut,
// every Listen returns an error, and listening again works.
func TestListenSharesOneConnection(t *testing.T) {
	url := pgtest.NewDatabase(t)
	d := open(t, Options{DatabaseURL: url, MaxConns: 4, ApplicationName: "listen-test"})
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	type got struct{ who, payload string }
	heard := make(chan got, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 3)
	ready := make(chan struct{}, 3)
	for _, s := range []struct{ who, channel string }{{"a1", "chan_a"}, {"a2", "chan_a"}, {"b", "chan_b"}} {
		go func() {
			errs <- d.Listen(ctx, s.channel, func() { ready <- struct{}{} }, func(p string) { heard <- got{s.who, p} })
		}()
	}
	for range 3 {
		select {
		case <-ready:
		case err := <-errs:
			t.Fatalf("Listen: %v", err)
		case <-time.After(30 * time.Second): // a deadlock guard
			t.Fatal("listeners never ready")
		}
	}
	if n := listening(t, admin, "listen-test"); n != 1 {
		t.Errorf("%d LISTEN connections for three subscribers; want 1", n)
	}
	if _, err := admin.Exec(`SELECT pg_notify('chan_a', 'x'), pg_notify('chan_b', 'y')`); err != nil {
		t.Fatal(err)
	}
	want := map[got]bool{{"a1", "x"}: true, {"a2", "x"}: true, {"b", "y"}: true}
	for range 3 {
		select {
		case g := <-heard:
			if !want[g] {
				t.Errorf("heard %+v; want only %v", g, want)
			}
			delete(want, g)
		case <-time.After(30 * time.Second):
			t.Fatalf("still waiting for %v", want)
		}
	}

	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'listen-test' AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case err := <-errs:
			if err == nil || errors.Is(err, context.Canceled) {
				t.Errorf("Listen after the connection was cut = %v; want its error", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Listen did not return after the connection was cut")
		}
	}

	again := make(chan struct{})
	go func() {
		errs <- d.Listen(ctx, "chan_b", func() { close(again) }, func(p string) { heard <- got{"b", p} })
	}()
	select {
	case <-again:
	case err := <-errs:
		t.Fatalf("Listen again: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Listen again never ready")
	}
	if _, err := admin.Exec(`SELECT pg_notify('chan_b', 'z')`); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-heard:
		if g != (got{"b", "z"}) {
			t.Errorf("heard %+v after listening again; want b z", g)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nothing heard after listening again")
	}
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("Listen after its context ended = %v; want context.Canceled", err)
	}
	// The last subscriber gone, the connection is closed.
	deadline := time.Now().Add(30 * time.Second)
	for listening(t, admin, "listen-test") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the LISTEN connection outlived its last subscriber")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// On SQLite there is nothing to listen to: Listen says so at once.
func TestListenOnSQLite(t *testing.T) {
	d := open(t, Options{SQLitePath: t.TempDir() + "/m.db", MaxConns: 1})
	if err := d.Listen(context.Background(), "x", nil, func(string) {}); !errors.Is(err, ErrNoListen) {
		t.Errorf("Listen on SQLite = %v; want ErrNoListen", err)
	}
}
