package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

// instantiateTimeout bounds one instantiation, including the guest's
// _initialize or _start.
const instantiateTimeout = 10 * time.Second

// Errors returned by [Plugin.Call], wrapped with the plugin's name. Test
// them with errors.Is.
var (
	// ErrTimeout means the guest ran past its deadline. errors.Is(err,
	// context.DeadlineExceeded) also holds for it.
	ErrTimeout error = timeoutError{}
	// ErrTrap means the guest trapped (unreachable, out-of-bounds access,
	// a language runtime panic, proc_exit, a host call it misused) or
	// returned next=1 where no next handler exists.
	ErrTrap = errors.New("plugin: guest failed")
	// ErrBusy means no instance became free before the deadline.
	ErrBusy = errors.New("plugin: no instance available")
	// ErrClosed means the plugin or its host was closed.
	ErrClosed = errors.New("plugin: closed")
	// ErrResponseTooLarge means the call made the host hold more than the
	// plugin's MaxResponse: a buffered or captured response, headers, a
	// rewritten request body or request-context values. It has a method
	// ResponseTooLarge() bool, so callers can tell it without this package.
	ErrResponseTooLarge error = tooLargeError{}
)

type tooLargeError struct{}

func (tooLargeError) Error() string { return "plugin: response too large" }

// ResponseTooLarge marks the error, e.g. for a 502 in host/server.
func (tooLargeError) ResponseTooLarge() bool { return true }

type timeoutError struct{}

func (timeoutError) Error() string { return "plugin: timed out" }

// Is lets errors.Is(ErrTimeout, context.DeadlineExceeded) hold.
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Config is the host-wide configuration shared by every plugin.
type Config struct {
	// CacheDir is the directory of wazero's compilation cache. "" keeps the
	// cache in memory only (shared by the plugins of this Host).
	CacheDir string
	// Logger receives plugin logs (http_handler.log, guest stdout/stderr)
	// and failures, each tagged with plugin=<name>. nil discards them.
	Logger *slog.Logger
	// Agents serves mastra.agent_generate and agent_stream_to_response. nil
	// makes them return ENOSYS.
	Agents AgentCaller
	// KV serves mastra.kv_*. nil uses an in-memory store.
	KV KV
	// Data serves mastra.workflow_* and threads_list/thread_messages. nil
	// makes them return ENOSYS.
	Data DataCaller
	// Observer watches every guest call (metrics, traces); nil: none.
	Observer Observer
}

// AgentCaller runs an agent for a plugin. ctx carries the request's deadline
// and its reqctx.Values, whose reqctx.ResourceIDKey (set by auth or a
// middleware) must bind the call as it binds the request's HTTP routes.
type AgentCaller interface {
	// Generate runs the agent to completion and returns its text
	// (mastra.agent_generate).
	Generate(ctx context.Context, call AgentCall) (string, error)
	// Stream runs the agent and hands each chunk of its reply to emit as
	// JSON in Mastra's {type, runId, from, payload} shape, as /agent/stream
	// sends them (mastra.agent_stream_to_response). It calls emit in order,
	// never concurrently, and not after it returns; it emits nothing before
	// the model has answered, so a failure that early is only its error.
	// An error from emit (the client is gone) must cancel the model call
	// and end the run.
	Stream(ctx context.Context, call AgentCall, emit func(chunk json.RawMessage) error) error
}

// AgentCall is one mastra.agent_generate or agent_stream_to_response.
type AgentCall struct {
	Plugin string // the calling plugin's name
	// ResourceID is the calling plugin's own resource (Spec.ResourceID):
	// the one to use when the request has no scoped resource and the guest
	// names none.
	ResourceID string
	AgentID    string
	Input      string          // the user message
	Options    json.RawMessage // the guest's options (JSON), nil when none
}

