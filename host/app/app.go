package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/embedjobs"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/runlog"
	"github.com/mastra-server/mastra-server/host/server"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/store"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// App is a configuration turned into running parts. Close it.
type App struct {
	// DB is the process's database (one pool or SQLite handle), which
	// every part below shares.
	DB *store.DB
	// Store keeps threads, messages and plugins' key-value data.
	Store *memory.Store
	// Agents are the configured agents, their tools included.
	Agents *agent.Service
	// Server is the HTTP host: built-in routes, plugin routes and middleware.
	Server *server.Server
	// Workflows runs [workflows.*] (nil when none are configured).
	Workflows *workflow.Engine
	// Runs logs resumable streams ([server.streams]).
	Runs *runlog.Log

	plugins *plugins
	embeds  *embedjobs.Jobs // nil: no recall on Postgres
	mcp     *mcpClients
	tel     *telemetry
	cfg     *config.Config
	log     *slog.Logger
	stop    context.CancelFunc // stops background work: migration retries
}

// ConfigError is a failure of Build caused by the configuration (a plugin
// that does not load, a route conflict, an agent without a usable model),
// as opposed to one of the machine (a database that cannot be opened).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Build turns cfg, which must have passed Validate, into the running parts,
// in the order they depend on each other:
//
//  1. the store (opened, not yet connected; migrations start beside the
//     plugins when memory.migrate is set);
//  2. phase 1, plugins: middleware, routes and tools are compiled and
//     instantiated. Their agent calls go through an agentCaller that has
//     no agents yet;
//  3. phase 2, agents: model clients from the provider registry, tools from
//     phase 1; then the agentCaller is bound to them;
//  4. the HTTP server over all of it.
//
// ctx bounds the loading and the background migration retries, which Close
// also stops. Build returns once the first migration attempt is over, so a
// server that starts listening has its tables when the database is up.
func Build(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	return buildApp(ctx, cfg, logger, false)
}

// Check is Build for mastra-server validate: the same compile of plugins,
// agents, routes and workflows, and nothing started that works. Workflows
// are compiled, not opened (the engine would take the database and start
// its workers): App.Workflows is nil.
func Check(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	return buildApp(ctx, cfg, logger, true)
}

func buildApp(ctx context.Context, cfg *config.Config, logger *slog.Logger, check bool) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Every line logged with a request's context names its request id.
	logger = slog.New(transport.LogHandler(logger.Handler()))
	tel, err := newTelemetry(ctx, cfg, logger)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	var tracer pgx.QueryTracer
	if tel.tracing != nil {
		tracer = tel.tracing.PGTracer()
	}
	db, err := openDB(ctx, cfg, tracer)
	if err != nil {
		_ = tel.close(ctx)
		return nil, err
	}
	if tel.tracing != nil {
		db.AddQueryHook(tel.tracing.DBHook())
	}
	store, err := memory.New(db, cfg.Memory.MaxOpenConns, cfg.Memory.BulkWriteConns(), !cfg.Memory.Pgvector)
	if err != nil {
		db.Close()
		_ = tel.close(ctx)
		return nil, err
	}
	if err := tel.startSpans(ctx, cfg, store, logger); err != nil {
		store.Close()
		_ = tel.close(ctx)
		return nil, &ConfigError{Err: err}
	}
	if tel.spans != nil {
		// Lines logged inside a run are stored with its trace too.
		logger = slog.New(tel.spans.LogHandler(logger.Handler()))
	}
	bg, stop := context.WithCancel(ctx)
	// Migrations and plugin compilation both take tens of milliseconds:
	// run them side by side.
	migrated := make(chan struct{})
	go func() {
		defer close(migrated)
		if cfg.Memory.Migrate {
			migrateInBackgroundIfDown(bg, db, logger)
		}
	}()
	a, err := assemble(ctx, cfg, logger, store, migrated, tel, check)
	<-migrated
	if err != nil {
		stop()
		db.Close()
		_ = tel.close(ctx)
		return nil, &ConfigError{Err: err}
	}
	a.DB, a.Store, a.stop, a.tel, a.cfg, a.log = db, store, stop, tel, cfg, logger
	return a, nil
}

