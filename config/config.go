// Package config loads mastra-server's configuration: built-in defaults, then
// mastra.toml, then the environment, into one typed Config that is validated
// before anything starts.
//
// Load parses; Validate checks and reports every problem at once, one line per
// problem naming the key, the value and what is expected. A Config is a plain
// value: callers pass the parts they need (cfg.Server to the HTTP host,
// cfg.Memory to the store) and never read a global.
package config

import (
	"fmt"
	"time"
)

// Config is the whole configuration of one server process.
type Config struct {
	Server     Server           `koanf:"server"`
	Memory     Memory           `koanf:"memory"`
	Log        Log              `koanf:"log"`
	Agents     map[string]Agent `koanf:"agents"`
	Providers  Providers        `koanf:"providers"`
	Plugins    Plugins          `koanf:"plugins"`
	Middleware []Middleware     `koanf:"middleware"`
	Routes     []Route          `koanf:"routes"`
	Tools      []Tool           `koanf:"tools"`
	Telemetry  Telemetry        `koanf:"telemetry"`
	// Observability stores traces for Mastra's observability routes
	// (Studio's Traces page).
	Observability Observability `koanf:"observability"`
	// Scorers are the [scorers.<id>] rules that grade agents' replies
	// (see scorers.go).
	Scorers map[string]Scorer `koanf:"scorers"`
	// Workflows are the [workflows.<id>] definitions (see workflow.go).
	Workflows map[string]Workflow `koanf:"workflows"`
	// MCPServers are the [mcp_servers.<id>] exposed over MCP (mcp.go).
	MCPServers map[string]MCPServer `koanf:"mcp_servers"`
	// MCPClients are the [mcp_clients.<name>] whose tools agents use.
	MCPClients map[string]MCPClient `koanf:"mcp_clients"`
	// Vectors are the [vectors.<name>] stores of Mastra's vector API.
	Vectors map[string]VectorStore `koanf:"vectors"`

	// File is the configuration file that was read ("" when none was found).
	File string `koanf:"-"`
	// AgentOrder lists agent ids in the order the file declares them, since
	// TOML tables decode into an unordered map.
	AgentOrder []string `koanf:"-"`
}

// Server configures the HTTP host.
type Server struct {
	Host string `koanf:"host"`
	Port int    `koanf:"port"`
	// Timeout bounds the time to the first byte of a response. It never cuts
	// a response that has started, so long streams are not affected.
	Timeout           time.Duration `koanf:"timeout"`
	BodyLimit         ByteSize      `koanf:"body_limit"`
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	// BodyTimeout bounds the time to receive a request body, from the end
	// of its headers: a client that dribbles its body is cut with 408 and
	// its connection closed. It never bounds a response.
	BodyTimeout    time.Duration `koanf:"body_timeout"`
	IdleTimeout    time.Duration `koanf:"idle_timeout"`
	MaxHeaderBytes ByteSize      `koanf:"max_header_bytes"`
	// DrainTimeout is how long a shutdown waits for in-flight requests.
	DrainTimeout time.Duration `koanf:"drain_timeout"`
	// KeepAlive is the interval of ": ping" comments on quiet streams.
	KeepAlive time.Duration `koanf:"keep_alive"`
	CORS      CORS          `koanf:"cors"`
	Auth      Auth          `koanf:"auth"`
	// Limits are the per-subject limits of every request; off by default.
	Limits  Limits  `koanf:"limits"`
	Metrics Metrics `koanf:"metrics"`
	// OpenAPI serves the OpenAPI 3.1 document at /api/openapi.json and a
	// page that renders it at /docs.
	OpenAPI bool `koanf:"openapi"`
	// Playground serves the chat, tools and workflows page at /playground.
	// Off by default; `mastra-server dev` turns it on.
	Playground bool `koanf:"playground"`
	// Streams configures resumable streams.
	Streams Streams `koanf:"streams"`
	// PprofAddr, when set ("127.0.0.1:6060"), serves Go's profiler
	// (net/http/pprof, /debug/pprof/) on that address, never on the API's
	// listener. Off by default: it has no auth and shows the process's
	// internals, so keep it on loopback or a private network.
	PprofAddr string `koanf:"pprof_addr"`
}

