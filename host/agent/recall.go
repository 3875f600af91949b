package agent

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// Semantic recall (Mastra's semanticRecall). Each turn embeds the user's
// message once (cached by embedder and text), asks the memory's vector
// index for the TopK nearest messages of the resource (or thread), loads
// them with their neighbours and puts them in the prompt: messages of the
// turn's own thread among the history, oldest first; messages of other
// threads as one system block, in Mastra's words. Messages already in the
// prompt are not repeated. Any failure of recall is logged and counted,
// and the turn goes on without it.
//
// Every message a turn saves (the input and the reply, not system
// messages, when they have text) is embedded once, after the turn is
// saved, by a job of the EmbedQueue: one embeddings request for the turn,
// one vector per message, vector id = message id, Mastra's metadata keys
// (message_id, thread_id, resource_id, role, content, created_at), in the
// index memory_messages (1536 dimensions) or memory_messages_<n>.

// SemanticRecall configures an agent's semantic recall.
type SemanticRecall struct {
	// Embedder embeds with Model (the provider's name of the model);
	// EmbedderRef is "provider/model", for logs and cache keys.
	Embedder    llm.Embedder
	EmbedderRef string
	Model       string
	// Dimensions, when > 0, asks for shorter vectors.
	Dimensions int
	// TopK is how many messages are recalled at most; Before and After
	// how many neighbours come with each.
	TopK, Before, After int
	// Scope is "resource" or "thread".
	Scope string
	// Threshold, when set, drops hits scoring below it.
	Threshold *float64
	// Index overrides the derived index name.
	Index string
	// IndexConfig is Mastra's semanticRecall.indexConfig (pgvector mode).
	IndexConfig memory.IndexConfig
	// Filter is Mastra's semanticRecall.filter (a vector filter on the
	// metadata), AND-ed with the scope's filter by Search, as Mastra's
	// Memory.recall does; a turn's recall does not apply it (nor does
	// Mastra's).
	Filter map[string]any
}

// RecallSpace is where memory keeps its recall vectors: Mastra's
// namespace "default" of the memory's own store.
var RecallSpace = memory.VectorSpace{Store: "", Namespace: "default"}

// IndexName is the index of vectors with dim dimensions: Mastra's
// memory_messages at 1536, else memory_messages_<dim>, or Index when set.
func (sr *SemanticRecall) IndexName(dim int) string {
	switch {
	case sr.Index != "":
		return sr.Index
	case dim == 1536:
		return "memory_messages"
	}
	return fmt.Sprintf("memory_messages_%d", dim)
}

// EmbedJob is the embedding of one saved turn's messages.
type EmbedJob struct {
	AgentID    string   `json:"agentId"`
	ResourceID string   `json:"resourceId"`
	MessageIDs []string `json:"messageIds"`
	// Principal names whom the turn was for, as EmbedBudget.Principal
	// gave it ("" for none): the job's embedding call is charged to it.
	Principal string `json:"principal,omitempty"`
}

// EmbedBudget charges embedding calls to the budgets of whom they are made
// for, as model calls are (host/limits): a turn's query to the turn's
// principal and resource, a saved message's embedding to the principal
// and resource of the turn that saved it, never to another tenant.
type EmbedBudget interface {
	// Principal names the principal of ctx's request, for a job that
	// runs later ("" for none).
	Principal(ctx context.Context) string
	// CheckEmbed refuses an embedding call for principal and resourceID
	// while a budget they count against is spent this window, saying
	// when it has room again.
	CheckEmbed(ctx context.Context, principal, resourceID string) (retryAfter time.Duration, err error)
	// SpendEmbed counts the tokens an embedding call used.
	SpendEmbed(ctx context.Context, principal, resourceID string, tokens int)
}

// SetEmbedBudget makes b charge every embedding call. Call it before
// serving.
func (s *Service) SetEmbedBudget(b EmbedBudget) { s.budget = b }

// EmbedDeferredError is an embedding job its budget refused: it is not
// a failure, the queue runs it again after Wait (when the window that
// refused it has ended), without counting an attempt.
type EmbedDeferredError struct {
	Wait time.Duration
	Err  error
}

