// Package dbdown tells a database that cannot serve now (unreachable,
// restarting, shutting down, not migrated yet) from a failed statement.
// Every store classifies its errors with it, so that all routes answer
// the same 503 while the database is down, which a client retries,
// rather than a 500.
package dbdown

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Is reports whether err means the database cannot be reached or cannot
// serve yet. A cancelled or timed-out request is not: the caller gave up,
// the database did not fail.
func Is(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
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
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "database is closed")
}
