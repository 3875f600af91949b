package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// threadJSON is a thread as Mastra's API returns it.
type threadJSON struct {
	ID         string         `json:"id"`
	Title      string         `json:"title"`
	ResourceID string         `json:"resourceId"`
	CreatedAt  string         `json:"createdAt"`
	UpdatedAt  string         `json:"updatedAt"`
	Metadata   map[string]any `json:"metadata,omitempty"`
}

func toThreadJSON(t memory.Thread) threadJSON {
	return threadJSON{ID: t.ID, Title: t.Title, ResourceID: t.ResourceID,
		CreatedAt: jsTime(t.CreatedAt), UpdatedAt: jsTime(t.UpdatedAt), Metadata: t.Metadata}
}

// messageJSON is a stored message as Mastra's API returns it (v2 content).
type messageJSON struct {
	ID         string          `json:"id"`
	Role       string          `json:"role"`
	CreatedAt  string          `json:"createdAt"`
	ThreadID   string          `json:"threadId"`
	ResourceID string          `json:"resourceId,omitempty"`
	Type       string          `json:"type,omitempty"`
	Content    json.RawMessage `json:"content"`
}

func toMessagesJSON(ms []memory.Message) []messageJSON {
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = messageJSON{ID: m.ID, Role: m.Role, CreatedAt: jsTime(m.CreatedAt), ThreadID: m.ThreadID,
			ResourceID: m.ResourceID, Content: m.Content}
	}
	return out
}

// jsTime formats like JavaScript's Date.toISOString.
func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type threadListJSON struct {
	Threads []threadJSON `json:"threads"`
	Total   int          `json:"total"`
	Page    int          `json:"page"`
	PerPage int          `json:"perPage"`
	HasMore bool         `json:"hasMore"`
}

// ThreadListJSON is a page of threads as GET /api/memory/threads answers it
// (plugins' threads_list answers the same).
func ThreadListJSON(p memory.ThreadPage) any { return toThreadList(p) }

func toThreadList(p memory.ThreadPage) threadListJSON {
	out := threadListJSON{Threads: make([]threadJSON, len(p.Threads)), Total: p.Total, Page: p.Page, PerPage: p.PerPage, HasMore: p.HasMore}
	for i, t := range p.Threads {
		out.Threads[i] = toThreadJSON(t)
	}
	return out
}

// listThreads: GET /threads?resourceId=…&page=&perPage= (newest first).
func (s *Server) listThreads(w http.ResponseWriter, r *http.Request) error {
	res, err := s.resource(r, queryClaim(r), mustName)
	if err != nil {
		return err
	}
	page, perPage, err := pageParams(r, 20, 1000)
	if err != nil {
		return err
	}
	p, err := s.store.ListThreads(r.Context(), memory.ThreadQuery{ResourceID: res, Page: page, PerPage: perPage})
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, toThreadList(p))
	return nil
}

type threadWithMessagesJSON struct {
	Thread   threadJSON    `json:"thread"`
	Messages []messageJSON `json:"messages"`
	Total    int           `json:"total"`
	Page     int           `json:"page"`
	PerPage  int           `json:"perPage"`
	HasMore  bool          `json:"hasMore"`
}

// getThread: GET /threads/:threadId?resourceId=… — the thread and a page
// of its messages, oldest first.
func (s *Server) getThread(w http.ResponseWriter, r *http.Request) error {
	res, err := s.resource(r, queryClaim(r), mustName)
	if err != nil {
		return err
	}
	page, perPage, err := pageParams(r, 40, 1000)
	if err != nil {
		return err
	}
	id := httprouter.ParamsFromContext(r.Context()).ByName("threadId")
	t, err := s.store.Thread(r.Context(), res, id)
	if err != nil {
		return err
	}
	msgs, err := s.store.ListMessages(r.Context(), memory.MessageQuery{ThreadID: id, ResourceID: res, Page: page, PerPage: perPage})
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, threadWithMessagesJSON{Thread: toThreadJSON(t), Messages: toMessagesJSON(msgs.Messages),
		Total: msgs.Total, Page: msgs.Page, PerPage: msgs.PerPage, HasMore: msgs.HasMore})
	return nil
}

// deleteThread: DELETE /threads/:threadId?resourceId=…
func (s *Server) deleteThread(w http.ResponseWriter, r *http.Request) error {
	res, err := s.resource(r, queryClaim(r), mustName)
	if err != nil {
		return err
	}
	id := httprouter.ParamsFromContext(r.Context()).ByName("threadId")
	if err := s.store.DeleteThread(r.Context(), res, id); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]string{"result": "Thread deleted"})
	return nil
}
