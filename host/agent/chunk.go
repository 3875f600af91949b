package agent

import (
	"encoding/json"

	"github.com/mastra-server/mastra-server/host/llm"
)

// Chunk types emitted by Stream, in Mastra's spelling.
const (
	ChunkStart          = "start"
	ChunkStepStart      = "step-start"
	ChunkTextStart      = "text-start"
	ChunkTextDelta      = "text-delta"
	ChunkTextEnd        = "text-end"
	ChunkReasoningStart = "reasoning-start"
	ChunkReasoningDelta = "reasoning-delta"
	ChunkReasoningEnd   = "reasoning-end"
	ChunkToolInputStart = "tool-call-input-streaming-start"
	ChunkToolCallDelta  = "tool-call-delta"
	ChunkToolInputEnd   = "tool-call-input-streaming-end"
	ChunkToolCall       = "tool-call"
	ChunkToolResult     = "tool-result"
	ChunkToolError      = "tool-error"
	// ChunkToolOutput carries a chunk of a tool's own run (a sub-agent's)
	// while the tool runs.
	ChunkToolOutput = "tool-output"
	ChunkStepFinish = "step-finish"
	ChunkFinish     = "finish"
	ChunkError      = "error"
)

// Holdable reports whether a chunk of type typ may wait in the writer's
// buffer rather than be flushed at once: either another chunk always
// follows it straight away (the starts; text-end, which the step's tool
// calls or its step-finish follow), or it is a delta, and the stream
// flushes held deltas before the model's stream waits on the network
// (llm.WithBeforeRead), or it is the turn's finish, after which only its
// object-result or the stream's end comes, with nothing to wait for in
// between. Both of the server's stream faces ask it, so they coalesce
// alike.
func Holdable(typ string) bool {
	switch typ {
	case ChunkStart, ChunkStepStart, ChunkTextStart, ChunkReasoningStart,
		ChunkTextDelta, ChunkReasoningDelta, ChunkToolCallDelta,
		ChunkTextEnd, ChunkFinish:
		return true
	}
	return false
}

// FinishError is the finish reason of a turn that failed mid-stream.
const FinishError = "error"

// Chunk is one event of a Mastra agent stream: {type, runId, from,
// payload}. From is always "AGENT". Payload is a value that marshals to the
// payload Mastra sends for Type; see the package documentation.
type Chunk struct {
	Type    string `json:"type"`
	RunID   string `json:"runId"`
	From    string `json:"from"`
	Payload any    `json:"payload,omitempty"`
	// Object is the value of "object" and "object-result" chunks, which
	// Mastra puts at the top level and which have no payload.
	Object json.RawMessage `json:"object,omitempty"`
	// Metadata is Mastra's chunk metadata ({"fallback": true} on an
	// object-result carrying the fallback value).
	Metadata map[string]any `json:"metadata,omitempty"`
}

// startPayload is Mastra's {id, messageId} and ours: threadId,
// resourceId, and the model that answers the first step (modelId and
// provider, spelled as in step-finish's metadata and a saved message's
// metadata), which is a fallback's when the agent's model failed.
type startPayload struct {
	ID         string `json:"id"`
	MessageID  string `json:"messageId"`
	ThreadID   string `json:"threadId"`
	ResourceID string `json:"resourceId"`
	ModelID    string `json:"modelId"`
	Provider   string `json:"provider"`
}

type stepStartPayload struct {
	MessageID string `json:"messageId"`
	// StartedAt is epoch ms just before the model call.
	StartedAt int64    `json:"startedAt,omitempty"`
	Request   struct{} `json:"request"`
	Warnings  []any    `json:"warnings"`
}

type textIDPayload struct {
	ID string `json:"id"`
}

type textDeltaPayload struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

type textEndPayload struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type toolInputStartPayload struct {
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName"`
}

type toolCallDeltaPayload struct {
	ArgsTextDelta string `json:"argsTextDelta"`
	ToolCallID    string `json:"toolCallId"`
	ToolName      string `json:"toolName"`
}

type toolInputEndPayload struct {
	ToolCallID string `json:"toolCallId"`
}

// ToolCallPayload is the payload of a "tool-call" chunk, as in
// Result.ToolCalls.
type ToolCallPayload struct {
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"`
	Args       json.RawMessage `json:"args"`
	// stepUsage is the usage of the model call that made the call, for a
	// network's routing-agent-end (network.go); not sent.
	stepUsage llm.Usage
}

