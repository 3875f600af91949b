package observe

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Rule-based scorers ([scorers.<id>]): after a turn that succeeded, each
// of its agent's scorers that samples the turn grades the reply, on the
// recorder's scorer goroutine (never on the turn's), and the score is
// stored with the turn's trace, span and resource (mastra_score_events).

// Scorer grades a reply.
type Scorer struct {
	ID, Name, Description, Kind string
	// Rate is the share of turns scored (0 to 1).
	Rate float64
	// grade returns the score (1 pass, 0 fail) and why.
	grade func(text string) (float64, string)
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
		s.grade = func(reply string) (float64, string) {
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
		s.grade = func(reply string) (float64, string) {
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
		s.grade = func(reply string) (float64, string) {
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

// scoreJob is one reply to grade.
type scoreJob struct {
	scorer *Scorer
	reply  string
	span   *memory.Span // the turn's agent_run span
}

// enqueueScore hands a job to the scorer goroutine, or drops it when its
// queue is full.
func (r *Recorder) enqueueScore(j scoreJob) {
	select {
	case r.scores <- j:
	default:
		r.scoresDropped.Add(1)
	}
}

func (r *Recorder) scoreLoop(ctx context.Context) {
	for {
		select {
		case j := <-r.scores:
			r.score(j)
		case <-ctx.Done():
			for {
				select {
				case j := <-r.scores:
					r.score(j)
				default:
					return
				}
			}
		}
	}
}

func (r *Recorder) score(j scoreJob) {
	v, reason := j.scorer.grade(j.reply)
	sp := j.span
	src, live := "LIVE", "live"
	row := memory.Score{ScoreID: uuid.NewString(), Timestamp: memory.SpanTime{Time: time.Now()}, ScorerID: j.scorer.ID,
		ScorerName: &j.scorer.Name, ScoreSource: &live, Score: v, Reason: &reason,
		EventContext: memory.EventContext{TraceID: &sp.TraceID, SpanID: &sp.SpanID, EntityType: sp.EntityType,
			EntityID: sp.EntityID, EntityName: sp.EntityName, ResourceID: sp.ResourceID, ThreadID: sp.ThreadID,
			RunID: sp.RunID, ServiceName: sp.ServiceName, Source: &src}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.o.Store.SaveScore(ctx, row); err != nil {
		r.scoresFailed.Add(1)
		r.o.Logger.Warn("observability: score not stored", "scorer", j.scorer.ID, "err", err)
		return
	}
	r.scored.Add(1)
}

// ScoreReply grades reply with the scorer of id (or name) among every
// agent's; found is false when there is none such.
func (r *Recorder) ScoreReply(id, reply string) (score float64, reason, scorerID, scorerName string, found bool) {
	for _, list := range r.o.Scorers {
		for _, sc := range list {
			if sc.ID == id || sc.Name == id {
				v, why := sc.grade(reply)
				return v, why, sc.ID, sc.Name, true
			}
		}
	}
	return 0, "", "", "", false
}
