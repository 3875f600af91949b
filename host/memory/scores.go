package memory

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// Scores and feedback of Mastra's observability routes
// (mastra_score_events, mastra_feedback_events; migration
// 20261210000402). Reads take the resource they act for ("" = every one).

// EventContext is the context columns scores and feedback share with
// spans (Mastra's CONTEXT fields).
type EventContext struct {
	TraceID         *string `bun:"traceId" json:"traceId"`
	SpanID          *string `bun:"spanId" json:"spanId"`
	EntityType      *string `bun:"entityType" json:"entityType"`
	EntityID        *string `bun:"entityId" json:"entityId"`
	EntityName      *string `bun:"entityName" json:"entityName"`
	UserID          *string `bun:"userId" json:"userId"`
	OrganizationID  *string `bun:"organizationId" json:"organizationId"`
	ResourceID      *string `bun:"resourceId" json:"resourceId"`
	RunID           *string `bun:"runId" json:"runId"`
	SessionID       *string `bun:"sessionId" json:"sessionId"`
	ThreadID        *string `bun:"threadId" json:"threadId"`
	RequestID       *string `bun:"requestId" json:"requestId"`
	Environment     *string `bun:"environment" json:"environment"`
	ExecutionSource *string `bun:"executionSource" json:"executionSource"`
	ServiceName     *string `bun:"serviceName" json:"serviceName"`
	ExperimentID    *string `bun:"experimentId" json:"experimentId"`
	Source          *string `bun:"source" json:"source"`
}

// EventFilterColumns are the context columns a score or feedback listing
// may filter on with equality.
var EventFilterColumns = []string{"traceId", "spanId", "entityType", "entityId", "entityName", "userId", "organizationId",
	"runId", "sessionId", "threadId", "requestId", "environment", "executionSource", "serviceName", "experimentId", "source"}

// Score is one row of mastra_score_events.
type Score struct {
	bun.BaseModel `bun:"table:mastra_score_events"`

	ScoreID       string   `bun:"scoreId,notnull" json:"scoreId"`
	Timestamp     SpanTime `bun:"timestamp,notnull" json:"timestamp"`
	ScorerID      string   `bun:"scorerId,notnull" json:"scorerId"`
	ScorerName    *string  `bun:"scorerName" json:"scorerName"`
	ScorerVersion *string  `bun:"scorerVersion" json:"scorerVersion"`
	ScoreSource   *string  `bun:"scoreSource" json:"scoreSource"`
	Score         float64  `bun:"score,notnull" json:"score"`
	Reason        *string  `bun:"reason" json:"reason"`
	ScoreTraceID  *string  `bun:"scoreTraceId" json:"scoreTraceId"`
	EventContext
	Tags     SpanJSON `bun:"tags,type:jsonb" json:"tags"`
	Metadata SpanJSON `bun:"metadata,type:jsonb" json:"metadata"`
}

// Feedback is one row of mastra_feedback_events. Value is a number or a
// string: ValueNumber or ValueString.
type Feedback struct {
	bun.BaseModel `bun:"table:mastra_feedback_events"`

	FeedbackID     string   `bun:"feedbackId,notnull" json:"feedbackId"`
	Timestamp      SpanTime `bun:"timestamp,notnull" json:"timestamp"`
	FeedbackSource *string  `bun:"feedbackSource" json:"feedbackSource"`
	FeedbackType   string   `bun:"feedbackType,notnull" json:"feedbackType"`
	ValueString    *string  `bun:"valueString" json:"-"`
	ValueNumber    *float64 `bun:"valueNumber" json:"-"`
	Comment        *string  `bun:"comment" json:"comment"`
	FeedbackUserID *string  `bun:"feedbackUserId" json:"feedbackUserId"`
	SourceID       *string  `bun:"sourceId" json:"sourceId"`
	ReviewStatus   string   `bun:"reviewStatus,notnull" json:"reviewStatus"`
	EventContext
	Tags     SpanJSON `bun:"tags,type:jsonb" json:"tags"`
	Metadata SpanJSON `bun:"metadata,type:jsonb" json:"metadata"`
}

// EventQuery selects scores or feedback.
type EventQuery struct {
	ResourceID string
	// In are column IN (values) filters, by Mastra's column name (the
	// caller checks names).
	In        map[string][]string
	Timestamp TimeRange
	// OrderBy is "timestamp" (or "score" for scores); Desc newest first.
	OrderBy       string
	Desc          bool
	Page, PerPage int
}

func (s *Store) selectEvents(q *bun.SelectQuery, eq EventQuery) *bun.SelectQuery {
	if eq.ResourceID != "" {
		q = q.Where(`"resourceId" = ?`, eq.ResourceID)
	}
	for col, vals := range eq.In {
		q = q.Where("? IN (?)", bun.Ident(col), bun.In(vals))
	}
	q = whereRange(q, "timestamp", eq.Timestamp)
	order := "timestamp"
	if eq.OrderBy != "" {
		order = eq.OrderBy
	}
	dir := "ASC"
	if eq.Desc {
		dir = "DESC"
	}
	return q.OrderExpr("? "+dir, bun.Ident(order)).Limit(int64(eq.PerPage)).Offset(int64(eq.Page * eq.PerPage))
}

