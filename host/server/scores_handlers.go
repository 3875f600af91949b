package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Mastra's scores and feedback of the observability group: created by a
// client (POST, wrapped in {score} or {feedback}) and listed. A row is
// its resource's: a bound request writes its own resource whatever the
// body names, may attach it only to its own traces, and lists only its
// own.

// contextBody is Mastra's CONTEXT fields of a created score or feedback.
type contextBody struct {
	TraceID         *string         `json:"traceId"`
	SpanID          *string         `json:"spanId"`
	EntityType      *string         `json:"entityType"`
	EntityID        *string         `json:"entityId"`
	EntityName      *string         `json:"entityName"`
	UserID          *string         `json:"userId"`
	OrganizationID  *string         `json:"organizationId"`
	ResourceID      *string         `json:"resourceId"`
	RunID           *string         `json:"runId"`
	SessionID       *string         `json:"sessionId"`
	ThreadID        *string         `json:"threadId"`
	RequestID       *string         `json:"requestId"`
	Environment     *string         `json:"environment"`
	ExecutionSource *string         `json:"executionSource"`
	ServiceName     *string         `json:"serviceName"`
	ExperimentID    *string         `json:"experimentId"`
	Source          *string         `json:"source"`
	Tags            []string        `json:"tags"`
	Metadata        json.RawMessage `json:"metadata"`
}

// check validates the fields under prefix ("score.").
func (c *contextBody) check(prefix string) error {
	bad := func(f, msg string) error { return transport.Invalid("Invalid request body", prefix+f, msg) }
	for f, v := range map[string]*string{"traceId": c.TraceID, "spanId": c.SpanID, "entityType": c.EntityType,
		"entityId": c.EntityID, "entityName": c.EntityName, "userId": c.UserID, "organizationId": c.OrganizationID,
		"resourceId": c.ResourceID, "runId": c.RunID, "sessionId": c.SessionID, "threadId": c.ThreadID,
		"requestId": c.RequestID, "environment": c.Environment, "executionSource": c.ExecutionSource,
		"serviceName": c.ServiceName, "experimentId": c.ExperimentID, "source": c.Source} {
		if v == nil {
			continue
		}
		if msg := badText(*v); msg != "" || len(*v) > 512 {
			if msg == "" {
				msg = "at most 512 bytes"
			}
			return bad(f, msg)
		}
	}
	if c.EntityType != nil && !slices.Contains(entityTypes, *c.EntityType) {
		return bad("entityType", "expected one of "+strings.Join(entityTypes, ", "))
	}
	if len(c.Tags) > 100 {
		return bad("tags", "at most 100 tags")
	}
	for _, t := range c.Tags {
		if msg := badText(t); msg != "" || len(t) > 256 {
			return bad("tags", "each tag must be text of at most 256 bytes")
		}
	}
	if len(c.Metadata) > 0 && string(c.Metadata) != "null" {
		var m map[string]any
		if json.Unmarshal(c.Metadata, &m) != nil {
			return bad("metadata", "expected a JSON object")
		}
		if msg := badMetadata(m); msg != "" {
			return bad("metadata", msg)
		}
	}
	return nil
}

// row is the stored context, in resource res.
func (c *contextBody) row(res string) (memory.EventContext, memory.SpanJSON, memory.SpanJSON) {
	ec := memory.EventContext{TraceID: c.TraceID, SpanID: c.SpanID, EntityType: c.EntityType, EntityID: c.EntityID,
		EntityName: c.EntityName, UserID: c.UserID, OrganizationID: c.OrganizationID, RunID: c.RunID, SessionID: c.SessionID,
		ThreadID: c.ThreadID, RequestID: c.RequestID, Environment: c.Environment, ExecutionSource: c.ExecutionSource,
		ServiceName: c.ServiceName, ExperimentID: c.ExperimentID, Source: c.Source}
	if res != "" {
		ec.ResourceID = &res
	}
	var tags, meta memory.SpanJSON
	if c.Tags != nil {
		tags, _ = json.Marshal(c.Tags)
	}
	if len(c.Metadata) > 0 && string(c.Metadata) != "null" {
		meta = memory.SpanJSON(c.Metadata)
	}
	return ec, tags, meta
}

