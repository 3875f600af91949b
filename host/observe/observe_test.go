package observe

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// fakeStore keeps what is written; block, when set, holds every write
// until it is closed.
type fakeStore struct {
	mu      sync.Mutex
	spans   []memory.Span
	metrics []memory.MetricEvent
	scores  []memory.Score
	logs    []memory.LogEvent
	block   chan struct{}
	discard bool // keep nothing (benchmarks)
}

func (f *fakeStore) SaveSpans(ctx context.Context, s []memory.Span) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.discard {
		f.spans = append(f.spans, s...)
	}
	return nil
}
func (f *fakeStore) SaveMetrics(ctx context.Context, m []memory.MetricEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.discard {
		f.metrics = append(f.metrics, m...)
	}
	return nil
}
func (f *fakeStore) SaveScore(ctx context.Context, s memory.Score) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scores = append(f.scores, s)
	return nil
}
func (f *fakeStore) SaveLogs(ctx context.Context, l []memory.LogEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, l...)
	return nil
}
func (f *fakeStore) PruneSpans(context.Context, time.Time, int) (int64, error) { return 0, nil }
func (f *fakeStore) PruneObservabilityEvents(context.Context, time.Time) error { return nil }

func (f *fakeStore) written() []memory.Span {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]memory.Span(nil), f.spans...)
}

// turn runs one observed turn with a model call and a tool call.
func turn(o agent.Observer, ctx context.Context, a *agent.Agent) {
	ctx, end := o.StartTurn(ctx, agent.TurnInfo{Agent: a, RunID: "run-1", ThreadID: "t-1", ResourceID: "res-1",
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
	mctx, mc := o.StartModelCall(ctx, agent.ModelCallInfo{Agent: a, Provider: "openai", Model: "gpt-4o-mini", Request: &llm.Request{}})
	mc.FirstChunk()
	mc.End(&llm.Response{Text: "calling", Usage: llm.Usage{InputTokens: 100, OutputTokens: 20}}, nil)
	_, tend := o.StartToolCall(mctx, agent.ToolCallInfo{Agent: a, Tool: "weather", Known: true, Args: []byte(`{"city":"Oslo"}`)})
	tend(agent.ToolCallEnd{Outcome: agent.ToolOK, Result: []byte(`{"temp":3}`)})
	end(agent.TurnEnd{Outcome: agent.OutcomeOK, Result: &agent.Result{Text: "It is 3 degrees"}})
}

// A turn's spans are one trace: the agent run at its root, the model and
// tool calls under it, every span its resource's; metrics follow.
func TestTurnIsOneTrace(t *testing.T) {
	st := &fakeStore{}
	r := New(Options{Store: st, QueueSize: 100, BatchSize: 10, FlushInterval: time.Millisecond, CaptureContent: true})
	r.Start(context.Background())
	turn(r.Agents(), context.Background(), &agent.Agent{ID: "helper", Name: "Helper"})
	r.Close(context.Background())
	spans := st.written()
	if len(spans) != 3 {
		t.Fatalf("wrote %d spans; want 3", len(spans))
	}
	byType := map[string]memory.Span{}
	for _, s := range spans {
		byType[s.SpanType] = s
		if s.TraceID != spans[0].TraceID || s.ResourceID == nil || *s.ResourceID != "res-1" {
			t.Errorf("span %s: trace %s, resource %v", s.Name, s.TraceID, s.ResourceID)
		}
	}
	root, model, tool := byType["agent_run"], byType["model_generation"], byType["tool_call"]
	if root.ParentSpanID != nil || *model.ParentSpanID != root.SpanID || *tool.ParentSpanID != model.SpanID {
		t.Errorf("parents: root %v, model %v, tool %v", root.ParentSpanID, model.ParentSpanID, tool.ParentSpanID)
	}
	if root.Name != "agent run: 'helper'" || *root.EntityName != "Helper" || string(tool.Input) != `{"city":"Oslo"}` {
		t.Errorf("root %s %v, tool input %s", root.Name, *root.EntityName, tool.Input)
	}
	if len(st.metrics) != 5 { // three durations, two token counts
		t.Errorf("metrics = %d; want 5", len(st.metrics))
	}
	// Each event's id is its span's and its name, unique in the batch.
	ids := map[string]bool{}
	for _, m := range st.metrics {
		if m.MetricID != *m.SpanID+":"+m.Name || ids[m.MetricID] {
			t.Errorf("metric %s of span %s: id %q", m.Name, *m.SpanID, m.MetricID)
		}
		ids[m.MetricID] = true
	}
}

// Without content capture no input or output is stored.
func TestNoContentWithoutCapture(t *testing.T) {
	st := &fakeStore{}
	r := New(Options{Store: st, QueueSize: 100, BatchSize: 10, FlushInterval: time.Millisecond})
	r.Start(context.Background())
	turn(r.Agents(), context.Background(), &agent.Agent{ID: "helper", Instructions: "secret"})
	r.Close(context.Background())
	for _, s := range st.written() {
		if s.Input != nil || s.Output != nil || string(s.Attributes) == "" {
			t.Errorf("span %s stored content: in %s, out %s", s.Name, s.Input, s.Output)
		}
	}
}

// A full queue drops and counts; the observer never blocks.
func TestFullQueueDrops(t *testing.T) {
	st := &fakeStore{block: make(chan struct{})}
	r := New(Options{Store: st, QueueSize: 2, BatchSize: 1, FlushInterval: time.Millisecond})
	r.Start(context.Background())
	for range 4 {
		turn(r.Agents(), context.Background(), &agent.Agent{ID: "a"})
	}
	// 12 spans: the writer holds at most one, the queue two.
	if d := r.Dropped(); d < 9 {
		t.Errorf("dropped %d; want at least 9 of 12", d)
	}
	close(st.block)
	r.Close(context.Background())
	if w := r.Written(); w+r.Dropped() != 12 {
		t.Errorf("written %d + dropped %d; want 12", w, r.Dropped())
	}
}

// A full batch is written when it is full, not at the flush interval; what
// is left is written on Close.
func TestFullBatchWrittenAtOnce(t *testing.T) {
	st := &fakeStore{}
	r := New(Options{Store: st, QueueSize: 100, BatchSize: 3, FlushInterval: time.Hour})
	r.Start(context.Background())
	turn(r.Agents(), context.Background(), &agent.Agent{ID: "a"}) // three spans
	for deadline := time.Now().Add(10 * time.Second); len(st.written()) < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a full batch waited for the flush interval: %d spans written", len(st.written()))
		}
	}
	_, end := r.Agents().StartTurn(context.Background(), agent.TurnInfo{Agent: &agent.Agent{ID: "a"}, RunID: "run-2"})
	end(agent.TurnEnd{Outcome: agent.OutcomeOK})
	r.Close(context.Background())
	spans := st.written()
	if n := len(spans); n != 4 || r.Written() != 4 {
		t.Fatalf("after Close, %d spans written (Written %d); want 4", n, r.Written())
	}
	// An agent without a name is named by its id.
	if root := spans[3]; root.SpanType != "agent_run" || *root.EntityType != "agent" || *root.EntityID != "a" || *root.EntityName != "a" {
		t.Errorf("agent_run entity: %s %v %v %v", root.SpanType, root.EntityType, root.EntityID, root.EntityName)
	}
}