// SaveScore stores a score.
func (s *Store) SaveScore(ctx context.Context, sc Score) error {
	if _, err := s.db.NewInsert().Model(&sc).Exec(ctx); err != nil {
		return classify(fmt.Errorf("memory: save score: %w", err))
	}
	return nil
}

// ListScores returns a page of scores and how many match.
func (s *Store) ListScores(ctx context.Context, eq EventQuery) ([]Score, int, error) {
	var out []Score
	n, err := s.selectEvents(s.db.NewSelect().Model(&out), eq).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("memory: list scores: %w", err))
	}
	return out, int(n), nil
}

// ScoreByID returns one score of resourceID's, or ErrSpanNotFound.
func (s *Store) ScoreByID(ctx context.Context, resourceID, id string) (Score, error) {
	out, _, err := s.ListScores(ctx, EventQuery{ResourceID: resourceID, In: map[string][]string{"scoreId": {id}}, PerPage: 1})
	if err != nil {
		return Score{}, err
	}
	if len(out) == 0 {
		return Score{}, ErrSpanNotFound
	}
	return out[0], nil
}

// SaveFeedback stores feedback.
func (s *Store) SaveFeedback(ctx context.Context, f Feedback) error {
	if _, err := s.db.NewInsert().Model(&f).Exec(ctx); err != nil {
		return classify(fmt.Errorf("memory: save feedback: %w", err))
	}
	return nil
}

// ListFeedback returns a page of feedback and how many match.
func (s *Store) ListFeedback(ctx context.Context, eq EventQuery) ([]Feedback, int, error) {
	var out []Feedback
	n, err := s.selectEvents(s.db.NewSelect().Model(&out), eq).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("memory: list feedback: %w", err))
	}
	return out, int(n), nil
}

// LogEvent is one row of mastra_log_events.
type LogEvent struct {
	bun.BaseModel `bun:"table:mastra_log_events"`

	LogID     string   `bun:"logId,notnull" json:"logId"`
	Timestamp SpanTime `bun:"timestamp,notnull" json:"timestamp"`
	Level     string   `bun:"level,notnull" json:"level"`
	Message   string   `bun:"message,notnull" json:"message"`
	Data      SpanJSON `bun:"data,type:jsonb" json:"data"`
	EventContext
	Tags     SpanJSON `bun:"tags,type:jsonb" json:"tags"`
	Metadata SpanJSON `bun:"metadata,type:jsonb" json:"metadata"`
}

// SaveLogs stores log events.
func (s *Store) SaveLogs(ctx context.Context, logs []LogEvent) error {
	if len(logs) == 0 {
		return nil
	}
	for i := range logs {
		logs[i].Data = withoutNUL(logs[i].Data)
		logs[i].Message = strings.ReplaceAll(logs[i].Message, "\x00", "\uFFFD")
	}
	const conflict = `CONFLICT ("logId", "timestamp") DO NOTHING`
	if s.kind == "postgres" {
		if err := s.execPostgres(ctx, logsSQL(s.db.Dialect(), logs, conflict)); err != nil {
			return classify(fmt.Errorf("memory: save %d logs: %w", len(logs), err))
		}
		return nil
	}
	// Returning("NULL"): Bun would otherwise read back the columns it takes
	// for defaulted (trace and span ids among them) into the events, whose
	// pointers are shared with the spans' recorder (a data race, and work).
	if _, err := s.db.NewInsert().Model(&logs).On(conflict).Returning("NULL").Exec(ctx); err != nil {
		return classify(fmt.Errorf("memory: save %d logs: %w", len(logs), err))
	}
	return nil
}

// ListLogs returns a page of log events and how many match.
func (s *Store) ListLogs(ctx context.Context, eq EventQuery) ([]LogEvent, int, error) {
	var out []LogEvent
	n, err := s.selectEvents(s.db.NewSelect().Model(&out), eq).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("memory: list logs: %w", err))
	}
	return out, int(n), nil
}

// DeleteEvents deletes the rows of table (mastra_score_events or
// mastra_feedback_events) whose idColumn is in ids and that are
// resourceID's ("" = any).
func (s *Store) DeleteEvents(ctx context.Context, table, idColumn, resourceID string, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if (table != "mastra_score_events" || idColumn != "scoreId") && (table != "mastra_feedback_events" || idColumn != "feedbackId") {
		return 0, fmt.Errorf("memory: delete events: unknown table %s.%s", table, idColumn)
	}
	q := s.db.NewDelete().TableExpr(table).Where("? IN (?)", bun.Ident(idColumn), bun.In(ids))
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, classify(fmt.Errorf("memory: delete from %s: %w", table, err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// SetReviewStatus sets the review status of resourceID's feedback id and
// returns it; ErrSpanNotFound when it has none such.
func (s *Store) SetReviewStatus(ctx context.Context, resourceID, id, status string) (Feedback, error) {
	q := s.db.NewUpdate().TableExpr("mastra_feedback_events").Set(`"reviewStatus" = ?`, status).Where(`"feedbackId" = ?`, id)
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return Feedback{}, classify(fmt.Errorf("memory: review status: %w", err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Feedback{}, ErrSpanNotFound
	}
	out, _, err := s.ListFeedback(ctx, EventQuery{ResourceID: resourceID, In: map[string][]string{"feedbackId": {id}}, PerPage: 1})
	if err != nil || len(out) == 0 {
		return Feedback{}, err
	}
	return out[0], nil
}
