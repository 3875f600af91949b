package memory

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func strp(s string) *string { return &s }

// testTrace is a turn's trace: an agent_run root and a model_generation
// child, both of resource res.
func testTrace(traceID, res string, at time.Time) []Span {
	end := SpanTime{at.Add(time.Second)}
	root := Span{TraceID: traceID, SpanID: traceID + "-root", Name: "agent run: 'helper'", SpanType: "agent_run",
		StartedAt: SpanTime{at}, EndedAt: &end, EntityType: strp("agent"), EntityID: strp("helper"), EntityName: strp("Helper"),
		ResourceID: strp(res), ThreadID: strp("t-" + traceID), Attributes: SpanJSON(`{"maxSteps":5}`),
		Output: SpanJSON(`{"text":"hi \u0000 there"}`), CreatedAt: end}
	child := Span{TraceID: traceID, SpanID: traceID + "-llm", ParentSpanID: strp(traceID + "-root"), Name: "llm: 'gpt'",
		SpanType: "model_generation", StartedAt: SpanTime{at.Add(time.Millisecond)}, EndedAt: &end, ResourceID: strp(res),
		Attributes: SpanJSON(`{"usage":{"inputTokens":3,"outputTokens":4}}`), CreatedAt: end}
	return []Span{child, root}
}

func TestSpansStoredAndReadPerResource(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var all []Span
		for i, id := range []string{"a1", "a2", "a3"} {
			all = append(all, testTrace(id, "alice", t0.Add(time.Duration(i)*time.Minute))...)
		}
		all = append(all, testTrace("b1", "bob", t0.Add(10*time.Minute))...)
		failed := testTrace("a4", "alice", t0.Add(20*time.Minute))
		failed[1].Error = SpanJSON(`{"message":"boom"}`)
		all = append(all, failed...)
		if err := s.SaveSpans(ctx, all); err != nil {
			t.Fatal(err)
		}
		// A batch written twice (a retry) stores nothing twice.
		if err := s.SaveSpans(ctx, all[:2]); err != nil {
			t.Fatalf("resave: %v", err)
		}

		roots, total, err := s.ListTraces(ctx, TraceQuery{ResourceID: "alice", OrderBy: "startedAt", Desc: true, PerPage: 2})
		if err != nil {
			t.Fatal(err)
		}
		if total != 4 || len(roots) != 2 || roots[0].TraceID != "a4" || roots[1].TraceID != "a3" {
			t.Fatalf("alice's first page = %d of %d %v", len(roots), total, ids(roots))
		}
		if roots[0].Status() != "error" || roots[1].Status() != "success" {
			t.Errorf("statuses = %s, %s", roots[0].Status(), roots[1].Status())
		}
		page2, _, _ := s.ListTraces(ctx, TraceQuery{ResourceID: "alice", Desc: true, PerPage: 2, Page: 1})
		if got := ids(page2); got != "a2,a1" {
			t.Errorf("page 2 = %s", got)
		}
		after, _, _ := s.ListTraces(ctx, TraceQuery{ResourceID: "alice", Desc: true, PerPage: 10,
			After: &TraceCursor{At: roots[1].StartedAt.Time, TraceID: roots[1].TraceID}})
		if got := ids(after); got != "a2,a1" {
			t.Errorf("after a3 = %s", got)
		}
		errs, n, _ := s.ListTraces(ctx, TraceQuery{Status: "error", PerPage: 10})
		if n != 1 || ids(errs) != "a4" {
			t.Errorf("error traces = %s", ids(errs))
		}
		ranged, _, _ := s.ListTraces(ctx, TraceQuery{PerPage: 10, StartedAt: TimeRange{Start: t0.Add(time.Minute), End: t0.Add(10 * time.Minute)},
			Equal: map[string]string{"entityType": "agent"}})
		if got := ids(ranged); got != "a2,a3,b1" {
			t.Errorf("ranged = %s", got)
		}

		// A trace reads whole, in start order, for its resource only.
		spans, err := s.TraceSpans(ctx, "alice", "a1")
		if err != nil || len(spans) != 2 || spans[0].SpanType != "agent_run" || spans[1].ParentSpanID == nil {
			t.Fatalf("trace a1 = %+v, %v", spans, err)
		}
		var out struct{ Text string }
		if err := json.Unmarshal(spans[0].Output, &out); err != nil || out.Text != "hi \uFFFD there" {
			t.Errorf("output = %s (%v)", spans[0].Output, err)
		}
		if !spans[0].StartedAt.Equal(t0) {
			t.Errorf("startedAt = %v, want %v", spans[0].StartedAt, t0)
		}
		if _, err := s.TraceSpans(ctx, "bob", "a1"); !errors.Is(err, ErrSpanNotFound) {
			t.Errorf("bob reads alice's trace: %v", err)
		}
		if sp, err := s.SpanByID(ctx, "alice", "a1", "a1-llm"); err != nil || sp.Name != "llm: 'gpt'" {
			t.Errorf("span = %+v, %v", sp, err)
		}
		if _, err := s.SpanByID(ctx, "bob", "a1", "a1-llm"); !errors.Is(err, ErrSpanNotFound) {
			t.Errorf("bob reads alice's span: %v", err)
		}
		names, err := s.DistinctSpanValues(ctx, "bob", "entityName", nil, 10)
		if err != nil || len(names) != 1 || names[0] != "Helper" {
			t.Errorf("entity names = %v, %v", names, err)
		}

		// Bob cannot delete alice's trace; alice can.
		if n, _ := s.DeleteTraces(ctx, "bob", []string{"a1"}); n != 0 {
			t.Errorf("bob deleted %d of alice's spans", n)
		}
		if n, _ := s.DeleteTraces(ctx, "alice", []string{"a1"}); n != 2 {
			t.Errorf("alice deleted %d spans, want 2", n)
		}

		// Retention deletes by start time.
		n, err = 0, nil
		pruned, err := s.PruneSpans(ctx, t0.Add(5*time.Minute), 1000)
		if err != nil || pruned != 4 {
			t.Errorf("pruned %d, %v; want the 4 spans of a2 and a3", pruned, err)
		}
		_, left, _ := s.ListTraces(ctx, TraceQuery{PerPage: 10})
		if left != 2 {
			t.Errorf("%d traces left, want b1 and a4", left)
		}
	})
}

