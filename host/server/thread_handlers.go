package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/wire"
)

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
	transport.WriteJSON(w, http.StatusOK, wire.ThreadListOf(p))
	return nil
}

type threadWithMessagesJSON struct {
	Thread   wire.Thread    `json:"thread"`
	Messages []wire.Message `json:"messages"`
	Total    int            `json:"total"`
	Page     int            `json:"page"`
	PerPage  int            `json:"perPage"`
	HasMore  bool           `json:"hasMore"`
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
	transport.WriteJSON(w, http.StatusOK, threadWithMessagesJSON{Thread: wire.ThreadOf(t), Messages: wire.Messages(msgs.Messages),
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