type toolResultPayload struct {
	Args       json.RawMessage `json:"args"`
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"`
	Result     json.RawMessage `json:"result"`
}

type toolErrorPayload struct {
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"`
	Args       json.RawMessage `json:"args"`
	Error      errorObject     `json:"error"`
}

type errorObject struct {
	Message string `json:"message"`
	Name    string `json:"name"`
}

type errorPayload struct {
	Type  string      `json:"type"`
	Error errorObject `json:"error"`
}

// usagePayload is the AI SDK's usage. cachedInputTokens is its name for
// prompt-cache reads; cacheCreationInputTokens (cache writes, Anthropic) is
// ours, as the AI SDK keeps those in provider metadata.
type usagePayload struct {
	InputTokens              int `json:"inputTokens"`
	OutputTokens             int `json:"outputTokens"`
	TotalTokens              int `json:"totalTokens"`
	CachedInputTokens        int `json:"cachedInputTokens,omitempty"`
	CacheCreationInputTokens int `json:"cacheCreationInputTokens,omitempty"`
	ReasoningTokens          int `json:"reasoningTokens,omitempty"`
}

func usageOf(u llm.Usage) usagePayload {
	return usagePayload{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens,
		CachedInputTokens: u.CacheReadTokens, CacheCreationInputTokens: u.CacheWriteTokens, ReasoningTokens: u.ReasoningTokens}
}

func (p usagePayload) usage() llm.Usage {
	return llm.Usage{InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, TotalTokens: p.TotalTokens,
		CacheReadTokens: p.CachedInputTokens, CacheWriteTokens: p.CacheCreationInputTokens, ReasoningTokens: p.ReasoningTokens}
}

type stepResult struct {
	Reason      string `json:"reason"`
	Warnings    []any  `json:"warnings"`
	IsContinued bool   `json:"isContinued"`
}

type stepOutput struct {
	Text      string       `json:"text"`
	ToolCalls []Chunk      `json:"toolCalls"`
	Usage     usagePayload `json:"usage"`
	Steps     []stepValue  `json:"steps,omitempty"` // finish only (finish.go)
}

// stepMetadata is Mastra's step metadata: modelId is the model the
// provider reported, modelMetadata the configured one.
type stepMetadata struct {
	ID               string         `json:"id,omitempty"`
	Timestamp        string         `json:"timestamp,omitempty"`
	ModelID          string         `json:"modelId"`
	ModelMetadata    *ModelMetadata `json:"modelMetadata,omitempty"`
	ProviderMetadata map[string]any `json:"providerMetadata,omitempty"`
}

// responseMeta is the finish payload's response.
type responseMeta struct {
	ID            string        `json:"id"`
	ModelID       string        `json:"modelId"`
	Timestamp     string        `json:"timestamp"`
	ModelMetadata ModelMetadata `json:"modelMetadata"`
}

type stepFinishPayload struct {
	MessageID        string         `json:"messageId"`
	StepResult       stepResult     `json:"stepResult"`
	Output           stepOutput     `json:"output"`
	Metadata         stepMetadata   `json:"metadata"`
	ProviderMetadata map[string]any `json:"providerMetadata,omitempty"`
}

type finishPayload struct {
	MessageID        string         `json:"messageId"`
	StepResult       stepResult     `json:"stepResult"`
	Output           stepOutput     `json:"output"`
	Metadata         stepMetadata   `json:"metadata"`
	Usage            usagePayload   `json:"usage"`
	TotalUsage       *usagePayload  `json:"totalUsage,omitempty"`
	ProviderMetadata map[string]any `json:"providerMetadata,omitempty"`
	Response         *responseMeta  `json:"response,omitempty"`
	// Messages is Mastra's {all, user, nonUser} (finish.go).
	Messages *finishMessages `json:"messages,omitempty"`
}

// argsJSON returns a tool call's arguments as JSON for chunks and storage:
// the text itself when it is valid JSON, otherwise the text as a JSON
// string, so a model's broken arguments never break the stream.
func argsJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	if json.Valid(raw) {
		return raw
	}
	b, _ := json.Marshal(string(raw)) // a string always marshals
	return b
}

// toolOutputPayload wraps a chunk a running tool produced (Mastra's
// ToolStream): a sub-agent's chunk, whole, under output.
type toolOutputPayload struct {
	Output     any    `json:"output"`
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName"`
}