// assemble runs the two phases and builds the server.
func assemble(ctx context.Context, cfg *config.Config, log *slog.Logger, store *memory.Store, migrated <-chan struct{}, tel *telemetry, check bool) (*App, error) {
	// Phase 1: plugins. Agents do not exist yet; a plugin calling one
	// while it loads gets errAgentsNotReady.
	calls, data := &agentCaller{}, &dataCaller{}
	// Remote MCP servers list their tools meanwhile.
	mcps := openMCPClients(ctx, cfg, log, tel.modelClient())
	ps, err := loadPlugins(ctx, cfg, log, calls, data, newStoreKV(store), tel.plugins())
	if err != nil {
		mcps.close()
		return nil, err
	}
	// Phase 2: agents, whose tools are plugins of phase 1 and MCP tools.
	tools := maps.Clone(ps.tools)
	maps.Copy(tools, mcps.tools(cfg))
	agents, err := buildAgents(cfg, log, tools, tel.modelClient(), tel.fallback)
	if err != nil {
		mcps.close()
		ps.close(ctx)
		return nil, err
	}
	engine := &lateEngine{}
	if err := addWorkflowTools(cfg, agents, engine); err != nil {
		mcps.close()
		ps.close(ctx)
		return nil, err
	}
	svc, err := agent.NewService(store, agents, cfg.DefaultAgentID(), log)
	if err != nil {
		ps.close(ctx)
		mcps.close()
		return nil, fmt.Errorf("agents: %w", err)
	}
	calls.bind(svc)
	svc.SetRecallObserver(tel.recall)
	svc.SetModelResolver(modelResolver(cfg, tel.modelClient()))
	limiter := newLimiter(cfg.Server, store, log)
	svc.SetObserver(limiter.Agents(svc, tel.agents(), globalLimits(cfg.Server)))
	svc.SetEmbedBudget(limiter.Embeddings(budgets(cfg.Server)))
	if m := tel.metrics; m != nil {
		if store != nil {
			m.WatchDB(store.DB().Stats)
			m.WatchSuspended(svc.CountSuspended)
		}
		m.WatchPlugins(ps.all)
	}

	// Workflows need their tables: wait for the first migration attempt.
	<-migrated
	var wf *workflow.Engine
	if check {
		err = compileWorkflows(cfg)
	} else {
		wf, err = openWorkflows(ctx, cfg, store.DB(), log, svc, ps.tools, ps.steps, tel.workflows())
	}
	if err != nil {
		ps.close(ctx)
		mcps.close()
		return nil, err
	}
	data.bind(store, wf)
	engine.e = wf
	var embeds *embedjobs.Jobs
	if !check {
		embeds = openEmbedJobs(ctx, cfg, log, store, svc, agents)
		tel.startScoreJobs(ctx, store, limiter, budgets(cfg.Server), log) // River's tables are migrated now
	}
	runs, err := openRuns(cfg.Server.Streams, store, log)
	if err != nil {
		if wf != nil {
			_ = wf.Close(ctx)
		}
		ps.close(ctx)
		mcps.close()
		return nil, err
	}
	opts := serverOptions(cfg, store, svc, log, ps, tel)
	opts.Config.Observability = cfg.Observability.Enabled
	opts.Scorers = scorerInfos(cfg)
	if tel.spans != nil {
		opts.ScoreTrace = tel.spans.ScoreTrace
	}
	opts.Workflows = wf
	opts.Runs = runs
	opts.Providers = modelProviders(cfg, agents)
	opts.Limiter = limiter
	opts.MCPServers = mcpServers(cfg)
	if check {
		// No engine in a check: the run_<workflow> tools' workflows were
		// compiled above.
		for i := range opts.MCPServers {
			opts.MCPServers[i].Workflows = nil
		}
	}
	srv, err := server.New(opts)
	if err != nil {
		if embeds != nil {
			_ = embeds.Close(ctx)
		}
		runs.Close()
		if wf != nil {
			_ = wf.Close(ctx)
		}
		ps.close(ctx)
		mcps.close()
		return nil, err
	}
	return &App{Agents: svc, Server: srv, Workflows: wf, Runs: runs, plugins: ps, embeds: embeds, mcp: mcps}, nil
}