// eventResource is the resource a created score or feedback belongs to,
// and checks that the trace it names (if any) is that resource's.
func (s *Server) eventResource(r *http.Request, c *contextBody, field string) (string, error) {
	claim := ""
	if c.ResourceID != nil {
		claim = *c.ResourceID
	}
	res, err := s.resource(r, bodyClaim(claim, field+".resourceId"), anyWithoutAuth)
	if err != nil {
		return "", err
	}
	if res != "" && c.TraceID != nil && *c.TraceID != "" {
		if _, err := s.trace(r, res, *c.TraceID); err != nil {
			return "", err
		}
	}
	return res, nil
}

type createScoreBody struct {
	Score *struct {
		ScoreID       *string  `json:"scoreId"`
		ScorerID      *string  `json:"scorerId"`
		Score         *float64 `json:"score"`
		ScorerName    *string  `json:"scorerName"`
		ScorerVersion *string  `json:"scorerVersion"`
		ScoreSource   *string  `json:"scoreSource"`
		Reason        *string  `json:"reason"`
		ScoreTraceID  *string  `json:"scoreTraceId"`
		contextBody
	} `json:"score"`
}

// createScore: POST /api/observability/scores {score} → {success}.
func (s *Server) createScore(w http.ResponseWriter, r *http.Request) error {
	var b createScoreBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	bad := func(f, msg string) error { return transport.Invalid("Invalid request body", f, msg) }
	sc := b.Score
	switch {
	case sc == nil:
		return bad("score", "score is required: {\"score\": {\"scorerId\": …, \"score\": …}}")
	case sc.ScorerID == nil || *sc.ScorerID == "":
		return bad("score.scorerId", "scorerId is required")
	case sc.Score == nil:
		return bad("score.score", "score is required (a number)")
	case math.IsNaN(*sc.Score) || math.IsInf(*sc.Score, 0):
		return bad("score.score", "expected a finite number")
	}
	for f, v := range map[string]*string{"scorerId": sc.ScorerID, "scoreId": sc.ScoreID, "scorerName": sc.ScorerName,
		"scorerVersion": sc.ScorerVersion, "scoreSource": sc.ScoreSource, "scoreTraceId": sc.ScoreTraceID} {
		if v != nil && (badText(*v) != "" || len(*v) > 512) {
			return bad("score."+f, "expected text of at most 512 bytes")
		}
	}
	if sc.Reason != nil && (badText(*sc.Reason) != "" || len(*sc.Reason) > 64<<10) {
		return bad("score.reason", "expected text of at most 64 KiB")
	}
	if err := sc.check("score."); err != nil {
		return err
	}
	res, err := s.eventResource(r, &sc.contextBody, "score")
	if err != nil {
		return err
	}
	id := uuid.NewString()
	if sc.ScoreID != nil && *sc.ScoreID != "" {
		id = *sc.ScoreID
	}
	ec, tags, meta := sc.row(res)
	row := memory.Score{ScoreID: id, Timestamp: memory.SpanTime{Time: time.Now()}, ScorerID: *sc.ScorerID,
		ScorerName: sc.ScorerName, ScorerVersion: sc.ScorerVersion, ScoreSource: sc.ScoreSource, Score: *sc.Score,
		Reason: sc.Reason, ScoreTraceID: sc.ScoreTraceID, EventContext: ec, Tags: tags, Metadata: meta}
	if err := s.store.SaveScore(r.Context(), row); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// eventQuery reads the common filters, page and order of a score,
// feedback, log or metric listing; own lists the listing's own filters (IN
// filters that may be one value or a JSON array), orders its order
// fields, unsupported the filters of its own it cannot apply.
func eventQuery(r *http.Request, res string, own, orders []string, unsupported ...string) (memory.EventQuery, error) {
	q := r.URL.Query()
	page, perPage, err := listPage(r, append([]string{"tags", "metadata", "parentEntityType", "parentEntityName", "rootEntityType",
		"rootEntityName", "entityVersionId", "parentEntityVersionId", "rootEntityVersionId"}, unsupported...)...)
	if err != nil {
		return memory.EventQuery{}, err
	}
	eq := memory.EventQuery{ResourceID: res, Page: page, PerPage: perPage, Desc: true, In: map[string][]string{}}
	for _, col := range append(slices.Clone(memory.EventFilterColumns), own...) {
		vals, err := oneOrMany(q, col)
		if err != nil {
			return eq, err
		}
		if len(vals) > 0 {
			eq.In[col] = vals
		}
	}
	for _, t := range eq.In["entityType"] {
		if err := checkEntityType("Invalid query parameters", "entityType", t); err != nil {
			return eq, err
		}
	}
	if eq.Timestamp, err = queryDateRange(q, "timestamp"); err != nil {
		return eq, err
	}
	field := q.Get("field")
	if field != "" && !slices.Contains(orders, field) {
		return eq, transport.Invalid("Invalid query parameters", "field", "expected "+strings.Join(orders, " or "))
	}
	eq.OrderBy = field
	if eq.Desc, err = listOrder(q.Get("direction")); err != nil {
		return eq, err
	}
	return eq, nil
}

// oneOrMany reads a filter given once, repeated, or as a JSON array.
func oneOrMany(q url.Values, key string) ([]string, error) {
	var out []string
	for _, v := range q[key] {
		if strings.HasPrefix(v, "[") {
			var list []string
			if json.Unmarshal([]byte(v), &list) != nil {
				return nil, transport.Invalid("Invalid query parameters", key, "expected a string or a JSON array of strings")
			}
			out = append(out, list...)
			continue
		}
		if v != "" {
			out = append(out, v)
		}
	}
	for _, v := range out {
		if msg := badText(v); msg != "" {
			return nil, transport.Invalid("Invalid query parameters", key, msg)
		}
	}
	if len(out) > 100 {
		return nil, transport.Invalid("Invalid query parameters", key, "at most 100 values")
	}
	return out, nil
}

// pageOf is an event listing's pagination answer.
func pageOf(eq memory.EventQuery, total int) paginationJSON {
	return pageJSON(eq.Page, eq.PerPage, total)
}

// listScores: GET /api/observability/scores → {pagination, scores}.
func (s *Server) listScores(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	eq, err := eventQuery(r, res, []string{"scorerId", "scoreSource"}, []string{"timestamp", "score"})
	if err != nil {
		return err
	}
	return s.writeScores(w, r, eq)
}

// writeScores answers {pagination, scores} with the page of scores eq
// selects.
func (s *Server) writeScores(w http.ResponseWriter, r *http.Request, eq memory.EventQuery) error {
	scores, total, err := s.store.ListScores(r.Context(), eq)
	if err != nil {
		return err
	}
	if scores == nil {
		scores = []memory.Score{}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": pageOf(eq, total), "scores": scores})
	return nil
}

// scoreByID: GET /api/observability/scores/:scoreId → {score} (null when
// none, as Mastra answers).
func (s *Server) scoreByID(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	id := pathParam(r, "scoreId")
	if msg := badID(id); msg != "" {
		return transport.Invalid("Invalid path parameters", "scoreId", msg)
	}
	sc, err := s.store.ScoreByID(r.Context(), res, id)
	if errors.Is(err, memory.ErrSpanNotFound) {
		transport.WriteJSON(w, http.StatusOK, map[string]any{"score": nil})
		return nil
	}
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"score": sc})
	return nil
}

