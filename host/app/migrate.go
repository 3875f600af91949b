package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mastra-server/mastra-server/host/store"
)

// migrateInBackgroundIfDown applies migrations now; if the database cannot
// be reached, the server starts anyway (health says 503) and keeps trying
// every second until ctx is done.
func migrateInBackgroundIfDown(ctx context.Context, db *store.DB, log *slog.Logger) {
	r := &migrationRetry{migrate: db.Migrate, log: log, every: time.Second, now: time.Now}
	if r.attempt(ctx) {
		return
	}
	go r.loop(ctx)
}

// migrationRetry applies migrations until they succeed. Its log says a
// failure when it starts, again once a minute or when the cause changes
// (retries come every second: one line each would bury everything else),
// and how many attempts it took when they succeed.
type migrationRetry struct {
	migrate func(context.Context) ([]string, error)
	log     *slog.Logger
	every   time.Duration // between attempts; until then requests get 503s
	now     func() time.Time

	attempts int
	said     string    // the cause last logged
	saidAt   time.Time // when it was logged
}

// loop retries every r.every until an attempt succeeds or ctx is done.
func (r *migrationRetry) loop(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if r.attempt(ctx) {
				return
			}
		}
	}
}

// attempt tries once and reports whether the migrations are applied.
func (r *migrationRetry) attempt(ctx context.Context) bool {
	r.attempts++
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	names, err := r.migrate(mctx)
	if err != nil {
		r.failed(err)
		return false
	}
	for _, n := range names {
		r.log.Info("applied migration", "name", n)
	}
	if r.attempts > 1 {
		r.log.Info(fmt.Sprintf("migrations applied after %d attempts", r.attempts), "attempts", r.attempts)
	}
	return true
}

func (r *migrationRetry) failed(err error) {
	cause, now := err.Error(), r.now()
	if cause == r.said && now.Sub(r.saidAt) < time.Minute {
		return
	}
	r.said, r.saidAt = cause, now
	// An error, not a warning: nothing that needs the database works.
	if errors.Is(err, store.ErrUnavailable) {
		r.log.Error("database unreachable: requests needing it answer 503; retrying migrations", "err", err,
			"retry_every", r.every, "attempts", r.attempts)
	} else {
		r.log.Error("database migration failed: will retry", "err", err, "retry_every", r.every, "attempts", r.attempts)
	}
}
