package agent

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mastra-server/mastra-server/host/llm"
)

// The end of a stream cut short is written here and nowhere else: by the
// agent for every live turn that does not finish (a failure, a save the
// commit gate refused, a cancellation with an EndCause: a shutdown, a run
// another instance took over), and by the stream log for a run whose
// runner died, from the chunks it logged. Both follow the chunks that went
// out with a Tracker and end with its End, so a client sees the same end
// whichever of them wrote it, and the HTTP faces track nothing.

// LostRunMessage is the error message of a stream whose runner stopped:
// what the instance that takes the run over logs, and what the runner's own
// client gets when it finds out.
const LostRunMessage = "the server running this stream stopped"

// EndCause cancels a streaming turn (context.WithCancelCause) that the
// agent still ends, with Message as the "error" chunk's message: a
// shutdown, a run another instance took over. A turn cancelled for any
// other cause (its client went away) ends without chunks: nobody is there
// to read them.
type EndCause struct {
	Reason  string // the error's text, for logs
	Message string // what the client is told
}

func (e *EndCause) Error() string { return e.Reason }

// Tracker follows the chunks of one stream so that the stream can be
// ended, as a failed turn: the open text and reasoning blocks ended, an
// "error" chunk, then "step-finish" (when a step is open) and "finish" with
// reason "error", carrying the output so far (text, tool calls, usage) and
// the model's id.
type Tracker struct {
	runID, messageID, modelID string
	openText, openReasoning   string
	stepOpen, finished        bool
	text                      strings.Builder
	toolCalls                 []Chunk
	usage                     llm.Usage
}

// NewTracker returns a tracker of run runID ("" to take it from the
// chunks).
func NewTracker(runID string) *Tracker { return &Tracker{runID: runID} }

// Track notes one chunk that went out.
func (t *Tracker) Track(c Chunk) {
	if t.runID == "" {
		t.runID = c.RunID
	}
	switch c.Type {
	case ChunkStart, ChunkTextStart, ChunkTextDelta, ChunkReasoningStart, ChunkToolCall, ChunkStepFinish:
	case ChunkStepStart:
		t.stepOpen = true
		return
	case ChunkTextEnd:
		t.openText = ""
		return
	case ChunkReasoningEnd:
		t.openReasoning = ""
		return
	case ChunkFinish:
		t.finished = true
		return
	default:
		return
	}
	f := c.Fields()
	switch c.Type {
	case ChunkStart:
		t.messageID = f.MessageID
		t.modelID = f.ModelID
	case ChunkTextStart:
		t.openText = f.ID
	case ChunkTextDelta:
		t.text.WriteString(f.Text)
	case ChunkReasoningStart:
		t.openReasoning = f.ID
	case ChunkToolCall:
		t.toolCalls = append(t.toolCalls, c)
	case ChunkStepFinish:
		t.stepOpen = false
		t.usage = t.usage.Add(f.Usage)
		if f.ModelID != "" {
			t.modelID = f.ModelID
		}
	}
}

// Finished reports that a "finish" chunk went out.
func (t *Tracker) Finished() bool { return t.finished }

// End returns the chunks that end the stream as a failed turn, with msg as
// the error's message, and notes that it is finished.
func (t *Tracker) End(msg string) []Chunk {
	chunk := func(typ string, payload any) Chunk {
		return Chunk{Type: typ, RunID: t.runID, From: "AGENT", Payload: payload}
	}
	var out []Chunk
	if t.openText != "" {
		out = append(out, chunk(ChunkTextEnd, textEndPayload{Type: ChunkTextEnd, ID: t.openText}))
	}
	if t.openReasoning != "" {
		out = append(out, chunk(ChunkReasoningEnd, textEndPayload{Type: ChunkReasoningEnd, ID: t.openReasoning}))
	}
	out = append(out, chunk(ChunkError, errorPayload{Type: ChunkError, Error: errorObject{Message: msg, Name: "Error"}}))
	res := stepResult{Reason: FinishError, Warnings: []any{}}
	output := stepOutput{Text: t.text.String(), ToolCalls: nonNil(t.toolCalls), Usage: usageOf(t.usage)}
	meta := stepMetadata{ModelID: t.modelID}
	if t.stepOpen {
		out = append(out, chunk(ChunkStepFinish, stepFinishPayload{MessageID: t.messageID, StepResult: res, Output: output, Metadata: meta}))
	}
	out = append(out, chunk(ChunkFinish, finishPayload{MessageID: t.messageID, StepResult: res, Output: output,
		Metadata: meta, Usage: usageOf(t.usage)}))
	t.openText, t.openReasoning, t.stepOpen, t.finished = "", "", false, true
	return out
}

