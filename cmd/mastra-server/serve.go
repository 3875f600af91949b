package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/app"
)

// serve runs the server until ctx is cancelled. ready, when not nil,
// receives the listen address once the server accepts connections.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, watch bool, ready chan<- string) error {
	start := time.Now()
	a, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close(context.WithoutCancel(ctx))
	if watch {
		go a.Watch(ctx, 500*time.Millisecond, log)
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr(), err)
	}
	log.Info("mastra-server listening", "addr", ln.Addr().String(), "database", a.Store.Kind(),
		"config", describeFile(cfg), "startup", time.Since(start).Round(time.Millisecond))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("mastra-server stopped")
	return nil
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
// compiled and instantiated, route conflicts, agents), without serving and
// without migrating the database.
func validate(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	dry := *cfg
	dry.Memory.Migrate = false
	// Workflow definitions were checked by Validate; opening the engine
	// would create River's tables, which a dry run must not.
	dry.Workflows = nil
	a, err := build(ctx, &dry, log)
	if err != nil {
		return err
	}
	a.Close(ctx)
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