// A workflow run's steps share one trace under a workflow_run root.
func TestWorkflowStepsShareARun(t *testing.T) {
	st := &fakeStore{}
	r := New(Options{Store: st, QueueSize: 100, BatchSize: 10, FlushInterval: time.Millisecond})
	r.Start(context.Background())
	w := r.Workflows()
	for _, step := range []string{"draft", "review"} {
		_, end := w.StartStep(context.Background(), workflow.StepRun{Workflow: "flow", RunID: "run-9", Step: step, Kind: "agent", ResourceID: "res-9"})
		end(workflow.StepOK)
	}
	r.Close(context.Background())
	spans := st.written()
	var root string
	steps := 0
	for _, s := range spans {
		switch s.SpanType {
		case "workflow_run":
			root = s.SpanID
		case "workflow_step":
			steps++
		}
	}
	for _, s := range spans {
		if s.TraceID != spans[0].TraceID || (s.SpanType == "workflow_step" && *s.ParentSpanID != root) || *s.ResourceID != "res-9" {
			t.Errorf("span %s: trace %s parent %v", s.Name, s.TraceID, s.ParentSpanID)
		}
	}
	if steps != 2 || root == "" {
		t.Errorf("spans = %+v", spans)
	}
}

// Sampling picks by trace id, the same for every scorer of one rate.
func TestScorerSampling(t *testing.T) {
	a, _ := NewScorer("a", "", "", "contains", "x", "", "", 0.3)
	b, _ := NewScorer("b", "", "", "regex", "", "x", "", 0.3)
	n := 0
	for i := range 1000 {
		id := hex64(uint64(i) * 0x9E3779B97F4A7C15)
		if a.Samples(id) != b.Samples(id) {
			t.Fatal("scorers of one rate disagree")
		}
		if a.Samples(id) {
			n++
		}
	}
	if n < 200 || n > 400 {
		t.Errorf("sampled %d of 1000 at 0.3", n)
	}
}