// EndLost returns the chunks that end a run whose runner died, given the
// chunks the runner logged (for runlog.Options.Terminate): those End
// writes, with LostRunMessage.
func EndLost(runID string, logged [][]byte) [][]byte {
	t := NewTracker(runID)
	for _, raw := range logged {
		c, err := ParseChunk(raw)
		if err != nil {
			continue // the log holds only chunks the agent made
		}
		t.Track(c)
	}
	var out [][]byte
	for _, c := range t.End(LostRunMessage) {
		b, _ := json.Marshal(c) // the agent's payload types always marshal
		out = append(out, b)
	}
	return out
}

// ParseChunk reads a chunk as the stream log holds it: its payload stays
// JSON until Fields reads it.
func ParseChunk(raw []byte) (Chunk, error) {
	var c struct {
		Type    string          `json:"type"`
		RunID   string          `json:"runId"`
		From    string          `json:"from"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Chunk{}, fmt.Errorf("agent: parse chunk: %w", err)
	}
	return Chunk{Type: c.Type, RunID: c.RunID, From: c.From, Payload: c.Payload}, nil
}

// Fields are the payload fields of a chunk that its readers (the tracker,
// the AI SDK face) use; a chunk's type says which are set.
type Fields struct {
	ID            string // text and reasoning blocks
	MessageID     string
	ModelID       string // start, step-finish
	Text          string // text and reasoning deltas
	ToolCallID    string
	ToolName      string
	ArgsTextDelta string
	Args          json.RawMessage
	Result        json.RawMessage
	ErrorMessage  string    // error, tool-error
	Reason        string    // step-finish, finish
	Usage         llm.Usage // step-finish's output
}

// Fields returns c's payload fields, from the agent's payload types or, for
// a parsed chunk, from its JSON.
func (c Chunk) Fields() Fields {
	switch p := c.Payload.(type) {
	case *startPayload:
		return Fields{ID: p.ID, MessageID: p.MessageID, ModelID: p.ModelID}
	case startPayload:
		return Fields{ID: p.ID, MessageID: p.MessageID, ModelID: p.ModelID}
	case stepStartPayload:
		return Fields{MessageID: p.MessageID}
	case textIDPayload:
		return Fields{ID: p.ID}
	case textDeltaPayload:
		return Fields{ID: p.ID, Text: p.Text}
	case textEndPayload:
		return Fields{ID: p.ID}
	case toolInputStartPayload:
		return Fields{ToolCallID: p.ToolCallID, ToolName: p.ToolName}
	case toolCallDeltaPayload:
		return Fields{ToolCallID: p.ToolCallID, ToolName: p.ToolName, ArgsTextDelta: p.ArgsTextDelta}
	case toolInputEndPayload:
		return Fields{ToolCallID: p.ToolCallID}
	case ToolCallPayload:
		return Fields{ToolCallID: p.ToolCallID, ToolName: p.ToolName, Args: p.Args}
	case toolResultPayload:
		return Fields{ToolCallID: p.ToolCallID, ToolName: p.ToolName, Args: p.Args, Result: p.Result}
	case toolErrorPayload:
		return Fields{ToolCallID: p.ToolCallID, ToolName: p.ToolName, Args: p.Args, ErrorMessage: p.Error.Message}
	case errorPayload:
		return Fields{ErrorMessage: p.Error.Message}
	case stepFinishPayload:
		return Fields{MessageID: p.MessageID, ModelID: p.Metadata.ModelID, Reason: p.StepResult.Reason, Usage: p.Output.Usage.usage()}
	case finishPayload:
		return Fields{MessageID: p.MessageID, ModelID: p.Metadata.ModelID, Reason: p.StepResult.Reason, Usage: p.Output.Usage.usage()}
	case json.RawMessage:
		return parseFields(p)
	}
	return Fields{}
}

// parseFields reads the fields of a payload given as JSON.
func parseFields(raw json.RawMessage) Fields {
	var p struct {
		ID            string          `json:"id"`
		MessageID     string          `json:"messageId"`
		ModelID       string          `json:"modelId"`
		Text          string          `json:"text"`
		ToolCallID    string          `json:"toolCallId"`
		ToolName      string          `json:"toolName"`
		ArgsTextDelta string          `json:"argsTextDelta"`
		Args          json.RawMessage `json:"args"`
		Result        json.RawMessage `json:"result"`
		Error         errorObject     `json:"error"`
		StepResult    stepResult      `json:"stepResult"`
		Output        stepOutput      `json:"output"`
		Metadata      stepMetadata    `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &p) // a payload that does not parse has no fields
	model := p.ModelID
	if p.Metadata.ModelID != "" {
		model = p.Metadata.ModelID
	}
	return Fields{ID: p.ID, MessageID: p.MessageID, ModelID: model, Text: p.Text, ToolCallID: p.ToolCallID,
		ToolName: p.ToolName, ArgsTextDelta: p.ArgsTextDelta, Args: p.Args, Result: p.Result,
		ErrorMessage: p.Error.Message, Reason: p.StepResult.Reason, Usage: p.Output.Usage.usage()}
}
