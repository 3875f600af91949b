package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/mastra-server/mastra-server/host/jsonenc"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/toolschema"
)

// DefaultMaxSteps is the tool loop limit of an agent whose MaxSteps is 0.
const DefaultMaxSteps = 5

// Errors returned by Generate and Stream, wrapped with detail. Callers map
// ErrUnknownAgent to 404, ErrInvalidInput to 400 and
// ErrIdempotencyKeyReused to 422.
var (
	ErrUnknownAgent = errors.New("agent: unknown agent")
	ErrInvalidInput = errors.New("agent: invalid input")
)

// Agent is one configured agent: a model, its instructions, its history
// size and its server-side tools. An Agent must not be changed once it is
// handed to NewService.
type Agent struct {
	ID, Name, Description, Instructions string

	// Model answers the agent's prompts.
	Model llm.Model
	// Provider names the model's provider ("openai", "azure", "echo"), for
	// listings and the metadata of saved messages.
	Provider string
	// ModelID is the model or deployment name sent to the provider.
	ModelID string
	// NoJSONSchema says Model's provider has no json_schema response
	// format (see Choice).
	NoJSONSchema bool
	// Fallbacks are tried in order when a model call fails before its
	// first token with an error another provider may not have: 429, 5xx,
	// connection refused or reset, no response within the provider's
	// timeout. A turn that fell back stays on the model that answered.
	Fallbacks []Choice
	// OnFallback, when set, is called at each fallback, before the next
	// model is tried: the place for a log line and a metric. It must not
	// block.
	OnFallback func(FallbackEvent)

	// LastMessages is how many messages of the thread's history go into the
	// prompt; 0 means none.
	LastMessages int
	// MaxSteps limits the model calls of one turn's tool loop; 0 means
	// DefaultMaxSteps.
	MaxSteps int
	// Tools are the tools the server runs for this agent.
	Tools []Tool
	// SubAgents are the agents this one delegates to through its tools
	// agent-<id> (delegate.go). NewService refuses unknown ones and cycles.
	SubAgents []SubAgent
	// RequireApproval makes every call of the agent's tools (and of the
	// client's) wait for a human's approval (Mastra's
	// requireToolApproval; approval.go).
	RequireApproval bool
	// ModelSettings are the agent's sampling settings; a turn's own
	// (Input.ModelSettings) override them one by one.
	ModelSettings ModelSettings
	// WorkingMemory, when set, shows the model its working memory in the
	// system prompt and gives it the built-in tool updateWorkingMemory
	// (see workingmemory.go). Turns without memory (ephemeral, or no
	// store) have neither.
	WorkingMemory *WorkingMemory
	// GenerateTitle titles a new thread after its first turn, in the
	// background (see title.go).
	GenerateTitle bool
	// TitleModel and TitleModelID generate titles; nil uses Model and
	// ModelID.
	TitleModel   llm.Model
	TitleModelID string
	// SemanticRecall, when set, recalls earlier messages by meaning into
	// the prompt and embeds every saved message (see recall.go). Turns
	// without memory (ephemeral, or no store) do neither.
	SemanticRecall *SemanticRecall
}

// Choice is one model an agent may answer with: its client, provider and
// model name.
type Choice struct {
	Model    llm.Model
	Provider string
	ModelID  string
	// NoJSONSchema says the provider has no json_schema response format:
	// a structured output's schema goes in the prompt instead.
	NoJSONSchema bool
}

// Ref returns "provider/model" ("echo" alone when there is no model name).
func (c Choice) Ref() string {
	switch {
	case c.ModelID == "":
		return c.Provider
	case c.Provider == "":
		return c.ModelID
	}
	return c.Provider + "/" + c.ModelID
}

// FallbackEvent is one move of a turn from a model that failed before its
// first token to the next of the agent's models.
type FallbackEvent struct {
	AgentID, RunID string
	// From and To are the models' "provider/model".
	From, To string
	// Err is From's error.
	Err error
}

// choices returns the agent's model and then its fallbacks.
func (a *Agent) choices() []Choice {
	return append([]Choice{{Model: a.Model, Provider: a.Provider, ModelID: a.ModelID, NoJSONSchema: a.NoJSONSchema}}, a.Fallbacks...)
}

