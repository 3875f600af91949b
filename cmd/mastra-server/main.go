// Command mastra-server is a standalone agent API server: agents answer over
// HTTP (whole or streamed as Server-Sent Events), conversation threads are
// kept in Postgres or an embedded SQLite file, and Wasm plugins add routes
// and middleware.
//
// Usage:
//
//	mastra-server [command] [flags]
//
// The commands and their one-line summaries are in commands.go
// (mastra-server help lists them; mastra-server <command> --help shows
// one command's flags).
//
// Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{code: 2, err: err} }

// defaultGCPercent is the garbage collector's target (GOGC) when the
// environment sets none. A turn allocates ~110 KB over a live heap of tens
// of MB, so Go's default of 100 collects every few hundred turns, and
// between bursts its idle mark workers take the cores the server is not
// using: with 400, bench/load measured 8 % less CPU per turn (generate and
// stream, three alternated rounds) for a heap that may grow to five times
// what is live. GOGC (and GOMEMLIMIT, which caps it) still win.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "mastra-server:", strings.ReplaceAll(err.Error(), "\n", "\nmastra-server: "))
		os.Exit(code)
	}
}

// run executes one subcommand. It is main without the process: tests call it.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, o, rest, helped, err := parseCommand(args, stdout)
	if err != nil || helped {
		return err
	}
	cmd := c.name
	switch cmd {
	case "help":
		return help(rest, stdout)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	}
	if len(rest) > 0 {
		return usageErr(fmt.Errorf("unexpected argument %q", rest[0]))
	}
	environ, added, err := config.WithEnvFile(o.envFile, environ)
	if err != nil {
		return usageErr(err)
	}
	// Plugins' env grants read the process environment: the file's
	// variables go there too, still without overriding anything.
	for _, k := range added {
		if _, set := os.LookupEnv(k); !set {
			_ = os.Setenv(k, envValue(environ, k))
		}
	}
	if cmd == "healthcheck" {
		return healthcheck(ctx, o.configPath, environ, stdout, stderr)
	}
	cfg, err := loadConfig(o.configPath, environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}
	switch cmd {
	case "serve":
		if o.noMigrate {
			cfg.Memory.Migrate = false
		}
		return serve(ctx, cfg, log, o.watch, nil)
	case "dev":
		// dev is serve --watch with the playground on.
		cfg.Server.Playground = true
		return serve(ctx, cfg, log, true, nil)
	case "migrate":
		return migrate(ctx, cfg, log)
	case "config":
		return cfg.WriteTOML(stdout)
	case "validate":
		return validate(ctx, cfg, log, stdout)
	}
	return usageErr(fmt.Errorf("unknown command %q", cmd))
}

// envValue returns the value of name in environ.
func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func loadConfig(path string, environ []string) (*config.Config, error) {
	cfg, err := config.Load(path, environ)
	if err != nil {
		return nil, usageErr(err)
	}
	if err := cfg.Validate(); err != nil {
		where := cfg.File
		if where == "" {
			where = "defaults and environment"
		}
		return nil, usageErr(fmt.Errorf("invalid configuration (%s):\n%w", where, err))
	}
	return cfg, nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	// transport.LogHandler: each key once, durations in milliseconds.
	if c.Format == "json" {
		return slog.New(transport.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(transport.LogHandler(slog.NewTextHandler(w, opts)))
}
