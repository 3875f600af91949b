package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/mcp"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/runlog"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// Options is what New needs. Config and Store are required.
type Options struct {
	Config            Config
	DefaultResourceID string
	// Reserved reports the resources the server writes under for requests
	// scoped to none (DefaultResourceID, each plugin entry's own): no JWT
	// may claim one, as none may claim a static token's. nil: only
	// DefaultResourceID is.
	Reserved func(resource string) bool
	Store    *memory.Store
	Agents   *agent.Service
	Logger   *slog.Logger
	// Scorers are the [scorers.*] GET /api/scores/scorers lists;
	// ScoreTrace queues a grading by one (POST
	// /api/observability/traces/score).
	Scorers    []ScorerInfo
	ScoreTrace ScoreTrace
	// Middleware runs, in order, before routing on matching paths.
	Middleware []Middleware
	// Routes are plugin routes, registered after the built-in ones.
	Routes []Route
	// Tools are served by /api/tools besides the agents' own tools.
	Tools []agent.Tool
	// Observers watch every request (metrics, traces); see
	// [transport.Observer].
	Observers []transport.Observer
	// Metrics, when set, answers GET Config.MetricsPath on this server,
	// outside auth and user middleware.
	Metrics http.Handler
	// Workflows serves /api/workflows; nil serves an empty list.
	Workflows *workflow.Engine
	// Providers are the model providers GET /api/agents/providers lists.
	Providers []ModelProvider
	// Limiter enforces Config.Budgets; nil: none.
	Limiter *limits.Limiter
	// Runs logs resumable streams (runs.go); nil: streams are not
	// resumable.
	Runs *runlog.Log
	// MaxSaveMessages is the most messages one save-messages request may
	// carry (memory.max_save_messages); 0: no cap.
	MaxSaveMessages int
	// MCPServers are exposed over MCP at /api/mcp/:serverId/mcp and
	// Mastra's REST routes (mcp_handlers.go).
	MCPServers []MCPServer
	// Vectors names the [vectors.<name>] stores of the vector API, kept in
	// Store; Embedders are what GET /api/embedders lists.
	Vectors   []string
	Embedders []Embedder
}

// Route is a plugin route. Method "ALL" registers every common method.
type Route struct {
	Name    string
	Method  string
	Path    string
	Handler http.Handler
}

// Server is the HTTP host.
type Server struct {
	cfg    Config
	store  *memory.Store
	agents *agent.Service
	tools  []agent.Tool
	// workflows runs /api/workflows (nil: none configured).
	workflows *workflow.Engine
	// providers answers /api/agents/providers (studio_handlers.go).
	providers []ModelProvider
	// vectors are the vector API's stores, sorted; embedders answers
	// /api/embedders (vector_handlers.go).
	vectors   []string
	embedders []Embedder
	// scorers answers /api/scores/scorers (scores_handlers.go).
	scorers    []ScorerInfo
	scoreTrace ScoreTrace
	// runs logs resumable streams (nil: none are); detached counts the
	// resumable turns running, whose clients may have left.
	runs     *runlog.Log
	detached sync.WaitGroup
	// toolsByName indexes tools and the agents' tools for /api/tools.
	toolsByName map[string]agent.Tool
	log         *slog.Logger
	errs        transport.ErrorWriter
	health      *healthCheck
	defRes      string
	// reserved is Options.Reserved.
	reserved   func(resource string) bool
	handler    http.Handler
	metrics    http.Handler
	observers  []transport.Observer
	openAPIDoc []byte
	started    time.Time
	// stopping is cancelled shortly before the drain deadline of a
	// shutdown; running streams then end with a terminal chunk (F15).
	stopping    context.Context
	stopStreams context.CancelFunc
	// limiter counts requests and streams per subject (nil: no limits).
	limiter *limits.Limiter
	// maxSave caps the messages of one save-messages (0: no cap).
	maxSave int
	// mcpServers are the MCP servers in the order configured, mcpByID
	// the same by id.
	mcpServers []*mcp.Server
	mcpByID    map[string]*mcp.Server
}

// New builds the server and its routes. A plugin route that clashes with a
// built-in or another route is an error naming both.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{
		cfg:        opts.Config,
		store:      opts.Store,
		agents:     opts.Agents,
		tools:      opts.Tools,
		workflows:  opts.Workflows,
		providers:  opts.Providers,
		vectors:    slices.Sorted(slices.Values(opts.Vectors)),
		embedders:  opts.Embedders,
		scorers:    opts.Scorers,
		runs:       opts.Runs,
		log:        opts.Logger,
		defRes:     opts.DefaultResourceID,
		reserved:   opts.Reserved,
		started:    time.Now(),
		metrics:    opts.Metrics,
		observers:  opts.Observers,
		limiter:    opts.Limiter,
		maxSave:    opts.MaxSaveMessages,
		scoreTrace: opts.ScoreTrace,
	}
	if s.metrics != nil && s.cfg.MetricsPath == "" {
		return nil, errors.New("server: Metrics needs Config.MetricsPath")
	}
	if err := s.setupJWT(); err != nil {
		return nil, err
	}
	s.stopping, s.stopStreams = context.WithCancel(context.Background())
	s.errs = transport.ErrorWriter{Log: s.log, Map: domainError}
	s.health = &healthCheck{store: opts.Store, ttl: time.Second}
	s.toolsByName = s.indexTools()
	if err := s.buildMCP(opts.MCPServers); err != nil {
		return nil, err
	}
	router, err := s.routes(opts.Routes)
	if err != nil {
		return nil, err
	}
	if s.cfg.OpenAPI {
		if s.openAPIDoc, err = s.openAPI(opts.Routes); err != nil {
			return nil, err
		}
	}
	s.handler = s.handlerChain(router, opts.Middleware)
	return s, nil
}

