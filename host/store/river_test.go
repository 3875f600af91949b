package store

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// River's listener is a subscription on the shared connection: it hears
// "<schema>.<topic>" as River's own does, and shares the connection with
// every other listener of the process.
func TestRiverListenerSharesTheConnection(t *testing.T) {
	url := pgtest.NewDatabase(t)
	d := open(t, Options{DatabaseURL: url, MaxConns: 4, ApplicationName: "river-listen-test"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock guard
	defer cancel()
	other := make(chan error, 1)
	otherReady := make(chan struct{})
	lctx, stopOther := context.WithCancel(ctx)
	go func() { other <- d.Listen(lctx, "mastra_other", func() { close(otherReady) }, func(string) {}) }()
	<-otherReady

	l := d.River().GetListener(&riverdriver.GetListenenerParams{})
	if err := l.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if l.Schema() != "public" {
		t.Errorf("schema = %q; want the current schema, public", l.Schema())
	}
	if err := l.Listen(ctx, "river_insert"); err != nil {
		t.Fatal(err)
	}
	var conns int
	if err := d.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'river-listen-test' AND query LIKE 'LISTEN%'`).Scan(&conns); err != nil {
		t.Fatal(err)
	}
	if conns != 1 {
		t.Errorf("%d LISTEN connections for two listeners; want 1", conns)
	}
	if _, err := d.Pool().Exec(ctx, `SELECT pg_notify('public.river_insert', '{"queue":"default"}'), pg_notify('river_insert', 'unprefixed')`); err != nil {
		t.Fatal(err)
	}
	n, err := l.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Topic != "river_insert" || n.Payload != `{"queue":"default"}` {
		t.Errorf("notification = %+v; want topic river_insert with the payload sent on public.river_insert", n)
	}
	// An interrupted wait (River cancels it to listen to more) returns the
	// context's error and leaves the listener usable.
	wctx, wcancel := context.WithCancel(ctx)
	wcancel()
	if _, err := l.WaitForNotification(wctx); err != context.Canceled {
		t.Errorf("interrupted wait = %v; want context.Canceled", err)
	}
	if err := l.Unlisten(ctx, "river_insert"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stopOther()
	if err := <-other; err != context.Canceled {
		t.Errorf("the other listener ended with %v; want its context's end", err)
	}
}
