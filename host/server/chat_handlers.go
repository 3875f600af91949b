package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/runlog"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// POST /chat/:agentId is the agent's turn for the Vercel AI SDK's useChat
// (the path of Mastra's chatRoute): useChat's body in, the AI SDK UI message
// stream (protocol v1) out. It is a third face over the same agent Stream
// as /agent/stream and Mastra's stream route.

// chatBody is what useChat's DefaultChatTransport posts: its own fields
// (id, messages, trigger, messageId) plus ours, sent through its `body`
// option.
type chatBody struct {
	ID             string                     `json:"id"`
	Messages       json.RawMessage            `json:"messages"`
	Trigger        string                     `json:"trigger"`
	MessageID      string                     `json:"messageId"`
	ThreadID       string                     `json:"threadId"`
	ResourceID     string                     `json:"resourceId"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
	// StructuredOutput is Mastra's option: the JSON streams as the text.
	StructuredOutput *structuredOutputBody `json:"structuredOutput"`
	// Resumable is ours: see rootBody.
	Resumable bool `json:"resumable"`
}

const (
	triggerSubmit     = "submit-message"
	triggerRegenerate = "regenerate-message"
)

func (s *Server) chatTurn(w http.ResponseWriter, r *http.Request, resumable *bool) (agent.Input, error) {
	var b chatBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return agent.Input{}, err
	}
	*resumable = b.Resumable
	const where = "Invalid request body"
	switch b.Trigger {
	case "", triggerSubmit, triggerRegenerate:
	default:
		return agent.Input{}, transport.Invalid(where, "trigger", "expected submit-message or regenerate-message")
	}
	if msg := badThreadID(b.ID); msg != "" {
		return agent.Input{}, transport.Invalid(where, "id", msg)
	}
	if msg := badThreadID(b.ThreadID); msg != "" {
		return agent.Input{}, transport.Invalid(where, "threadId", msg)
	}
	if err := checkIDs(where, "messageId", b.MessageID); err != nil {
		return agent.Input{}, err
	}
	user, err := lastUserMessage(b.Messages)
	if err != nil {
		return agent.Input{}, err
	}
	res, err := s.resource(r, bodyClaim(b.ResourceID, "resourceId"), useDefault)
	if err != nil {
		return agent.Input{}, err
	}
	thread := b.ThreadID
	if thread == "" {
		thread = b.ID
	}
	in := agent.Input{
		AgentID:    httprouter.ParamsFromContext(r.Context()).ByName("agentId"),
		ThreadID:   thread,
		ResourceID: res,
		// Only the new message: useChat resends the whole conversation,
		// and the thread's memory already holds the rest.
		Messages:       []llm.Message{user},
		RequestContext: requestValues(r, b.RequestContext),
	}
	// A retried submit resends the same message id: the turn is replayed,
	// not run twice. A regenerate resends it on purpose, for a new answer.
	if b.Trigger != triggerRegenerate {
		in.IdempotencyKey = clientMessageKey(b.Messages)
	}
	if in.StructuredOutput, err = s.structuredOutput(b.StructuredOutput); err != nil {
		return in, err
	}
	return s.checkAgent(in)
}

// lastUserMessage is the last user message of useChat's messages, as text.
func lastUserMessage(raw json.RawMessage) (llm.Message, error) {
	bad := func(field, msg string) error { return transport.Invalid("Invalid request body", field, msg) }
	if len(raw) == 0 || string(raw) == "null" {
		return llm.Message{}, bad("messages", "messages is required")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return llm.Message{}, bad("messages", "expected an array of UI messages")
	}
	// Every message is checked, though only the last user message is used:
	// a body useChat could not have sent is refused whole.
	var user llm.Message
	found := false
	for i, item := range items {
		field := fmt.Sprintf("messages[%d]", i)
		var m inMessage
		if err := json.Unmarshal(item, &m); err != nil {
			return llm.Message{}, bad(field, "expected a UI message object")
		}
		msgs, err := m.toLLM()
		if err != nil {
			return llm.Message{}, bad(field, err.Error())
		}
		if m.Role != "user" {
			continue
		}
		if len(msgs) == 0 || strings.TrimSpace(msgs[0].Content) == "" {
			return llm.Message{}, bad(field, "the user message has no text part")
		}
		if msg := badText(msgs[0].Content); msg != "" {
			return llm.Message{}, bad(field, msg)
		}
		user, found = llm.Message{Role: llm.RoleUser, Content: msgs[0].Content}, true
	}
	if found {
		return user, nil
	}
	return llm.Message{}, bad("messages", "no user message")
}

func (s *Server) chatStream(w http.ResponseWriter, r *http.Request) error {
	var resumable bool
	in, err := s.chatTurn(w, r, &resumable)
	if err != nil {
		return err
	}
	return s.streamAs(w, r, in, &uiFace{}, resumable)
}

// chatResume answers useChat's reconnect (resume: true): the running
// resumable turn of the chat, replayed from its start (or after
// Last-Event-ID) and then live, as UI chunks; 204, the protocol's "nothing
// is running", when there is none. The resource is decided as for the
// chat's POST.
func (s *Server) chatResume(w http.ResponseWriter, r *http.Request) error {
	p := httprouter.ParamsFromContext(r.Context())
	agentID, chatID := p.ByName("agentId"), p.ByName("chatId")
	if _, err := s.findAgent(agentID); err != nil {
		return err
	}
	if msg := badThreadID(chatID); msg != "" {
		return transport.Invalid("Invalid path parameters", "chatId", msg)
	}
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	res, err := s.resource(r, queryClaim(r), useDefault)
	if err != nil {
		return err
	}
	if s.runs != nil {
		info, err := s.runningChat(r.Context(), res, agentID, chatID)
		switch {
		case err == nil:
			return s.follow(w, r, info, after, &uiFace{})
		case !errors.Is(err, errRunNotFound):
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// uiFace writes agent chunks as AI SDK UI message chunks. Each UI chunk
// carries the sequence number of the agent chunk it stands for as its id
// (an agent chunk without a UI chunk sends none, so ids may skip).
type uiFace struct{}

func (f *uiFace) headers(in agent.Input) map[string]string {
	return map[string]string{"X-Vercel-AI-UI-Message-Stream": "v1", "X-Thread-Id": in.ThreadID, "X-Resource-Id": in.ResourceID, "X-Run-Id": in.RunID}
}

// uiChunk is one UI message chunk; the AI SDK's schema is loose, and each
// type reads only its own fields.
type uiChunk struct {
	Type           string          `json:"type"`
	MessageID      string          `json:"messageId,omitempty"`
	ID             string          `json:"id,omitempty"`
	Delta          *string         `json:"delta,omitempty"`
	ToolCallID     string          `json:"toolCallId,omitempty"`
	ToolName       string          `json:"toolName,omitempty"`
	InputTextDelta *string         `json:"inputTextDelta,omitempty"`
	Input          json.RawMessage `json:"input,omitempty"`
	Output         json.RawMessage `json:"output,omitempty"`
	ErrorText      string          `json:"errorText,omitempty"`
	FinishReason   string          `json:"finishReason,omitempty"`
	Data           json.RawMessage `json:"data,omitempty"`
}

func (f *uiFace) send(sse *transport.SSE, seq int64, c agent.Chunk, _ []byte, hold bool) error {
	if c.Type == agent.ChunkToolCallApproval || c.Type == agent.ChunkToolCallSuspended {
		// The UI stream has no approval chunk every AI SDK major reads: a
		// data part carries it (data-tool-call-approval, with the run id
		// the approve and decline routes take).
		data, err := json.Marshal(map[string]any{"runId": c.RunID, "payload": c.Payload})
		if err != nil {
			return err
		}
		b, err := json.Marshal(uiChunk{Type: "data-" + c.Type, Data: data})
		if err != nil {
			return err
		}
		return sse.Send(seq, b, true)
	}
	for _, u := range f.translate(c.Type, c.Fields()) {
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		if err := sse.Send(seq, b, !hold || !agent.Holdable(c.Type)); err != nil {
			return err
		}
	}
	return nil
}

// translate maps one agent chunk to the UI chunks it stands for.
func (f *uiFace) translate(typ string, p agent.Fields) []uiChunk {
	switch typ {
	case agent.ChunkStart:
		return []uiChunk{{Type: "start", MessageID: p.MessageID}}
	case agent.ChunkStepStart:
		return []uiChunk{{Type: "start-step"}}
	case agent.ChunkTextStart:
		return []uiChunk{{Type: "text-start", ID: p.ID}}
	case agent.ChunkTextDelta:
		return []uiChunk{{Type: "text-delta", ID: p.ID, Delta: &p.Text}}
	case agent.ChunkTextEnd:
		return []uiChunk{{Type: "text-end", ID: p.ID}}
	case agent.ChunkReasoningStart:
		return []uiChunk{{Type: "reasoning-start", ID: p.ID}}
	case agent.ChunkReasoningDelta:
		return []uiChunk{{Type: "reasoning-delta", ID: p.ID, Delta: &p.Text}}
	case agent.ChunkReasoningEnd:
		return []uiChunk{{Type: "reasoning-end", ID: p.ID}}
	case agent.ChunkToolInputStart:
		return []uiChunk{{Type: "tool-input-start", ToolCallID: p.ToolCallID, ToolName: p.ToolName}}
	case agent.ChunkToolCallDelta:
		return []uiChunk{{Type: "tool-input-delta", ToolCallID: p.ToolCallID, InputTextDelta: &p.ArgsTextDelta}}
	case agent.ChunkToolCall:
		return []uiChunk{{Type: "tool-input-available", ToolCallID: p.ToolCallID, ToolName: p.ToolName, Input: orNull(p.Args)}}
	case agent.ChunkToolResult:
		return []uiChunk{{Type: "tool-output-available", ToolCallID: p.ToolCallID, Output: orNull(p.Result)}}
	case agent.ChunkToolError:
		return []uiChunk{{Type: "tool-output-error", ToolCallID: p.ToolCallID, ErrorText: nonEmpty(p.ErrorMessage, "tool failed")}}
	case agent.ChunkStepFinish:
		return []uiChunk{{Type: "finish-step"}}
	case agent.ChunkFinish:
		return []uiChunk{{Type: "finish", FinishReason: uiFinishReason(p.Reason)}}
	case agent.ChunkError:
		return []uiChunk{{Type: "error", ErrorText: nonEmpty(p.ErrorMessage, "the turn failed")}}
	}
	// tool-call-input-streaming-end has no UI chunk: tool-input-available
	// follows it.
	return nil
}

// uiFinishReason keeps a finish reason inside the set every AI SDK major
// version accepts (v5 also has "unknown", v7 "interrupted"; neither is in
// both, see operations.md §4.1).
func uiFinishReason(r string) string {
	switch r {
	case "stop", "length", "content-filter", "tool-calls", "error", "other":
		return r
	}
	return "other"
}

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// runningChat is the running resumable turn of a chat; errRunNotFound when
// there is none.
func (s *Server) runningChat(ctx context.Context, res, agentID, chatID string) (runlog.Info, error) {
	runID, err := s.runs.Running(ctx, res, agentID, chatID)
	if errors.Is(err, runlog.ErrNotFound) {
		return runlog.Info{}, errRunNotFound
	}
	if err != nil {
		return runlog.Info{}, err
	}
	return s.findRun(ctx, runID, res, agentID)
}
