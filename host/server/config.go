package server

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Config is the HTTP host's configuration. Its fields are those of
// [server] in mastra.toml, as plain values: durations, bytes. The config
// package owns the defaults and the validation; Config invents none, and
// its zero values mean "off" only where a field says so.
type Config struct {
	// Host and Port are the listen address ([Config.Addr]) for whoever
	// opens the listener; [Server.Serve] takes the listener.
	Host string
	Port int
	// Timeout bounds the time to the first byte of a response. It never
	// cuts a response that has started, so long streams are not affected.
	Timeout time.Duration
	// BodyLimit is the largest request body, in bytes.
	BodyLimit int64
	// ReadHeaderTimeout bounds the time to read a request's headers.
	ReadHeaderTimeout time.Duration
	// BodyTimeout bounds the time to receive a request body (never later
	// than Timeout): a client that dribbles its body is cut with 408 and
	// its connection closed. 0 = no bound.
	BodyTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the size of a request's headers.
	MaxHeaderBytes int64
	// DrainTimeout is how long a shutdown waits for in-flight requests.
	DrainTimeout time.Duration
	// KeepAlive is the interval of ": ping" comments on quiet streams;
	// 0 = none.
	KeepAlive time.Duration
	CORS      CORS
	Auth      Auth
}

// Addr is the listen address host:port.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// CORS configures cross-origin requests. An empty Origins list turns CORS
// off (no headers: same-origin only).
type CORS struct {
	// Origins are allowed on an exact match (a trailing "/" is ignored);
	// "*" allows any origin, but never together with Credentials.
	Origins       []string
	AllowMethods  []string
	AllowHeaders  []string
	ExposeHeaders []string
	Credentials   bool
	MaxAge        time.Duration
}

// Auth configures the built-in token check.
type Auth struct {
	Enabled bool
	// Tokens are the accepted credentials; one with an empty Value never
	// matches.
	Tokens []Token
	// Protected and Public are path patterns ([PathMatch]). A path that
	// matches a protected pattern and no public one needs a valid token.
	Protected []string
	Public    []string
}

// Token is one accepted credential.
type Token struct {
	User string
	// ResourceID is the resource (tenant) the token's requests are confined
	// to. Unused for an admin token.
	ResourceID string
	// Admin makes the token unbound: its requests may name any resource.
	Admin bool
	// Value is the token itself; String and LogValue never show it.
	Value string
}

// String describes t without its value.
func (t Token) String() string {
	return fmt.Sprintf("{User:%s ResourceID:%s Admin:%t Value:<redacted>}", t.User, t.ResourceID, t.Admin)
}

// LogValue describes t without its value.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", t.User), slog.String("resource_id", t.ResourceID), slog.Bool("admin", t.Admin))
}