func (e *EmbedDeferredError) Error() string {
	return fmt.Sprintf("agent: embedding deferred %s: %v", e.Wait, e.Err)
}

func (e *EmbedDeferredError) Unwrap() error { return e.Err }

// embedCall runs one embeddings request for principal and resourceID,
// refused while their budget is spent and charged with its tokens.
func (s *Service) embedCall(ctx context.Context, sr *SemanticRecall, principal, resourceID string, texts []string) (*llm.Embeddings, error) {
	if s.budget != nil {
		if wait, err := s.budget.CheckEmbed(ctx, principal, resourceID); err != nil {
			return nil, &EmbedDeferredError{Wait: wait, Err: err}
		}
	}
	out, err := sr.Embedder.Embed(ctx, llm.EmbedRequest{Model: sr.Model, Input: texts, Dimensions: sr.Dimensions})
	if err != nil {
		return nil, err
	}
	if s.budget != nil {
		n := out.Usage.TotalTokens
		if n == 0 {
			n = out.Usage.InputTokens
		}
		s.budget.SpendEmbed(ctx, principal, resourceID, n)
	}
	return out, nil
}

// EmbedQueue runs embedding jobs off the turn's path, retrying failures.
// Enqueue must not block for long; its error is logged and counted, never
// the turn's.
type EmbedQueue interface {
	Enqueue(ctx context.Context, job EmbedJob) error
}

// RecallEvent is one recall operation, for metrics: Op is "query" (a
// turn's recall) or "embed" (a saved turn's embedding job), Outcome "ok",
// "error" or "over_budget" (the embedding call was refused by the
// resource's or principal's token budget).
type RecallEvent struct {
	AgentID, Op, Outcome string
}

// SetEmbedQueue makes q run the embedding jobs (River on Postgres); the
// default runs them in this process (see localEmbeds). Call it before
// serving.
func (s *Service) SetEmbedQueue(q EmbedQueue) { s.embeds = q }

// SetRecallObserver makes f see every recall operation (metrics). Call it
// before serving.
func (s *Service) SetRecallObserver(f func(RecallEvent)) { s.onRecall = f }

func (s *Service) noteRecall(agentID, op string, err error) {
	if s.onRecall == nil {
		return
	}
	outcome := "ok"
	var deferred *EmbedDeferredError
	switch {
	case errors.As(err, &deferred):
		outcome = "over_budget"
	case err != nil:
		outcome = "error"
	}
	s.onRecall(RecallEvent{AgentID: agentID, Op: op, Outcome: outcome})
}

// recallText is the text Mastra embeds for a message: its content field,
// else its text parts joined by sep.
func recallText(raw []byte, sep string) string {
	c, err := memory.ParseContent(raw)
	if err != nil {
		return ""
	}
	if strings.TrimSpace(c.Content) != "" {
		return c.Content
	}
	var parts []string
	for _, p := range c.Parts {
		if p.Type == "text" && p.Text != "" {
			parts = append(parts, p.Text)
		}
	}
	return strings.Join(parts, sep)
}

// recall fills r.recalled and r.recallSystem for the turn, or logs why it
// could not.
func (r *run) recall(ctx context.Context) {
	sr := r.a.SemanticRecall
	var query string
	for i := len(r.in.Messages) - 1; i >= 0; i-- {
		if m := r.in.Messages[i]; m.Role == llm.RoleUser && strings.TrimSpace(m.Content) != "" {
			query = m.Content
			break
		}
	}
	if query == "" {
		return
	}
	err := r.recallFor(ctx, sr, query)
	r.s.noteRecall(r.a.ID, "query", err)
	if err != nil && ctx.Err() == nil {
		r.s.log.LogAttrs(ctx, slog.LevelWarn, "agent: semantic recall failed; the turn goes on without it",
			slog.String("agent", r.a.ID), slog.String("thread", r.res.ThreadID), slog.String("error", err.Error()))
	}
}