// A workflow run's root is written by each step; its rows merge into one
// from the first start to the last end, with any step's error.
func TestSpanRowsMerge(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		root := func(from, to time.Duration, errJSON string) Span {
			end := SpanTime{t0.Add(to)}
			return Span{TraceID: "w1", SpanID: "run", Name: "workflow run: 'flow'", SpanType: "workflow_run",
				StartedAt: SpanTime{t0.Add(from)}, EndedAt: &end, Error: SpanJSON(errJSON), CreatedAt: end}
		}
		if err := s.SaveSpans(ctx, []Span{root(time.Second, 2*time.Second, ""), root(3*time.Second, 4*time.Second, "")}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSpans(ctx, []Span{root(0, time.Second, `{"message":"step failed"}`)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.TraceSpans(ctx, "", "w1")
		if err != nil || len(got) != 1 {
			t.Fatalf("trace = %+v, %v", got, err)
		}
		if !got[0].StartedAt.Equal(t0) || !got[0].EndedAt.Equal(t0.Add(4*time.Second)) || got[0].Status() != "error" {
			t.Errorf("merged root = %v to %v, %s; want 0s to 4s, error", got[0].StartedAt, got[0].EndedAt, got[0].Status())
		}
	})
}

func ids(spans []Span) string {
	out := ""
	for i, s := range spans {
		if i > 0 {
			out += ","
		}
		out += s.TraceID
	}
	return out
}
