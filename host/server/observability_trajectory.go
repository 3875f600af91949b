package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// The trajectory of a trace (GET /api/observability/traces/:traceId/
// trajectory) is Mastra's extractTrajectoryFromTrace over its spans: the
// span tree (by parentSpanId, children by start time) as steps keyed by
// stepType, with the root agent or workflow run unwrapped into its
// children and its duration as totalDurationMs. Trajectory scorers and
// Studio's trajectory view read it.

// skippedSpanTypes are spans that are no step: their children take their
// place in the parent's list.
var skippedSpanTypes = map[string]bool{"generic": true, "model_step": true, "model_chunk": true, "workflow_conditional_eval": true}

// traceTrajectory answers the trajectory of trace id of res.
func (s *Server) traceTrajectory(w http.ResponseWriter, r *http.Request, res, id string) error {
	spans, err := s.trace(r, res, id)
	if err != nil {
		return err
	}
	transport.WriteJSON(w, http.StatusOK, trajectoryOf(spans))
	return nil
}

// trajNode is a span with its children.
type trajNode struct {
	span     *memory.Span
	children []*trajNode
}

// spanOrder orders spans by start, then by end: times are stored to the
// millisecond, and a tool call that starts in the millisecond its model
// call ends ties with the next model call on start (seen in CI: model,
// model, tool); the one that ended first ran first.
func spanOrder(a, b *trajNode) int {
	if c := a.span.StartedAt.Compare(b.span.StartedAt.Time); c != 0 {
		return c
	}
	ae, be := a.span.EndedAt, b.span.EndedAt
	switch {
	case ae == nil && be == nil:
		return 0
	case ae == nil:
		return 1
	case be == nil:
		return -1
	}
	return ae.Compare(be.Time)
}

// trajectoryOf builds {steps, totalDurationMs?} from a trace's spans.
func trajectoryOf(spans []memory.Span) map[string]any {
	out := map[string]any{"steps": []map[string]any{}}
	if len(spans) == 0 {
		return out
	}
	nodes := make(map[string]*trajNode, len(spans))
	for i := range spans {
		nodes[spans[i].SpanID] = &trajNode{span: &spans[i]}
	}
	var roots []*trajNode
	for i := range spans {
		n := nodes[spans[i].SpanID]
		if p := spans[i].ParentSpanID; p != nil && nodes[*p] != nil && *p != spans[i].SpanID {
			nodes[*p].children = append(nodes[*p].children, n)
		} else {
			roots = append(roots, n)
		}
	}
	for _, n := range nodes {
		slices.SortStableFunc(n.children, spanOrder)
	}
	slices.SortStableFunc(roots, spanOrder)
	convert := roots
	if len(roots) == 1 && (roots[0].span.SpanType == "workflow_run" || roots[0].span.SpanType == "agent_run") {
		convert = roots[0].children
	}
	steps := []map[string]any{}
	for _, n := range convert {
		steps = append(steps, stepsOf(n, 0)...)
	}
	out["steps"] = steps
	if len(roots) == 1 {
		if d, ok := durationMS(roots[0].span); ok {
			out["totalDurationMs"] = d
		}
	}
	return out
}

// maxTrajectoryDepth bounds the recursion: parentSpanId comes from
// stored rows, and a cycle must not loop.
const maxTrajectoryDepth = 64

func durationMS(sp *memory.Span) (int64, bool) {
	if sp.EndedAt == nil {
		return 0, false
	}
	return sp.EndedAt.UnixMilli() - sp.StartedAt.UnixMilli(), true
}

// stepsOf is the steps of one span: one step, or its children's when it
// is a skipped type (or of a type Mastra has no step for).
func stepsOf(n *trajNode, depth int) []map[string]any {
	if depth > maxTrajectoryDepth {
		return nil
	}
	var children []map[string]any
	for _, c := range n.children {
		children = append(children, stepsOf(c, depth+1)...)
	}
	sp := n.span
	if skippedSpanTypes[sp.SpanType] {
		return children
	}
	step := map[string]any{"name": sp.Name}
	if d, ok := durationMS(sp); ok {
		step["durationMs"] = d
	}
	if meta := rawOrNil(sp.Metadata); meta != nil {
		step["metadata"] = meta
	}
	if len(children) > 0 {
		step["children"] = children
	}
	var attrs struct {
		Success      *bool   `json:"success"`
		MCPServer    *string `json:"mcpServer"`
		Model        *string `json:"model"`
		FinishReason *string `json:"finishReason"`
		Usage        *struct {
			InputTokens  *int `json:"inputTokens"`
			OutputTokens *int `json:"outputTokens"`
		} `json:"usage"`
	}
	_ = json.Unmarshal(sp.Attributes, &attrs)
	entity := func() string {
		switch {
		case sp.EntityID != nil:
			return *sp.EntityID
		case sp.EntityName != nil:
			return *sp.EntityName
		}
		return sp.Name
	}
	set := func(k string, v any, ok bool) {
		if ok {
			step[k] = v
		}
	}
	switch sp.SpanType {
	case "tool_call", "mcp_tool_call", "provider_tool_call":
		step["stepType"], step["name"] = sp.SpanType, entity()
		set("toolArgs", recordOf(sp.Input), recordOf(sp.Input) != nil)
		set("toolResult", recordOf(sp.Output), recordOf(sp.Output) != nil)
		set("success", attrs.Success, attrs.Success != nil)
		if sp.SpanType == "mcp_tool_call" {
			set("mcpServer", attrs.MCPServer, attrs.MCPServer != nil)
		}
	case "model_generation":
		step["stepType"] = "model_generation"
		set("modelId", attrs.Model, attrs.Model != nil)
		set("finishReason", attrs.FinishReason, attrs.FinishReason != nil)
		if u := attrs.Usage; u != nil {
			set("promptTokens", u.InputTokens, u.InputTokens != nil)
			set("completionTokens", u.OutputTokens, u.OutputTokens != nil)
		}
	case "agent_run":
		step["stepType"] = "agent_run"
		set("agentId", sp.EntityID, sp.EntityID != nil)
	case "workflow_run":
		step["stepType"] = "workflow_run"
		set("workflowId", sp.EntityID, sp.EntityID != nil)
	case "workflow_step":
		step["stepType"], step["stepId"] = "workflow_step", sp.Name
		set("output", recordOf(sp.Output), recordOf(sp.Output) != nil)
	case "workflow_conditional", "workflow_parallel", "workflow_loop", "workflow_sleep", "workflow_wait_event", "processor_run":
		step["stepType"] = sp.SpanType
	default:
		return children
	}
	return []map[string]any{step}
}

// rawOrNil is stored JSON as is, nil for none.
func rawOrNil(v memory.SpanJSON) json.RawMessage {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return json.RawMessage(v)
}

// recordOf is Mastra's toRecordOrUndefined: an object as is, any other
// value as {value}, nothing as nil.
func recordOf(v memory.SpanJSON) any {
	raw := rawOrNil(v)
	if raw == nil {
		return nil
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		return raw
	}
	return map[string]json.RawMessage{"value": raw}
}
