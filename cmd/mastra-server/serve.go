package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/app"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server"
)

// serve runs the server until ctx is cancelled. ready, when not nil,
// receives the listen address once the server accepts connections.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, watch bool, ready chan<- string) error {
	start := time.Now()
	// Listen first: a port in use stops the start before the database is
	// touched, so a failed start leaves no tables behind.
	ln, err := net.Listen("tcp", cfg.Server.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w (another server on this port? set server.port or MASTRA_PORT)", cfg.Server.Addr(), err)
	}
	a, err := build(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close(context.WithoutCancel(ctx))
	if watch {
		go a.Watch(ctx, 500*time.Millisecond, log)
	}
	attrs := []any{"addr", ln.Addr().String(), "database", databaseState(ctx, a.Store)}
	attrs = append(attrs, urls(cfg, ln.Addr())...)
	attrs = append(attrs, "config", describeFile(cfg), "startup", time.Since(start).Round(time.Millisecond))
	log.Info("mastra-server listening", attrs...)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("mastra-server stopped")
	return nil
}

// pingTimeout bounds the database check of the ready line and of validate.
const pingTimeout = 3 * time.Second

// databaseState is the store's kind, and says so when the database does
// not answer: a server that starts without its database must not look
// healthy in its own ready line.
func databaseState(ctx context.Context, store *memory.Store) string {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := store.Ping(ctx); err != nil {
		return store.Kind() + " (unavailable: requests needing it answer 503 until it is reachable)"
	}
	return store.Kind()
}

// urls are the addresses a person opens first, as slog attributes.
func urls(cfg *config.Config, addr net.Addr) []any {
	port := strconv.Itoa(cfg.Server.Port)
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
	}
	base := "http://" + net.JoinHostPort(probeHost(cfg.Server.Host), port)
	var out []any
	if cfg.Server.Playground {
		out = append(out, "playground", base+server.PlaygroundPath)
	}
	if cfg.Server.OpenAPI {
		out = append(out, "docs", base+server.DocsPath)
	}
	return append(out, "api", base+"/api")
}

// build is app.Build with a configuration mistake made an exit-2 error.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app.App, error) {
	a, err := app.Build(ctx, cfg, log)
	var ce *app.ConfigError
	if errors.As(err, &ce) {
		return nil, usageErr(err)
	}
	return a, err
}

func migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	kind, names, err := app.Migrate(ctx, cfg)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		log.Info("database is up to date", "database", kind)
	}
	for _, n := range names {
		log.Info("applied migration", "name", n, "database", kind)
	}
	return nil
}

// validate checks what serve would check at start (configuration, plugins
// compiled and instantiated, route conflicts, agents, workflows compiled
// by the engine's own compile), without serving and without migrating the
// database.
func validate(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	dry := *cfg
	dry.Memory.Migrate = false
	a, err := app.Check(ctx, &dry, log)
	var ce *app.ConfigError
	if errors.As(err, &ce) {
		return usageErr(err)
	}
	if err != nil {
		return err
	}
	defer a.Close(ctx)
	// The configuration can be right and Postgres still out of reach: say
	// so here rather than at the first request. (A SQLite file is not
	// pinged: that would create it, and validate changes nothing.)
	if a.Store.Kind() == "postgres" {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		defer cancel()
		if err := a.Store.Ping(pctx); err != nil {
			return fmt.Errorf("database unreachable (%s): %w", a.Store.Kind(), err)
		}
	}
	fmt.Fprintf(out, "configuration OK (%s): %d agents, %d middleware, %d routes, %d tools, %d workflows\n", describeFile(cfg),
		len(a.Agents.Agents()), len(a.Middleware()), len(a.Routes()), len(a.Tools()), len(cfg.Workflows))
	return nil
}

func describeFile(cfg *config.Config) string {
	if cfg.File == "" {
		return "defaults and environment"
	}
	return cfg.File
}
