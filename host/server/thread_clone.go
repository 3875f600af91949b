package server

import (
	"encoding/json"
	"net/http"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/wire"
)

// cloneThreadBody is Mastra's clone body.
type cloneThreadBody struct {
	NewThreadID    string                     `json:"newThreadId"`
	ResourceID     string                     `json:"resourceId"`
	Title          string                     `json:"title"`
	Metadata       map[string]any             `json:"metadata"`
	Options        *cloneOptions              `json:"options"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
}

type cloneOptions struct {
	// MessageLimit copies only the last n messages.
	MessageLimit *int `json:"messageLimit"`
}

type clonedThreadJSON struct {
	Thread         wire.Thread    `json:"thread"`
	ClonedMessages []wire.Message `json:"clonedMessages"`
}

// cloneThread: POST /api/memory/threads/:threadId/clone?agentId, body
// {newThreadId?, title?, metadata?, options?: {messageLimit?}} →
// {thread, clonedMessages}. The copy belongs to the source's resource,
// which for a scoped caller is the caller's own: another resource's thread
// is the 404 of a missing one, whatever resource the request names.
func (s *Server) cloneThread(w http.ResponseWriter, r *http.Request) error {
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	if _, err := s.memoryAgent(r, false); err != nil {
		return err
	}
	var b cloneThreadBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	requestValues(r, b.RequestContext)
	c := queryClaim(r)
	if b.ResourceID != "" {
		c = bodyClaim(b.ResourceID, "resourceId")
	}
	res, err := s.resource(r, c, anyWithoutAuth)
	if err != nil {
		return err
	}
	if msg := badThreadID(b.NewThreadID); msg != "" {
		return transport.Invalid("Invalid request body", "newThreadId", msg)
	}
	if msg := badText(b.Title); msg != "" {
		return transport.Invalid("Invalid request body", "title", msg)
	}
	if msg := badMetadata(b.Metadata); msg != "" {
		return transport.Invalid("Invalid request body", "metadata", msg)
	}
	opts := memory.Clone{NewID: b.NewThreadID, Title: b.Title, Metadata: b.Metadata, NewMessageID: uuid.NewString}
	if b.Options != nil && b.Options.MessageLimit != nil {
		if *b.Options.MessageLimit < 1 {
			return transport.Invalid("Invalid request body", "options.messageLimit", "must be at least 1")
		}
		opts.MessageLimit = *b.Options.MessageLimit
	}
	if opts.NewID == "" {
		opts.NewID = uuid.NewString()
	}
	t, msgs, err := s.store.CloneThread(r.Context(), res, httprouter.ParamsFromContext(r.Context()).ByName("threadId"), opts)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, clonedThreadJSON{Thread: wire.ThreadOf(t), ClonedMessages: wire.Messages(msgs)})
	return nil
}