// openEmbedJobs gives semantic recall's embedding jobs to River on
// Postgres (any instance runs them, a restart loses none) and says at start
// where recall keeps its vectors and how it searches them. When River
// cannot start (the database is down), the jobs stay in this process.
func openEmbedJobs(ctx context.Context, cfg *config.Config, log *slog.Logger, store *memory.Store, svc *agent.Service, agents []*agent.Agent) *embedjobs.Jobs {
	var ids []string
	for _, a := range agents {
		if a.SemanticRecall != nil {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 || store == nil {
		return nil
	}
	if store.Kind() == "sqlite" {
		log.Info("semantic recall: SQLite: table mastra_server_vectors (float32 BLOB), exact top-k per resource in Go; "+
			"embeddings by an in-process queue (single node)", "agents", ids)
		return nil
	}
	where := "semantic recall: Postgres without pgvector: table mastra_server_vectors (float4[]), exact top-k per resource (scored in Go); "
	switch mode, err := store.RecallMode(ctx); {
	case err != nil:
		where = "semantic recall: Postgres (unreachable now: pgvector is looked for at the first recall); "
	case mode == memory.RecallPgvector:
		where = "semantic recall: Postgres with pgvector: Mastra's tables memory_messages[_<dim>] (HNSW, cosine), shared with Mastra apps; "
	case !cfg.Memory.Pgvector:
		where = "semantic recall: Postgres, pgvector off (memory.pgvector = false): table mastra_server_vectors (float4[]), exact top-k per resource; "
	}
	jobs, err := embedjobs.Open(store.DB(), svc.Embed, log)
	if err == nil {
		if err = jobs.Start(ctx); err != nil {
			_ = jobs.Close(ctx)
		}
	}
	if err != nil {
		log.Warn(where+"embeddings by an in-process queue: River could not start", "agents", ids, "error", err.Error())
		return nil
	}
	svc.SetEmbedQueue(jobs)
	log.Info(where+"embeddings by River jobs (queue "+embedjobs.Queue+")", "agents", ids)
	return jobs
}

// scorerInfos lists [scorers.*] with the agents that use them, for
// GET /api/scores/scorers.
func scorerInfos(cfg *config.Config) []server.ScorerInfo {
	var out []server.ScorerInfo
	for id, sc := range cfg.Scorers {
		rate := 1.0
		if sc.SamplingRate != nil {
			rate = *sc.SamplingRate
		}
		info := server.ScorerInfo{ID: id, Name: sc.Name, Description: sc.Description, Kind: sc.Kind, Rate: rate, WorkflowIDs: sc.Workflows}
		if sc.Kind == "llm" {
			info.Judge = sc.Model
		}
		if info.Name == "" {
			info.Name = id
		}
		for _, agentID := range cfg.AgentOrder {
			a := cfg.Agents[agentID]
			if slices.Contains(a.Scorers, id) {
				name := a.Name
				if name == "" {
					name = agentID
				}
				info.AgentIDs, info.AgentNames = append(info.AgentIDs, agentID), append(info.AgentNames, name)
			}
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b server.ScorerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// openRuns starts the stream log of [server.streams] on the store.
func openRuns(c config.Streams, store *memory.Store, log *slog.Logger) (*runlog.Log, error) {
	return runlog.Open(runlog.Options{Store: store, Lease: c.Lease, Retention: c.Retention,
		FlushInterval: c.FlushInterval, PollInterval: c.PollInterval, Terminate: agent.EndLost, Logger: log})
}

// serverOptions is the one place that turns configuration into the HTTP
// server's options.
func serverOptions(cfg *config.Config, store *memory.Store, svc *agent.Service, log *slog.Logger, ps *plugins, tel *telemetry) server.Options {
	var metricsHandler http.Handler
	if tel.metrics != nil && cfg.Server.Metrics.Listen == "" {
		metricsHandler = tel.metrics.Handler()
	}
	reserved := cfg.ReservedResourceIndex()
	return server.Options{
		Observers:         tel.http(),
		Metrics:           metricsHandler,
		Config:            serverConfig(cfg.Server),
		DefaultResourceID: cfg.Memory.DefaultResourceID,
		Reserved:          func(r string) bool { _, ok := reserved(r); return ok },
		MaxSaveMessages:   cfg.Memory.MaxSaveMessages,
		Store:             store,
		Agents:            svc,
		Logger:            log,
		Middleware:        ps.middleware,
		Routes:            ps.routes,
		Tools:             ps.toolList(),
		Vectors:           slices.Collect(maps.Keys(cfg.Vectors)),
		Embedders:         embedders(svc.Agents()),
	}
}

// embedders lists Mastra's embedding models, then those of this server's
// agents that Mastra's list lacks, for GET /api/embedders.
func embedders(agents []*agent.Agent) []server.Embedder {
	out := slices.Clone(server.MastraEmbedders)
	for _, a := range agents {
		sr := a.SemanticRecall
		if sr == nil || slices.ContainsFunc(out, func(e server.Embedder) bool { return e.ID == sr.EmbedderRef }) {
			continue
		}
		provider, name, _ := strings.Cut(sr.EmbedderRef, "/")
		e := server.Embedder{ID: sr.EmbedderRef, Provider: provider, Name: name, Description: "the embedder of agent " + a.ID}
		if provider == llm.ProviderEcho {
			e.Name, e.Description, e.Dimensions = "echo", "the offline echo embedder (development only, not a real model)", llm.EchoDimensions
		}
		out = append(out, e)
	}
	return out
}

// serverConfig turns [server] of the configuration into the HTTP host's
// options, field by field.
func serverConfig(c config.Server) server.Config {
	tokens := make([]server.Token, len(c.Auth.Tokens))
	for i, t := range c.Auth.Tokens {
		tokens[i] = server.Token{User: t.User, ResourceID: t.ResourceID, Admin: t.Admin, Value: string(t.Value)}
	}
	lims := budgets(c)
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
		JWT: server.JWT{JWKSURL: c.Auth.JWT.JWKSURL, Issuer: c.Auth.JWT.Issuer, Audience: c.Auth.JWT.Audience,
			ResourceClaim: c.Auth.JWT.ResourceClaim, Algorithms: c.Auth.JWT.Algorithms, Leeway: c.Auth.JWT.Leeway,
			MaxAge: c.Auth.JWT.JWKSMaxAge, MinRefresh: c.Auth.JWT.JWKSMinRefresh},
		Budgets:     lims,
		MetricsPath: c.Metrics.Path,
		OpenAPI:     c.OpenAPI,
		Playground:  c.Playground,
		Streams:     server.Streams{Resumable: c.Streams.Resumable},
	}
}

// Serve serves HTTP on ln until ctx is cancelled, then drains.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if addr := a.cfg.Server.PprofAddr; addr != "" {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if err := servePprof(pctx, addr, a.log); err != nil {
			return err
		}
	}
	if m := a.cfg.Server.Metrics; a.tel.metrics != nil && m.Listen != "" {
		mctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if err := serveMetrics(mctx, m.Listen, m.Path, a.tel.metrics.Handler(), a.log); err != nil {
			return err
		}
	}
	return a.Server.Serve(ctx, ln)
}

// Metrics is the Prometheus handler, nil when [server.metrics] is off.
func (a *App) Metrics() http.Handler {
	if a.tel.metrics == nil {
		return nil
	}
	return a.tel.metrics.Handler()
}

// Watch reloads a plugin when its .wasm file changes (development), checking
// every interval until ctx is done. Requests in flight finish on the old
// instances.
func (a *App) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	a.plugins.watch(ctx, log, every)
}

