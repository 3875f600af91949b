package server

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/wire"
)

// Mastra's memory routes (/api/memory/…), the second face of the thread
// store that the root /threads routes show: same store, same JSON shapes.
//
// Resources are decided by Server.resource (scope.go): a bound request acts
// for its resource only, and a thread of another resource is 404.

// memoryAgent checks the agentId query parameter: an unknown agent is 404,
// a missing one 400 when required (Mastra requires it on writes).
func (s *Server) memoryAgent(r *http.Request, required bool) (*agent.Agent, error) {
	id := r.URL.Query().Get("agentId")
	if err := checkIDs("Invalid query parameters", "agentId", id); err != nil {
		return nil, err
	}
	if id == "" {
		if required {
			return nil, transport.Invalid("Invalid query parameters", "agentId", "agentId is required")
		}
		return nil, nil
	}
	return s.findAgent(id)
}

// mergeQueryContext merges the requestContext query parameter (JSON, or
// base64 of JSON as client-js sends it) into the request's RequestContext.
// Reserved keys are dropped.
func mergeQueryContext(r *http.Request) error {
	raw := r.URL.Query().Get("requestContext")
	if raw == "" {
		return nil
	}
	m, ok := decodeContextParam(raw)
	if !ok {
		return transport.Invalid("Invalid query parameters", "requestContext", "expected a JSON object, or base64 of one")
	}
	requestValues(r, m)
	return nil
}

func decodeContextParam(raw string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if strings.HasPrefix(strings.TrimSpace(raw), "{") {
		return m, json.Unmarshal([]byte(raw), &m) == nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(raw); err == nil {
			return m, json.Unmarshal(b, &m) == nil
		}
	}
	return nil, false
}

// orderParam reads Mastra's three spellings of a sort order: the bracket
// form orderBy[field]=…&orderBy[direction]=…, orderBy=<JSON>, and the
// legacy orderBy=<field>&sortDirection=…. Empty results mean the default.
func orderParam(q url.Values, fields ...string) (field, direction string, err error) {
	bad := func(msg string) error { return transport.Invalid("Invalid query parameters", "orderBy", msg) }
	raw := q.Get("orderBy")
	switch {
	case q.Has("orderBy[field]") || q.Has("orderBy[direction]"):
		field, direction = q.Get("orderBy[field]"), q.Get("orderBy[direction]")
	case strings.HasPrefix(strings.TrimSpace(raw), "{"):
		var o struct {
			Field     string `json:"field"`
			Direction string `json:"direction"`
		}
		if json.Unmarshal([]byte(raw), &o) != nil {
			return "", "", bad(`expected {"field": …, "direction": "ASC"|"DESC"}`)
		}
		field, direction = o.Field, o.Direction
	default:
		field, direction = raw, q.Get("sortDirection")
	}
	if field != "" && !slices.Contains(fields, field) {
		return "", "", bad("field must be one of " + strings.Join(fields, ", "))
	}
	direction = strings.ToUpper(direction)
	if direction != "" && direction != "ASC" && direction != "DESC" {
		return "", "", bad("direction must be ASC or DESC")
	}
	return field, direction, nil
}

// memoryRead prepares a memory GET: the query's requestContext merged,
// agentId checked if given, and the resource the request may read.
func (s *Server) memoryRead(r *http.Request, missing missingResource) (string, error) {
	if err := mergeQueryContext(r); err != nil {
		return "", err
	}
	if _, err := s.memoryAgent(r, false); err != nil {
		return "", err
	}
	return s.resource(r, queryClaim(r), missing)
}

// apiListThreads: GET /api/memory/threads?resourceId&agentId&page&perPage&orderBy&metadata
// → {threads, total, page, perPage, hasMore}, newest first by default.
func (s *Server) apiListThreads(w http.ResponseWriter, r *http.Request) error {
	res, err := s.memoryRead(r, mustName)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, perPage, err := pageParams(r, 100, 1000)
	if err != nil {
		return err
	}
	field, dir, err := orderParam(q, "createdAt", "updatedAt")
	if err != nil {
		return err
	}
	var meta map[string]any
	if raw := q.Get("metadata"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &meta); err != nil {
			return transport.Invalid("Invalid query parameters", "metadata", "expected a JSON object")
		}
		if msg := badMetadata(meta); msg != "" {
			return transport.Invalid("Invalid query parameters", "metadata", msg)
		}
	}
	p, err := s.store.ListThreads(r.Context(), memory.ThreadQuery{ResourceID: res, Page: page, PerPage: perPage,
		OrderBy: field, Ascending: dir == "ASC", Metadata: meta})
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, wire.ThreadListOf(p))
	return nil
}

