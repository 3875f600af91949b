package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The classes of database errors. Each wing wraps them in errors of its own
// words (memory.ErrNotFound is a store.ErrNotFound too), so a caller may
// test either.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database cannot serve now (unreachable,
	// restarting, shutting down, not migrated yet). Every route answers it
	// with the same 503, which a client retries, rather than a 500.
	ErrUnavailable = errors.New("database unavailable")
)

// Classify marks err with ErrUnavailable when it means the database cannot
// serve now; other errors (and nil) are returned as they are.
func Classify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || !Unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Unavailable reports whether err means the database cannot be reached or
// cannot serve yet, whether or not Classify marked it. A cancelled or
// timed-out request is not: the caller gave up, the database did not fail.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     *net.OpError
		pgErr      *pgconn.PgError
	)
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, sql.ErrConnDone),
		pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	case errors.As(err, &pgErr):
		// Connection exceptions, operator intervention (shutdown), and
		// undefined_table: a database that came up before its migrations
		// ran is not ready yet, which a client should retry, not a bug.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "42P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "database is closed") || strings.Contains(msg, "closed pool")
}

// Named is an error in a wing's own words that is also one of the classes
// above (errors.Is(Named("memory: thread not found", ErrNotFound),
// ErrNotFound)), so a caller may test either.
func Named(msg string, class error) error { return &named{msg, class} }

type named struct {
	msg   string
	class error
}

func (e *named) Error() string { return e.msg }
func (e *named) Unwrap() error { return e.class }

// NoRows reports a read that found nothing, whichever driver ran it.
func NoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows)
}

// Duplicate reports a unique key already taken (Postgres 23505, SQLite's
// UNIQUE constraint).
func Duplicate(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
