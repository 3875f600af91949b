package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// domainError maps the errors of the packages below server (agent, model,
// memory) to what the client sees; nil for any other error, which
// transport.ErrorWriter then classifies (413, 504, else 500).
func domainError(err error) *transport.Error {
	if we := workflowError(err); we != nil {
		return we
	}
	var se *llm.StatusError
	var ue *llm.UnsupportedSettingError
	var le *limits.ExceededError
	var be *memory.BusyError
	var oe *agent.OptionError
	var soe *agent.StructuredOutputError
	switch {
	case errors.As(err, &oe):
		return &transport.Error{Status: http.StatusBadRequest, Message: "Invalid request body", Err: err,
			Issues: []transport.Issue{{Field: oe.Field, Message: oe.Message}}}
	case errors.As(err, &soe):
		// Mastra answers 500; 422 says the same without inviting
		// client-js to retry (and pay for) the whole turn three times.
		return &transport.Error{Status: http.StatusUnprocessableEntity, Code: soe.ID, Message: soe.Message, Err: err}
	case errors.As(err, &le):
		return limitError(le)
	case errors.Is(err, agent.ErrRunNotFound), errors.Is(err, agent.ErrRunClaimed):
		return resumeError(err).(*transport.Error)
	case errors.Is(err, agent.ErrUnknownAgent):
		return &transport.Error{Status: http.StatusNotFound, Message: "Agent not found", Err: err}
	case errors.Is(err, agent.ErrInvalidInput):
		return &transport.Error{Status: http.StatusBadRequest, Message: "Invalid request body", Err: err,
			Issues: []transport.Issue{{Field: "messages", Message: strings.TrimPrefix(err.Error(), agent.ErrInvalidInput.Error()+": ")}}}
	case errors.Is(err, agent.ErrIdempotencyKeyReused):
		// As the IETF idempotency-key draft and Stripe answer a key reused
		// with another payload.
		return &transport.Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Err: err,
			Message: "Idempotency key already used by a different request (agent, thread, resource or messages)"}
	case errors.Is(err, memory.ErrNotFound):
		return &transport.Error{Status: http.StatusNotFound, Message: "Thread not found", Err: err}
	case errors.Is(err, agent.ErrNoRecall):
		return &transport.Error{Status: http.StatusBadRequest, Message: "The agent has no semantic recall", Err: err,
			Issues: []transport.Issue{{Field: "agentId", Message: "enable agents.<id>.memory.semantic_recall to search its memory"}}}
	case errors.As(err, &be):
		return &transport.Error{Status: http.StatusTooManyRequests, Code: "busy", Err: err, RetryAfter: time.Second,
			Message: fmt.Sprintf("Too many save-messages at once: this resource may run %d at a time (memory.bulk_write_share)", be.Conns)}
	case errors.Is(err, memory.ErrMessageConflict):
		return &transport.Error{Status: http.StatusConflict, Message: "Message id already in use", Err: err}
	case errors.As(err, &ue):
		// Raised before anything reached the model, so still a client error.
		field := map[string]string{"Seed": "seed", "PresencePenalty": "presencePenalty", "FrequencyPenalty": "frequencyPenalty",
			"Temperature": "temperature", "TopP": "topP", "Stop": "stopSequences", "MaxTokens": "maxOutputTokens", "TopK": "topK"}[ue.Setting]
		msg := fmt.Sprintf("the %s model has no %s setting", ue.Provider, field)
		if ue.Reason != "" {
			msg = fmt.Sprintf("not supported by the %s model %s", ue.Provider, ue.Reason)
		}
		return &transport.Error{Status: http.StatusBadRequest, Message: "Invalid request body", Err: err,
			Issues: []transport.Issue{{Field: "modelSettings." + field, Message: msg}}}
	case errors.Is(err, llm.ErrUnavailable):
		return &transport.Error{Status: http.StatusServiceUnavailable, Message: "Model provider unavailable", Err: err}
	case errors.As(err, &se):
		return &transport.Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("Model provider error (status %d)", se.StatusCode), Err: err}
	case errors.Is(err, memory.ErrConflict):
		return threadExists(err)
	case errors.Is(err, memory.ErrUnavailable):
		return &transport.Error{Status: http.StatusServiceUnavailable, Message: "Database unavailable", Err: err}
	}
	return nil
}

// threadExists is the one answer for a thread id that is taken, by the
// caller or by anyone else.
func threadExists(err error) *transport.Error {
	return &transport.Error{Status: http.StatusConflict, Message: "Thread already exists", Code: "thread_exists", Err: err}
}
