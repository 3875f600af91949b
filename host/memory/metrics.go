package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Metric events (mastra_metric_events, migration 20261210000403): one row
// per metric of an ended span, written with the span's batch. The metrics
// routes read the rows of a query and aggregate them in Go, the same on
// both databases.

// MetricEvent is one row of mastra_metric_events.
type MetricEvent struct {
	bun.BaseModel `bun:"table:mastra_metric_events"`

	MetricID  string   `bun:"metricId,notnull" json:"metricId"`
	Timestamp SpanTime `bun:"timestamp,notnull" json:"timestamp"`
	Name      string   `bun:"name,notnull" json:"name"`
	Value     float64  `bun:"value,notnull" json:"value"`
	EventContext
	Provider *string  `bun:"provider" json:"provider"`
	Model    *string  `bun:"model" json:"model"`
	Labels   SpanJSON `bun:"labels,type:jsonb" json:"labels"`
}

// MetricFilterColumns are the columns a metric query may filter and group
// on.
var MetricFilterColumns = append([]string{"resourceId", "provider", "model"}, EventFilterColumns...)

// MetricQuery selects metric events.
type MetricQuery struct {
	ResourceID string
	Names      []string
	Equal      map[string]string
	Timestamp  TimeRange
	// Limit caps the rows read (the newest are kept out: rows come oldest
	// first); the caller reports a query that hits it.
	Limit int
}

// SaveMetrics stores metric events; a row stored before (a retried batch)
// is kept as it is.
func (s *Store) SaveMetrics(ctx context.Context, ms []MetricEvent) error {
	if len(ms) == 0 {
		return nil
	}
	const conflict = `CONFLICT ("metricId", "timestamp") DO NOTHING`
	if s.kind == "postgres" {
		if err := s.execPostgres(ctx, metricsSQL(s.db.Dialect(), ms, conflict)); err != nil {
			return classify(fmt.Errorf("memory: save %d metrics: %w", len(ms), err))
		}
		return nil
	}
	// Returning("NULL"): as SaveLogs, nothing read back into shared pointers.
	if _, err := s.db.NewInsert().Model(&ms).On(conflict).Returning("NULL").Exec(ctx); err != nil {
		return classify(fmt.Errorf("memory: save %d metrics: %w", len(ms), err))
	}
	return nil
}

// Metrics returns the metric events of a query, oldest first.
func (s *Store) Metrics(ctx context.Context, mq MetricQuery) ([]MetricEvent, error) {
	var out []MetricEvent
	q := s.db.NewSelect().Model(&out).Where("name IN (?)", bun.In(mq.Names)).OrderExpr(`"timestamp" ASC`).Limit(int64(mq.Limit))
	if mq.ResourceID != "" {
		q = q.Where(`"resourceId" = ?`, mq.ResourceID)
	}
	for col, v := range mq.Equal {
		q = q.Where("? = ?", bun.Ident(col), v)
	}
	q = whereRange(q, "timestamp", mq.Timestamp)
	if err := q.Scan(ctx); err != nil {
		return nil, classify(fmt.Errorf("memory: metrics: %w", err))
	}
	return out, nil
}

// MetricNames lists the distinct metric names of resourceID's events.
func (s *Store) MetricNames(ctx context.Context, resourceID string, limit int) ([]string, error) {
	var names []string
	q := s.db.NewSelect().TableExpr("mastra_metric_events").ColumnExpr("DISTINCT name").OrderExpr("name ASC").Limit(int64(limit))
	if resourceID != "" {
		q = q.Where(`"resourceId" = ?`, resourceID)
	}
	if err := q.Scan(ctx, &names); err != nil {
		return nil, classify(fmt.Errorf("memory: metric names: %w", err))
	}
	return names, nil
}

// PruneObservabilityEvents deletes metric events, scores, feedback and
// logs older than cutoff (the spans' retention applies to them too).
func (s *Store) PruneObservabilityEvents(ctx context.Context, cutoff time.Time) error {
	for _, t := range []string{"mastra_metric_events", "mastra_score_events", "mastra_feedback_events", "mastra_log_events"} {
		if _, err := s.db.NewDelete().TableExpr(t).Where(`"timestamp" < ?`, SpanTime{cutoff}).Exec(ctx); err != nil {
			return classify(fmt.Errorf("memory: prune %s: %w", t, err))
		}
	}
	return nil
}

// ListMetrics returns a page of metric events and how many match.
func (s *Store) ListMetrics(ctx context.Context, eq EventQuery) ([]MetricEvent, int, error) {
	var out []MetricEvent
	n, err := s.selectEvents(s.db.NewSelect().Model(&out), eq).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("memory: list metrics: %w", err))
	}
	return out, int(n), nil
}
