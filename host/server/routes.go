package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Touch says what tenant data a built-in route reads or writes, for the
// isolation suite that walks every route with two tokens.
type Touch string

const (
	// TouchNone: no tenant data (agent and tool listings, status).
	TouchNone Touch = "none"
	// TouchMemory: threads and messages of the store.
	TouchMemory Touch = "memory"
	// TouchAgent: a model turn, which reads and writes the thread's history
	// unless the turn is ephemeral.
	TouchAgent Touch = "agent"
	// TouchTool: runs a tool with the request's context.
	TouchTool Touch = "tool"
	// TouchWorkflow: workflow runs of the request's resource.
	TouchWorkflow Touch = "workflow"
	// TouchObservability: stored traces (spans) of the request's resource.
	TouchObservability Touch = "observability"
)

// RouteInfo describes one built-in route.
type RouteInfo struct {
	Method  string
	Path    string
	Touches Touch
}

// builtin is one built-in route: what it is and who answers it.
type builtin struct {
	RouteInfo
	handler handlerFunc
	// agents: registered only when the server has agents.
	agents bool
	// openapi: registered only when Config.OpenAPI is set.
	openapi bool
	// playground: registered only when Config.Playground is set.
	playground bool
	// pattern is registered on the router instead of Path where httprouter
	// cannot hold Path: a static segment beside a wildcard.
	pattern string
}

