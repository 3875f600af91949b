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
	rule  func(text string) (float64, string)
	judge *Judge
}

// NewScorer builds a scorer of kind contains (text), regex (pattern) or
// json_schema (schema).
func NewScorer(id, name, description, kind, text, pattern, schema string, rate float64) (*Scorer, error) {
	if name == "" {
		name = id
	}
	s := &Scorer{ID: id, Name: name, Description: description, Kind: kind, Rate: rate}
	switch kind {
	case "contains":
		s.rule = func(reply string) (float64, string) {
			if strings.Contains(reply, text) {
				return 1, fmt.Sprintf("the reply contains %q", text)
			}
			return 0, fmt.Sprintf("the reply does not contain %q", text)
		}
	case "regex":
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("scorer %s: pattern: %w", id, err)
		}
		s.rule = func(reply string) (float64, string) {
			if re.MatchString(reply) {
				return 1, fmt.Sprintf("the reply matches %s", pattern)
			}
			return 0, fmt.Sprintf("the reply does not match %s", pattern)
		}
	case "json_schema":
		sch, err := toolschema.Compile(json.RawMessage(schema))
		if err != nil {
			return nil, fmt.Errorf("scorer %s: %w", id, err)
		}
		s.rule = func(reply string) (float64, string) {
			if err := sch.Validate(json.RawMessage(strings.TrimSpace(reply))); err != nil {
				return 0, "the reply is not JSON valid against the schema: " + clip(err.Error(), 500)
			}
			return 1, "the reply is JSON valid against the schema"
		}
	default:
		return nil, fmt.Errorf("scorer %s: unknown kind %q", id, kind)
	}
	return s, nil
}

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

// Grade grades output (the reply, or a workflow's result as JSON) given
// input (the user's message; only judges read it). An error is the
// judge's: rules cannot fail.
func (s *Scorer) Grade(ctx context.Context, input, output string) (Grade, error) {
	if s.judge != nil {
		return s.judge.grade(ctx, input, output)
	}
	v, why := s.rule(output)
	return Grade{Score: v, Reason: why}, nil
}
