package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Message roles, as spelled on the OpenAI wire and in Mastra.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Finish reasons, in Mastra's spelling. Providers' own values are mapped to
// these; a value the package does not know becomes FinishOther.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool-calls"
	FinishContentFilter = "content-filter"
	FinishOther         = "other"
)

// Message is one entry of a conversation sent to a model.
type Message struct {
	// Role is one of RoleSystem, RoleUser, RoleAssistant or RoleTool.
	Role string
	// Content is the message text. For an assistant message that only calls
	// tools it may be empty.
	Content string
	// ToolCalls are the calls an assistant message made, replayed to the
	// model on the next step of a tool loop.
	ToolCalls []ToolCall
	// ToolCallID links a RoleTool message (the tool's result, in Content) to
	// the ToolCall it answers.
	ToolCallID string
	// Name is an optional participant name, sent as is.
	Name string
	// Reasoning is an assistant message's thinking, replayed to providers
	// that require it back (Anthropic, during a tool loop with extended
	// thinking); the others ignore it.
	Reasoning []Reasoning
}

// Reasoning is one block of a model's thinking.
type Reasoning struct {
	// Text is the thinking, as the model wrote it (empty when redacted).
	Text string
	// Signature is the provider's signature of Text, which must come back
	// unchanged when the block is replayed.
	Signature string
	// Redacted is the provider's encrypted thinking, sent instead of Text
	// when the thinking was flagged; it is replayed as is.
	Redacted string
}

// ToolCall is a model's request to run one tool.
type ToolCall struct {
	// ID is the provider's id for the call, echoed back in the tool's result
	// message (Message.ToolCallID).
	ID string
	// Name is the tool's name.
	Name string
	// Arguments is the JSON object text the model produced, as produced: an
	// empty argument string becomes "{}", but the text is otherwise not
	// checked, so callers should check json.Valid before embedding it in
	// other JSON.
	Arguments json.RawMessage
}

// Tool describes a function the model may call.
type Tool struct {
	// Name is the function name the model uses in its calls.
	Name string
	// Description tells the model what the tool does.
	Description string
	// Parameters is the JSON Schema of the arguments object. Empty means an
	// object with no properties.
	Parameters json.RawMessage
}

// Request is one call to a model.
type Request struct {
	// Model is the provider's model name (OpenAI) or deployment name (Azure).
	Model string
	// Messages is the conversation, system prompt first.
	Messages []Message
	// Tools are the functions the model may call.
	Tools []Tool
	// ToolChoice is "auto", "none" or "required", or the name of one tool the
	// model must call. Empty leaves the provider's default. It is not sent
	// when Tools is empty.
	ToolChoice string
	// Temperature, MaxTokens, TopP, Stop, Seed, PresencePenalty and
	// FrequencyPenalty are sampling settings; nil or empty leaves the
	// provider's default. MaxTokens is sent as max_tokens, or as
	// max_completion_tokens when the client is configured so.
	Temperature      *float64
	MaxTokens        *int
	TopP             *float64
	Stop             []string
	Seed             *int
	PresencePenalty  *float64
	FrequencyPenalty *float64
	// TopK samples from the K likeliest tokens (Anthropic's top_k); the
	// OpenAI wire has no such field, so it is an *UnsupportedSettingError
	// there.
	TopK *int
	// MaxRetries lowers the client's configured retries for this request;
	// it never raises them. nil keeps the configured number.
	MaxRetries *int
	// ResponseFormat, when set, asks for a reply that is one JSON document
	// matching its schema, in the provider's native form (see
	// ResponseFormat). The reply's JSON arrives as Response.Text and
	// Delta.Text, whatever the provider's form.
	ResponseFormat *ResponseFormat
}

// ResponseFormat asks a model for structured output.
//
// OpenAI-compatible providers (and Azure) get a strict "json_schema"
// response_format named Name. Anthropic gets output_config.format for the
// models that support it and, for older ones (claude-3*, the first Claude 4
// releases) and non-Claude models behind its API, a forced tool "json" whose
// input is the reply; the tool call is handed back as text either way.
type ResponseFormat struct {
	// Name names the schema on the wire; empty sends "response", as Mastra
	// does.
	Name string
	// Schema is the JSON Schema of the reply. It is sent as is: making it
	// acceptable to a strict provider is the caller's business.
	Schema json.RawMessage
}

func (f *ResponseFormat) name() string {
	if f.Name == "" {
		return "response"
	}
	return f.Name
}

// Usage counts tokens for one call.
type Usage struct {
	// InputTokens counts the whole prompt, cached parts included.
	InputTokens  int
	OutputTokens int
	TotalTokens  int
	// CacheReadTokens is the part of InputTokens read from the provider's
	// prompt cache; CacheWriteTokens the part written to it (Anthropic).
	CacheReadTokens  int
	CacheWriteTokens int
	// ReasoningTokens is the part of OutputTokens a reasoning model spent
	// thinking (OpenAI's completion_tokens_details), when reported.
	ReasoningTokens int
}