// DataCaller serves a plugin's calls on workflows and threads. ctx carries
// the request's reqctx.Values: as for [AgentCaller], the request's scoped
// resource (reqctx.ResourceIDKey) binds every call, else DataCall.ResourceID;
// a run or thread of another resource is ErrNotFound, as a missing one.
// Results are JSON.
type DataCaller interface {
	// StartWorkflow creates a run of Workflow and starts it with Body as
	// its inputData; it returns {"runId"}.
	StartWorkflow(ctx context.Context, call DataCall) (json.RawMessage, error)
	// ResumeWorkflow resumes run RunID with Body ({"step","resumeData"}).
	ResumeWorkflow(ctx context.Context, call DataCall) (json.RawMessage, error)
	// WorkflowRun returns run RunID as GET /api/workflows/:id/runs/:runId.
	WorkflowRun(ctx context.Context, call DataCall) (json.RawMessage, error)
	// ListThreads returns a page of the resource's threads; Body is the
	// query ({"page","perPage","orderBy","direction"}) or nil.
	ListThreads(ctx context.Context, call DataCall) (json.RawMessage, error)
	// ThreadMessages returns a page of thread ThreadID's messages; Body is
	// the query ({"page","perPage","direction"}) or nil.
	ThreadMessages(ctx context.Context, call DataCall) (json.RawMessage, error)
}

// DataCall is one mastra.workflow_* or thread call.
type DataCall struct {
	Plugin     string // the calling plugin's name
	ResourceID string // the plugin's own resource (Spec.ResourceID)
	Workflow   string
	RunID      string
	ThreadID   string
	Body       json.RawMessage // the guest's JSON argument, nil when none
}

// Errors a DataCaller returns (wrapped) for the guest's errno: ENOENT,
// EINVAL (the error text is the result) and EBUSY (a run that is not in a
// state for the call, e.g. a resume another resume won).
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrConflict = errors.New("conflict")
)

// KV is the key-value store behind mastra.kv_*. The host passes the plugin's
// name as ns, so plugins never see each other's keys. Get reports a missing
// or expired key with ok=false and a nil error.
type KV interface {
	Get(ctx context.Context, ns, key string) ([]byte, bool, error)
	// Set stores val under ns/key for q.ResourceID. When the resource's
	// live entries in ns would then pass q (the entry replaced not
	// counted, expired ones not counted), it stores nothing and returns an
	// error wrapping ErrKVQuota. Concurrent Sets, from any number of
	// server instances sharing the store, must not pass q together.
	Set(ctx context.Context, ns, key string, val []byte, ttl time.Duration, q KVQuota) error
	Delete(ctx context.Context, ns, key string) error
}

// KVQuota bounds what one resource keeps in one plugin's namespace: the
// number of live keys and their bytes (keys and values).
type KVQuota struct {
	ResourceID string
	MaxKeys    int
	MaxBytes   int64
}

// ErrKVQuota is returned (wrapped) by KV.Set past the quota; the guest gets
// E2BIG.
var ErrKVQuota = errors.New("kv quota reached")

// Kind is what a plugin is loaded as. It is decided by configuration, not by
// the guest's exports.
type Kind int

const (
	// Middleware runs before routing; next=1 continues down the chain.
	Middleware Kind = iota
	// Route is a final handler registered on the router.
	Route
	// Tool is an agent tool, called through [Plugin.Call].
	Tool
)