var reviewStatuses = []string{"needs-review", "reviewed"}

type createFeedbackBody struct {
	Feedback *struct {
		FeedbackID     *string         `json:"feedbackId"`
		FeedbackType   *string         `json:"feedbackType"`
		Value          json.RawMessage `json:"value"`
		FeedbackSource *string         `json:"feedbackSource"`
		Comment        *string         `json:"comment"`
		FeedbackUserID *string         `json:"feedbackUserId"`
		SourceID       *string         `json:"sourceId"`
		ReviewStatus   *string         `json:"reviewStatus"`
		contextBody
	} `json:"feedback"`
}

// createFeedback: POST /api/observability/feedback {feedback} → {success}.
// The authenticated user, when there is one, is the feedback's user.
func (s *Server) createFeedback(w http.ResponseWriter, r *http.Request) error {
	var b createFeedbackBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	bad := func(f, msg string) error { return transport.Invalid("Invalid request body", f, msg) }
	fb := b.Feedback
	if fb == nil {
		return bad("feedback", "feedback is required: {\"feedback\": {\"feedbackType\": …, \"value\": …}}")
	}
	if fb.FeedbackType == nil || *fb.FeedbackType == "" {
		return bad("feedback.feedbackType", "feedbackType is required")
	}
	row := memory.Feedback{FeedbackType: *fb.FeedbackType, FeedbackSource: fb.FeedbackSource, Comment: fb.Comment,
		FeedbackUserID: fb.FeedbackUserID, SourceID: fb.SourceID, ReviewStatus: "needs-review"}
	var num float64
	var str string
	switch {
	case len(fb.Value) == 0 || string(fb.Value) == "null":
		return bad("feedback.value", "value is required (a number or a string)")
	case json.Unmarshal(fb.Value, &num) == nil && !math.IsInf(num, 0):
		row.ValueNumber = &num
	case json.Unmarshal(fb.Value, &str) == nil && badText(str) == "" && len(str) <= 64<<10:
		row.ValueString = &str
	default:
		return bad("feedback.value", "expected a number or a string of at most 64 KiB")
	}
	for f, v := range map[string]*string{"feedbackType": fb.FeedbackType, "feedbackId": fb.FeedbackID,
		"feedbackSource": fb.FeedbackSource, "feedbackUserId": fb.FeedbackUserID, "sourceId": fb.SourceID} {
		if v != nil && (badText(*v) != "" || len(*v) > 512) {
			return bad("feedback."+f, "expected text of at most 512 bytes")
		}
	}
	if fb.Comment != nil && (badText(*fb.Comment) != "" || len(*fb.Comment) > 64<<10) {
		return bad("feedback.comment", "expected text of at most 64 KiB")
	}
	if fb.ReviewStatus != nil {
		if !slices.Contains(reviewStatuses, *fb.ReviewStatus) {
			return bad("feedback.reviewStatus", "expected needs-review or reviewed")
		}
		row.ReviewStatus = *fb.ReviewStatus
	}
	if err := fb.check("feedback."); err != nil {
		return err
	}
	res, err := s.eventResource(r, &fb.contextBody, "feedback")
	if err != nil {
		return err
	}
	if v := reqctx.From(r.Context()); v != nil {
		if user, ok := v.GetString(reqctx.UserKey); ok && user != "" {
			row.FeedbackUserID = &user
		}
	}
	row.FeedbackID = uuid.NewString()
	if fb.FeedbackID != nil && *fb.FeedbackID != "" {
		row.FeedbackID = *fb.FeedbackID
	}
	row.Timestamp = memory.SpanTime{Time: time.Now()}
	row.EventContext, row.Tags, row.Metadata = fb.row(res)
	if err := s.store.SaveFeedback(r.Context(), row); err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// feedbackJSON is a stored feedback as Mastra answers it: value is the
// number or the string.
type feedbackJSON struct {
	memory.Feedback
	Value any `json:"value"`
}

// listFeedback: GET /api/observability/feedback → {pagination, feedback}.
func (s *Server) listFeedback(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	eq, err := eventQuery(r, res, []string{"feedbackType", "feedbackSource", "feedbackUserId", "reviewStatus"}, []string{"timestamp"})
	if err != nil {
		return err
	}
	for _, st := range eq.In["reviewStatus"] {
		if !slices.Contains(reviewStatuses, st) {
			return transport.Invalid("Invalid query parameters", "reviewStatus", "expected needs-review or reviewed")
		}
	}
	rows, total, err := s.store.ListFeedback(r.Context(), eq)
	if err != nil {
		return err
	}
	out := make([]feedbackJSON, len(rows))
	for i, f := range rows {
		out[i].Feedback = f
		if f.ValueNumber != nil {
			out[i].Value = *f.ValueNumber
		} else if f.ValueString != nil {
			out[i].Value = *f.ValueString
		}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": pageOf(eq, total), "feedback": out})
	return nil
}

// pathParam is a route parameter of r.
func pathParam(r *http.Request, name string) string {
	return httprouter.ParamsFromContext(r.Context()).ByName(name)
}

// ScorerInfo is one configured scorer, as GET /api/scores/scorers lists it.
type ScorerInfo struct {
	ID, Name, Description, Kind string
	Rate                        float64
	AgentIDs, AgentNames        []string
	WorkflowIDs                 []string
	// Judge is an llm scorer's "provider/model".
	Judge string
}

// scorerEntryJSON is Mastra's entry of a scorer listing.
type scorerEntryJSON struct {
	Scorer struct {
		Config struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			Type        string `json:"type"`
			Judge       *struct {
				Model string `json:"model"`
			} `json:"judge,omitempty"`
		} `json:"config"`
	} `json:"scorer"`
	Sampling struct {
		Type string  `json:"type"`
		Rate float64 `json:"rate"`
	} `json:"sampling"`
	AgentIDs     []string `json:"agentIds"`
	AgentNames   []string `json:"agentNames"`
	WorkflowIDs  []string `json:"workflowIds"`
	IsRegistered bool     `json:"isRegistered"`
	Source       string   `json:"source"`
}

func scorerEntry(sc ScorerInfo) scorerEntryJSON {
	var e scorerEntryJSON
	e.Scorer.Config.ID, e.Scorer.Config.Name, e.Scorer.Config.Description = sc.ID, sc.Name, sc.Description
	e.Scorer.Config.Type = "rule:" + sc.Kind
	if sc.Judge != "" {
		e.Scorer.Config.Type = "llm"
		e.Scorer.Config.Judge = &struct {
			Model string `json:"model"`
		}{sc.Judge}
	}
	e.Sampling.Type, e.Sampling.Rate = "ratio", sc.Rate
	e.AgentIDs, e.AgentNames, e.WorkflowIDs = sc.AgentIDs, sc.AgentNames, sc.WorkflowIDs
	if e.AgentIDs == nil {
		e.AgentIDs, e.AgentNames = []string{}, []string{}
	}
	if e.WorkflowIDs == nil {
		e.WorkflowIDs = []string{}
	}
	e.IsRegistered, e.Source = true, "code"
	return e
}

// listScorers: GET /api/scores/scorers → {scorerId: entry}.
func (s *Server) listScorers(w http.ResponseWriter, r *http.Request) error {
	out := make(map[string]scorerEntryJSON, len(s.scorers))
	for _, sc := range s.scorers {
		out[sc.ID] = scorerEntry(sc)
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// getScorer: GET /api/scores/scorers/:scorerId → the entry, or null.
func (s *Server) getScorer(w http.ResponseWriter, r *http.Request) error {
	id := pathParam(r, "scorerId")
	for _, sc := range s.scorers {
		if sc.ID == id {
			transport.WriteJSON(w, http.StatusOK, scorerEntry(sc))
			return nil
		}
	}
	transport.WriteJSON(w, http.StatusOK, nil)
	return nil
}

var logLevels = []string{"debug", "info", "warn", "error", "fatal"}

// listLogs: GET /api/observability/logs → {pagination, logs}: the lines
// the server logged inside runs, newest first.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) error {
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	eq, err := eventQuery(r, res, []string{"level"}, []string{"timestamp"})
	if err != nil {
		return err
	}
	for _, l := range eq.In["level"] {
		if !slices.Contains(logLevels, l) {
			return transport.Invalid("Invalid query parameters", "level", "expected debug, info, warn, error or fatal")
		}
	}
	logs, total, err := s.store.ListLogs(r.Context(), eq)
	if err != nil {
		return err
	}
	if logs == nil {
		logs = []memory.LogEvent{}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": pageOf(eq, total), "logs": logs})
	return nil
}

// deleteEvents answers DELETE /api/observability/scores {scoreIds} and
// DELETE /api/observability/feedback {feedbackIds} → {success}; a tenant
// deletes only its own.
func (s *Server) deleteEvents(table, idColumn, field string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var b map[string]json.RawMessage
		if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
			return err
		}
		var ids []string
		if raw, ok := b[field]; !ok || json.Unmarshal(raw, &ids) != nil {
			return transport.Invalid("Invalid request body", field, field+" is required: an array of ids")
		}
		if len(ids) > 1000 {
			return transport.Invalid("Invalid request body", field, "at most 1000 ids")
		}
		for _, id := range ids {
			if msg := badID(id); msg != "" {
				return transport.Invalid("Invalid request body", field, msg)
			}
		}
		res, err := s.obsResource(r)
		if err != nil {
			return err
		}
		if _, err := s.store.DeleteEvents(r.Context(), table, idColumn, res, ids); err != nil {
			return err
		}
		transport.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
		return nil
	}
}

// reviewFeedback: PATCH /api/observability/feedback/:feedbackId/review-status
// {reviewStatus} → the updated feedback; 404 when it is not the caller's.
func (s *Server) reviewFeedback(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		ReviewStatus *string `json:"reviewStatus"`
	}
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if b.ReviewStatus == nil || !slices.Contains(reviewStatuses, *b.ReviewStatus) {
		return transport.Invalid("Invalid request body", "reviewStatus", "expected needs-review or reviewed")
	}
	id := pathParam(r, "feedbackId")
	if msg := badID(id); msg != "" {
		return transport.Invalid("Invalid path parameters", "feedbackId", msg)
	}
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	f, err := s.store.SetReviewStatus(r.Context(), res, id, *b.ReviewStatus)
	if errors.Is(err, memory.ErrSpanNotFound) {
		return &transport.Error{Status: http.StatusNotFound, Message: "Feedback not found"}
	}
	if err != nil {
		return err
	}
	out := feedbackJSON{Feedback: f}
	if f.ValueNumber != nil {
		out.Value = *f.ValueNumber
	} else if f.ValueString != nil {
		out.Value = *f.ValueString
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ScoreTrace queues the grading of target's stored output by the
// configured scorer of id (or name): found is false when there is none
// such (target nil asks only that); queued is false when target has no
// stored output or the scorer queue is full. host/observe implements it.
type ScoreTrace func(id string, target *memory.Span) (found, queued bool)

// scoreTraces: POST /api/observability/traces/score {scorerName, targets:
// [{traceId, spanId?}]} → {status, message, traceCount}. Each target's
// reply (its root's stored output, so [observability] capture_content)
// is queued for grading, as Mastra's is fire-and-forget: the score is
// stored as the trace's ("trace" source) once graded (a judge may take
// seconds); targets without a stored reply, or not the caller's, are
// listed as skipped.
func (s *Server) scoreTraces(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		ScorerName *string `json:"scorerName"`
		Targets    []struct {
			TraceID string  `json:"traceId"`
			SpanID  *string `json:"spanId"`
		} `json:"targets"`
	}
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if b.ScorerName == nil || *b.ScorerName == "" {
		return transport.Invalid("Invalid request body", "scorerName", "scorerName is required")
	}
	if len(b.Targets) == 0 || len(b.Targets) > 1000 {
		return transport.Invalid("Invalid request body", "targets", "expected 1 to 1000 targets {traceId, spanId?}")
	}
	for _, t := range b.Targets {
		if msg := badID(t.TraceID); msg != "" {
			return transport.Invalid("Invalid request body", "targets.traceId", msg)
		}
		if t.SpanID != nil {
			if msg := badID(*t.SpanID); msg != "" {
				return transport.Invalid("Invalid request body", "targets.spanId", msg)
			}
		}
	}
	if s.scoreTrace == nil {
		return &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("Scorer '%s' not found", *b.ScorerName)}
	}
	if found, _ := s.scoreTrace(*b.ScorerName, nil); !found {
		return &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("Scorer '%s' not found", *b.ScorerName)}
	}
	res, err := s.obsResource(r)
	if err != nil {
		return err
	}
	scored, skipped := 0, []string{}
	for _, t := range b.Targets {
		spans, err := s.store.TraceSpans(r.Context(), res, t.TraceID)
		if errors.Is(err, memory.ErrSpanNotFound) {
			skipped = append(skipped, t.TraceID)
			continue
		} else if err != nil {
			return err
		}
		target := &spans[0]
		for i := range spans {
			if (t.SpanID != nil && spans[i].SpanID == *t.SpanID) || (t.SpanID == nil && spans[i].ParentSpanID == nil) {
				target = &spans[i]
			}
		}
		if _, queued := s.scoreTrace(*b.ScorerName, target); !queued {
			skipped = append(skipped, t.TraceID)
			continue
		}
		scored++
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"status": "success",
		"message": fmt.Sprintf("Scoring started for %d trace(s)", scored), "traceCount": scored, "skipped": skipped})
	return nil
}

