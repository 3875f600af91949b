package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

// TestMigrationRetryLogsOncePerEpisode: a database down at start for 133
// retries (one per second on the retry's clock) gives one ERROR line when
// retrying starts, one a minute after, one when the cause changes, and one
// INFO line when the migrations are finally applied, counting the attempts.
func TestMigrationRetryLogsOncePerEpisode(t *testing.T) {
	var logs bytes.Buffer
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	calls := 0
	migrate := func(context.Context) ([]string, error) {
		calls++
		clock = clock.Add(time.Second)
		switch {
		case calls <= 130:
			return nil, fmt.Errorf("%w: dial tcp 127.0.0.1:5432: connect: connection refused", memory.ErrUnavailable)
		case calls <= 133:
			return nil, fmt.Errorf("%w: the database system is starting up", memory.ErrUnavailable)
		}
		return []string{"0001_init"}, nil
	}
	r := &migrationRetry{migrate: migrate, log: slog.New(slog.NewTextHandler(&logs, nil)),
		every: time.Microsecond, now: func() time.Time { return clock }}
	if r.attempt(context.Background()) {
		t.Fatal("first attempt applied the migrations; want it to fail")
	}
	r.loop(context.Background()) // returns once applied

	var errs, applied []string
	for _, l := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(l, "level=ERROR") && strings.Contains(l, "database unreachable"):
			errs = append(errs, l)
		case strings.Contains(l, "migrations applied after"):
			applied = append(applied, l)
		}
	}
	// attempts 1 (start), 61 (a minute on), 121 (another), 131 (new cause)
	if len(errs) != 4 || !strings.Contains(errs[0], "connection refused") || !strings.Contains(errs[0], "retry_every=") ||
		!strings.Contains(errs[3], "starting up") {
		t.Errorf("%d ERROR lines for 133 failed attempts; want 4 (start with cause and interval, once a minute, changed cause):\n%s",
			len(errs), strings.Join(errs, "\n"))
	}
	if len(applied) != 1 || !strings.Contains(applied[0], "migrations applied after 134 attempts") {
		t.Errorf("lines saying the migrations were applied: %q; want one saying after 134 attempts", applied)
	}
}