// Streams configures resumable streams: their chunks are logged in the
// database so a client reconnects, to any instance, with Last-Event-ID.
type Streams struct {
	// Resumable makes every agent stream resumable, as a request's
	// "resumable": true does.
	Resumable bool `koanf:"resumable"`
	// Retention is how long an ended stream's chunks are kept.
	Retention time.Duration `koanf:"retention"`
	// Lease is how long the instance running a stream holds it without
	// renewing (it renews every third of it); once over, the stream ends
	// with an error for whoever follows it.
	Lease time.Duration `koanf:"lease"`
	// FlushInterval is the least time between two writes of this
	// instance's stream log: every stream's chunks within it go in one
	// statement.
	FlushInterval time.Duration `koanf:"flush_interval"`
	// PollInterval is how often a follower on another instance looks at
	// the log when no notification came (Postgres LISTEN/NOTIFY wakes it
	// at once).
	PollInterval time.Duration `koanf:"poll_interval"`
}

// Metrics configures the Prometheus endpoint. It is outside auth: keep it
// private with Listen (a separate address) or a network policy.
type Metrics struct {
	Enabled bool   `koanf:"enabled"`
	Path    string `koanf:"path"`
	// Listen, when set ("127.0.0.1:9090"), serves the metrics on that
	// address only, not on the API's listener.
	Listen string `koanf:"listen"`
}

// Telemetry configures OpenTelemetry traces. They are on when Endpoint or
// the standard OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set;
// the other OTEL_* variables (headers, sampler, service name, resource
// attributes) apply as the OpenTelemetry SDK defines them.
type Telemetry struct {
	// Endpoint is the OTLP/HTTP endpoint ("http://collector:4318"); the
	// environment's OTEL_EXPORTER_OTLP_* variables win over it.
	Endpoint string `koanf:"endpoint"`
	// ServiceName is service.name unless OTEL_SERVICE_NAME is set.
	ServiceName string `koanf:"service_name"`
	// CaptureContent puts message texts, tool arguments and results in
	// spans (gen_ai.input.messages and the like). Off by default: they are
	// your users' data.
	CaptureContent bool `koanf:"capture_content"`
}

// Observability configures the traces stored in the database
// (mastra_ai_spans), read back through /api/observability/*. They are kept
// beside the OTLP export, which [telemetry] configures.
type Observability struct {
	// Enabled stores the spans of turns, model and tool calls, workflow
	// steps and plugin calls made inside them.
	Enabled bool `koanf:"enabled"`
	// Retention is how long stored spans are kept; 0 keeps them forever.
	Retention time.Duration `koanf:"retention"`
	// CaptureContent stores inputs and outputs (messages, tool arguments
	// and results) in spans. Off by default: they are your users' data.
	CaptureContent bool `koanf:"capture_content"`
	// QueueSize bounds the spans waiting to be written; past it new spans
	// are dropped and counted, never waited for.
	QueueSize int `koanf:"queue_size"`
	// BatchSize is the most spans written in one statement.
	BatchSize int `koanf:"batch_size"`
	// FlushInterval is the longest a span waits before its batch is
	// written.
	FlushInterval time.Duration `koanf:"flush_interval"`
}

// Addr is the listen address host:port.
func (s Server) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// CORS configures cross-origin requests. An empty Origins list disables CORS
// headers entirely (same-origin only).
type CORS struct {
	Origins       []string      `koanf:"origins"`
	AllowMethods  []string      `koanf:"allow_methods"`
	AllowHeaders  []string      `koanf:"allow_headers"`
	ExposeHeaders []string      `koanf:"expose_headers"`
	Credentials   bool          `koanf:"credentials"`
	MaxAge        time.Duration `koanf:"max_age"`
}