// scoreRowJSON is a score in the shape of Mastra's scores domain
// (mastra_scorers rows), which its /scores/* routes answer.
type scoreRowJSON struct {
	ID         string          `json:"id"`
	ScorerID   string          `json:"scorerId"`
	TraceID    *string         `json:"traceId"`
	SpanID     *string         `json:"spanId"`
	RunID      *string         `json:"runId"`
	Scorer     map[string]any  `json:"scorer"`
	Score      float64         `json:"score"`
	Reason     *string         `json:"reason"`
	Input      any             `json:"input"`
	Output     any             `json:"output"`
	EntityType *string         `json:"entityType"`
	EntityID   *string         `json:"entityId"`
	Entity     map[string]any  `json:"entity"`
	Source     string          `json:"source"`
	ResourceID *string         `json:"resourceId"`
	ThreadID   *string         `json:"threadId"`
	Metadata   memory.SpanJSON `json:"metadata"`
	CreatedAt  memory.SpanTime `json:"createdAt"`
	UpdatedAt  memory.SpanTime `json:"updatedAt"`
}

func scoreRow(sc memory.Score) scoreRowJSON {
	name := sc.ScorerID
	if sc.ScorerName != nil {
		name = *sc.ScorerName
	}
	src := "LIVE"
	if sc.ScoreSource != nil && *sc.ScoreSource != "live" {
		src = "TEST"
	}
	out := scoreRowJSON{ID: sc.ScoreID, ScorerID: sc.ScorerID, TraceID: sc.TraceID, SpanID: sc.SpanID, RunID: sc.RunID,
		Scorer: map[string]any{"id": sc.ScorerID, "name": name}, Score: sc.Score, Reason: sc.Reason,
		EntityType: sc.EntityType, EntityID: sc.EntityID, Source: src, ResourceID: sc.ResourceID, ThreadID: sc.ThreadID,
		Metadata: sc.Metadata, CreatedAt: sc.Timestamp, UpdatedAt: sc.Timestamp}
	if sc.EntityID != nil {
		out.Entity = map[string]any{"id": *sc.EntityID}
	}
	return out
}

