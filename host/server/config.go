package server

import (
	"net"
	"strconv"
	"time"

	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/server/jwtauth"
	"github.com/mastra-server/mastra-server/host/server/transport"
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
	// Budgets are the limits of [server.limits] for every request,
	// enforced when Options.Limiter is set; a static token's entry in
	// Budgets.Tokens (by its user) replaces the global ones for its
	// requests.
	Budgets limits.Budgets
	// JWT configures the JWTs of [server.auth.jwt], accepted besides
	// Auth.Tokens while Auth is enabled; an empty JWKSURL means none.
	JWT JWT
	// MetricsPath is where [Options].Metrics answers (e.g. "/metrics").
	MetricsPath string
	// OpenAPI serves the OpenAPI document at /api/openapi.json and the
	// page that renders it at /docs.
	OpenAPI bool
	// Playground serves the page at /playground (playground.go). The page
	// is public even with auth on: it holds no data, and every call it
	// makes carries the token typed into it.
	Playground bool
	// Streams configures resumable streams.
	Streams Streams
	// Observability says traces are stored ([observability]), which
	// /api/system/packages reports to Studio.
	Observability bool
}

// Addr is the listen address host:port.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// CORS configures cross-origin requests; see [transport.CORS].
type CORS = transport.CORS

// Auth configures the built-in token check; see [transport.Auth].
type Auth = transport.Auth

// Limits are per-subject budgets; see [limits.Limits].
type Limits = limits.Limits

// JWT configures JWT verification; see [jwtauth.Config].
type JWT = jwtauth.Config

// Token is one accepted credential; see [transport.Token].
type Token = transport.Token