// BenchmarkTurnSpans is what stored spans add to a turn's goroutine: a
// turn with a model call and a tool call (the writer's work is on its own
// goroutine and not counted). Compare with a turn's CPU.
func BenchmarkTurnSpans(b *testing.B) {
	st := &fakeStore{discard: true}
	r := New(Options{Store: st, QueueSize: 10000, BatchSize: 500, FlushInterval: time.Second})
	r.Start(context.Background())
	defer r.Close(context.Background())
	o, a, ctx := r.Agents(), &agent.Agent{ID: "helper", Name: "Helper", MaxSteps: 5}, context.Background()
	b.ReportAllocs()
	for b.Loop() {
		turn(o, ctx, a)
	}
}

// A line logged inside a stored span is stored with its trace, span and
// resource; a line outside any is not.
func TestLogLinesOfRuns(t *testing.T) {
	st := &fakeStore{}
	r := New(Options{Store: st, QueueSize: 100, BatchSize: 10, FlushInterval: time.Millisecond})
	r.Start(context.Background())
	log := slog.New(r.LogHandler(slog.NewTextHandler(io.Discard, nil))).With("agent", "helper")
	ctx, end := r.Agents().StartTurn(context.Background(), agent.TurnInfo{Agent: &agent.Agent{ID: "helper"}, ResourceID: "res-1"})
	log.WarnContext(ctx, "agent: tool failed", "tool", "weather")
	log.InfoContext(context.Background(), "not in a run")
	end(agent.TurnEnd{Outcome: agent.OutcomeOK})
	r.Close(context.Background())
	if len(st.logs) != 1 {
		t.Fatalf("stored %d lines; want the run's one", len(st.logs))
	}
	l, root := st.logs[0], st.written()[0]
	if l.Level != "warn" || l.Message != "agent: tool failed" || *l.TraceID != root.TraceID || *l.SpanID != root.SpanID ||
		*l.ResourceID != "res-1" || string(l.Data) != `{"agent":"helper","tool":"weather"}` {
		t.Errorf("line = %+v data %s", l, l.Data)
	}
}

// With traces exported, a stored span has the exported span's ids: the
// trace in Studio and the one in the collector are the same.
func TestReusesOTelIDs(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("test")
	st := &fakeStore{}
	r := New(Options{Store: st, QueueSize: 100, BatchSize: 10, FlushInterval: time.Millisecond, OTelIDs: true})
	r.Start(context.Background())
	// The tracing observer runs first: its span is the context's.
	ctx, span := tracer.Start(context.Background(), "invoke_agent helper")
	ctx, end := r.Agents().StartTurn(ctx, agent.TurnInfo{Agent: &agent.Agent{ID: "helper"}})
	mctx, mspan := tracer.Start(ctx, "chat gpt")
	_, mc := r.Agents().StartModelCall(mctx, agent.ModelCallInfo{Agent: &agent.Agent{ID: "helper"}, Request: &llm.Request{}})
	mc.End(&llm.Response{}, nil)
	mspan.End()
	end(agent.TurnEnd{Outcome: agent.OutcomeOK})
	span.End()
	r.Close(context.Background())
	got := map[string]memory.Span{}
	for _, s := range st.written() {
		got[s.SpanType] = s
	}
	root, model := got["agent_run"], got["model_generation"]
	sc, msc := span.SpanContext(), mspan.SpanContext()
	if root.TraceID != sc.TraceID().String() || root.SpanID != sc.SpanID().String() ||
		model.TraceID != sc.TraceID().String() || model.SpanID != msc.SpanID().String() || *model.ParentSpanID != root.SpanID {
		t.Errorf("stored %s/%s and %s/%s; want the exported %s/%s and %s", root.TraceID, root.SpanID, model.TraceID, model.SpanID,
			sc.TraceID(), sc.SpanID(), msc.SpanID())
	}
}

// discardQueue takes score jobs and keeps none (the durable queue's place).
type discardQueue struct{}