// Auth configures built-in token authentication.
type Auth struct {
	Enabled bool `koanf:"enabled"`
	// Tokens map a token, read from an environment variable, to a user.
	Tokens []Token `koanf:"tokens"`
	// Protected and Public are path patterns ("/api/*"). Public wins.
	// Everything is protected by default; /health is public, and CORS
	// preflights never need a token.
	Protected []string `koanf:"protected"`
	Public    []string `koanf:"public"`
	// JWT accepts the JWTs of an identity provider besides Tokens.
	JWT JWT `koanf:"jwt"`
}

// JWT configures [server.auth.jwt]: tokens signed by an identity provider
// (Clerk, Supabase, Auth0, any OIDC issuer) and checked against its JWKS.
// Off while JWKSURL is empty. host/server/jwtauth checks the values.
type JWT struct {
	// JWKSURL is where the provider publishes its public keys.
	JWKSURL string `koanf:"jwks_url"`
	// Issuer must equal the token's iss claim.
	Issuer string `koanf:"issuer"`
	// Audience, when set, must be among the token's aud values.
	Audience string `koanf:"audience"`
	// ResourceClaim is the claim whose value becomes the request's
	// resource ("sub": one per user; "org_id": one per organization).
	ResourceClaim string `koanf:"resource_claim"`
	// Algorithms are the accepted signature algorithms: RS256, ES256, EdDSA.
	Algorithms []string `koanf:"algorithms"`
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration `koanf:"leeway"`
	// JWKSMaxAge is how long fetched keys are used before a refetch.
	JWKSMaxAge time.Duration `koanf:"jwks_max_age"`
	// JWKSMinRefresh is the least time between two refetches caused by a
	// token with an unknown key id (kid).
	JWKSMinRefresh time.Duration `koanf:"jwks_min_refresh"`
}

// Token is one accepted credential.
type Token struct {
	// Env names the environment variable that holds the token.
	Env  string `koanf:"env"`
	User string `koanf:"user"`
	// ResourceID is the resource (tenant) the token's requests are confined
	// to: it overrides any resourceId a client sends. Required, except for
	// an admin token.
	ResourceID string `koanf:"resource_id"`
	// Admin makes the token unbound: its requests may name any resource and
	// list threads across resources. For operators' tools, never for an app
	// that serves end users.
	Admin bool `koanf:"admin"`
	// Limits, when set, replace [server.limits] for this token's requests,
	// key by key.
	Limits *TokenLimits `koanf:"limits"`
	// Value is filled from Env at load time; it is never read from the file.
	Value Secret `koanf:"-"`
}

// Limits are [server.limits]: budgets per subject (the resource a token or
// JWT binds to, an admin token's user, or else the client's address). 0 is
// no limit. Counted in Postgres across instances, in the process on SQLite.
type Limits struct {
	// RequestsPerMinute bounds requests; over it, 429 with Retry-After.
	RequestsPerMinute int `koanf:"requests_per_minute"`
	// TokensPerMinute bounds the model tokens (input + output) used; a
	// turn is refused (429) before any model call once it is spent.
	TokensPerMinute int `koanf:"tokens_per_minute"`
	// MaxStreams bounds the streams open at once.
	MaxStreams int `koanf:"max_streams"`
}

// TokenLimits are a token's own limits; a key left out keeps the value of
// [server.limits], and 0 lifts that limit for the token.
type TokenLimits struct {
	RequestsPerMinute *int `koanf:"requests_per_minute"`
	TokensPerMinute   *int `koanf:"tokens_per_minute"`
	MaxStreams        *int `koanf:"max_streams"`
}