// apiGetThread: GET /api/memory/threads/:threadId?agentId&resourceId → thread.
func (s *Server) apiGetThread(w http.ResponseWriter, r *http.Request) error {
	res, err := s.memoryRead(r, anyWithoutAuth)
	if err != nil {
		return err
	}
	t, err := s.store.Thread(r.Context(), res, httprouter.ParamsFromContext(r.Context()).ByName("threadId"))
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, wire.ThreadOf(t))
	return nil
}

// apiListMessages: GET /api/memory/threads/:threadId/messages?agentId&resourceId&page&perPage&orderBy
// → {messages, uiMessages: null, total, page, perPage, hasMore}, oldest first
// by default. include, filter and includeSystemReminders are accepted and
// ignored.
func (s *Server) apiListMessages(w http.ResponseWriter, r *http.Request) error {
	res, err := s.memoryRead(r, anyWithoutAuth)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, perPage, err := pageParams(r, 40, 1000)
	if err != nil {
		return err
	}
	_, dir, err := orderParam(q, "createdAt")
	if err != nil {
		return err
	}
	id := httprouter.ParamsFromContext(r.Context()).ByName("threadId")
	p, err := s.store.ListMessages(r.Context(), memory.MessageQuery{ThreadID: id, ResourceID: res, Page: page,
		PerPage: perPage, Descending: dir == "DESC"})
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, wire.MessageListOf(p))
	return nil
}