func (r *run) recallFor(ctx context.Context, sr *SemanticRecall, query string) error {
	vec, err := r.s.queryVector(ctx, sr, query, r.in.ResourceID)
	if err != nil {
		return err
	}
	filter := map[string]any{"resource_id": r.in.ResourceID}
	if sr.Scope == "thread" {
		filter = map[string]any{"thread_id": r.res.ThreadID}
	}
	hits, err := r.s.store.QueryVectors(ctx, RecallSpace, sr.IndexName(len(vec)), memory.VectorQuery{Vector: vec, TopK: sr.TopK, Filter: filter})
	if errors.Is(err, memory.ErrNoVectorIndex) {
		return nil // nothing embedded yet
	}
	if err != nil {
		return err
	}
	var refs []memory.MessageRef
	for _, h := range hits {
		if sr.Threshold != nil && h.Score < *sr.Threshold {
			continue
		}
		mid, _ := h.Metadata["message_id"].(string)
		tid, _ := h.Metadata["thread_id"].(string)
		if mid != "" && tid != "" {
			refs = append(refs, memory.MessageRef{ThreadID: tid, MessageID: mid})
		}
	}
	msgs, err := r.s.store.MessagesAround(ctx, r.in.ResourceID, refs, sr.Before, sr.After)
	if err != nil {
		return err
	}
	known := make(map[string]bool, len(r.res.Remembered))
	for _, m := range r.res.Remembered {
		known[m.ID] = true
	}
	var other []memory.Message
	for _, m := range msgs {
		switch {
		case known[m.ID]:
		case m.ThreadID == r.res.ThreadID:
			r.recalled = append(r.recalled, m)
		default:
			other = append(other, m)
		}
	}
	r.recallSystem = otherConversations(other)
	return nil
}

// history is the prompt's history: the recalled messages of the thread
// and its last messages, oldest first.
func (r *run) history() []memory.Message {
	if len(r.recalled) == 0 {
		return r.res.Remembered
	}
	h := append(append([]memory.Message(nil), r.recalled...), r.res.Remembered...)
	sort.SliceStable(h, func(i, j int) bool { return h[i].CreatedAt.Before(h[j].CreatedAt) })
	return h
}

// roleOrder sorts messages of the same time as Mastra does.
var roleOrder = map[string]int{"system": 0, "user": 1, "assistant": 2, "tool": 3}

// otherConversations formats messages of other threads as Mastra's
// semantic recall does: one block, a date line whenever the (UTC) day
// changes, each message with its time and role.
func otherConversations(msgs []memory.Message) string {
	if len(msgs) == 0 {
		return ""
	}
	sort.SliceStable(msgs, func(i, j int) bool {
		a, b := msgs[i], msgs[j]
		switch {
		case !a.CreatedAt.Equal(b.CreatedAt):
			return a.CreatedAt.Before(b.CreatedAt)
		case a.ThreadID != b.ThreadID:
			return a.ThreadID < b.ThreadID
		case a.Role != b.Role:
			return roleOrder[a.Role] < roleOrder[b.Role]
		}
		return a.ID < b.ID
	})
	var b strings.Builder
	b.WriteString("The following messages were remembered from a different conversation:\n<remembered_from_other_conversation>\n")
	day := ""
	for _, m := range msgs {
		text := recallText(m.Content, "\n")
		if text == "" {
			continue
		}
		at := m.CreatedAt.UTC()
		if d := at.Format("2006, Jan, 2"); d != day {
			day = d
			b.WriteString("the following messages are from " + d + "\n")
		}
		role := m.Role
		if role != "" {
			role = strings.ToUpper(role[:1]) + role[1:]
		}
		fmt.Fprintf(&b, "Message from previous conversation at %s: %s: %s\n", at.Format("3:04 PM"), role, text)
	}
	b.WriteString("<end_remembered_from_other_conversation>")
	return b.String()
}