// ModelRef returns "provider/model" ("echo" alone when there is no model
// name), the spelling of a model reference in mastra.toml.
func (a *Agent) ModelRef() string {
	return Choice{Provider: a.Provider, ModelID: a.ModelID}.Ref()
}

func (a *Agent) tool(name string) Tool {
	for _, t := range a.Tools {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

// Tool is a tool the server runs when the model calls it; Wasm plugins
// implement it. Implementations are safe for concurrent use.
type Tool interface {
	// Name is the function name the model calls.
	Name() string
	// Description tells the model what the tool does.
	Description() string
	// InputSchema is the JSON Schema of the arguments object; nil means any
	// object. NewService refuses a tool whose schema does not compile, and
	// the loop validates every call's arguments against it before Execute.
	InputSchema() json.RawMessage
	// Execute runs the tool with the arguments object the model produced
	// (always a JSON object valid against InputSchema) and returns its JSON
	// result. ctx carries the
	// request's RequestContext (reqctx.From) when there is one. An error is
	// shown to the model as the tool's result, {"error": "…"}, and the loop
	// goes on.
	Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error)
}

// Service runs turns of its agents against a memory store. It is safe for
// concurrent use.
type Service struct {
	store     *memory.Store // nil: no history, nothing saved
	agents    map[string]*Agent
	sorted    []*Agent
	defaultID string
	log       *slog.Logger
	obs       Observer    // nil: nobody watches
	bg        *background // title generation
	// idemSecret keys the ids of turns with an idempotency key.
	idemSecret idemSecret
	// admit may refuse a turn before it starts (a token budget spent);
	// nil admits every turn.
	admit func(ctx context.Context, t TurnInfo) error
	// embeds runs embedding jobs (SetEmbedQueue); nil: local does.
	embeds     EmbedQueue
	local      *localEmbeds
	onRecall   func(RecallEvent)
	queryCache *vectorCache
	// budget charges embedding calls (SetEmbedBudget); nil: free.
	budget EmbedBudget
	// embedBackoff is the first wait between a local job's attempts.
	embedBackoff time.Duration
	// resolve turns a "provider/model" a request names into a model; nil:
	// none can be named.
	resolve func(ref string) (Choice, error)
}

// SetModelResolver makes resolve the way a turn's option names a model
// ("provider/model", e.g. a structured output's model). Call it before
// serving.
func (s *Service) SetModelResolver(resolve func(ref string) (Choice, error)) { s.resolve = resolve }

// ResolveModel returns the model ref names, or an error saying why there
// is none.
func (s *Service) ResolveModel(ref string) (Choice, error) {
	if s.resolve == nil {
		return Choice{}, errors.New("this server resolves no model names")
	}
	return s.resolve(ref)
}

// SetAdmission makes admit decide, before anything of a turn runs (no
// history read, no model call), whether it may run; its error is the
// turn's. Call it before serving: it is not synchronized with running
// turns.
func (s *Service) SetAdmission(admit func(ctx context.Context, t TurnInfo) error) { s.admit = admit }

// NewService checks the agents and returns a Service. defaultID names the
// agent that serves requests without an agent id; "" picks the first of
// agents. A nil store gives agents without memory: no history is loaded
// and nothing is saved. A nil log discards log lines.
func NewService(store *memory.Store, agents []*Agent, defaultID string, log *slog.Logger) (*Service, error) {
	if len(agents) == 0 {
		return nil, errors.New("agent: no agents")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, agents: make(map[string]*Agent, len(agents)), log: log, bg: newBackground(),
		queryCache: newVectorCache(queryCacheSize), embedBackoff: embedBackoff}
	s.local = &localEmbeds{s: s, jobs: make(chan EmbedJob, embedQueueLen)}
	var errs []error
	for i, a := range agents {
		if a == nil {
			errs = append(errs, fmt.Errorf("agent: agents[%d] is nil", i))
			continue
		}
		if a.ID == "" {
			errs = append(errs, fmt.Errorf("agent: agents[%d] has no id", i))
			continue
		}
		if _, dup := s.agents[a.ID]; dup {
			errs = append(errs, fmt.Errorf("agent %q: defined twice", a.ID))
			continue
		}
		if a.Model == nil {
			errs = append(errs, fmt.Errorf("agent %q: no model", a.ID))
		}
		for j, f := range a.Fallbacks {
			if f.Model == nil {
				errs = append(errs, fmt.Errorf("agent %q: fallbacks[%d] has no model", a.ID, j))
			}
		}
		if sr := a.SemanticRecall; sr != nil && (sr.Embedder == nil || sr.TopK < 1 || sr.Before < 0 || sr.After < 0 ||
			(sr.Scope != "resource" && sr.Scope != "thread")) {
			errs = append(errs, fmt.Errorf("agent %q: semantic recall needs an embedder, top_k >= 1, a range >= 0 and scope resource or thread", a.ID))
		}
		if a.LastMessages < 0 || a.MaxSteps < 0 {
			errs = append(errs, fmt.Errorf("agent %q: negative last_messages or max_steps", a.ID))
		}
		if err := a.ModelSettings.Check(); err != nil {
			errs = append(errs, fmt.Errorf("agent %q: %w", a.ID, err))
		}
		names := make(map[string]bool, len(a.Tools))
		if a.WorkingMemory != nil {
			if err := a.WorkingMemory.check(); err != nil {
				errs = append(errs, fmt.Errorf("agent %q: %w", a.ID, err))
			}
			names[WorkingMemoryTool] = true // a tool of that name would be shadowed: refused below
		}
		for j, t := range a.Tools {
			switch {
			case t == nil:
				errs = append(errs, fmt.Errorf("agent %q: tools[%d] is nil", a.ID, j))
			case t.Name() == "":
				errs = append(errs, fmt.Errorf("agent %q: tools[%d] has no name", a.ID, j))
			case names[t.Name()] && t.Name() == WorkingMemoryTool && a.WorkingMemory != nil:
				errs = append(errs, fmt.Errorf("agent %q: tool %q: the name of the working memory tool", a.ID, t.Name()))
			case names[t.Name()]:
				errs = append(errs, fmt.Errorf("agent %q: tool %q defined twice", a.ID, t.Name()))
			default:
				names[t.Name()] = true
				if _, err := toolschema.For(t.InputSchema()); err != nil {
					errs = append(errs, fmt.Errorf("agent %q: tool %q: %w", a.ID, t.Name(), err))
				}
			}
		}
		s.agents[a.ID] = a
		s.sorted = append(s.sorted, a)
		if s.defaultID == "" {
			s.defaultID = a.ID
		}
	}
	errs = append(errs, checkSubAgents(s.agents, s.sorted)...)
	if defaultID != "" {
		if _, ok := s.agents[defaultID]; !ok {
			errs = append(errs, fmt.Errorf("agent: default agent %q is not defined", defaultID))
		}
		s.defaultID = defaultID
	}
	if err := errors.Join(errs...); err != nil {
		s.bg.stop()
		return nil, err
	}
	sort.Slice(s.sorted, func(i, j int) bool { return s.sorted[i].ID < s.sorted[j].ID })
	return s, nil
}

// Agent returns the agent with the given id.
func (s *Service) Agent(id string) (*Agent, bool) {
	a, ok := s.agents[id]
	return a, ok
}

// Agents returns every agent, sorted by id. The slice is the caller's.
func (s *Service) Agents() []*Agent {
	return append([]*Agent(nil), s.sorted...)
}

// DefaultID returns the id of the agent that serves requests that name none.
func (s *Service) DefaultID() string { return s.defaultID }

// HasMemory reports whether turns are remembered (the Service has a store).
func (s *Service) HasMemory() bool { return s.store != nil }

// Input is one turn asked of an agent.
type Input struct {
	// AgentID names the agent; "" means the default agent.
	AgentID string
	// ThreadID names the conversation; "" starts a new thread with a fresh
	// id. A thread that exists must belong to ResourceID.
	ThreadID string
	// ResourceID is the owner (user or tenant) of the thread; required.
	ResourceID string
	// Owner, when set, is the resource the turn runs for while its thread
	// is kept under ResourceID: a sub-agent's turn runs for its caller's
	// resource (admission, budgets and observers see Owner).
	Owner string
	// Messages are the new messages of this turn, usually one user message.
	// After a client-tool round trip they hold role "tool" messages with the
	// results (ToolCallID set, the JSON result in Content, the tool's name
	// in Name when known).
	Messages []llm.Message
	// RunID names the run in chunks; "" means a new uuid.
	RunID string
	// Instructions are added to the agent's instructions in the system
	// prompt.
	Instructions string
	// MaxSteps overrides the agent's tool loop limit when > 0.
	MaxSteps int
	// ClientTools are tools the client runs (Mastra's clientTools). When the
	// model calls one, the turn ends with FinishReason "tool-calls" and the
	// call is saved as pending; the client runs it and comes back with a
	// role "tool" message.
	ClientTools []llm.Tool
	// ClientToolApproval names the client tools whose calls wait for a
	// human's approval (a client tool's requireApproval).
	ClientToolApproval map[string]bool
	// RequireToolApproval makes every tool call of the turn wait for a
	// human's approval (Mastra's requireToolApproval).
	RequireToolApproval bool
	// RequestContext is the request's context map, handed to tools through
	// their ctx (reqctx.From). It may be nil.
	RequestContext *reqctx.Values
	// ModelSettings tune the model's sampling.
	ModelSettings ModelSettings
	// IdempotencyKey, when set, names this request: its messages are saved
	// under ids derived from the resource and the key, so a retry can never
	// save the turn twice, and a retry after a saved turn answers with that
	// turn (Result.Replayed) without calling the model. A different request
	// (agent, thread, resource or messages) with a key already used is
	// ErrIdempotencyKeyReused. At most MaxIdempotencyKey bytes.
	IdempotencyKey string
	// ThreadMade says ThreadID was made up for this request, not named by
	// its client: a retry names none either, so the thread is not part of
	// what makes it the same request.
	ThreadMade bool
	// Ephemeral answers without memory: no history is read and nothing is
	// saved (Mastra's generate without a memory option).
	Ephemeral bool
	// ReadOnly reads memory and writes none (Mastra's memory.readOnly):
	// the history, working memory and semantic recall are read as for any
	// turn; nothing is saved (no messages, no thread, no title, no
	// embedding) and the working memory is shown without its tool.
	ReadOnly bool
	// StructuredOutput, when set, asks the turn for a JSON value matching
	// a schema (Result.Object; "object" and "object-result" chunks).
	StructuredOutput *StructuredOutput
	// Context are messages shown to the model after the system prompt and
	// before the history, and never saved (Mastra's context option).
	Context []llm.Message
	// Model, when set, answers this turn instead of the agent's model and
	// its fallbacks (Mastra's model option).
	Model *Choice
	// ActiveTools, when not nil, limits the tools offered to the model to
	// those named (server, working memory and client tools alike); every
	// name must be one of them.
	ActiveTools []string
	// ToolChoice is "auto", "none", "required" or the name of a tool the
	// model must call; "" leaves the provider's default.
	ToolChoice string
}

// Step is one model call of a turn, as generate's steps[] shows it.
type Step struct {
	Text      string
	Reasoning []llm.Reasoning
	// ToolCalls are the step's "tool-call" chunks; ToolResults its
	// "tool-result" and "tool-error" chunks.
	ToolCalls, ToolResults []Chunk
	FinishReason           string
	Usage                  llm.Usage
	// ResponseID is the provider's id of the reply; ResponseModel the model
	// the provider says answered, "" when it did not say.
	ResponseID, ResponseModel string
	// Provider and ModelID name the configured model that was asked.
	Provider, ModelID string
	// StartedAt is just before the call; Finished when the reply was
	// complete.
	StartedAt, Finished time.Time
}

// ModelMetadata is Mastra's modelMetadata: the configured model, beside
// the modelId the provider reported.
type ModelMetadata struct {
	ModelID       string `json:"modelId"`
	ModelVersion  string `json:"modelVersion"`
	ModelProvider string `json:"modelProvider"`
}

// Metadata returns the step's configured model as Mastra's modelMetadata.
func (st Step) Metadata() ModelMetadata {
	id := st.ModelID
	if id == "" {
		id = st.Provider
	}
	return ModelMetadata{ModelID: id, ModelVersion: "v2", ModelProvider: st.Provider}
}

// ReportedModel is the model the provider said answered, or the
// configured one when it did not say.
func (st Step) ReportedModel() string {
	if st.ResponseModel != "" {
		return st.ResponseModel
	}
	return st.Metadata().ModelID
}

// ProviderMetadata is Mastra's providerMetadata of a step: keyed by the
// provider, with the cache and reasoning counts the provider reported.
func ProviderMetadata(provider string, u llm.Usage) map[string]any {
	m := map[string]any{}
	if u.CacheReadTokens > 0 {
		m["cachedPromptTokens"] = u.CacheReadTokens
	}
	if u.CacheWriteTokens > 0 {
		m["cacheCreationInputTokens"] = u.CacheWriteTokens
	}
	if u.ReasoningTokens > 0 {
		m["reasoningTokens"] = u.ReasoningTokens
	}
	if provider == "" {
		provider = "unknown"
	}
	return map[string]any{provider: m}
}

// AppendProviderMetadata writes ProviderMetadata(provider, u)'s JSON after
// dst, as json.Marshal does (keys sorted), without the maps.
func AppendProviderMetadata(dst []byte, provider string, u llm.Usage) []byte {
	if provider == "" {
		provider = "unknown"
	}
	b := append(dst, '{')
	b = jsonenc.String(b, provider)
	b = append(b, ":{"...)
	sep := false
	for _, f := range [...]struct {
		key string
		n   int
	}{{"cacheCreationInputTokens", u.CacheWriteTokens}, {"cachedPromptTokens", u.CacheReadTokens}, {"reasoningTokens", u.ReasoningTokens}} {
		if f.n > 0 {
			if sep {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, f.key...)
			b = append(b, `":`...)
			b = jsonenc.Int(b, int64(f.n))
			sep = true
		}
	}
	return append(b, "}}"...)
}

// ModelSettings are optional sampling settings; nil leaves the provider's
// default. Check reports values out of range.
type ModelSettings struct {
	Temperature      *float64
	MaxTokens        *int
	TopP             *float64
	Seed             *int
	Stop             []string
	PresencePenalty  *float64
	FrequencyPenalty *float64
	TopK             *int
	// MaxRetries lowers the provider's configured retries (never raises
	// them).
	MaxRetries *int
}

// Result is a completed turn, shaped after Mastra's generate response.
type Result struct {
	RunID, ThreadID, ResourceID string
	// MessageID is the id of the saved assistant message.
	MessageID string
	// Text is the reply text of every step, joined.
	Text string
	// FinishReason is the last step's reason ("stop", "length",
	// "tool-calls", …).
	FinishReason string
	// Usage is the token count summed over the steps.
	Usage llm.Usage
	// ToolCalls are the "tool-call" chunks of the turn; ToolResults the
	// "tool-result" and "tool-error" chunks, in order.
	ToolCalls, ToolResults []Chunk
	// Steps is the number of model calls.
	Steps int
	// Messages are the messages this turn saved: the input, then the reply.
	Messages []memory.Message
	// Remembered are the history messages loaded into the prompt.
	Remembered []memory.Message
	// Model is the "provider/model" that answered the turn's last step:
	// the agent's model, or the fallback it moved to.
	Model string
	// Suspension, when FinishReason is FinishSuspended, is what the turn
	// waits for (approval.go).
	Suspension *Suspension
	// StepResults are the model calls of the turn, in order (empty for a
	// replayed turn).
	StepResults []Step
	// Object is the structured output's value (nil without one, or when
	// it failed under the warn strategy); UsedFallbackValue says it is the
	// fallback value.
	Object            json.RawMessage
	UsedFallbackValue bool
	// Replayed is set when the turn was not run but read back: a request
	// with the same idempotency key saved it before. Its ToolCalls and
	// ToolResults are then empty.
	Replayed bool
}
