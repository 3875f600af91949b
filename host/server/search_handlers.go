package server

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// maxSearchQuery bounds searchQuery: it is embedded, and a provider's
// input limit is about 8k tokens.
const maxSearchQuery = 16 << 10

// searchMemory: GET /api/memory/search?agentId&searchQuery&resourceId
// &threadId&limit&memoryConfig → Mastra's {results, count, query,
// searchScope, searchType} (client-js searchMemory). The resource is the
// request's own; a thread named must be the resource's (404).
func (s *Server) searchMemory(w http.ResponseWriter, r *http.Request) error {
	if err := mergeQueryContext(r); err != nil {
		return err
	}
	a, err := s.memoryAgent(r, true)
	if err != nil {
		return err
	}
	res, err := s.resource(r, queryClaim(r), mustNameAlways)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	sq := agent.SearchQuery{AgentID: a.ID, ResourceID: res, ThreadID: q.Get("threadId"), Text: q.Get("searchQuery")}
	switch {
	case sq.Text == "":
		return transport.Invalid("Invalid query parameters", "searchQuery", "searchQuery is required")
	case len(sq.Text) > maxSearchQuery:
		return transport.Invalid("Invalid query parameters", "searchQuery", "at most 16 KiB")
	}
	if err := checkIDs("Invalid query parameters", "threadId", sq.ThreadID); err != nil {
		return err
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return transport.Invalid("Invalid query parameters", "limit", "expected an integer from 1 to 1000")
		}
		sq.Limit = n
	}
	if raw := q.Get("memoryConfig"); raw != "" {
		if err := searchConfig(raw, &sq); err != nil {
			return err
		}
	}
	out, err := s.agents.Search(r.Context(), sq)
	if err != nil {
		return err
	}
	results := make([]map[string]any, len(out.Hits))
	for i, h := range out.Hits {
		results[i] = map[string]any{"id": h.Message.ID, "role": h.Message.Role, "content": h.Text,
			"createdAt": h.Message.CreatedAt.UTC().Format(time.RFC3339Nano), "threadId": h.Message.ThreadID,
			"threadTitle": h.ThreadTitle, "context": map[string]any{"before": searchContexts(h.Before), "after": searchContexts(h.After)}}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"results": results, "count": len(results), "query": sq.Text,
		"searchScope": out.Scope, "searchType": "semantic"})
	return nil
}

// searchConfig reads memoryConfig's semanticRecall (the only part that
// changes a search): true, or {topK, messageRange (a number or
// {before, after}: the larger side), scope, threshold}. Anything else in
// it is refused rather than ignored.
func searchConfig(raw string, sq *agent.SearchQuery) error {
	bad := func(msg string) error { return transport.Invalid("Invalid query parameters", "memoryConfig", msg) }
	var mc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &mc); err != nil {
		return bad("expected a JSON object")
	}
	for k := range mc {
		if k != "semanticRecall" && k != "lastMessages" {
			return bad(k + " does not apply to a search; only semanticRecall does")
		}
	}
	sr, ok := mc["semanticRecall"]
	if !ok || string(sr) == "true" {
		return nil
	}
	var c struct {
		TopK         *int            `json:"topK"`
		MessageRange json.RawMessage `json:"messageRange"`
		Scope        string          `json:"scope"`
		Threshold    *float64        `json:"threshold"`
	}
	dec := json.NewDecoder(bytes.NewReader(sr))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return bad("semanticRecall: expected true or {topK, messageRange, scope, threshold}")
	}
	if c.TopK != nil {
		if *c.TopK < 1 || *c.TopK > 100 {
			return bad("semanticRecall.topK: expected 1 to 100")
		}
		sq.TopK = *c.TopK
	}
	if len(c.MessageRange) > 0 {
		var n int
		var side struct{ Before, After int }
		if json.Unmarshal(c.MessageRange, &n) != nil {
			if json.Unmarshal(c.MessageRange, &side) != nil {
				return bad("semanticRecall.messageRange: expected a number or {before, after}")
			}
			n = max(side.Before, side.After)
		}
		if n < 0 || n > 50 {
			return bad("semanticRecall.messageRange: expected 0 to 50")
		}
		sq.Range = &n
	}
	switch c.Scope {
	case "", "resource", "thread":
		sq.Scope = c.Scope
	default:
		return bad(`semanticRecall.scope: expected "resource" or "thread"`)
	}
	if t := c.Threshold; t != nil {
		if math.IsNaN(*t) || *t < 0 || *t > 1 {
			return bad("semanticRecall.threshold: expected 0 to 1")
		}
		sq.Threshold = t
	}
	return nil
}

func searchContexts(cs []agent.SearchContext) []map[string]any {
	out := make([]map[string]any, len(cs))
	for i, c := range cs {
		out[i] = map[string]any{"id": c.ID, "role": c.Role, "content": c.Text, "createdAt": c.CreatedAt.UTC().Format(time.RFC3339Nano)}
	}
	return out
}