// Add returns u plus v, field by field.
func (u Usage) Add(v Usage) Usage {
	return Usage{InputTokens: u.InputTokens + v.InputTokens, OutputTokens: u.OutputTokens + v.OutputTokens,
		TotalTokens: u.TotalTokens + v.TotalTokens, CacheReadTokens: u.CacheReadTokens + v.CacheReadTokens,
		CacheWriteTokens: u.CacheWriteTokens + v.CacheWriteTokens, ReasoningTokens: u.ReasoningTokens + v.ReasoningTokens}
}

// Response is a model's whole reply.
type Response struct {
	// ID is the provider's id for the completion.
	ID string
	// Model is the model that answered, as the provider reports it.
	Model string
	// Text is the reply text.
	Text string
	// Reasoning is the model's thinking before or between its answers, in
	// order (Anthropic's extended thinking).
	Reasoning []Reasoning
	// ToolCalls are the tools the model asked to run, in order.
	ToolCalls []ToolCall
	// FinishReason is FinishStop, FinishLength, FinishToolCalls,
	// FinishContentFilter or FinishOther.
	FinishReason string
	// Usage is the token count, zero when the provider did not report it.
	Usage Usage
}

// Delta is one streamed piece of a reply. A piece carries text or thinking,
// or starts a tool call, or continues one; fields that do not apply are zero.
type Delta struct {
	// Text is the next piece of reply text.
	Text string
	// Reasoning is the next piece of the model's thinking.
	Reasoning string
	// ToolCallStart is set on the first piece of a tool call and carries its
	// ID and Name (Arguments is empty; the arguments follow in ArgsDelta).
	ToolCallStart *ToolCall
	// ToolCallIndex is the position of the tool call in Response.ToolCalls.
	// It is meaningful only when ToolCallStart is set or ArgsDelta is not
	// empty.
	ToolCallIndex int
	// ArgsDelta is the next fragment of the tool call's arguments text.
	ArgsDelta string
}

// Model is a chat model. Implementations are safe for concurrent use.
type Model interface {
	// Generate asks for the whole reply (stream:false on the wire).
	Generate(ctx context.Context, req Request) (*Response, error)
	// Stream asks for a streamed reply (stream:true, SSE on the wire), calls
	// onDelta for each piece in order as it arrives (tool-call argument
	// fragments are assembled into Response.ToolCalls), and returns the
	// assembled Response when the stream ends. If onDelta returns an error
	// the upstream request is cancelled and that error is returned as is.
	Stream(ctx context.Context, req Request, onDelta func(Delta) error) (*Response, error)
}

// ErrUnavailable reports that the provider could not be reached (connection
// refused, reset, DNS failure) or kept failing with 429 or 5xx after the
// retries. Callers map it to HTTP 503. A *StatusError with such a status
// matches it with errors.Is.
var ErrUnavailable = errors.New("llm: provider unavailable")

// StatusError is an error the provider reported: a non-2xx HTTP status, or
// an error object in the body of a 200 response (StatusCode 0), such as one
// sent in the middle of a stream.
//
// Message is short and safe to log: at most about 200 characters of the
// provider's own error message, with the API key removed should the provider
// echo it. Request headers are never included.
type StatusError struct {
	// Provider names the provider, e.g. "openai" or "azure".
	Provider string
	// StatusCode is the HTTP status, or 0 for an error reported inside a
	// successful (200) response.
	StatusCode int
	// Type is the provider's error type or code when it sent one, e.g.
	// "rate_limit_exceeded", "invalid_api_key" or "content_filter".
	Type string
	// Message is the provider's message, shortened; it falls back to the
	// HTTP status text.
	Message string
	// RetryAfter is the wait the provider asked for (Retry-After), if any.
	RetryAfter time.Duration
}

// Error reports the provider, the status and the message.
func (e *StatusError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("llm: %s: error in response: %s", e.Provider, e.Message)
	}
	status := http.StatusText(e.StatusCode)
	if status == "" {
		status = "status"
	}
	return fmt.Sprintf("llm: %s: %d %s: %s", e.Provider, e.StatusCode, status, e.Message)
}

// Is reports whether target is ErrUnavailable and the status is one that
// means the provider is overloaded or down (429 or 5xx, or Anthropic's
// overloaded_error sent inside a stream).
func (e *StatusError) Is(target error) bool {
	return target == ErrUnavailable && (e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500 ||
		(e.StatusCode == 0 && e.Type == "overloaded_error"))
}

// UnsupportedSettingError reports a request setting that the provider has
// no field for. It is returned before anything is sent; callers answer 400
// naming the setting.
type UnsupportedSettingError struct {
	Provider string
	// Setting is the Request field's name, e.g. "Seed".
	Setting string
	// Reason says why, when the provider has the setting but not in this
	// configuration; empty when it has no such setting at all.
	Reason string
}

func (e *UnsupportedSettingError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("llm: %s: %s is not supported %s", e.Provider, e.Setting, e.Reason)
	}
	return fmt.Sprintf("llm: %s: the provider has no %s setting", e.Provider, e.Setting)
}

// Compile-time checks that the providers implement Model.
var (
	_ Model = (*OpenAI)(nil)
	_ Model = (*Azure)(nil)
	_ Model = (*Anthropic)(nil)
	_ Model = Echo{}
)
