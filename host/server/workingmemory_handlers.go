package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Mastra's working memory routes, as client-js 1.47's getWorkingMemory and
// updateWorkingMemory call them:
//
//	GET  /api/memory/threads/:threadId/working-memory?agentId&resourceId
//	     → {workingMemory, source, workingMemoryTemplate, threadExists}
//	POST /api/memory/threads/:threadId/working-memory?agentId
//	     {workingMemory, resourceId?} → {success: true}
//
// The agent's scope decides which working memory: the resource's (its
// resource is the one Server.resource decides, else the thread's owner) or
// the thread's. GET answers an ETag, a hash of the text; a POST with
// If-Match stores only if the text is still that one, else 409, so two
// clients editing the same working memory cannot overwrite each other
// unseen.

type workingMemoryTemplateJSON struct {
	Format  string `json:"format"`
	Content string `json:"content"`
}

type workingMemoryJSON struct {
	WorkingMemory *string                    `json:"workingMemory"`
	Source        string                     `json:"source"`
	Template      *workingMemoryTemplateJSON `json:"workingMemoryTemplate"`
	ThreadExists  bool                       `json:"threadExists"`
}

// workingMemoryETag is the entity tag of a working memory text.
func workingMemoryETag(text string) string {
	sum := sha256.Sum256([]byte(text))
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// errWorkingMemoryChanged is a POST whose If-Match no longer holds.
var errWorkingMemoryChanged = &transport.Error{Status: http.StatusConflict, Code: "working_memory_changed",
	Message: "Working memory changed since it was read"}

// workingMemoryTarget resolves the thread and the working memory a request
// names. thread is false when the thread does not exist for the resource.
func (s *Server) workingMemoryTarget(r *http.Request, a *agent.Agent, c claim) (ref memory.WorkingMemoryRef, source string, thread bool, err error) {
	id := httprouter.ParamsFromContext(r.Context()).ByName("threadId")
	if msg := badThreadID(id); msg != "" {
		return ref, "", false, transport.Invalid("Invalid path parameters", "threadId", msg)
	}
	res, err := s.resource(r, c, anyWithoutAuth)
	if err != nil {
		return ref, "", false, err
	}
	t, err := s.store.Thread(r.Context(), res, id)
	switch {
	case err == nil:
		thread = true
	case !errors.Is(err, memory.ErrNotFound):
		return ref, "", false, err
	}
	if a.WorkingMemory != nil && a.WorkingMemory.Scope == agent.ScopeResource {
		owner := res
		if owner == "" && thread {
			owner = t.ResourceID
		}
		if owner != "" {
			return memory.WorkingMemoryRef{ResourceID: owner}, "resource", thread, nil
		}
	}
	return memory.WorkingMemoryRef{ResourceID: res, ThreadID: id}, "thread", thread, nil
}

// getWorkingMemory: GET /api/memory/threads/:threadId/working-memory?agentId&resourceId.
// A thread that does not exist, or is another resource's, has none
// (threadExists false); an agent without working memory reports null.
func (s *Server) getWorkingMemory(w http.ResponseWriter, r *http.Request) error {
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	a, err := s.memoryAgent(r, true)
	if err != nil {
		return err
	}
	ref, source, thread, err := s.workingMemoryTarget(r, a, queryClaim(r))
	if err != nil {
		return err
	}
	out := workingMemoryJSON{Source: source, ThreadExists: thread}
	if wm := a.WorkingMemory; wm != nil {
		out.Template = &workingMemoryTemplateJSON{Format: wm.Format(), Content: wm.TemplateContent()}
		text, err := s.store.WorkingMemory(r.Context(), ref)
		if err != nil {
			return err
		}
		if text != "" {
			out.WorkingMemory = &text
		}
		w.Header().Set("ETag", workingMemoryETag(text))
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

type updateWorkingMemoryBody struct {
	WorkingMemory  *string                    `json:"workingMemory"`
	ResourceID     string                     `json:"resourceId"`
	MemoryConfig   json.RawMessage            `json:"memoryConfig"` // accepted; the agent's configuration rules
	RequestContext map[string]json.RawMessage `json:"requestContext"`
}

// updateWorkingMemory: POST /api/memory/threads/:threadId/working-memory?agentId,
// body {workingMemory, resourceId?} → {success: true}. The thread must
// exist (404, as in Mastra). The text replaces the working memory; with
// If-Match, only while it is still the text of that ETag (409 otherwise).
func (s *Server) updateWorkingMemory(w http.ResponseWriter, r *http.Request) error {
	a, err := s.memoryAgent(r, true)
	if err != nil {
		return err
	}
	var b updateWorkingMemoryBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	requestValues(r, b.RequestContext)
	if a.WorkingMemory == nil {
		return transport.Invalid("Invalid query parameters", "agentId", fmt.Sprintf("agent %s has no working memory (working_memory.enabled)", a.ID))
	}
	if b.WorkingMemory == nil {
		return transport.Invalid("Invalid request body", "workingMemory", "workingMemory is required (a string)")
	}
	text := *b.WorkingMemory
	if msg := badText(text); msg != "" {
		return transport.Invalid("Invalid request body", "workingMemory", msg)
	}
	if err := a.WorkingMemory.CheckText(text); err != nil {
		return transport.Invalid("Invalid request body", "workingMemory", err.Error())
	}
	c := bodyClaim(b.ResourceID, "resourceId")
	if b.ResourceID == "" {
		c = queryClaim(r)
	}
	ref, _, thread, err := s.workingMemoryTarget(r, a, c)
	if err != nil {
		return err
	}
	if !thread {
		return fmt.Errorf("working memory: %w", memory.ErrNotFound)
	}
	ifMatch := strings.TrimSpace(r.Header.Get("If-Match"))
	_, err = s.store.UpdateWorkingMemory(r.Context(), ref, func(cur string) (string, error) {
		if ifMatch != "" && ifMatch != "*" && ifMatch != workingMemoryETag(cur) {
			return "", memory.ErrStale
		}
		return text, nil
	})
	if errors.Is(err, memory.ErrStale) {
		return errWorkingMemoryChanged
	}
	if err != nil {
		return err
	}
	w.Header().Set("ETag", workingMemoryETag(text))
	transport.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}