func (discardQueue) Enqueue(context.Context, ScoreJob) error { return nil }

// BenchmarkTurnSpansJudged is BenchmarkTurnSpans with an LLM-judged
// scorer sampling every turn: what a judge adds to the turn's goroutine is
// building the job and handing it over (the judge runs later, elsewhere).
// The queue discards, so the judge's model is never called here.
func BenchmarkTurnSpansJudged(b *testing.B) {
	st := &fakeStore{discard: true}
	sc, err := NewJudgeScorer("judge", "", "", Judge{Model: llm.Echo{}, Provider: "echo", Prompt: "Is it polite?"}, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := New(Options{Store: st, QueueSize: 10000, BatchSize: 500, FlushInterval: time.Second,
		Scorers: map[string][]*Scorer{"helper": {sc}}})
	r.SetScoreQueue(discardQueue{})
	r.Start(context.Background())
	defer r.Close(context.Background())
	o, a, ctx := r.Agents(), &agent.Agent{ID: "helper", Name: "Helper", MaxSteps: 5}, context.Background()
	b.ReportAllocs()
	for b.Loop() {
		turn(o, ctx, a)
	}
	if r.ScoresDropped() > 0 {
		b.Logf("%d score jobs dropped (queue full)", r.ScoresDropped())
	}
}

// BenchmarkScoreHandOff is all a sampled scorer costs the turn's
// goroutine: building the job and one channel send (the queue discards).
func BenchmarkScoreHandOff(b *testing.B) {
	sc, err := NewJudgeScorer("judge", "", "", Judge{Model: llm.Echo{}, Provider: "echo", Prompt: "Is it polite?"}, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := New(Options{Store: &fakeStore{discard: true}, QueueSize: 10000, BatchSize: 500, FlushInterval: time.Second,
		Scorers: map[string][]*Scorer{"helper": {sc}}})
	r.SetScoreQueue(discardQueue{})
	r.Start(context.Background())
	defer r.Close(context.Background())
	res, thread := "res-1", "t-1"
	sp := memory.Span{TraceID: "0123456789abcdef0123456789abcdef", SpanID: "0123456789abcdef", ResourceID: &res, ThreadID: &thread}
	msgs := []llm.Message{{Role: llm.RoleSystem, Content: "Be brief."}, {Role: llm.RoleUser, Content: "hi"}}
	b.ReportAllocs()
	for b.Loop() {
		if sc.Samples(sp.TraceID) {
			r.enqueueScore(jobOf(sc, &sp, "live", "", lastUser(msgs), "It is 3 degrees"))
		}
	}
}

// The turn rules grade the facts of a turn or run: a latency over its
// limit is a 0, a turn with no token count (a workflow run) fails a
// tokens rule, and a negated tool_called is 1 only when the tool was not
// called; a rule missing its limit is refused when built.
func TestTurnRules(t *testing.T) {
	build := func(r Rule) *Scorer {
		t.Helper()
		sc, err := NewRuleScorer("s", "", "", r, 1)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	slow, lean := build(Rule{Kind: "latency", MaxMS: 100}), build(Rule{Kind: "tokens", MaxTokens: 50})
	absent := build(Rule{Kind: "tool_called", Tool: "weather", Negate: true})
	for _, c := range []struct {
		sc   *Scorer
		sub  Subject
		want float64
	}{
		{slow, Subject{DurationMS: 100}, 1}, {slow, Subject{DurationMS: 101}, 0},
		{lean, Subject{Tokens: 50, TokensKnown: true}, 1}, {lean, Subject{Tokens: 51, TokensKnown: true}, 0}, {lean, Subject{}, 0},
		{absent, Subject{Tools: []string{"search"}, ToolsKnown: true}, 1}, {absent, Subject{Tools: []string{"search", "weather"}, ToolsKnown: true}, 0},
	} {
		g, err := c.sc.Grade(context.Background(), "", c.sub)
		if err != nil || g.Score != c.want {
			t.Errorf("%s %+v = %v (%q), %v; want %v", c.sc.Kind, c.sub, g.Score, g.Reason, err, c.want)
		}
	}
	for _, r := range []Rule{{Kind: "latency"}, {Kind: "tokens"}, {Kind: "tool_called"}} {
		if _, err := NewRuleScorer("s", "", "", r, 1); err == nil {
			t.Errorf("NewRuleScorer(%+v) accepted a rule without its setting", r)
		}
	}
}