// Memory configures conversation storage.
type Memory struct {
	// DatabaseURL selects Postgres (postgres://…); empty means SQLite.
	DatabaseURL Secret `koanf:"database_url"`
	SQLitePath  string `koanf:"sqlite_path"`
	// LastMessages is how many earlier messages of a thread reach the model.
	LastMessages int `koanf:"last_messages"`
	// DefaultResourceID is used when a request names no resource.
	DefaultResourceID string `koanf:"default_resource_id"`
	// Migrate runs pending schema migrations at start.
	Migrate      bool `koanf:"migrate"`
	MaxOpenConns int  `koanf:"max_open_conns"`
	// MaxSaveMessages is the most messages one save-messages request may
	// carry.
	MaxSaveMessages int `koanf:"max_save_messages"`
	// BulkWriteShare is the fraction of MaxOpenConns that one resource's
	// save-messages may hold at once (see BulkWriteConns).
	BulkWriteShare float64 `koanf:"bulk_write_share"`
	// Pgvector keeps semantic recall's vectors in Mastra's pgvector tables
	// (memory_messages…) when the Postgres has the extension; false keeps
	// them in mastra_server_vectors.
	Pgvector bool `koanf:"pgvector"`
	// Embedder is the embedding model ("provider/model", or a list: the
	// others are fallbacks serving the same model) of agents with semantic
	// recall that name none in [agents.<id>.memory].
	Embedder ModelList `koanf:"embedder"`
}

// BulkWriteConns is BulkWriteShare of MaxOpenConns in connections,
// rounded down but at least 1: with one connection, nothing is left to
// keep for others.
func (m Memory) BulkWriteConns() int {
	return max(1, int(m.BulkWriteShare*float64(m.MaxOpenConns)))
}

// Kind is "postgres" or "sqlite".
func (m Memory) Kind() string {
	if m.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}

// Log configures the process logger.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn, error
	Format string `koanf:"format"` // text or json
}

// Agent defines one agent.
type Agent struct {
	Name         string `koanf:"name"`
	Description  string `koanf:"description"`
	Instructions string `koanf:"instructions"`
	// Model is "provider/model", e.g. "openai/gpt-4o-mini", or "echo"; a
	// list names fallbacks, tried in order when a model fails before its
	// first token.
	Model   ModelList `koanf:"model"`
	Default bool      `koanf:"default"`
	// LastMessages overrides memory.last_messages when set (> 0); -1 sends no history.
	LastMessages int      `koanf:"last_messages"`
	MaxSteps     int      `koanf:"max_steps"`
	Tools        []string `koanf:"tools"`
	// Sampling settings sent with every model call of this agent; unset
	// leaves the provider's default. A request's modelSettings override them.
	Temperature      *float64 `koanf:"temperature"`       // 0 to 2
	MaxTokens        *int     `koanf:"max_tokens"`        // reply length limit, >= 1
	TopP             *float64 `koanf:"top_p"`             // 0 to 1
	Stop             []string `koanf:"stop"`              // up to 4 stop sequences
	Seed             *int     `koanf:"seed"`              // for repeatable sampling
	PresencePenalty  *float64 `koanf:"presence_penalty"`  // -2 to 2
	FrequencyPenalty *float64 `koanf:"frequency_penalty"` // -2 to 2
	// ThinkingBudget and Cache override the Anthropic provider's for this
	// agent's Anthropic models (its other models ignore them).
	ThinkingBudget *int  `koanf:"thinking_budget"`
	Cache          *bool `koanf:"cache"`
	// WorkingMemory is Mastra's working memory: text the model keeps about
	// the user, sees in its instructions and updates with a tool.
	WorkingMemory WorkingMemory `koanf:"working_memory"`
	// GenerateTitle gives a new thread a title after its first turn,
	// generated in the background by TitleModel, or the agent's model.
	GenerateTitle bool `koanf:"generate_title"`
	// TitleModel is a "provider/model" for titles, usually a cheaper one.
	TitleModel string `koanf:"title_model"`
	// RequireApproval makes every tool call of the agent wait for a
	// human's approval (Mastra's requireToolApproval).
	RequireApproval bool `koanf:"require_approval"`
	// Scorers are ids of [scorers.<id>] run on each reply, after the turn.
	Scorers []string `koanf:"scorers"`
	// Memory holds the agent's semantic recall and its embedder.
	Memory AgentMemory `koanf:"memory"`
	// Agents are ids of [agents.<id>] this agent delegates to, each
	// through a tool agent-<id> (Mastra's supervisor agents). Cycles are
	// refused.
	Agents []string `koanf:"agents"`
	// SubAgentMemory sets, per sub-agent id, "isolated" (the default: a
	// fresh thread per delegation under a resource of the sub-agent's own,
	// derived from the caller's) or "shared" (one thread per conversation,
	// under the caller's resource).
	SubAgentMemory map[string]string `koanf:"sub_agent_memory"`
	// Workflows are ids of [workflows.<id>] this agent may run, each
	// through a tool workflow-<id>.
	Workflows []string `koanf:"workflows"`
}