// scoresBy answers Mastra's /scores/* listings from the stored scores:
// GET /api/scores/scorer/:scorerId (entityId?, entityType?),
// /api/scores/run/:runId, /api/scores/entity/:entityType/:entityId →
// {pagination, scores}, newest first, the caller's only.
func (s *Server) scoresBy(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		res, err := s.obsResource(r)
		if err != nil {
			return err
		}
		page, perPage, err := listPage(r)
		if err != nil {
			return err
		}
		in := map[string][]string{}
		entity := func(typ, id string) error {
			if typ != "" {
				t := map[string]string{"AGENT": "agent", "WORKFLOW": "workflow_run"}[strings.ToUpper(typ)]
				if t == "" {
					return transport.Invalid("Invalid query parameters", "entityType", "expected AGENT or WORKFLOW")
				}
				in["entityType"] = []string{t}
			}
			if id != "" {
				in["entityId"] = []string{id}
			}
			return nil
		}
		switch kind {
		case "scorer":
			in["scorerId"] = []string{pathParam(r, "scorerId")}
			err = entity(r.URL.Query().Get("entityType"), r.URL.Query().Get("entityId"))
		case "run":
			in["runId"] = []string{pathParam(r, "runId")}
		case "entity":
			err = entity(pathParam(r, "entityType"), pathParam(r, "entityId"))
		}
		if err != nil {
			return err
		}
		for k, v := range in {
			if msg := badText(v[0]); msg != "" {
				return transport.Invalid("Invalid path parameters", k, msg)
			}
		}
		eq := memory.EventQuery{ResourceID: res, In: in, Page: page, PerPage: perPage, Desc: true}
		scores, total, err := s.store.ListScores(r.Context(), eq)
		if err != nil {
			return err
		}
		rows := make([]scoreRowJSON, len(scores))
		for i, sc := range scores {
			rows[i] = scoreRow(sc)
		}
		transport.WriteJSON(w, http.StatusOK, map[string]any{"pagination": pageOf(eq, total), "scores": rows})
		return nil
	}
}