// queryVector embeds a turn's query for resourceID, through the cache;
// the call is charged to the turn's principal (in ctx) and resourceID.
func (s *Service) queryVector(ctx context.Context, sr *SemanticRecall, text, resourceID string) ([]float32, error) {
	key := sr.cacheKey(text)
	if v, ok := s.queryCache.get(key); ok {
		return v, nil
	}
	principal := ""
	if s.budget != nil {
		principal = s.budget.Principal(ctx)
	}
	out, err := s.embedCall(ctx, sr, principal, resourceID, []string{text})
	if err != nil {
		return nil, fmt.Errorf("embed the query: %w", err)
	}
	if len(out.Vectors) != 1 {
		return nil, fmt.Errorf("embed the query: %d vectors for 1 text", len(out.Vectors))
	}
	s.queryCache.put(key, out.Vectors[0])
	return out.Vectors[0], nil
}

// embedLater queues the embedding of a saved turn's messages.
func (r *run) embedLater(ctx context.Context) {
	r.s.EmbedLater(ctx, r.a, r.in.ResourceID, r.res.Messages)
}

// EmbedLater queues the embedding of saved messages of resourceID (those
// with text, not system messages) by agent a's semantic recall; nothing
// when a has none. A failure to queue is logged and counted, never
// returned: the messages are saved all the same.
func (s *Service) EmbedLater(ctx context.Context, a *Agent, resourceID string, msgs []memory.Message) {
	if a == nil || a.SemanticRecall == nil || s.store == nil {
		return
	}
	var ids []string
	for _, m := range msgs {
		if m.Role != llm.RoleSystem && strings.TrimSpace(recallText(m.Content, "\n")) != "" {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	job := EmbedJob{AgentID: a.ID, ResourceID: resourceID, MessageIDs: ids}
	if s.budget != nil {
		job.Principal = s.budget.Principal(ctx)
	}
	q := s.embeds
	if q == nil {
		q = s.local
	}
	if err := q.Enqueue(context.WithoutCancel(ctx), job); err != nil {
		s.noteRecall(a.ID, "embed", err)
		s.log.LogAttrs(ctx, slog.LevelWarn, "agent: could not queue the embedding of saved messages",
			slog.String("agent", a.ID), slog.String("error", err.Error()))
	}
}

// Embed runs an embedding job: it embeds the job's messages (those that
// still exist) in one request and upserts their vectors. Queues call it
// and retry it when it fails.
func (s *Service) Embed(ctx context.Context, job EmbedJob) error {
	err := s.embed(ctx, job)
	s.noteRecall(job.AgentID, "embed", err)
	return err
}

func (s *Service) embed(ctx context.Context, job EmbedJob) error {
	a, ok := s.agents[job.AgentID]
	if !ok || a.SemanticRecall == nil || s.store == nil {
		return nil // the configuration changed since: nothing to do
	}
	sr := a.SemanticRecall
	msgs, err := s.store.MessagesByID(ctx, job.ResourceID, job.MessageIDs)
	if err != nil {
		return err
	}
	var texts []string
	var keep []memory.Message
	for _, m := range msgs {
		if t := recallText(m.Content, "\n"); m.Role != llm.RoleSystem && strings.TrimSpace(t) != "" {
			texts = append(texts, t)
			keep = append(keep, m)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	vecs, err := s.embedTexts(ctx, sr, job, texts)
	if err != nil {
		return err
	}
	dim := len(vecs[0])
	index := sr.IndexName(dim)
	if err := s.store.CreateRecallIndex(ctx, RecallSpace, index, dim, memory.MetricCosine, sr.IndexConfig); err != nil {
		return fmt.Errorf("agent: recall index: %w", err)
	}
	recs := make([]memory.VectorRecord, len(keep))
	for i, m := range keep {
		recs[i] = memory.VectorRecord{ID: m.ID, Vector: vecs[i], Metadata: map[string]any{
			"message_id": m.ID, "thread_id": m.ThreadID, "resource_id": job.ResourceID, "role": m.Role,
			"content": texts[i], "created_at": m.CreatedAt.UTC().Format(time.RFC3339Nano),
		}}
	}
	if err := s.store.UpsertVectors(ctx, RecallSpace, index, recs); err != nil {
		return fmt.Errorf("agent: store message vectors: %w", err)
	}
	return nil
}

// embedTexts embeds texts in one request, taking from the query cache
// the texts a turn embedded already (its user message): each text is
// embedded once.
func (s *Service) embedTexts(ctx context.Context, sr *SemanticRecall, job EmbedJob, texts []string) ([][]float32, error) {
	vecs := make([][]float32, len(texts))
	var missing []string
	var at []int
	for i, t := range texts {
		if v, ok := s.queryCache.get(sr.cacheKey(t)); ok {
			vecs[i] = v
			continue
		}
		missing = append(missing, t)
		at = append(at, i)
	}
	if len(missing) > 0 {
		out, err := s.embedCall(ctx, sr, job.Principal, job.ResourceID, missing)
		if err != nil {
			return nil, fmt.Errorf("agent: embed messages: %w", err)
		}
		if len(out.Vectors) != len(missing) {
			return nil, fmt.Errorf("agent: embed messages: %d vectors for %d texts", len(out.Vectors), len(missing))
		}
		for j, i := range at {
			vecs[i] = out.Vectors[j]
		}
	}
	for _, v := range vecs[1:] {
		if len(v) != len(vecs[0]) {
			return nil, errors.New("agent: embed messages: vectors of different lengths")
		}
	}
	return vecs, nil
}

func (sr *SemanticRecall) cacheKey(text string) string {
	return sr.EmbedderRef + "\x00" + fmt.Sprint(sr.Dimensions) + "\x00" + text
}

// localEmbeds runs embedding jobs in this process (SQLite, or no River):
// a bounded queue, a few workers, each job tried up to embedAttempts times
// with a doubling wait. A full queue drops the job (logged and counted).
type localEmbeds struct {
	s    *Service
	jobs chan EmbedJob
	once sync.Once
}

const (
	embedWorkers  = 2
	embedQueueLen = 1024
	embedAttempts = 5
	embedBackoff  = time.Second
	embedTimeout  = time.Minute
)

func (l *localEmbeds) Enqueue(ctx context.Context, job EmbedJob) error {
	l.once.Do(l.start)
	select {
	case l.jobs <- job:
		return nil
	default:
		return errors.New("the embedding queue is full")
	}
}

func (l *localEmbeds) start() {
	bg := l.s.bg
	for range embedWorkers {
		bg.wg.Add(1)
		go func() {
			defer bg.wg.Done()
			for {
				select {
				case <-bg.ctx.Done():
					return
				case job := <-l.jobs:
					l.run(bg.ctx, job)
				}
			}
		}()
	}
}

func (l *localEmbeds) run(ctx context.Context, job EmbedJob) {
	wait := l.s.embedBackoff
	for attempt := 1; ; attempt++ {
		jctx, cancel := context.WithTimeout(ctx, embedTimeout)
		err := l.s.Embed(jctx, job)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		var deferred *EmbedDeferredError
		if errors.As(err, &deferred) {
			// Over its budget: queued again once the window has room,
			// not waited for here, where it would hold up other
			// tenants' jobs.
			time.AfterFunc(deferred.Wait, func() {
				if ctx.Err() == nil && l.Enqueue(ctx, job) != nil {
					l.s.noteRecall(job.AgentID, "embed", errors.New("the embedding queue is full"))
				}
			})
			return
		}
		if attempt == embedAttempts {
			l.s.log.Warn("agent: embedding of a turn failed; giving up", "agent", job.AgentID, "attempts", attempt, "error", err.Error())
			return
		}
		l.s.log.Info("agent: embedding of a turn failed; retrying", "agent", job.AgentID, "attempt", attempt, "error", err.Error())
		if sleepCtx(ctx, wait) != nil {
			return
		}
		wait *= 2
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// vectorCache is an LRU of query vectors (Mastra keeps 1,000).
type vectorCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent; values are *cacheEntry
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	vec []float32
}

const queryCacheSize = 1000

func newVectorCache(n int) *vectorCache {
	return &vectorCache{max: n, order: list.New(), items: map[string]*list.Element{}}
}

func (c *vectorCache) get(key string) ([]float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).vec, true
	}
	return nil, false
}

func (c *vectorCache) put(key string, vec []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key, vec})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}