// String returns "middleware", "route" or "tool".
func (k Kind) String() string {
	switch k {
	case Middleware:
		return "middleware"
	case Route:
		return "route"
	case Tool:
		return "tool"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Spec describes one plugin.
type Spec struct {
	Name   string
	Kind   Kind
	Module string // path to the .wasm file
	// Config is returned to the guest by http_handler.get_config (JSON).
	Config []byte
	// Timeout is the deadline of each guest call, and the longest a request
	// waits for a free instance. Required.
	Timeout time.Duration
	// MemoryLimit caps each instance's linear memory, rounded up to 64 KiB
	// pages. Required.
	MemoryLimit uint64
	// MinInstances are instantiated at Load and kept warm; at least one is
	// always created so a bad module fails at Load.
	MinInstances int
	// MaxInstances caps live instances. Required.
	MaxInstances int
	// RecycleAfter replaces an instance after that many requests (0 = never).
	RecycleAfter int
	// MaxBody limits the request body a guest reads through read_body
	// (0 = no limit). Past it the request fails with 413.
	MaxBody int64
	// MaxResponse caps what the host holds for one call on the guest's
	// behalf: a response buffered (buffer_response, downstream bytes
	// included) or captured ([Plugin.Call]), headers and request-context
	// values the guest sets, and a request body it rewrites or buffers.
	// Past it the call fails. Required.
	MaxResponse int64
	// ResourceID is the plugin's own resource for agent calls when the
	// request is not scoped to one and the guest names none. "" means
	// "plugin:<Name>": plugins never share one by default.
	ResourceID string
	// KVMaxKeys and KVMaxBytes are the key-value quota of each resource
	// in this plugin's namespace: the request's scoped resource, else
	// ResourceID. Required with Grants.KV.
	KVMaxKeys  int
	KVMaxBytes int64
	Grants     Grants
}

// Grants are the capabilities a plugin has beyond the sandbox defaults
// (no filesystem, no environment, no agents, no KV).
type Grants struct {
	Env    []string // environment variable names passed through WASI
	Mounts []Mount  // directories visible through WASI
	Agents []string // agent ids mastra.agent_* may call, or "*"
	KV     bool     // mastra.kv_*
	// Workflows are the workflow ids mastra.workflow_* may start, resume and
	// read, or "*".
	Workflows []string
	Threads   bool // mastra.threads_list and thread_messages (read-only)
}

// Mount exposes a host directory to the guest.
type Mount struct {
	HostPath  string
	GuestPath string
	ReadOnly  bool
}

// Host loads and runs plugins. It is safe for concurrent use.
type Host struct {
	log    *slog.Logger
	agents AgentCaller
	data   DataCaller
	kv     KV
	obs    Observer
	cache  wazero.CompilationCache

	// compiling serializes compiles of equal module bytes (see compile).
	compiling keyedMutex

	mu      sync.Mutex // guards plugins and closed
	plugins map[*Plugin]struct{}
	closed  bool
}

// New returns a Host. Close it to release every plugin and the cache.
func New(ctx context.Context, cfg Config) (*Host, error) {
	h := &Host{
		log:     cfg.Logger,
		agents:  cfg.Agents,
		data:    cfg.Data,
		kv:      cfg.KV,
		obs:     cfg.Observer,
		plugins: make(map[*Plugin]struct{}),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.kv == nil {
		h.kv = NewMemoryKV()
	}
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("plugin: compilation cache %s: %w", cfg.CacheDir, err)
		}
		h.cache = c
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	return h, nil
}

// Load compiles the module (through the cache), checks its imports against
// the grants, and pre-warms MinInstances (at least one). Errors name the
// plugin and its module path.
func (h *Host) Load(ctx context.Context, spec Spec) (*Plugin, error) {
	if err := normalize(&spec); err != nil {
		return nil, fmt.Errorf("plugin %q (%s): %w", spec.Name, spec.Module, err)
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	p := &Plugin{
		h:    h,
		spec: spec,
		log:  h.log.With("plugin", spec.Name),
		lim:  newRateLimiter(logLinesPerSecond),
	}
	pl, err := p.newPool(ctx)
	if err != nil {
		return nil, fmt.Errorf("plugin %q (%s): %w", spec.Name, spec.Module, err)
	}
	p.cur.Store(pl)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		pl.close()
		return nil, ErrClosed
	}
	h.plugins[p] = struct{}{}
	h.mu.Unlock()
	return p, nil
}

func normalize(s *Spec) error {
	if s.Name == "" {
		return errors.New("name is empty")
	}
	if s.Module == "" {
		return errors.New("module path is empty")
	}
	if s.Timeout < 0 || s.MinInstances < 0 || s.MaxInstances < 0 || s.MaxBody < 0 || s.RecycleAfter < 0 || s.MaxResponse < 0 ||
		s.KVMaxKeys < 0 || s.KVMaxBytes < 0 {
		return errors.New("negative limit")
	}
	// The limits have no defaults here: the configuration's are the only
	// ones (config's [plugins] table).
	var missing []string
	if s.Timeout == 0 {
		missing = append(missing, "Timeout")
	}
	if s.MemoryLimit == 0 {
		missing = append(missing, "MemoryLimit")
	}
	if s.MaxInstances == 0 {
		missing = append(missing, "MaxInstances")
	}
	if s.MaxResponse == 0 {
		missing = append(missing, "MaxResponse")
	}
	if s.Grants.KV && s.KVMaxKeys == 0 {
		missing = append(missing, "KVMaxKeys")
	}
	if s.Grants.KV && s.KVMaxBytes == 0 {
		missing = append(missing, "KVMaxBytes")
	}
	if len(missing) > 0 {
		return fmt.Errorf("spec has no %s (required)", strings.Join(missing, ", "))
	}
	if s.ResourceID == "" {
		s.ResourceID = "plugin:" + s.Name
	}
	if s.MemoryLimit > 65536*pageSize {
		return fmt.Errorf("memory limit %d is over 4 GiB", s.MemoryLimit)
	}
	if s.MinInstances == 0 {
		s.MinInstances = 1
	}
	if s.MinInstances > s.MaxInstances {
		return fmt.Errorf("min instances %d > max instances %d", s.MinInstances, s.MaxInstances)
	}
	if len(s.Config) > 0 && !json.Valid(s.Config) {
		return errors.New("config is not valid JSON")
	}
	return nil
}

// Close closes every plugin, waiting (until ctx is done) for in-flight calls,
// then the compilation cache.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	ps := make([]*Plugin, 0, len(h.plugins))
	for p := range h.plugins {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close(ctx))
	}
	errs = append(errs, h.cache.Close(ctx))
	return errors.Join(errs...)
}