// builtins is every built-in route, on one screen. The root routes and
// Mastra's /api routes sit side by side and share their handlers. Add a
// route here, never elsewhere: Routes lists this table and the isolation
// tests walk it.
func (s *Server) builtins() []builtin {
	r := func(method, path string, t Touch, h handlerFunc) builtin {
		return builtin{RouteInfo: RouteInfo{Method: method, Path: path, Touches: t}, handler: h}
	}
	a := func(method, path string, t Touch, h handlerFunc) builtin {
		b := r(method, path, t, h)
		b.agents = true
		return b
	}
	return []builtin{
		// Root routes of the original README.
		r("GET", "/threads", TouchMemory, s.listThreads),
		r("GET", "/threads/:threadId", TouchMemory, s.getThread),
		r("DELETE", "/threads/:threadId", TouchMemory, s.deleteThread),
		a("POST", "/agent/generate", TouchAgent, s.rootGenerate),
		a("POST", "/agent/stream", TouchAgent, s.rootStream),
		// Reconnect to a resumable stream (runs.go).
		a("GET", "/agent/stream/:runId", TouchAgent, s.resumeStream),

		// The Vercel AI SDK's useChat (chat_handlers.go), at the path of
		// Mastra's chatRoute.
		a("POST", "/chat/:agentId", TouchAgent, s.chatStream),
		a("GET", "/chat/:agentId/:chatId/stream", TouchAgent, s.chatResume),

		// Mastra's agents.
		a("GET", "/api/agents", TouchNone, s.listAgents),
		a("GET", "/api/agents/:agentId", TouchNone, s.getAgent),
		a("POST", "/api/agents/:agentId/generate", TouchAgent, s.apiGenerate),
		a("POST", "/api/agents/:agentId/stream", TouchAgent, s.apiStream),
		// Mastra's deprecated aliases, still sent by older clients.
		a("POST", "/api/agents/:agentId/generate/vnext", TouchAgent, s.apiGenerate),
		a("POST", "/api/agents/:agentId/stream/vnext", TouchAgent, s.apiStream),
		a("GET", "/api/agents/:agentId/stream/:runId", TouchAgent, s.resumeStream),
		// Human in the loop (approval_handlers.go).
		a("POST", "/api/agents/:agentId/approve-tool-call", TouchAgent, s.approveToolCall),
		a("POST", "/api/agents/:agentId/decline-tool-call", TouchAgent, s.declineToolCall),
		a("POST", "/api/agents/:agentId/approve-tool-call-generate", TouchAgent, s.approveToolCallGenerate),
		a("POST", "/api/agents/:agentId/decline-tool-call-generate", TouchAgent, s.declineToolCallGenerate),
		a("POST", "/api/agents/:agentId/resume-stream", TouchAgent, s.resumeStreamRoute),
		a("POST", "/api/agents/:agentId/resume-stream-until-idle", TouchAgent, s.resumeStreamRoute),
		a("GET", "/api/agents/:agentId/suspended-runs", TouchAgent, s.listSuspendedRuns),
		a("POST", "/api/agents/:agentId/send-tool-approval", TouchAgent, s.sendToolApproval),
		a("POST", "/api/agents/:agentId/recover", TouchNone, s.recoverRun),
		// Mastra's legacy agent network (network_handlers.go).
		a("POST", "/api/agents/:agentId/network", TouchAgent, s.network),
		a("POST", "/api/agents/:agentId/approve-network-tool-call", TouchAgent, s.approveNetworkToolCall),
		a("POST", "/api/agents/:agentId/decline-network-tool-call", TouchAgent, s.declineNetworkToolCall),

		// Mastra's memory.
		r("GET", "/api/memory/status", TouchNone, s.memoryStatus),
		r("GET", "/api/memory/config", TouchNone, s.memoryConfig),
		r("GET", "/api/memory/search", TouchMemory, s.searchMemory),
		r("GET", "/api/memory/threads", TouchMemory, s.apiListThreads),
		r("POST", "/api/memory/threads", TouchMemory, s.apiCreateThread),
		r("GET", "/api/memory/threads/:threadId", TouchMemory, s.apiGetThread),
		r("PATCH", "/api/memory/threads/:threadId", TouchMemory, s.apiUpdateThread),
		r("DELETE", "/api/memory/threads/:threadId", TouchMemory, s.apiDeleteThread),
		r("GET", "/api/memory/threads/:threadId/messages", TouchMemory, s.apiListMessages),
		r("POST", "/api/memory/save-messages", TouchMemory, s.apiSaveMessages),
		r("POST", "/api/memory/messages/delete", TouchMemory, s.apiDeleteMessages),
		// Working memory: the resource's (mastra_resources) or the thread's
		// (its metadata), by the agent's scope.
		r("GET", "/api/memory/threads/:threadId/working-memory", TouchMemory, s.getWorkingMemory),
		r("POST", "/api/memory/threads/:threadId/working-memory", TouchMemory, s.updateWorkingMemory),
		r("POST", "/api/memory/threads/:threadId/clone", TouchMemory, s.cloneThread),

		// Mastra's vector API, for the [vectors.<name>] stores.
		r("POST", "/api/vector/:vectorName/create-index", TouchMemory, s.createVectorIndex),
		r("POST", "/api/vector/:vectorName/upsert", TouchMemory, s.upsertVectors),
		r("POST", "/api/vector/:vectorName/query", TouchMemory, s.queryVectors),
		r("GET", "/api/vector/:vectorName/indexes", TouchMemory, s.listVectorIndexes),
		r("GET", "/api/vector/:vectorName/indexes/:indexName", TouchMemory, s.describeVectorIndex),
		r("DELETE", "/api/vector/:vectorName/indexes/:indexName", TouchMemory, s.deleteVectorIndex),
		r("GET", "/api/vectors", TouchNone, s.listVectorStores),
		r("GET", "/api/embedders", TouchNone, s.listEmbedders),

		// Mastra's tools.
		r("GET", "/api/tools", TouchNone, s.listTools),
		r("GET", "/api/tools/:toolId", TouchNone, s.getTool),
		r("POST", "/api/tools/:toolId/execute", TouchTool, s.executeTool),
		a("GET", "/api/agents/:agentId/tools/:toolId", TouchNone, s.getAgentTool),
		a("POST", "/api/agents/:agentId/tools/:toolId/execute", TouchTool, s.executeAgentTool),

		// What Mastra Studio calls besides the above (studio_handlers.go):
		// the root it probes, auth, providers (GET /api/agents/providers is
		// answered by getAgent), and the features this server lacks, which
		// answer Mastra's empty shapes so Studio shows its empty states.
		r("GET", "/", TouchNone, s.rootIndex),
		r("GET", "/api/auth/capabilities", TouchNone, s.authCapabilities),
		r("GET", "/api/editor/builder/settings", TouchNone, s.builderSettings),
		r("GET", "/api/editor/builder/models/available", TouchNone, s.builderModels),
		a("POST", "/api/agents/:agentId/threads/subscribe", TouchNone, s.subscribeThread),
		a("GET", "/api/agents/:agentId/voice/speakers", TouchNone, s.voiceSpeakers),
		r("GET", "/api/system/packages", TouchNone, s.systemPackages),
		r("GET", "/api/channels/platforms", TouchNone, featureOff(emptyList)),
		r("GET", "/api/schedules", TouchNone, featureOff(emptySchedules)),
		r("GET", "/api/processors", TouchNone, featureOff(emptyObject)),
		r("GET", "/api/scores/scorers", TouchNone, s.listScorers),
		r("GET", "/api/scores/scorers/:scorerId", TouchNone, s.getScorer),
		r("GET", "/api/scores/scorer/:scorerId", TouchObservability, s.scoresBy("scorer")),
		r("GET", "/api/scores/run/:runId", TouchObservability, s.scoresBy("run")),
		r("GET", "/api/scores/entity/:entityType/:entityId", TouchObservability, s.scoresBy("entity")),
		r("GET", "/api/workspaces", TouchNone, featureOff(emptyWorkspaces)),
		r("GET", "/api/datasets", TouchNone, featureOff(emptyDatasets)),
		r("GET", "/api/experiments", TouchNone, featureOff(emptyExperiments)),
		r("GET", "/api/experiments/review-summary", TouchNone, featureOff(emptyReviewSummary)),
		r("POST", "/api/observability/traces/query/fields", TouchNone, featureOff(emptyTraceFields)),
		r("GET", "/api/observability/discovery/tags", TouchNone, featureOff(emptyTags)),

		// Mastra's stored traces (observability_handlers.go). GET
		// /api/observability/traces/light is answered by traceByID and the
		// :part routes dispatch on their static segment: httprouter cannot
		// hold a static segment beside a parameter.
		r("GET", "/api/observability/traces", TouchObservability, s.listTraces),
		r("GET", "/api/observability/branches", TouchObservability, s.listBranches),
		r("POST", "/api/observability/traces/query", TouchObservability, s.queryTraces),
		r("POST", "/api/observability/traces/delete", TouchObservability, s.deleteTraces),
		r("POST", "/api/observability/traces/score", TouchObservability, s.scoreTraces),
		r("GET", "/api/observability/traces/:traceId", TouchObservability, s.traceByID),
		r("GET", "/api/observability/traces/:traceId/:part", TouchObservability, s.traceSub),
		r("GET", "/api/observability/traces/:traceId/:part/:spanId", TouchObservability, s.spanByID),
		// Scores and feedback (scores_handlers.go).
		r("GET", "/api/observability/scores", TouchObservability, s.listScores),
		r("POST", "/api/observability/scores", TouchObservability, s.createScore),
		r("GET", "/api/observability/scores/:scoreId", TouchObservability, s.scoreByID),
		r("GET", "/api/observability/feedback", TouchObservability, s.listFeedback),
		r("GET", "/api/observability/logs", TouchObservability, s.listLogs),
		r("DELETE", "/api/observability/scores", TouchObservability, s.deleteEvents("mastra_score_events", "scoreId", "scoreIds")),
		r("DELETE", "/api/observability/feedback", TouchObservability, s.deleteEvents("mastra_feedback_events", "feedbackId", "feedbackIds")),
		r("PATCH", "/api/observability/feedback/:feedbackId/review-status", TouchObservability, s.reviewFeedback),
		r("POST", "/api/observability/feedback", TouchObservability, s.createFeedback),
		// Metrics derived from stored spans (obs_metrics_handlers.go).
		r("POST", "/api/observability/metrics/aggregate", TouchObservability, s.metricAggregate),
		r("POST", "/api/observability/metrics/breakdown", TouchObservability, s.metricBreakdown),
		r("POST", "/api/observability/metrics/timeseries", TouchObservability, s.metricTimeSeries),
		r("POST", "/api/observability/metrics/percentiles", TouchObservability, s.metricPercentiles),
		r("GET", "/api/observability/discovery/metric-names", TouchObservability, s.metricNames),
		r("GET", "/api/observability/discovery/metric-label-keys", TouchNone, s.metricLabelKeys),
		r("GET", "/api/observability/discovery/metric-label-values", TouchNone, s.metricLabelValues),
		r("GET", "/api/observability/metrics", TouchObservability, s.listMetrics),
		r("GET", "/api/observability/discovery/entity-types", TouchObservability, s.entityTypesRoute),
		r("GET", "/api/observability/discovery/entity-names", TouchObservability, s.discoverValues("entityName", "names")),
		r("GET", "/api/observability/discovery/environments", TouchObservability, s.discoverValues("environment", "environments")),
		r("GET", "/api/observability/discovery/service-names", TouchObservability, s.discoverValues("serviceName", "serviceNames")),

		// This server's own description (see openapi.go).
		{RouteInfo: RouteInfo{Method: "GET", Path: OpenAPIPath, Touches: TouchNone}, handler: s.serveOpenAPI, openapi: true},
		{RouteInfo: RouteInfo{Method: "GET", Path: DocsPath, Touches: TouchNone}, handler: s.serveDocs, openapi: true},
		// The playground page (playground.go): static, public under auth.
		{RouteInfo: RouteInfo{Method: "GET", Path: PlaygroundPath, Touches: TouchNone}, handler: s.servePlayground, playground: true},
		// Mastra's MCP servers (mcp_handlers.go). The registry shares its
		// first segments with /api/mcp/:serverId.
		{RouteInfo: RouteInfo{Method: "GET", Path: "/api/mcp/v0/servers", Touches: TouchNone}, handler: s.listMCPServers,
			pattern: "/api/mcp/:serverId/servers"},
		{RouteInfo: RouteInfo{Method: "GET", Path: "/api/mcp/v0/servers/:id", Touches: TouchNone}, handler: s.getMCPServerDetail,
			pattern: "/api/mcp/:serverId/servers/:id"},
		r("GET", "/api/mcp/:serverId/tools", TouchNone, s.listMCPTools),
		r("GET", "/api/mcp/:serverId/tools/:toolId", TouchNone, s.getMCPTool),
		r("POST", "/api/mcp/:serverId/tools/:toolId/execute", TouchAgent, s.executeMCPTool),
		r("GET", "/api/mcp/:serverId/resources", TouchNone, s.listMCPResources),
		r("POST", "/api/mcp/:serverId/resources/read", TouchNone, s.readMCPResource),
		r("POST", "/api/mcp/:serverId/mcp", TouchAgent, s.serveMCP),
		// Mastra's workflows (workflow_handlers.go).
		r("GET", "/api/workflows", TouchNone, s.listWorkflows),
		// GET /api/workflows/run-counts is answered here too: httprouter
		// cannot hold a static segment beside :workflowId.
		r("GET", "/api/workflows/:workflowId", TouchWorkflow, s.getWorkflow),
		r("GET", "/api/workflows/:workflowId/runs", TouchWorkflow, s.listWorkflowRuns),
		r("GET", "/api/workflows/:workflowId/runs/:runId", TouchWorkflow, s.getWorkflowRun),
		r("DELETE", "/api/workflows/:workflowId/runs/:runId", TouchWorkflow, s.deleteWorkflowRun),
		r("POST", "/api/workflows/:workflowId/runs/:runId/cancel", TouchWorkflow, s.cancelWorkflowRun),
		r("POST", "/api/workflows/:workflowId/create-run", TouchWorkflow, s.createWorkflowRun),
		r("POST", "/api/workflows/:workflowId/start", TouchWorkflow, s.startRoute(answerMessage)),
		r("POST", "/api/workflows/:workflowId/start-async", TouchWorkflow, s.startRoute(answerResult)),
		r("POST", "/api/workflows/:workflowId/stream", TouchWorkflow, s.startRoute(answerStream)),
		r("POST", "/api/workflows/:workflowId/observe", TouchWorkflow, s.observeWorkflowRun),
		r("POST", "/api/workflows/:workflowId/resume", TouchWorkflow, s.resumeRoute(answerMessage)),
		r("POST", "/api/workflows/:workflowId/resume-async", TouchWorkflow, s.resumeRoute(answerResult)),
		r("POST", "/api/workflows/:workflowId/resume-no-wait", TouchWorkflow, s.resumeRoute(answerRunID)),
		r("POST", "/api/workflows/:workflowId/resume-stream", TouchWorkflow, s.resumeRoute(answerStream)),
		r("POST", "/api/workflows/:workflowId/restart", TouchWorkflow, s.workflowNotImplemented),
		r("POST", "/api/workflows/:workflowId/restart-async", TouchWorkflow, s.workflowNotImplemented),
		r("POST", "/api/workflows/:workflowId/time-travel", TouchWorkflow, s.workflowNotImplemented),
		r("POST", "/api/workflows/:workflowId/time-travel-async", TouchWorkflow, s.workflowNotImplemented),
		r("POST", "/api/workflows/:workflowId/time-travel-stream", TouchWorkflow, s.workflowNotImplemented),
	}
}

// serves reports whether the server registers b.
func (s *Server) serves(b builtin) bool {
	return (!b.agents || s.agents != nil) && (!b.openapi || s.cfg.OpenAPI) && (!b.playground || s.cfg.Playground)
}

// Routes lists the built-in routes this server registered.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, b := range s.builtins() {
		if s.serves(b) {
			out = append(out, b.RouteInfo)
		}
	}
	return out
}

// registerBuiltins puts the table on the router.
func (s *Server) registerBuiltins(r *httprouter.Router) {
	for _, b := range s.builtins() {
		if !s.serves(b) {
			continue
		}
		pattern := b.Path
		if b.pattern != "" {
			pattern = b.pattern
		}
		r.Handler(b.Method, pattern, routed(b.Path, s.handle(b.handler)))
	}
}

// routed records the route's template for the access log, metrics and
// traces: never the raw path, which is the client's to invent.
func routed(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		transport.SetRoute(r.Context(), route)
		h.ServeHTTP(w, r)
	})
}