type createThreadBody struct {
	ResourceID     string                     `json:"resourceId"`
	ThreadID       string                     `json:"threadId"`
	Title          string                     `json:"title"`
	Metadata       map[string]any             `json:"metadata"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
}

// apiCreateThread: POST /api/memory/threads?agentId, body {resourceId,
// title?, metadata?, threadId?} → the thread. An id already taken (by anyone)
// is 409: the store never overwrites a thread here.
func (s *Server) apiCreateThread(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.memoryAgent(r, true); err != nil {
		return err
	}
	var b createThreadBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	requestValues(r, b.RequestContext)
	res, err := s.resource(r, bodyClaim(b.ResourceID, "resourceId"), mustNameAlways)
	if err != nil {
		return err
	}
	if msg := badThreadID(b.ThreadID); msg != "" {
		return transport.Invalid("Invalid request body", "threadId", msg)
	}
	if msg := badText(b.Title); msg != "" {
		return transport.Invalid("Invalid request body", "title", msg)
	}
	if msg := badMetadata(b.Metadata); msg != "" {
		return transport.Invalid("Invalid request body", "metadata", msg)
	}
	if b.ThreadID == "" {
		b.ThreadID = uuid.NewString()
	}
	t, err := s.store.CreateThread(r.Context(), memory.Thread{ID: b.ThreadID, ResourceID: res, Title: b.Title, Metadata: b.Metadata})
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, wire.ThreadOf(t))
	return nil
}

type updateThreadBody struct {
	Title          *string                    `json:"title"`
	Metadata       json.RawMessage            `json:"metadata"`
	ResourceID     string                     `json:"resourceId"`
	RequestContext map[string]json.RawMessage `json:"requestContext"`
}

// apiUpdateThread: PATCH /api/memory/threads/:threadId?agentId, body
// {title?, metadata?, resourceId?} → the thread, updatedAt bumped. Metadata
// is replaced, not merged. A scoped request cannot move a thread to another
// resource: its resourceId is the scoped one.
func (s *Server) apiUpdateThread(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.memoryAgent(r, true); err != nil {
		return err
	}
	var b updateThreadBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	requestValues(r, b.RequestContext)
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	u := memory.ThreadUpdate{Title: b.Title}
	if b.Title != nil {
		if msg := badText(*b.Title); msg != "" {
			return transport.Invalid("Invalid request body", "title", msg)
		}
	}
	if len(b.Metadata) > 0 && string(b.Metadata) != "null" {
		if err := json.Unmarshal(b.Metadata, &u.Metadata); err != nil || u.Metadata == nil {
			return transport.Invalid("Invalid request body", "metadata", "expected an object")
		}
		if msg := badMetadata(u.Metadata); msg != "" {
			return transport.Invalid("Invalid request body", "metadata", msg)
		}
	}
	if b.ResourceID != "" && boundResource(r) == "" {
		// An unbound caller may move the thread (Mastra's update does).
		to, err := s.resource(r, bodyClaim(b.ResourceID, "resourceId"), mustNameAlways)
		if err != nil {
			return err
		}
		u.ResourceID = &to
	}
	t, err := s.store.UpdateThread(r.Context(), res, httprouter.ParamsFromContext(r.Context()).ByName("threadId"), u)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, wire.ThreadOf(t))
	return nil
}

// apiDeleteThread: DELETE /api/memory/threads/:threadId?agentId&resourceId
// → {"result":"Thread deleted"}.
func (s *Server) apiDeleteThread(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.memoryAgent(r, true); err != nil {
		return err
	}
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	if err := s.store.DeleteThread(r.Context(), res, httprouter.ParamsFromContext(r.Context()).ByName("threadId")); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]string{"result": "Thread deleted"})
	return nil
}

// memoryStatus: GET /api/memory/status?agentId → {"result":true,"memoryType":"local"}.
func (s *Server) memoryStatus(w http.ResponseWriter, r *http.Request) error {
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	if _, err := s.memoryAgent(r, true); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"result": s.agents.HasMemory(), "memoryType": "local"})
	return nil
}

// memoryConfig: GET /api/memory/config?agentId → the agent's memory settings
// in Mastra's shape: lastMessages, generateTitle, workingMemory and
// semanticRecall (false, or its settings) are configurable here.
func (s *Server) memoryConfig(w http.ResponseWriter, r *http.Request) error {
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	a, err := s.memoryAgent(r, true)
	if err != nil {
		return err
	}
	off := map[string]any{"enabled": false}
	wm := off
	if c := a.WorkingMemory; c != nil {
		wm = map[string]any{"enabled": true, "scope": c.Scope}
		if len(c.Schema) > 0 {
			wm["schema"] = c.Schema
		} else {
			wm["template"] = c.Template
		}
	}
	var recall any = false
	if sr := a.SemanticRecall; sr != nil {
		c := map[string]any{"topK": sr.TopK, "messageRange": map[string]int{"before": sr.Before, "after": sr.After},
			"scope": sr.Scope, "embedder": sr.EmbedderRef}
		if sr.Threshold != nil {
			c["threshold"] = *sr.Threshold
		}
		if sr.Index != "" {
			c["indexName"] = sr.Index
		}
		if sr.Filter != nil {
			c["filter"] = sr.Filter
		}
		if ic := sr.IndexConfig; ic.Type != "" || ic.M != 0 || ic.EfConstruction != 0 || ic.Lists != 0 {
			c["indexConfig"] = map[string]any{"type": cmp.Or(ic.Type, "hnsw"), "hnsw": map[string]int{"m": cmp.Or(ic.M, 8), "efConstruction": cmp.Or(ic.EfConstruction, 32)},
				"ivf": map[string]int{"lists": cmp.Or(ic.Lists, 100)}}
		}
		recall = c
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"config": map[string]any{
		"lastMessages": a.LastMessages, "semanticRecall": recall, "generateTitle": a.GenerateTitle,
		"workingMemory": wm, "observationalMemory": off,
	}})
	return nil
}

// dbMessage is a MastraDBMessage as save-messages receives it.
type dbMessage struct {
	ID         string          `json:"id"`
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ThreadID   string          `json:"threadId"`
	ResourceID string          `json:"resourceId"`
	Type       string          `json:"type"`
	CreatedAt  json.RawMessage `json:"createdAt"`
}

// messageCap refuses a request that carries more than
// memory.max_save_messages messages (0: no cap). Every one of them is
// saved, so the cap bounds one request's database work.
func (s *Server) messageCap(n int) error {
	if s.maxSave > 0 && n > s.maxSave {
		return transport.Invalid("Invalid request body", "messages",
			fmt.Sprintf("expected at most %d messages per request (memory.max_save_messages), got %d", s.maxSave, n))
	}
	return nil
}

// apiSaveMessages: POST /api/memory/save-messages?agentId, body
// {messages: MastraDBMessage[]} → {messages}. Messages are upserted by id
// into threads of the caller's resource; nothing is saved if one is bad.
// A request carries at most memory.max_save_messages messages, and one
// resource runs only its share of the pool's connections at once (429
// over it), so bulk imports cannot hold the pool from other tenants.
func (s *Server) apiSaveMessages(w http.ResponseWriter, r *http.Request) error {
	a, err := s.memoryAgent(r, true)
	if err != nil {
		return err
	}
	var body struct {
		Messages []dbMessage `json:"messages"`
	}
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &body); err != nil {
		return err
	}
	if len(body.Messages) == 0 {
		return transport.Invalid("Invalid request body", "messages", "expected a non-empty array of messages")
	}
	if err := s.messageCap(len(body.Messages)); err != nil {
		return err
	}
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	msgs := make([]memory.Message, len(body.Messages))
	for i, m := range body.Messages {
		field := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "user", "assistant", "system", "tool":
		default:
			return transport.Invalid("Invalid request body", field+".role", "expected user, assistant, system or tool")
		}
		if m.ThreadID == "" {
			return transport.Invalid("Invalid request body", field+".threadId", "threadId is required")
		}
		if err := checkIDs("Invalid request body", field+".id", m.ID, field+".threadId", m.ThreadID, field+".type", m.Type); err != nil {
			return err
		}
		if msg := badRawJSON(m.Content); msg != "" {
			return transport.Invalid("Invalid request body", field+".content", msg)
		}
		at, err := parseCreatedAt(m.CreatedAt)
		if err != nil {
			return transport.Invalid("Invalid request body", field+".createdAt", err.Error())
		}
		content, err := dbContent(m.Content, at)
		if err != nil {
			return transport.Invalid("Invalid request body", field+".content", err.Error())
		}
		id := m.ID
		if id == "" {
			id = uuid.NewString()
		}
		resource := m.ResourceID
		if res != "" {
			resource = res // a scoped caller writes only its own resource
		} else if msg := badID(resource); msg != "" {
			return transport.Invalid("Invalid request body", field+".resourceId", msg)
		}
		msgs[i] = memory.Message{ID: id, ThreadID: m.ThreadID, ResourceID: resource, Role: m.Role, Type: m.Type,
			Content: content, CreatedAt: at}
	}
	saved, err := s.store.SaveMessages(r.Context(), res, msgs)
	if err != nil {
		return err
	}
	// As Mastra's Memory.saveMessages: the agent's semantic recall embeds
	// them (in the background; a failure is logged and counted).
	s.agents.EmbedLater(r.Context(), a, res, saved)
	transport.WriteJSON(w, http.StatusOK, map[string]any{"messages": wire.Messages(saved)})
	return nil
}

func parseCreatedAt(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Now().UTC(), nil
	}
	outOfRange := fmt.Errorf("must be between %s and %s", wire.Time(minCreatedAt), wire.Time(maxCreatedAt))
	var ms float64
	if json.Unmarshal(raw, &ms) == nil {
		if !millisInRange(ms) {
			return time.Time{}, outOfRange
		}
		return time.UnixMilli(int64(ms)).UTC(), nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			if t.Before(minCreatedAt) || t.After(maxCreatedAt) {
				return time.Time{}, outOfRange
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("expected an ISO 8601 date or milliseconds since 1970")
}

// dbContent accepts v2 content ({"format":2,"parts":[…]}) or plain text.
func dbContent(raw json.RawMessage, at time.Time) (json.RawMessage, error) {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return memory.TextContent(text, at), nil
	}
	var v2 struct {
		Format int               `json:"format"`
		Parts  []json.RawMessage `json:"parts"`
	}
	if err := json.Unmarshal(raw, &v2); err != nil || v2.Format != 2 {
		return nil, fmt.Errorf("expected a string or v2 content {\"format\":2,\"parts\":[…]}")
	}
	return raw, nil
}

// apiDeleteMessages: POST /api/memory/messages/delete?agentId, body
// {messageIds: id | id[] | {id} | {id}[]} → {success, message}.
func (s *Server) apiDeleteMessages(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.memoryAgent(r, true); err != nil {
		return err
	}
	var body struct {
		MessageIDs json.RawMessage `json:"messageIds"`
	}
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &body); err != nil {
		return err
	}
	ids, ok := messageIDs(body.MessageIDs)
	if !ok || len(ids) == 0 {
		return transport.Invalid("Invalid request body", "messageIds", "expected an id, an array of ids, {id} or an array of {id}")
	}
	for i, id := range ids {
		if msg := badID(id); msg != "" {
			return transport.Invalid("Invalid request body", fmt.Sprintf("messageIds[%d]", i), msg)
		}
	}
	res, err := s.resource(r, queryClaim(r), anyWithoutAuth)
	if err != nil {
		return err
	}
	n, err := s.store.DeleteMessages(r.Context(), res, ids)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "message": fmt.Sprintf("%d message(s) deleted", n)})
	return nil
}

func messageIDs(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}, true
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.ID != "" {
		return []string{obj.ID}, true
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	var ids []string
	for _, item := range list {
		sub, ok := messageIDs(item)
		if !ok || len(sub) != 1 {
			return nil, false
		}
		ids = append(ids, sub[0])
	}
	return ids, true
}