// Plugin is one loaded plugin: a compiled module and a bounded pool of
// instances. It is safe for concurrent use.
type Plugin struct {
	h    *Host
	spec Spec
	log  *slog.Logger
	lim  *rateLimiter // guest log records: http_handler.log, stdout, stderr

	cur      atomic.Pointer[pool] // nil once closed
	reloadMu sync.Mutex           // serializes Reload and Close
}

// Name returns the plugin's name.
func (p *Plugin) Name() string { return p.spec.Name }

// Reload recompiles the module file and swaps to a fresh pool atomically.
// Calls in flight finish on the old instances, which are then closed. On
// error the old pool keeps serving.
func (p *Plugin) Reload(ctx context.Context) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.cur.Load() == nil {
		return ErrClosed
	}
	pl, err := p.newPool(ctx)
	if err != nil {
		return fmt.Errorf("plugin %q (%s): reload: %w", p.spec.Name, p.spec.Module, err)
	}
	old := p.cur.Swap(pl)
	old.close()
	p.log.Info("plugin reloaded")
	return nil
}

// Close stops new calls, waits until ctx is done for calls in flight, then
// releases every instance.
func (p *Plugin) Close(ctx context.Context) error {
	p.reloadMu.Lock()
	old := p.cur.Swap(nil)
	p.reloadMu.Unlock()
	if old == nil {
		return nil
	}
	p.h.mu.Lock()
	delete(p.h.plugins, p)
	p.h.mu.Unlock()
	old.close()
	select {
	case <-old.drained:
	case <-ctx.Done():
	}
	return old.closeRuntime()
}
