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
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/server"
)

// serve runs the server until ctx is cancelled. ready, when not nil,
// receives the listen address once the server accepts connections.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, watch bool, ready chan<- string) error {
	start := time.Now()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	// Migrations and plugin compilation both take tens of milliseconds:
	// run them side by side, and listen only once both are done.
	migrated := make(chan struct{})
	go func() {
		defer close(migrated)
		if cfg.Memory.Migrate {
			migrateInBackgroundIfDown(ctx, store, log)
		}
	}()

	app, err := assemble(ctx, cfg, log, store)
	<-migrated
	if err != nil {
		return err
	}
	defer app.plugins.close(context.WithoutCancel(ctx))
	if watch {
		go app.plugins.watch(ctx, log, 500*time.Millisecond)
	}
	srv := app.server
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

// app is the assembled server: plugins, agents, HTTP host.
type app struct {
	plugins *plugins
	agents  *agent.Service
	server  *server.Server
}

// assemble wires config → plugins → agents → HTTP host. Every failure names
// what failed; a configuration mistake is an exit-2 error.
func assemble(ctx context.Context, cfg *config.Config, log *slog.Logger, store *memory.Store) (*app, error) {
	caller := &agentCaller{}
	var kv plugin.KV
	if store != nil {
		kv = storeKV{store}
	}
	ps, err := loadPlugins(ctx, cfg, log, caller, kv)
	if err != nil {
		return nil, usageErr(err)
	}
	agents, err := buildAgents(cfg, log, ps.tools)
	if err != nil {
		ps.close(ctx)
		return nil, usageErr(err)
	}
	svc, err := agent.NewService(store, agents, cfg.DefaultAgentID(), log)
	if err != nil {
		ps.close(ctx)
		return nil, usageErr(fmt.Errorf("agents: %w", err))
	}
	caller.svc = svc
	srv, err := server.New(server.Options{
		Config:            serverConfig(cfg.Server),
		DefaultResourceID: cfg.Memory.DefaultResourceID,
		Store:             store,
		Agents:            svc,
		Logger:            log,
		Middleware:        ps.middleware,
		Routes:            ps.routes,
		Tools:             ps.toolList(),
	})
	if err != nil {
		ps.close(ctx)
		return nil, usageErr(err)
	}
	return &app{plugins: ps, agents: svc, server: srv}, nil
}

// serverConfig turns [server] of the configuration into the HTTP host's
// options, field by field.
func serverConfig(c config.Server) server.Config {
	tokens := make([]server.Token, len(c.Auth.Tokens))
	for i, t := range c.Auth.Tokens {
		tokens[i] = server.Token{User: t.User, ResourceID: t.ResourceID, Admin: t.Admin, Value: string(t.Value)}
	}
	return server.Config{
		Host:              c.Host,
		Port:              c.Port,
		Timeout:           c.Timeout,
		BodyLimit:         int64(c.BodyLimit),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		BodyTimeout:       c.BodyTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    int64(c.MaxHeaderBytes),
		DrainTimeout:      c.DrainTimeout,
		KeepAlive:         c.KeepAlive,
		CORS: server.CORS{
			Origins:       c.CORS.Origins,
			AllowMethods:  c.CORS.AllowMethods,
			AllowHeaders:  c.CORS.AllowHeaders,
			ExposeHeaders: c.CORS.ExposeHeaders,
			Credentials:   c.CORS.Credentials,
			MaxAge:        c.CORS.MaxAge,
		},
		Auth: server.Auth{Enabled: c.Auth.Enabled, Tokens: tokens, Protected: c.Auth.Protected, Public: c.Auth.Public},
	}
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
// be reached, the server starts anyway (health says 503) and keeps trying
// every second.
func migrateInBackgroundIfDown(ctx context.Context, store *memory.Store, log *slog.Logger) {
	failures := 0
	try := func() bool {
		mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		names, err := store.Migrate(mctx)
		if err != nil {
			// Say it at once, then once a minute: retries come every second.
			if failures%60 == 0 {
				if errors.Is(err, memory.ErrUnavailable) {
					log.Warn("database unreachable: will retry migrations", "err", err, "attempts", failures+1)
				} else {
					log.Error("database migration failed: will retry", "err", err, "attempts", failures+1)
				}
			}
			failures++
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
		t := time.NewTicker(time.Second) // until then requests get 503s: retry soon
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

// validate checks what serve would check at start (configuration, plugins
// compiled and instantiated, route conflicts, agents), without serving.
func validate(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	a, err := assemble(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	a.plugins.close(ctx)
	fmt.Fprintf(out, "configuration OK (%s): %d agents, %d middleware, %d routes, %d tools\n", describeFile(cfg),
		len(a.agents.Agents()), len(a.plugins.middleware), len(a.plugins.routes), len(a.plugins.tools))
	return nil
}

func describeFile(cfg *config.Config) string {
	if cfg.File == "" {
		return "defaults and environment"
	}
	return cfg.File
}

// storeKV keeps plugin key-value data in the database, so every instance
// of the server sees the same values.
type storeKV struct{ s *memory.Store }

func (k storeKV) Get(ctx context.Context, ns, key string) ([]byte, bool, error) {
	return k.s.KVGet(ctx, ns, key)
}

func (k storeKV) Set(ctx context.Context, ns, key string, val []byte, ttl time.Duration) error {
	return k.s.KVSet(ctx, ns, key, val, ttl)
}

func (k storeKV) Delete(ctx context.Context, ns, key string) error { return k.s.KVDelete(ctx, ns, key) }
