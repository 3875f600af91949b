package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

// ErrNoRecall is a search asked of an agent without semantic recall (or a
// server without memory); callers answer 400.
var ErrNoRecall = errors.New("agent: no semantic recall")

// SearchQuery is Mastra's memory search (GET /api/memory/search).
type SearchQuery struct {
	AgentID, ResourceID string
	// ThreadID is the thread searched with scope "thread"; "" is the
	// resource's most recently updated thread.
	ThreadID string
	Text     string
	// Limit cuts the results (newest first); 0 means 20.
	Limit int
	// TopK, Range, Scope and Threshold override the agent's settings when
	// set (Mastra's memoryConfig.semanticRecall).
	TopK      int
	Range     *int
	Scope     string
	Threshold *float64
}

// SearchHit is one recalled message with the messages around it.
type SearchHit struct {
	Message       memory.Message
	Text          string
	ThreadTitle   string
	Before, After []SearchContext
}

// SearchContext is a message around a hit.
type SearchContext struct {
	ID, Role, Text string
	CreatedAt      time.Time
}

// SearchResult is the answer of Search.
type SearchResult struct {
	Hits  []SearchHit
	Scope string
}

// Search finds the resource's messages nearest to q.Text as the agent's
// semantic recall would, each with its context in its thread (messageRange
// each side; 2 with scope resource when not set, as Mastra), newest first.
func (s *Service) Search(ctx context.Context, q SearchQuery) (*SearchResult, error) {
	a, ok := s.agents[q.AgentID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, q.AgentID)
	}
	if a.SemanticRecall == nil || s.store == nil {
		return nil, fmt.Errorf("%w: agent %s has no semantic recall (agents.%s.memory.semantic_recall)", ErrNoRecall, a.ID, a.ID)
	}
	sr := *a.SemanticRecall
	if q.TopK > 0 {
		sr.TopK = q.TopK
	}
	if q.Scope != "" {
		sr.Scope = q.Scope
	}
	if q.Threshold != nil {
		sr.Threshold = q.Threshold
	}
	span := sr.Before
	switch {
	case q.Range != nil:
		span = *q.Range
	case sr.Scope == "resource":
		span = 2
	}
	res := &SearchResult{Scope: sr.Scope}
	threadID := q.ThreadID
	if threadID == "" {
		p, err := s.store.ListThreads(ctx, memory.ThreadQuery{ResourceID: q.ResourceID, PerPage: 1, OrderBy: "updatedAt"})
		if err != nil {
			return nil, err
		}
		if len(p.Threads) == 0 {
			return res, nil
		}
		threadID = p.Threads[0].ID
	} else if _, err := s.store.Thread(ctx, q.ResourceID, threadID); err != nil {
		return nil, err
	}
	vec, err := s.queryVector(ctx, &sr, q.Text, q.ResourceID)
	if err != nil {
		return nil, err
	}
	filter := map[string]any{"resource_id": q.ResourceID}
	if sr.Scope == "thread" {
		filter = map[string]any{"thread_id": threadID}
	}
	if sr.Filter != nil {
		// Under $and: the scope's equality stays the indexed one, and the
		// configured filter can only narrow it.
		filter["$and"] = []any{sr.Filter}
	}
	vhits, err := s.store.QueryVectors(ctx, RecallSpace, sr.IndexName(len(vec)), memory.VectorQuery{Vector: vec, TopK: sr.TopK, Filter: filter})
	if errors.Is(err, memory.ErrNoVectorIndex) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	titles := map[string]string{}
	for _, h := range vhits {
		if sr.Threshold != nil && h.Score < *sr.Threshold {
			continue
		}
		mid, _ := h.Metadata["message_id"].(string)
		tid, _ := h.Metadata["thread_id"].(string)
		if mid == "" || tid == "" {
			continue
		}
		around, err := s.store.MessagesAround(ctx, q.ResourceID, []memory.MessageRef{{ThreadID: tid, MessageID: mid}}, span, span)
		if err != nil {
			return nil, err
		}
		at := -1
		for i, m := range around {
			if m.ID == mid {
				at = i
			}
		}
		if at < 0 {
			continue // deleted since it was embedded, or not the resource's
		}
		if _, ok := titles[tid]; !ok {
			t, err := s.store.Thread(ctx, q.ResourceID, tid)
			if err != nil && !errors.Is(err, memory.ErrNotFound) {
				return nil, err
			}
			titles[tid] = t.Title
		}
		hit := SearchHit{Message: around[at], Text: recallText(around[at].Content, " "), ThreadTitle: titles[tid],
			Before: contexts(around[:at]), After: contexts(around[at+1:])}
		res.Hits = append(res.Hits, hit)
	}
	sort.SliceStable(res.Hits, func(i, j int) bool { return res.Hits[i].Message.CreatedAt.After(res.Hits[j].Message.CreatedAt) })
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	if len(res.Hits) > limit {
		res.Hits = res.Hits[:limit]
	}
	return res, nil
}

func contexts(ms []memory.Message) []SearchContext {
	out := make([]SearchContext, len(ms))
	for i, m := range ms {
		out[i] = SearchContext{ID: m.ID, Role: m.Role, Text: recallText(m.Content, " "), CreatedAt: m.CreatedAt}
	}
	return out
}