// VectorStore is one [vectors.<name>] store of Mastra's vector API
// (/api/vector/<name>/…), kept in the memory database (the table
// mastra_server_vectors, apart from semantic recall's vectors). It has no
// settings yet: the empty table declares the store.
type VectorStore struct{}

// AgentMemory is [agents.<id>.memory].
type AgentMemory struct {
	// Embedder overrides memory.embedder for this agent.
	Embedder       ModelList      `koanf:"embedder"`
	SemanticRecall SemanticRecall `koanf:"semantic_recall"`
}

// SemanticRecall is Mastra's semanticRecall option: each turn, the
// messages nearest to the user's message (by embedding) are recalled into
// the prompt with their neighbours, and every saved message is embedded
// once in the background.
type SemanticRecall struct {
	Enabled bool `koanf:"enabled"`
	// TopK is how many messages are recalled at most (Mastra's 4).
	TopK int `koanf:"top_k"`
	// MessageRange is how many messages around each recalled one come with
	// it, on each side (Mastra's 1); Before and After set one side.
	MessageRange *int `koanf:"message_range"`
	Before       *int `koanf:"before"`
	After        *int `koanf:"after"`
	// Scope is "resource" (every thread of the user: Mastra's default) or
	// "thread".
	Scope string `koanf:"scope"`
	// Threshold drops recalled messages whose cosine similarity is below
	// it (0 to 1); unset keeps all.
	Threshold *float64 `koanf:"threshold"`
	// Index overrides the index name derived from the embedding's length
	// (memory_messages for 1536 dimensions, else memory_messages_<n>).
	Index string `koanf:"index"`
	// Dimensions asks the embedding model for shorter vectors (OpenAI's
	// text-embedding-3-*); 0 takes the model's own.
	Dimensions int `koanf:"dimensions"`
	// Filter is Mastra's semanticRecall.filter: a vector filter on the
	// messages' metadata (message_id, thread_id, resource_id, role,
	// content, created_at), AND-ed with the scope's on
	// GET /api/memory/search (Mastra's Memory.recall; a turn's recall does
	// not apply it, as in Mastra).
	Filter map[string]any `koanf:"filter"`
	// IndexConfig is Mastra's semanticRecall.indexConfig: the approximate
	// index of a recall table the server creates in pgvector mode.
	IndexConfig RecallIndexConfig `koanf:"index_config"`
}

// RecallIndexConfig is [agents.<id>.memory.semantic_recall.index_config].
type RecallIndexConfig struct {
	// Type is "hnsw" (the default), "ivfflat" or "flat" (no index).
	Type string `koanf:"type"`
	// M and EfConstruction are HNSW's (8 and 32 by default).
	M              int `koanf:"m"`
	EfConstruction int `koanf:"ef_construction"`
	// Lists is IVFFlat's (100 by default).
	Lists int `koanf:"lists"`
	// EfSearch is HNSW's per-query candidate list (hnsw.ef_search, 1 to
	// 1000; default max(40, top_k)).
	EfSearch int `koanf:"ef_search"`
}