// handlerChain wraps the router, once, in order from the outside in: request id,
// recovery and access log; CORS; /health (before user middleware, auth and
// the timeout); the RequestContext; auth; the request limits; the
// first-byte timeout; the Wasm middleware; the router.
func (s *Server) handlerChain(router http.Handler, mws []Middleware) http.Handler {
	h := chain(mws, router)
	h = transport.FirstByteTimeout(transport.TimeoutOptions{
		Timeout: s.cfg.Timeout,
		OnTimeout: func(r *http.Request) {
			s.log.Warn("request timed out before its first byte", "request_id", transport.RequestID(r.Context()),
				"method", r.Method, "path", transport.Clip(r.URL.Path), "timeout", s.cfg.Timeout)
		},
		WithGate:  agent.WithCommitGate,
		AfterFunc: func(d time.Duration, f func()) *time.Timer { return afterFunc(d, f) },
	})(h)
	h = s.limitRequests(h)
	h = transport.Authenticate(s.cfg.Auth)(h)
	h = transport.RequestContext(h)
	h = s.withHealth(h)
	h = transport.CrossOrigin(s.cfg.CORS)(h)
	return transport.Entry(transport.EntryOptions{Log: s.log, BodyTimeout: s.cfg.BodyTimeout, FirstByteTimeout: s.cfg.Timeout,
		Observers: s.observers})(h)
}

// afterFunc starts the first-byte timer; tests replace it to fire the timer
// at a chosen moment.
var afterFunc = time.AfterFunc

// Handler is the whole HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// handlerFunc is a handler that returns its error for one place to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkPathParams(r)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			var he *transport.Error
			timedOutBody := errors.As(err, &he) && he.Status == http.StatusRequestTimeout
			if r.Context().Err() != nil && !timedOutBody {
				// The client left, or the timeout answered already: the
				// error is a consequence (a cancelled model call, a rolled
				// back save), not a failure to report as a 5xx. A body
				// that missed its deadline also cancels the context
				// (net/http sees the read fail), yet its 408 is owed.
				s.log.DebugContext(r.Context(), "request ended early", "request_id", transport.RequestID(r.Context()), "err", transport.ClipErr(err))
				return
			}
			s.errs.Write(w, r, err)
		}
	})
}

func (s *Server) routes(plugins []Route) (r *httprouter.Router, err error) {
	r = httprouter.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.NotFound = routed(transport.RouteUnmatched, s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return transport.NewError(http.StatusNotFound, "Not Found")
	}))
	r.MethodNotAllowed = routed(transport.RouteUnmatched, s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return transport.NewError(http.StatusMethodNotAllowed, "Method Not Allowed") // httprouter set Allow
	}))

	s.registerBuiltins(r)

	for _, p := range plugins {
		methods := []string{p.Method}
		if p.Method == "ALL" {
			methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
		}
		for _, m := range methods {
			if err := register(r, m, p.Path, routed(p.Path, pathValues(p.Handler))); err != nil {
				return nil, fmt.Errorf("route %q (%s %s): %w", p.Name, m, p.Path, err)
			}
		}
	}
	return r, nil
}

// checkPathParams checks every path parameter (threadId, agentId, toolId)
// as an id, for every route at once.
func checkPathParams(r *http.Request) error {
	for _, p := range httprouter.ParamsFromContext(r.Context()) {
		if msg := badID(p.Value); msg != "" {
			return transport.Invalid("Invalid path parameters", p.Key, msg)
		}
	}
	return nil
}

// register adds a route, turning httprouter's panic on a clash into an error.
func register(r *httprouter.Router, method, path string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("conflicts with an existing route: %v", v)
		}
	}()
	if h, _, _ := r.Lookup(method, path); h != nil {
		return errors.New("conflicts with an existing route on the same path")
	}
	r.Handler(method, path, h)
	return nil
}

// Serve serves on ln until ctx is cancelled, then stops accepting, lets
// in-flight requests (streams included) finish within the drain time, and
// returns. Requests still running after the drain time are cut.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    int(s.cfg.MaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// No WriteTimeout: it would cut long streams. The first-byte
		// timeout lives in the handler chain instead.
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests", "drain_timeout", s.cfg.DrainTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	// Streams still running a little before the deadline are ended by the
	// server, with an error chunk, finish and [DONE], rather than cut mid-
	// event when the connections close.
	margin := min(s.cfg.DrainTimeout/5, 2*time.Second)
	stop := time.AfterFunc(s.cfg.DrainTimeout-margin, s.stopStreams)
	defer stop.Stop()
	if err := srv.Shutdown(drainCtx); err != nil {
		s.log.Warn("drain time over: closing remaining connections", "err", err)
		srv.Close()
	}
	// Resumable turns whose clients left hold no connection: Shutdown did
	// not wait for them. They end (logged, with an error if stopped) by
	// the drain time, or shortly after once stopped.
	if !s.waitDetached(max(time.Until(deadlineOf(drainCtx)), 0) + margin) {
		s.log.Warn("drain time over: resumable streams still running are left to their lease")
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// deadlineOf is ctx's deadline, now when it has none.
func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now()
}
