package observe

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Scorers ([scorers.<id>]) grade what an agent turn or a workflow run
// produced, after it ended: rule-based kinds (contains, regex,
// json_schema) here, LLM-judged ones in judge.go. The turn only queues a
// job (scorejobs.go); grading and storing happen off its path.

// Scorer grades a reply.
type Scorer struct {
	ID, Name, Description, Kind string
	// Rate is the share of turns scored (0 to 1).
	Rate float64
	// rule grades by a rule; judge by a model (one of them is set).
	rule  func(s Subject) (float64, string)
	judge *Judge
}

// Rule is a rule-based scorer's settings ([scorers.<id>]): Kind with the
// field it reads.
type Rule struct {
	// Kind is contains (Text), regex (Pattern), json_schema (Schema),
	// tool_called (Tool; Negate scores 1 when it was not called), latency
	// (MaxMS) or tokens (MaxTokens).
	Kind, Text, Pattern, Schema, Tool string
	Negate                            bool
	MaxMS                             int64
	MaxTokens                         int
}

// Subject is what a rule grades: the reply (or a workflow's result as
// JSON) and the facts of the turn or run that produced it.
type Subject struct {
	Output string
	// Tools are the names of the tools the turn called, in order; nil
	// when unknown (ToolsKnown false).
	Tools      []string
	ToolsKnown bool
	// DurationMS is the turn's or run's wall time; Tokens its model
	// tokens, input and output (TokensKnown false for a workflow run).
	DurationMS  int64
	Tokens      int
	TokensKnown bool
}

// NewScorer builds a scorer of kind contains (text), regex (pattern) or
// json_schema (schema).
func NewScorer(id, name, description, kind, text, pattern, schema string, rate float64) (*Scorer, error) {
	return NewRuleScorer(id, name, description, Rule{Kind: kind, Text: text, Pattern: pattern, Schema: schema}, rate)
}

// NewRuleScorer builds a rule-based scorer.
func NewRuleScorer(id, name, description string, r Rule, rate float64) (*Scorer, error) {
	if name == "" {
		name = id
	}
	s := &Scorer{ID: id, Name: name, Description: description, Kind: r.Kind, Rate: rate}
	switch r.Kind {
	case "contains":
		text := r.Text
		s.rule = func(sub Subject) (float64, string) {
			if strings.Contains(sub.Output, text) {
				return 1, fmt.Sprintf("the reply contains %q", text)
			}
			return 0, fmt.Sprintf("the reply does not contain %q", text)
		}
	case "regex":
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("scorer %s: pattern: %w", id, err)
		}
		pattern := r.Pattern
		s.rule = func(sub Subject) (float64, string) {
			if re.MatchString(sub.Output) {
				return 1, fmt.Sprintf("the reply matches %s", pattern)
			}
			return 0, fmt.Sprintf("the reply does not match %s", pattern)
		}
	case "json_schema":
		sch, err := toolschema.Compile(json.RawMessage(r.Schema))
		if err != nil {
			return nil, fmt.Errorf("scorer %s: %w", id, err)
		}
		s.rule = func(sub Subject) (float64, string) {
			if err := sch.Validate(json.RawMessage(strings.TrimSpace(sub.Output))); err != nil {
				return 0, "the reply is not JSON valid against the schema: " + clip(err.Error(), 500)
			}
			return 1, "the reply is JSON valid against the schema"
		}
	case "tool_called":
		if r.Tool == "" {
			return nil, fmt.Errorf("scorer %s: a tool_called scorer needs a tool", id)
		}
		tool, negate := r.Tool, r.Negate
		s.rule = func(sub Subject) (float64, string) {
			n := 0
			for _, t := range sub.Tools {
				if t == tool {
					n++
				}
			}
			called := n > 0
			why := fmt.Sprintf("the turn called %s %d time(s)", tool, n)
			if !called {
				why = fmt.Sprintf("the turn did not call %s", tool)
			}
			if called != negate {
				return 1, why
			}
			return 0, why
		}
	case "latency":
		if r.MaxMS <= 0 {
			return nil, fmt.Errorf("scorer %s: a latency scorer needs max_ms > 0", id)
		}
		limit := r.MaxMS
		s.rule = func(sub Subject) (float64, string) {
			if sub.DurationMS <= limit {
				return 1, fmt.Sprintf("it took %d ms, within %d ms", sub.DurationMS, limit)
			}
			return 0, fmt.Sprintf("it took %d ms, over %d ms", sub.DurationMS, limit)
		}
	case "tokens":
		if r.MaxTokens <= 0 {
			return nil, fmt.Errorf("scorer %s: a tokens scorer needs max_tokens > 0", id)
		}
		limit := r.MaxTokens
		s.rule = func(sub Subject) (float64, string) {
			if !sub.TokensKnown {
				return 0, "no token count was recorded"
			}
			if sub.Tokens <= limit {
				return 1, fmt.Sprintf("it used %d tokens, within %d", sub.Tokens, limit)
			}
			return 0, fmt.Sprintf("it used %d tokens, over %d", sub.Tokens, limit)
		}
	default:
		return nil, fmt.Errorf("scorer %s: unknown kind %q", id, r.Kind)
	}
	return s, nil
}

// NeedsTools reports whether the scorer reads the tools a turn called
// (a stored trace's agent span does not list them).
func (s *Scorer) NeedsTools() bool { return s.Kind == "tool_called" }

// Samples reports whether the scorer grades the turn of traceID: the
// first 8 bytes of sha256(traceID) as a fraction of 2^64 under Rate, so
// every scorer of one rate picks the same turns.
func (s *Scorer) Samples(traceID string) bool {
	if s.Rate >= 1 {
		return true
	}
	h := sha256.Sum256([]byte(traceID))
	return float64(binary.BigEndian.Uint64(h[:8]))/(1<<64) < s.Rate
}

// LLM reports whether the scorer asks a judge model (it needs the turn's
// input, and costs tokens).
func (s *Scorer) LLM() bool { return s.judge != nil }

// Grade is a scorer's verdict.
type Grade struct {
	Score  float64
	Reason string
	// Judge is the judge's "provider/model" and Usage its tokens (LLM
	// scorers only).
	Judge string
	Usage Usage
}

// Usage counts a judge's tokens.
type Usage struct {
	InputTokens  int `json:"inputTokens"`
	OutputTokens int `json:"outputTokens"`
}

// Grade grades sub (the reply, or a workflow's result as JSON, and the
// facts of its turn or run) given input (the user's message; only judges
// read it). An error is the
// judge's: rules cannot fail.
func (s *Scorer) Grade(ctx context.Context, input string, sub Subject) (Grade, error) {
	if s.judge != nil {
		return s.judge.grade(ctx, input, sub.Output)
	}
	v, why := s.rule(sub)
	return Grade{Score: v, Reason: why}, nil
}