// WorkingMemory configures an agent's working memory, as Mastra's
// workingMemory option does.
type WorkingMemory struct {
	Enabled bool `koanf:"enabled"`
	// Scope is "resource" (one working memory per user, shared by their
	// threads: Mastra's default) or "thread".
	Scope string `koanf:"scope"`
	// Template is the Markdown the model fills in; the model replaces the
	// whole text on each update. Mastra's default when neither Template
	// nor Schema is set.
	Template string `koanf:"template"`
	// Schema is a JSON Schema (an object schema, as JSON text): the working
	// memory is then a JSON object, and each update is merged into it (a
	// field set to null is removed).
	Schema string `koanf:"schema"`
}

// DefaultWorkingMemoryTemplate is Mastra's default working memory template.
const DefaultWorkingMemoryTemplate = `# User Information
- **First Name**: 
- **Last Name**: 
- **Location**: 
- **Occupation**: 
- **Interests**: 
- **Goals**: 
- **Events**: 
- **Facts**: 
- **Projects**: 
`

// Providers holds each model provider's settings, keyed by provider name:
// [providers.openai], [providers.groq], or a custom provider's
// [providers.<name>] with a kind. A registry provider needs no table: its
// base URL and key variable come from internal/providers.
type Providers map[string]Provider

// Provider configures one model provider. For a registry provider every
// key overrides the registry's value; a custom provider (a name the
// registry lacks) needs Kind and BaseURL.
type Provider struct {
	// Kind is the wire format of a custom provider: "openai" (chat
	// completions) or "anthropic" (Messages API). Registry providers have
	// theirs.
	Kind    string `koanf:"kind"`
	APIKey  Secret `koanf:"api_key"`
	BaseURL string `koanf:"base_url"`
	// APIKeyEnv names the environment variable that holds the API key, for
	// a custom provider or to read a registry provider's key from another
	// variable than its usual one.
	APIKeyEnv  string        `koanf:"api_key_env"`
	Timeout    time.Duration `koanf:"timeout"`
	MaxRetries int           `koanf:"max_retries"`
	// MaxCompletionTokens sends max_tokens as max_completion_tokens, which
	// OpenAI's reasoning models require.
	MaxCompletionTokens bool `koanf:"max_completion_tokens"`
	// JSONSchema = false says the server lacks a json_schema
	// response_format: structured output puts the schema in the prompt
	// instead. Unset means it has one.
	JSONSchema *bool `koanf:"json_schema"`

	// Azure OpenAI only: the resource (or a full endpoint) and API version.
	ResourceName string `koanf:"resource_name"`
	APIVersion   string `koanf:"api_version"`
	Endpoint     string `koanf:"endpoint"`
	// Deployment is the Azure deployment of agents that name no model
	// (AZURE_DEPLOYMENT): they get model = "azure/<deployment>".
	Deployment string `koanf:"deployment"`

	// Anthropic's Messages API only ([providers.anthropic] or kind =
	// "anthropic"). Version is the anthropic-version header.
	Version string `koanf:"version"`
	// MaxTokens is max_tokens when neither the agent nor the request sets
	// one: Anthropic requires it.
	MaxTokens *int `koanf:"max_tokens"`
	// Cache sets prompt-cache breakpoints on the instructions and history.
	Cache *bool `koanf:"cache"`
	// ThinkingBudget enables extended thinking with this many tokens (at
	// least 1024); 0 disables it.
	ThinkingBudget *int `koanf:"thinking_budget"`
	// (Pointers: unset on the other kinds, where setting one is an error.)
}

