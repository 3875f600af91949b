package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachDB runs fn on a fresh SQLite file and a fresh Postgres database.
func eachDB(t *testing.T, fn func(t *testing.T, d *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, open(t, Options{SQLitePath: filepath.Join(t.TempDir(), "m.db"), MaxConns: 4}))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, open(t, Options{DatabaseURL: pgtest.NewDatabase(t), MaxConns: 4, ApplicationName: "store-test"}))
	})
}

func open(t *testing.T, o Options) *DB {
	t.Helper()
	d, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// A new database has every migration pending (River's too, on Postgres),
// and reading that writes nothing; Migrate applies them all, once.
func TestMigrateFromEmpty(t *testing.T) {
	eachDB(t, func(t *testing.T, d *DB) {
		ctx := context.Background()
		pending, err := d.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := len(schemaMigrations)
		if d.Postgres() {
			want++ // River's, as one entry
		}
		if len(pending) != want {
			t.Fatalf("pending on an empty database = %q; want %d entries", pending, want)
		}
		if ok, err := d.tableExists(ctx, migrationsTable); err != nil || ok {
			t.Fatalf("Pending created %s (%v, %v): it must write nothing", migrationsTable, ok, err)
		}
		applied, err := d.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) < len(schemaMigrations) {
			t.Fatalf("Migrate applied %q; want at least the %d schema migrations", applied, len(schemaMigrations))
		}
		tables := []string{"mastra_threads", "mastra_messages", "mastra_workflow_snapshot", "mastra_server_workflow_instances"}
		if d.Postgres() {
			tables = append(tables, "river_job", "river_migration")
			if !slices.ContainsFunc(applied, func(n string) bool { return strings.HasPrefix(n, "river_") }) {
				t.Errorf("Migrate applied %q: no River migration", applied)
			}
		}
		for _, tb := range tables {
			if ok, err := d.tableExists(ctx, tb); err != nil || !ok {
				t.Errorf("table %s after Migrate: exists %v, %v", tb, ok, err)
			}
		}
		again, err := d.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("second Migrate = %q, %v; want nothing to do", again, err)
		}
		if pending, err := d.Pending(ctx); err != nil || len(pending) != 0 {
			t.Errorf("Pending after Migrate = %q, %v; want none", pending, err)
		}
	})
}

// The migration list reads in the order the migrator applies it (by name),
// so that the last entry is the newest and a reader of the file sees the
// schema's history as a database went through it.
func TestMigrationsListedInOrder(t *testing.T) {
	for i := 1; i < len(schemaMigrations); i++ {
		if prev, cur := schemaMigrations[i-1].name, schemaMigrations[i].name; prev >= cur {
			t.Errorf("migration %s is listed after %s; list them by name", cur, prev)
		}
	}
}

// The error classes read the same on both databases: a duplicate key is
// Duplicate, a read of nothing is NoRows, and neither is unavailability;
// a closed database is Unavailable and Classify marks it ErrUnavailable.
func TestErrorClasses(t *testing.T) {
	eachDB(t, func(t *testing.T, d *DB) {
		ctx := context.Background()
		if _, err := d.Bun().ExecContext(ctx, "CREATE TABLE classes (id integer PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Bun().ExecContext(ctx, "INSERT INTO classes VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		_, err := d.Bun().ExecContext(ctx, "INSERT INTO classes VALUES (1)")
		if !Duplicate(err) || Unavailable(err) || NoRows(err) {
			t.Errorf("duplicate key: %v; Duplicate %v, Unavailable %v, NoRows %v", err, Duplicate(err), Unavailable(err), NoRows(err))
		}
		var id int
		err = d.Bun().QueryRowContext(ctx, "SELECT id FROM classes WHERE id = 2").Scan(&id)
		if !NoRows(err) || Duplicate(err) || Unavailable(err) {
			t.Errorf("read of nothing: %v; NoRows %v", err, NoRows(err))
		}
		if err := Classify(err); errors.Is(err, ErrUnavailable) {
			t.Errorf("Classify(no rows) = %v; want it not unavailable", err)
		}
		d.Close()
		err = d.Ping(ctx)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("Ping on a closed database = %v; want ErrUnavailable", err)
		}
		named := Named("wing: thing not found", ErrNotFound)
		if !errors.Is(named, ErrNotFound) || named.Error() != "wing: thing not found" {
			t.Errorf("Named = %q, is ErrNotFound %v", named, errors.Is(named, ErrNotFound))
		}
	})
}

// Migrate holds one connection (its lock) while the migrators take others;
// with Bun's idle connections parked in database/sql it must still find
// one, down to the smallest pool that can migrate.
func TestMigrateOnSmallPools(t *testing.T) {
	for _, n := range []int{2, 3, 4, 5, 8} {
		d := open(t, Options{DatabaseURL: pgtest.NewDatabase(t), MaxConns: n})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock guard
		if _, err := d.Migrate(ctx); err != nil {
			t.Errorf("Migrate with a pool of %d: %v", n, err)
		}
		cancel()
	}
}
