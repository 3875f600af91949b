package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server"
)

// serve runs the server until ctx is cancelled. ready, when not nil,
// receives the listen address once the server accepts connections.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	start := time.Now()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Memory.Migrate {
		migrateInBackgroundIfDown(ctx, store, log)
	}

	srv, err := server.New(server.Options{
		Config:            cfg.Server,
		DefaultResourceID: cfg.Memory.DefaultResourceID,
		Store:             store,
		Logger:            log,
	})
	if err != nil {
		return usageErr(err)
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr(), err)
	}
	configFile := cfg.File
	if configFile == "" {
		configFile = "(none: defaults and environment)"
	}
	log.Info("mastra-server listening", "addr", ln.Addr().String(), "database", store.Kind(),
		"config", configFile, "startup", time.Since(start).Round(time.Millisecond))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("mastra-server stopped")
	return nil
}

func openStore(ctx context.Context, cfg *config.Config) (*memory.Store, error) {
	store, err := memory.Open(ctx, memory.Options{
		DatabaseURL:  string(cfg.Memory.DatabaseURL),
		SQLitePath:   cfg.Memory.SQLitePath,
		MaxOpenConns: cfg.Memory.MaxOpenConns,
	})
	if err != nil {
		return nil, fmt.Errorf("open memory store: %w", err)
	}
	return store, nil
}

// migrateInBackgroundIfDown applies migrations now; if the database cannot
// be reached, the server starts anyway (health says 503) and keeps trying.
func migrateInBackgroundIfDown(ctx context.Context, store *memory.Store, log *slog.Logger) {
	try := func() bool {
		mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		names, err := store.Migrate(mctx)
		if err != nil {
			if errors.Is(err, memory.ErrUnavailable) {
				log.Warn("database unreachable: will retry migrations", "err", err)
			} else {
				log.Error("database migration failed", "err", err)
			}
			return false
		}
		for _, n := range names {
			log.Info("applied migration", "name", n)
		}
		return true
	}
	if try() {
		return
	}
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if try() {
					return
				}
			}
		}
	}()
}

func migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	names, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		log.Info("database is up to date", "database", store.Kind())
	}
	for _, n := range names {
		log.Info("applied migration", "name", n, "database", store.Kind())
	}
	return nil
}

// validate checks what serve would check at start, without serving.
func validate(ctx context.Context, cfg *config.Config, log *slog.Logger, out interface{ Write([]byte) (int, error) }) error {
	fmt.Fprintf(out, "configuration OK (%s)\n", describeFile(cfg))
	return nil
}

func describeFile(cfg *config.Config) string {
	if cfg.File == "" {
		return "defaults and environment"
	}
	return cfg.File
}