// Plugins holds defaults for every Wasm plugin.
type Plugins struct {
	CacheDir     string        `koanf:"cache_dir"`
	Timeout      time.Duration `koanf:"timeout"`
	RouteTimeout time.Duration `koanf:"route_timeout"`
	MemoryLimit  ByteSize      `koanf:"memory_limit"`
	MinInstances int           `koanf:"min_instances"`
	MaxInstances int           `koanf:"max_instances"`
	// MaxResponse caps what the host holds for one plugin call: a buffered
	// or captured response, headers, a rewritten request body.
	MaxResponse ByteSize `koanf:"max_response"`
	// KVMaxKeys and KVMaxBytes are the key-value quota of each resource in
	// a plugin's namespace (plugins with kv = true): live keys, and their
	// bytes with the keys.
	KVMaxKeys  int      `koanf:"kv_max_keys"`
	KVMaxBytes ByteSize `koanf:"kv_max_bytes"`
}

// PluginLimits are per-plugin overrides of the [plugins] defaults.
type PluginLimits struct {
	Timeout      time.Duration `koanf:"timeout"`
	MemoryLimit  ByteSize      `koanf:"memory_limit"`
	MinInstances int           `koanf:"min_instances"`
	MaxInstances int           `koanf:"max_instances"`
	MaxResponse  ByteSize      `koanf:"max_response"`
	KVMaxKeys    int           `koanf:"kv_max_keys"`
	KVMaxBytes   ByteSize      `koanf:"kv_max_bytes"`
}

// Grants are the capabilities a plugin is given beyond the sandbox defaults.
type Grants struct {
	Env    []string `koanf:"env"`    // environment variable names passed through
	Mounts []Mount  `koanf:"mounts"` // "host_dir:/guest_dir[:ro|:rw]"
	Agents []string `koanf:"agents"` // agent ids the plugin may call, or "*"
	KV     bool     `koanf:"kv"`
	// Workflows are the workflow ids the plugin may start, resume and read
	// runs of through mastra.workflow_*, or "*".
	Workflows []string `koanf:"workflows"`
	Threads   bool     `koanf:"threads"` // read the caller's threads (mastra.threads_list, thread_messages)
}

// Middleware is one Wasm middleware, run before routing on matching paths.
type Middleware struct {
	Name         string         `koanf:"name"`
	Path         string         `koanf:"path"`
	Methods      []string       `koanf:"methods"`
	Module       string         `koanf:"module"`
	Config       map[string]any `koanf:"config"`
	ResourceID   string         `koanf:"resource_id"` // see Route.ResourceID
	PluginLimits `koanf:",squash"`
	Grants       `koanf:",squash"`
}

// Route is one Wasm route handler.
type Route struct {
	Name       string         `koanf:"name"`
	Method     string         `koanf:"method"`
	Path       string         `koanf:"path"`
	Module     string         `koanf:"module"`
	Middleware []string       `koanf:"middleware"`
	Config     map[string]any `koanf:"config"`
	MaxBody    ByteSize       `koanf:"max_body"`
	// ResourceID owns the threads of the plugin's agent calls when the
	// request is not scoped to a resource and the guest names none; ""
	// means "plugin:<name>" (name: the entry's, or "METHOD path").
	ResourceID   string `koanf:"resource_id"`
	PluginLimits `koanf:",squash"`
	Grants       `koanf:",squash"`
}

// Tool is one agent tool implemented by a Wasm plugin.
type Tool struct {
	Name        string         `koanf:"name"`
	Description string         `koanf:"description"`
	InputSchema any            `koanf:"input_schema"` // inline table or a JSON file path
	Module      string         `koanf:"module"`
	Config      map[string]any `koanf:"config"`
	ResourceID  string         `koanf:"resource_id"` // see Route.ResourceID
	// RequireApproval makes every call of the tool wait for a human's
	// approval (a Mastra tool's requireApproval).
	RequireApproval bool `koanf:"require_approval"`
	// ResumeSchema is the JSON Schema of the resume data of a call the
	// tool suspended (answered 202): inline table, JSON text or file.
	ResumeSchema any `koanf:"resume_schema"`
	PluginLimits `koanf:",squash"`
	Grants       `koanf:",squash"`
}