// Middleware lists the global middleware chain, in order.
func (a *App) Middleware() []server.Middleware { return a.plugins.middleware }

// Routes lists the plugin routes.
func (a *App) Routes() []server.Route { return a.plugins.routes }

// Tools lists every [[tools]] entry, sorted by name.
func (a *App) Tools() []agent.Tool { return a.plugins.toolList() }

// Close stops background work (migration retries, thread titles), closes
// the plugins (waiting until ctx is done for calls in flight) and the store.
func (a *App) Close(ctx context.Context) error {
	a.stop()
	a.Runs.Close() // the server has stopped: no run is being written
	if a.embeds != nil {
		_ = a.embeds.Close(ctx) // jobs cut short run again, here or elsewhere
	}
	bgErr := a.Agents.Close(ctx) // before the store: titles still being written
	if a.Workflows != nil {
		// Steps cut short run again after the restart or on another instance.
		_ = a.Workflows.Close(ctx)
	}
	a.plugins.close(ctx)
	a.mcp.close()
	terr := a.tel.close(ctx)
	return errors.Join(bgErr, a.DB.Close(), terr)
}

// Migrate applies every pending migration to the configured database
// (River's included) and returns their names.
func Migrate(ctx context.Context, cfg *config.Config) (kind string, applied []string, err error) {
	db, err := openDB(ctx, cfg, nil)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	names, err := db.Migrate(ctx)
	return db.Kind(), names, err
}

// CheckMigrated fails when the configured database has migrations to
// apply (serve with migrations off refuses it), naming them and the
// command that applies them. An unreachable database is an error wrapping
// store.ErrUnavailable.
func CheckMigrated(ctx context.Context, cfg *config.Config) error {
	db, err := openDB(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := db.Pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		named := pending
		if len(named) > 3 {
			named = append(named[:3:3], "…")
		}
		return fmt.Errorf("the %s database is not migrated: %d migrations pending (%s); run 'mastra-server migrate' first, or start without --no-migrate",
			db.Kind(), len(pending), strings.Join(named, ", "))
	}
	return nil
}

// openDB opens the process's one database from [memory]; tracer (nil:
// none) traces the statements that do not go through Bun.
func openDB(ctx context.Context, cfg *config.Config, tracer pgx.QueryTracer) (*store.DB, error) {
	db, err := store.Open(ctx, store.Options{
		DatabaseURL:     string(cfg.Memory.DatabaseURL),
		SQLitePath:      cfg.Memory.SQLitePath,
		MaxConns:        cfg.Memory.MaxOpenConns,
		ApplicationName: "mastra-server",
		Tracer:          tracer,
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}
