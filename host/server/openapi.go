package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
	"github.com/mastra-server/mastra-server/host/wire"
)

// The OpenAPI 3.1 document at GET /api/openapi.json is built from the
// route table, so it cannot drift from what is served: every built-in
// route has an entry in routeDocs (a test fails when one lacks it), and
// the schemas are derived from the very Go types the handlers encode and
// decode. Plugin routes appear as declared, with bodies of any shape.

// OpenAPIPath is where the document is served.
const OpenAPIPath = "/api/openapi.json"

// routeDoc documents one built-in route.
type routeDoc struct {
	summary string
	tag     string
	// query lists the query parameters the route reads.
	query []string
	// body is a value of the request body's type; nil: no body.
	body any
	// resp is a value of the 200 response body's type; nil: any JSON.
	resp any
	// orResp is another 200 body the route may answer (oneOf with resp).
	orResp any
	// stream: the 200 response is an event stream of Mastra chunks.
	stream bool
	// records: the 200 response is Mastra's workflow stream, JSON records
	// separated by U+001E, as text/plain.
	records bool
	// html: the 200 response is an HTML page.
	html bool
	// uiStream: the 200 response is the AI SDK's UI message stream.
	uiStream bool
	// noContent: the route answers 204 rather than 200.
	noContent bool
}

// traceListQuery are the query parameters of a trace listing.
var traceListQuery = []string{"page", "perPage", "field", "direction", "orderBy", "status", "startedAt", "endedAt", "dateRange",
	"traceId", "spanType", "name", "entityType", "entityId", "entityName", "userId", "organizationId", "resourceId", "runId",
	"sessionId", "threadId", "requestId", "environment", "serviceName", "source"}

// Response shapes written as map literals by the handlers.
type (
	deleteTracesBody struct {
		TraceIDs []string `json:"traceIds"`
	}
	resultMessage struct {
		Result string `json:"result"`
	}
	memoryStatusJSON struct {
		Result     bool   `json:"result"`
		MemoryType string `json:"memoryType"`
	}
	memoryConfigJSON struct {
		Config map[string]any `json:"config"`
	}
	searchContextJSON struct {
		ID        string `json:"id"`
		Role      string `json:"role"`
		Content   string `json:"content"`
		CreatedAt string `json:"createdAt"`
	}
	searchResultJSON struct {
		ID          string `json:"id"`
		Role        string `json:"role"`
		Content     string `json:"content"`
		CreatedAt   string `json:"createdAt"`
		ThreadID    string `json:"threadId"`
		ThreadTitle string `json:"threadTitle"`
		Context     struct {
			Before []searchContextJSON `json:"before"`
			After  []searchContextJSON `json:"after"`
		} `json:"context"`
	}
	successJSON struct {
		Success bool `json:"success"`
	}
	vectorIDsJSON struct {
		IDs []string `json:"ids"`
	}
	vectorHitJSON struct {
		ID       string         `json:"id"`
		Score    float64        `json:"score"`
		Metadata map[string]any `json:"metadata"`
		Vector   []float32      `json:"vector,omitempty"`
	}
	vectorIndexJSON struct {
		Dimension int    `json:"dimension"`
		Count     int    `json:"count"`
		Metric    string `json:"metric"`
	}
	vectorStoresJSON struct {
		Vectors []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"vectors"`
	}
	embeddersJSON struct {
		Embedders []Embedder `json:"embedders"`
	}
	memorySearchJSON struct {
		Results     []searchResultJSON `json:"results"`
		Count       int                `json:"count"`
		Query       string             `json:"query"`
		SearchScope string             `json:"searchScope"`
		SearchType  string             `json:"searchType"`
	}
	savedMessagesJSON struct {
		Messages []wire.Message `json:"messages"`
	}
	deletedMessagesJSON struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
	}
	saveMessagesBody struct {
		Messages json.RawMessage `json:"messages"`
		AgentID  string          `json:"agentId"`
	}
	deleteMessagesBody struct {
		MessageIDs json.RawMessage `json:"messageIds"`
	}
	// anyBody is a JSON object the handler reads itself.
	anyBody map[string]any
)

const (
	tagAgents  = "agents"
	tagMemory  = "memory"
	tagTools   = "tools"
	tagRoot    = "root"
	tagServer  = "server"
	tagFlows   = "workflows"
	tagPlugins = "plugins"
	tagStudio  = "studio"
	// tagObservability: stored traces (observability_handlers.go).
	tagObservability = "observability"
	tagMCP           = "mcp"
	tagVectors       = "vectors"
)

var memoryQuery = []string{"agentId", "resourceId", "requestContext"}

// routeDocs documents every built-in route, by "METHOD path".
var routeDocs = map[string]routeDoc{
	"GET /threads":              {summary: "List a resource's threads", tag: tagRoot, query: []string{"resourceId", "page", "perPage"}, resp: wire.ThreadList{}},
	"GET /threads/:threadId":    {summary: "Get a thread and its messages", tag: tagRoot, query: []string{"resourceId"}, resp: threadWithMessagesJSON{}},
	"DELETE /threads/:threadId": {summary: "Delete a thread", tag: tagRoot, query: []string{"resourceId"}, resp: resultMessage{}},
	"POST /agent/generate":      {summary: "Run a turn of the default (or named) agent", tag: tagRoot, body: rootBody{}, resp: generateJSON{}},
	"POST /agent/stream":        {summary: "Run a turn, streamed as Server-Sent Events", tag: tagRoot, body: rootBody{}, stream: true},
	"GET /api/agents":           {summary: "List agents", tag: tagAgents, query: []string{"requestContext"}, resp: map[string]agentJSON{}},
	"GET /api/agents/:agentId":  {summary: "Get an agent (or, for \"providers\", the model providers)", tag: tagAgents, query: []string{"requestContext"}, resp: agentJSON{}, orResp: providersJSON{}},
	"POST /api/agents/:agentId/generate": {summary: "Run a turn of an agent (Mastra's generate)", tag: tagAgents,
		body: mastraBody{}, resp: generateJSON{}},
	"POST /api/agents/:agentId/stream": {summary: "Run a turn, streamed (Mastra's stream)", tag: tagAgents,
		body: mastraBody{}, stream: true},
	"POST /api/agents/:agentId/generate/vnext": {summary: "Deprecated alias of generate", tag: tagAgents,
		body: mastraBody{}, resp: generateJSON{}},
	"POST /api/agents/:agentId/stream/vnext": {summary: "Deprecated alias of stream", tag: tagAgents,
		body: mastraBody{}, stream: true},
	"GET /api/memory/status": {summary: "Whether agents have memory", tag: tagMemory, query: []string{"agentId"}, resp: memoryStatusJSON{}},
	"GET /api/memory/config": {summary: "The memory configuration", tag: tagMemory, query: []string{"agentId"}, resp: memoryConfigJSON{}},
	"POST /api/vector/:vectorName/create-index": {summary: "Create a vector index (idempotent)", tag: tagVectors,
		query: []string{"resourceId"}, body: createIndexBody{}, resp: successJSON{}},
	"POST /api/vector/:vectorName/upsert": {summary: "Insert or replace vectors", tag: tagVectors,
		query: []string{"resourceId"}, body: upsertBody{}, resp: vectorIDsJSON{}},
	"POST /api/vector/:vectorName/query": {summary: "The nearest vectors, best first", tag: tagVectors,
		query: []string{"resourceId"}, body: queryBody{}, resp: []vectorHitJSON{}},
	"GET /api/vector/:vectorName/indexes": {summary: "List the indexes", tag: tagVectors,
		query: []string{"resourceId"}, resp: []string{}},
	"GET /api/vector/:vectorName/indexes/:indexName": {summary: "Describe an index", tag: tagVectors,
		query: []string{"resourceId"}, resp: vectorIndexJSON{}},
	"DELETE /api/vector/:vectorName/indexes/:indexName": {summary: "Delete an index and its vectors", tag: tagVectors,
		query: []string{"resourceId"}, resp: successJSON{}},
	"GET /api/vectors":   {summary: "List the vector stores ([vectors.<name>])", tag: tagVectors, resp: vectorStoresJSON{}},
	"GET /api/embedders": {summary: "List embedding models", tag: tagVectors, resp: embeddersJSON{}},
	"GET /api/memory/search": {summary: "Search a resource's messages by meaning (semantic recall)", tag: tagMemory,
		query: []string{"agentId", "searchQuery", "resourceId", "threadId", "limit", "memoryConfig", "requestContext"}, resp: memorySearchJSON{}},
	"GET /api/memory/threads": {summary: "List threads", tag: tagMemory,
		query: append([]string{"page", "perPage", "orderBy", "sortDirection", "metadata"}, memoryQuery...), resp: wire.ThreadList{}},
	"POST /api/memory/threads":            {summary: "Create a thread", tag: tagMemory, query: []string{"agentId"}, body: createThreadBody{}, resp: wire.Thread{}},
	"GET /api/memory/threads/:threadId":   {summary: "Get a thread", tag: tagMemory, query: memoryQuery, resp: wire.Thread{}},
	"PATCH /api/memory/threads/:threadId": {summary: "Update a thread", tag: tagMemory, query: memoryQuery, body: updateThreadBody{}, resp: wire.Thread{}},
	"DELETE /api/memory/threads/:threadId": {summary: "Delete a thread", tag: tagMemory, query: memoryQuery,
		resp: resultMessage{}},
	"GET /api/memory/threads/:threadId/messages": {summary: "List a thread's messages", tag: tagMemory,
		query: append([]string{"page", "perPage", "orderBy", "include", "filter", "format"}, memoryQuery...), resp: wire.MessageList{}},
	"GET /api/memory/threads/:threadId/working-memory": {summary: "Get a thread's (or its resource's) working memory", tag: tagMemory,
		query: append([]string{"memoryConfig"}, memoryQuery...)},
	"POST /api/memory/threads/:threadId/working-memory": {summary: "Replace the working memory", tag: tagMemory,
		query: memoryQuery, body: anyBody{}},
	"POST /api/memory/save-messages":         {summary: "Save messages", tag: tagMemory, query: []string{"agentId"}, body: saveMessagesBody{}, resp: savedMessagesJSON{}},
	"POST /api/memory/messages/delete":       {summary: "Delete messages", tag: tagMemory, query: memoryQuery, body: deleteMessagesBody{}, resp: deletedMessagesJSON{}},
	"GET /api/tools":                         {summary: "List tools", tag: tagTools, resp: map[string]toolJSON{}},
	"GET /api/tools/:toolId":                 {summary: "Get a tool", tag: tagTools, resp: toolJSON{}},
	"POST /api/tools/:toolId/execute":        {summary: "Run a tool; answers with its result", tag: tagTools, body: executeBody{}},
	"GET /api/agents/:agentId/tools/:toolId": {summary: "Get one of an agent's tools", tag: tagTools, resp: toolJSON{}},
	"POST /api/agents/:agentId/tools/:toolId/execute": {summary: "Run one of an agent's tools", tag: tagTools,
		body: executeBody{}},
	"GET /api/workflows":                                 {summary: "List workflows", tag: tagFlows},
	"GET /api/workflows/:workflowId":                     {summary: "Get a workflow (or run-counts)", tag: tagFlows},
	"GET /api/workflows/:workflowId/runs":                {summary: "List a workflow's runs", tag: tagFlows, query: []string{"resourceId", "page", "perPage", "status"}},
	"GET /api/workflows/:workflowId/runs/:runId":         {summary: "Get a run", tag: tagFlows, query: []string{"resourceId"}},
	"DELETE /api/workflows/:workflowId/runs/:runId":      {summary: "Delete a run", tag: tagFlows, query: []string{"resourceId"}},
	"POST /api/workflows/:workflowId/runs/:runId/cancel": {summary: "Cancel a run", tag: tagFlows},
	"POST /api/workflows/:workflowId/create-run":         {summary: "Create a run", tag: tagFlows, query: []string{"runId"}, body: anyBody{}},
	"POST /api/workflows/:workflowId/start":              {summary: "Start a run and wait for it", tag: tagFlows, query: []string{"runId"}, body: anyBody{}},
	"POST /api/workflows/:workflowId/start-async":        {summary: "Start a run; answers with its result", tag: tagFlows, query: []string{"runId"}, body: anyBody{}},
	"POST /api/workflows/:workflowId/stream":             {summary: "Start a run, streamed", tag: tagFlows, query: []string{"runId"}, body: anyBody{}, records: true},
	"POST /api/workflows/:workflowId/observe":            {summary: "Follow a run's stream", tag: tagFlows, query: []string{"runId"}, body: anyBody{}, records: true},
	"POST /api/workflows/:workflowId/resume":             {summary: "Resume a suspended run", tag: tagFlows, query: []string{"runId"}, body: anyBody{}},
	"POST /api/workflows/:workflowId/resume-async":       {summary: "Resume a run; answers with its result", tag: tagFlows, query: []string{"runId"}, body: anyBody{}},
	"POST /api/workflows/:workflowId/resume-no-wait":     {summary: "Resume a run without waiting", tag: tagFlows, query: []string{"runId"}, body: anyBody{}},
	"POST /api/workflows/:workflowId/resume-stream":      {summary: "Resume a run, streamed", tag: tagFlows, query: []string{"runId"}, body: anyBody{}, records: true},
	"POST /api/workflows/:workflowId/restart":            {summary: "Not implemented (501)", tag: tagFlows},
	"POST /api/workflows/:workflowId/restart-async":      {summary: "Not implemented (501)", tag: tagFlows},
	"POST /api/workflows/:workflowId/time-travel":        {summary: "Not implemented (501)", tag: tagFlows},
	"POST /api/workflows/:workflowId/time-travel-async":  {summary: "Not implemented (501)", tag: tagFlows},
	"POST /api/workflows/:workflowId/time-travel-stream": {summary: "Not implemented (501)", tag: tagFlows},
	"GET " + OpenAPIPath:                                 {summary: "This OpenAPI document", tag: tagServer},
	"GET " + DocsPath:                                    {summary: "This document rendered as a page (HTML)", tag: tagServer, html: true},
	"GET " + PlaygroundPath:                              {summary: "The playground: chat, tools and workflows in a browser (HTML)", tag: tagServer, html: true},
	// The AI SDK's useChat (chat_handlers.go).
	"POST /chat/:agentId": {summary: "Run a turn for the AI SDK's useChat, streamed as its UI message stream (v1)", tag: tagAgents,
		body: chatBody{}, uiStream: true},
	"GET /chat/:agentId/:chatId/stream": {summary: "useChat's reconnect: the chat's running resumable turn as its UI message stream, from its start (or after Last-Event-ID); 204 when none runs",
		tag: tagAgents, query: []string{"resourceId", "lastEventId"}, noContent: true, uiStream: true},
	// Resumable streams (runs.go).
	"GET /agent/stream/:runId": {summary: "Reconnect to a resumable stream: the chunks after Last-Event-ID (header, or lastEventId), then the live ones, then [DONE]",
		tag: tagAgents, query: []string{"resourceId", "lastEventId"}, stream: true},
	"GET /api/agents/:agentId/stream/:runId": {summary: "Reconnect to a resumable stream of the agent (as GET /agent/stream/:runId)",
		tag: tagAgents, query: []string{"resourceId", "lastEventId"}, stream: true},
	// Human in the loop (approval_handlers.go).
	"POST /api/agents/:agentId/approve-tool-call": {summary: "Approve the tool call a suspended turn waits for; the turn goes on, streamed",
		tag: tagAgents, body: decisionBody{}, stream: true},
	"POST /api/agents/:agentId/decline-tool-call": {summary: "Decline the tool call a suspended turn waits for (the model is told so); the turn goes on, streamed",
		tag: tagAgents, body: decisionBody{}, stream: true},
	"POST /api/agents/:agentId/approve-tool-call-generate": {summary: "Approve the waiting tool call; answers the rest of the turn as generate does",
		tag: tagAgents, body: decisionBody{}, resp: generateJSON{}},
	"POST /api/agents/:agentId/decline-tool-call-generate": {summary: "Decline the waiting tool call; answers the rest of the turn as generate does",
		tag: tagAgents, body: decisionBody{}, resp: generateJSON{}},
	"POST /api/agents/:agentId/resume-stream": {summary: "Resume a suspended turn with resumeData ({approved, reason?} for an approval), streamed",
		tag: tagAgents, body: agentResumeBody{}, stream: true},
	"POST /api/agents/:agentId/resume-stream-until-idle": {summary: "As resume-stream (this server runs no background tasks)",
		tag: tagAgents, body: agentResumeBody{}, stream: true},
	"GET /api/agents/:agentId/suspended-runs": {summary: "The agent's turns waiting for a tool approval or a suspended tool's resume data, newest first",
		tag: tagAgents, query: []string{"threadId", "resourceId", "fromDate", "toDate", "page", "perPage", "requestContext"}, resp: suspendedRunsJSON{}},
	"POST /api/agents/:agentId/send-tool-approval": {summary: "Approve or decline the call a thread's suspended turn waits for (by threadId and toolCallId); answers once claimed, the turn goes on in the background and is saved to the thread",
		tag: tagAgents, body: sendApprovalBody{}, resp: sendApprovalJSON{}},
	"POST /api/agents/:agentId/recover": {summary: "400, as Mastra answers for an agent that is not durable: turns here complete, fail, or wait to be resumed",
		tag: tagAgents, body: anyBody{}},
	// Mastra's legacy agent network (network_handlers.go).
	"POST /api/agents/:agentId/network": {summary: "Run the agent as a network's routing agent: it picks its sub-agents, workflows and tools one at a time (maxSteps iterations, default 1) until the task is complete; streamed as Mastra's network chunks (routing-agent-*, agent-/workflow-/tool-execution-*, network-*). Needs memory (400 without)",
		tag: tagAgents, body: networkBody{}, stream: true},
	"POST /api/agents/:agentId/approve-network-tool-call": {summary: "Approve the primitive a network run waits for (by runId); the network goes on, streamed",
		tag: tagAgents, body: decisionBody{}, stream: true},
	"POST /api/agents/:agentId/decline-network-tool-call": {summary: "Decline the primitive a network run waits for (the routing agent is told so); the network goes on, streamed",
		tag: tagAgents, body: decisionBody{}, stream: true},
	// Mastra's MCP servers (mcp_handlers.go).
	"GET /api/mcp/v0/servers": {summary: "List the MCP servers ([mcp_servers.*])", tag: tagMCP,
		query: []string{"page", "perPage", "limit", "offset"}, resp: mcpServerListJSON{}},
	"GET /api/mcp/v0/servers/:id": {summary: "Get an MCP server", tag: tagMCP, query: []string{"version"}, resp: serverDetailJSON{}},
	"GET /api/mcp/:serverId/tools": {summary: "List an MCP server's tools (ask_<agent>, run_<workflow>, tools)", tag: tagMCP,
		resp: mcpToolListJSON{}},
	"GET /api/mcp/:serverId/tools/:toolId": {summary: "Get one tool of an MCP server", tag: tagMCP, resp: mcpToolJSON{}},
	"POST /api/mcp/:serverId/tools/:toolId/execute": {summary: "Run one tool of an MCP server for the caller's resource", tag: tagMCP,
		query: []string{"resourceId"}, body: mcpExecuteBody{}, resp: mcpResultJSON{}},
	"GET /api/mcp/:serverId/resources": {summary: "List an MCP server's static resources (the same for every caller)", tag: tagMCP,
		resp: mcpResourceListJSON{}},
	"POST /api/mcp/:serverId/resources/read": {summary: "Read a resource of an MCP server by uri (static or from a template)", tag: tagMCP,
		body: mcpReadBody{}, resp: mcpReadJSON{}},
	"POST /api/mcp/:serverId/mcp": {summary: "The MCP streamable HTTP transport (stateless; JSON-RPC in, JSON out)", tag: tagMCP,
		query: []string{"resourceId"}, body: anyBody{}},
	// Mastra Studio (studio_handlers.go).
	"GET /":                                       {summary: "Where things are: the API, the docs, health", tag: tagRoot, resp: rootIndexJSON{}},
	"GET /api/auth/capabilities":                  {summary: "Auth capabilities, as Studio reads them", tag: tagStudio, resp: authCapabilitiesJSON{}},
	"GET /api/editor/builder/settings":            {summary: "The agent builder's settings: off", tag: tagStudio, resp: builderSettingsJSON{}},
	"GET /api/editor/builder/models/available":    {summary: "The connected model providers", tag: tagStudio, resp: providersJSON{}},
	"POST /api/agents/:agentId/threads/subscribe": {summary: "Subscribe to a thread's runs started elsewhere: 405, not supported", tag: tagAgents},
	"GET /api/agents/:agentId/voice/speakers":     {summary: "An agent's voice speakers: none", tag: tagAgents},
	"POST /api/memory/threads/:threadId/clone": {summary: "Copy a thread and its messages", tag: tagMemory, query: memoryQuery,
		body: cloneThreadBody{}, resp: clonedThreadJSON{}},
	"GET /api/system/packages":                     {summary: "Installed packages and storage, as Studio reads them", tag: tagStudio, resp: systemPackagesJSON{}},
	"GET /api/schedules":                           {summary: "Schedules: none (feature off)", tag: tagStudio},
	"GET /api/channels/platforms":                  {summary: "Channels: none (feature off)", tag: tagStudio},
	"GET /api/processors":                          {summary: "Processors: none (feature off)", tag: tagStudio},
	"GET /api/scores/scorers":                      {summary: "The configured [scorers], by id, with the agents that use them", tag: tagObservability},
	"GET /api/scores/scorer/:scorerId":             {summary: "A scorer's scores (Mastra's scores domain shape)", tag: tagObservability, query: []string{"entityId", "entityType", "page", "perPage"}},
	"GET /api/scores/run/:runId":                   {summary: "A run's scores", tag: tagObservability, query: []string{"page", "perPage"}},
	"GET /api/scores/entity/:entityType/:entityId": {summary: "An agent's or workflow's scores (entityType AGENT or WORKFLOW)", tag: tagObservability, query: []string{"page", "perPage"}},
	"GET /api/scores/scorers/:scorerId":            {summary: "One configured scorer, or null", tag: tagObservability},
	"GET /api/workspaces":                          {summary: "Workspaces: none (feature off)", tag: tagStudio},
	"GET /api/datasets":                            {summary: "Datasets: none (feature off)", tag: tagStudio},
	"GET /api/experiments":                         {summary: "Experiments: none (feature off)", tag: tagStudio},
	"GET /api/experiments/review-summary":          {summary: "Experiment review counts: none (feature off)", tag: tagStudio},
	"GET /api/observability/traces": {summary: "Stored traces: the root span of each, newest first, filtered and paged", tag: tagObservability,
		query: traceListQuery},
	"GET /api/observability/branches": {summary: "Spans that start a branch (agent runs, tool calls, workflow runs) across traces", tag: tagObservability,
		query: traceListQuery},
	"POST /api/observability/traces/query": {summary: "Stored traces started in a time range, by keyset or numbered pages (Studio's Traces page)",
		tag: tagObservability, body: anyBody{}},
	"POST /api/observability/traces/score": {summary: "Grade traces' replies with a configured scorer ({scorerName, targets})", tag: tagObservability,
		body: anyBody{}},
	"POST /api/observability/traces/delete":        {summary: "Delete traces (a tenant's own only)", tag: tagObservability, body: deleteTracesBody{}},
	"GET /api/observability/traces/:traceId":       {summary: "A trace's spans, oldest first (traceId \"light\": the light listing)", tag: tagObservability, query: traceListQuery},
	"GET /api/observability/traces/:traceId/:part": {summary: "A trace's light spans (part = light)", tag: tagObservability},
	"GET /api/observability/traces/:traceId/:part/:spanId": {summary: "One span (part = spans), a branch (part = branches; depth), or a span's scores (/:traceId/:spanId/scores)",
		tag: tagObservability, query: []string{"depth", "page", "perPage"}},
	"GET /api/observability/scores": {summary: "Scores, newest first, filtered and paged", tag: tagObservability,
		query: append([]string{"scorerId", "scoreSource", "timestamp", "page", "perPage", "field", "direction", "resourceId"}, memory.EventFilterColumns...)},
	"POST /api/observability/scores":         {summary: "Store a score ({score: {scorerId, score, …}})", tag: tagObservability, body: anyBody{}},
	"GET /api/observability/scores/:scoreId": {summary: "One score, or null", tag: tagObservability},
	"GET /api/observability/feedback": {summary: "Feedback, newest first, filtered and paged", tag: tagObservability,
		query: append([]string{"feedbackType", "feedbackSource", "feedbackUserId", "reviewStatus", "timestamp", "page", "perPage", "field", "direction", "resourceId"}, memory.EventFilterColumns...)},
	"GET /api/observability/logs": {summary: "Lines logged inside runs, newest first, filtered and paged", tag: tagObservability,
		query: append([]string{"level", "timestamp", "page", "perPage", "field", "direction", "resourceId"}, memory.EventFilterColumns...)},
	"DELETE /api/observability/scores":   {summary: "Delete scores ({scoreIds}); a tenant's own only", tag: tagObservability, body: anyBody{}},
	"DELETE /api/observability/feedback": {summary: "Delete feedback ({feedbackIds}); a tenant's own only", tag: tagObservability, body: anyBody{}},
	"PATCH /api/observability/feedback/:feedbackId/review-status": {summary: "Mark feedback reviewed or not ({reviewStatus})", tag: tagObservability,
		body: anyBody{}},
	"POST /api/observability/feedback":                     {summary: "Store feedback ({feedback: {feedbackType, value, …}})", tag: tagObservability, body: anyBody{}},
	"POST /api/observability/metrics/aggregate":            {summary: "One metric value ({name[], aggregation, filters?, comparePeriod?})", tag: tagObservability, body: anyBody{}},
	"POST /api/observability/metrics/breakdown":            {summary: "A metric per group ({name[], groupBy[], aggregation, filters?, limit?})", tag: tagObservability, body: anyBody{}},
	"POST /api/observability/metrics/timeseries":           {summary: "A metric per interval ({name[], interval, aggregation, filters?, groupBy?})", tag: tagObservability, body: anyBody{}},
	"POST /api/observability/metrics/percentiles":          {summary: "Percentiles (fractions 0–1) of a metric per interval", tag: tagObservability, body: anyBody{}},
	"GET /api/observability/discovery/metric-label-keys":   {summary: "Label keys of a metric", tag: tagObservability, query: []string{"metricName"}},
	"GET /api/observability/discovery/metric-label-values": {summary: "Values of a metric's label", tag: tagObservability, query: []string{"metricName", "labelKey", "prefix"}},
	"GET /api/observability/metrics": {summary: "Metric events, newest first, filtered and paged", tag: tagObservability,
		query: append([]string{"name", "provider", "model", "timestamp", "page", "perPage", "field", "direction", "resourceId"}, memory.EventFilterColumns...)},
	"GET /api/observability/discovery/metric-names":  {summary: "Names of stored metrics", tag: tagObservability, query: []string{"prefix", "resourceId"}},
	"GET /api/observability/discovery/entity-types":  {summary: "Entity types of stored traces", tag: tagObservability},
	"GET /api/observability/discovery/entity-names":  {summary: "Entity names of stored traces", tag: tagObservability, query: []string{"entityType", "resourceId"}},
	"GET /api/observability/discovery/environments":  {summary: "Environments of stored traces", tag: tagObservability, query: []string{"resourceId"}},
	"GET /api/observability/discovery/service-names": {summary: "Service names of stored traces", tag: tagObservability, query: []string{"resourceId"}},
	"POST /api/observability/traces/query/fields":    {summary: "Trace query fields: none (feature off)", tag: tagStudio, body: anyBody{}},
	"GET /api/observability/discovery/tags":          {summary: "Trace tags: none (feature off)", tag: tagStudio},
}

// openAPI builds the document for the routes this server registered.
func (s *Server) openAPI(plugins []Route) ([]byte, error) {
	g := &schemaGen{components: map[string]any{}, names: map[reflect.Type]string{}}
	paths := map[string]map[string]any{}
	add := func(method, path string, op map[string]any) {
		p := openAPIPath(path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		if params := pathParams(path); len(params) > 0 {
			op["parameters"] = append(params, op["parameters"].([]any)...)
		}
		paths[p][strings.ToLower(method)] = op
	}
	errorResponse := map[string]any{"description": "An error", "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	g.schema(reflect.TypeFor[errorJSON](), false) // registers "Error"

	for _, rt := range s.Routes() {
		d, ok := routeDocs[rt.Method+" "+rt.Path]
		if !ok {
			return nil, fmt.Errorf("openapi: route %s %s has no entry in routeDocs", rt.Method, rt.Path)
		}
		op := map[string]any{
			"operationId": operationID(rt.Method, rt.Path),
			"summary":     d.summary,
			"tags":        []string{d.tag},
			"parameters":  []any{},
		}
		params := []any{}
		for _, q := range d.query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		op["parameters"] = params
		if d.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(d.body), true)}}}
		}
		ok200 := map[string]any{"description": "OK"}
		switch {
		case d.noContent && !d.uiStream:
			op["responses"] = map[string]any{"204": map[string]any{"description": "No turn to resume"}, "default": errorResponse}
			add(rt.Method, rt.Path, op)
			continue
		case d.uiStream:
			ok200["description"] = "The AI SDK UI message stream (x-vercel-ai-ui-message-stream: v1): one UI message chunk per data line, then [DONE]"
			ok200["content"] = map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string"}}}
		case d.stream:
			ok200["description"] = "Server-Sent Events: one Mastra chunk ({type, runId, from, payload}) per data line, then [DONE]"
			ok200["content"] = map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string"}}}
		case d.records:
			ok200["description"] = "Mastra's workflow stream: JSON records separated by U+001E"
			ok200["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		case d.html:
			ok200["content"] = map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}
		case d.resp != nil && d.orResp != nil:
			ok200["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"oneOf": []any{
				g.schema(reflect.TypeOf(d.resp), false), g.schema(reflect.TypeOf(d.orResp), false)}}}}
		case d.resp != nil:
			ok200["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(d.resp), false)}}
		default:
			ok200["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{}}}
		}
		op["responses"] = map[string]any{"200": ok200, "default": errorResponse}
		if d.noContent {
			op["responses"].(map[string]any)["204"] = map[string]any{"description": "No turn to resume"}
		}
		add(rt.Method, rt.Path, op)
	}

	health := map[string]any{"operationId": "health", "summary": "Liveness and database check (never needs a token)",
		"tags": []string{tagServer}, "parameters": []any{},
		"responses": map[string]any{
			"200": map[string]any{"description": "Up", "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeFor[healthBody](), false)}}},
			"503": map[string]any{"description": "The database is down", "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeFor[healthBody](), false)}}},
		}}
	add("GET", "/health", health)
	if s.metrics != nil {
		add("GET", s.cfg.MetricsPath, map[string]any{"operationId": "metrics", "summary": "Prometheus metrics (never needs a token)",
			"tags": []string{tagServer}, "parameters": []any{},
			"responses": map[string]any{"200": map[string]any{"description": "The Prometheus text format",
				"content": map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}}}})
	}

	for _, p := range plugins {
		methods := []string{p.Method}
		if p.Method == "ALL" {
			methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
		}
		for _, m := range methods {
			op := map[string]any{
				"operationId": operationID(m, p.Path),
				"summary":     "Plugin route " + p.Name,
				"tags":        []string{tagPlugins},
				"parameters":  []any{},
				"responses":   map[string]any{"default": map[string]any{"description": "Whatever the plugin answers"}},
			}
			if m != http.MethodGet && m != http.MethodDelete {
				op["requestBody"] = map[string]any{"required": false, "content": map[string]any{"*/*": map[string]any{"schema": map[string]any{}}}}
			}
			add(m, p.Path, op)
		}
	}

	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "mastra-server", "version": "1",
			"description": "A standalone agent API server: Mastra-compatible agents, memory and tools, and Wasm plugin routes."},
		"paths":      paths,
		"components": map[string]any{"schemas": g.components},
		"tags": []any{
			map[string]any{"name": tagAgents, "description": "Mastra's agents"},
			map[string]any{"name": tagMemory, "description": "Mastra's memory: threads and messages"},
			map[string]any{"name": tagTools, "description": "Mastra's tools"},
			map[string]any{"name": tagVectors, "description": "Mastra's vector API, for the [vectors.<name>] stores, per resource"},
			map[string]any{"name": tagRoot, "description": "The original root routes"},
			map[string]any{"name": tagFlows, "description": "Mastra's workflows"},
			map[string]any{"name": tagPlugins, "description": "Routes served by Wasm plugins"},
			map[string]any{"name": tagObservability, "description": "Mastra's observability: stored traces and spans"},
			map[string]any{"name": tagServer, "description": "Health, metrics, this document and its page"},
		},
	}
	if s.cfg.Auth.Enabled {
		doc["components"].(map[string]any)["securitySchemes"] = map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}
		doc["security"] = []any{map[string]any{"bearer": []string{}}}
		health["security"] = []any{} // public
	}
	return json.MarshalIndent(doc, "", "  ")
}

// errorJSON mirrors transport's error body for the document.
type errorJSON struct {
	Error     string            `json:"error"`
	Code      string            `json:"code,omitempty"`
	Issues    []transport.Issue `json:"issues,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
}

// openAPIPath turns the router's "/a/:id/*rest" into "/a/{id}/{rest}".
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func pathParams(p string) []any {
	var out []any
	for _, s := range strings.Split(p, "/") {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			out = append(out, map[string]any{"name": s[1:], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	return out
}

// operationID is a stable id such as "post_api_agents_agentId_generate".
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, r := range path {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case r == '/' || r == '-' || r == '.':
			b.WriteByte('_')
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// schemaGen derives JSON Schemas (2020-12, as OpenAPI 3.1 uses) from Go
// types the way encoding/json encodes them. Named structs become
// components, referenced by $ref.
type schemaGen struct {
	components map[string]any
	names      map[reflect.Type]string
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
)

// schema is t's schema; request schemas require nothing (the handlers
// check the fields and answer 400 naming the one at fault), response
// schemas require every field that is always written.
func (g *schemaGen) schema(t reflect.Type, request bool) map[string]any {
	switch {
	case t == rawMessageType, t.Kind() == reflect.Interface:
		return map[string]any{}
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		return map[string]any{} // encodes itself
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem(), request)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), request)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), request)}
	case reflect.Struct:
		return g.structSchema(t, request)
	}
	return map[string]any{}
}

func (g *schemaGen) structSchema(t reflect.Type, request bool) map[string]any {
	name := componentName(t, request)
	if name != "" {
		if _, ok := g.components[name]; ok {
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		g.components[name] = map[string]any{} // placeholder for recursive types
	}
	props := map[string]any{}
	var required []string
	g.fields(t, request, props, &required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		out["required"] = required
	}
	if name == "" {
		return out
	}
	g.components[name] = out
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// fields adds t's fields to props as encoding/json writes them: an
// embedded struct without a tag (exported or not) has its fields inlined.
func (g *schemaGen) fields(t reflect.Type, request bool, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, request, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		key, opts, _ := strings.Cut(tag, ",")
		if key == "" {
			key = f.Name
		}
		omit := strings.Contains(opts, "omitempty")
		s := g.schema(f.Type, request)
		if !omit && nullable(f.Type) && len(s) > 0 {
			s = schemaOrNull(s) // a nil pointer, slice or map is written as null
		}
		props[key] = s
		if !omit && !request {
			*required = append(*required, key)
		}
	}
}

func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		return t != rawMessageType
	}
	return false
}

// schemaOrNull allows null beside s.
func schemaOrNull(s map[string]any) map[string]any {
	if typ, ok := s["type"].(string); ok {
		c := make(map[string]any, len(s))
		for k, v := range s {
			c[k] = v
		}
		c["type"] = []string{typ, "null"}
		return c
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// componentName names a struct's component: its Go name without the
// JSON/Body suffix, capitalized ("wire.Thread" → "Thread"); request bodies
// keep "Body" ("RootBody"). Anonymous structs are inlined.
func componentName(t reflect.Type, request bool) string {
	n := t.Name()
	if n == "" {
		return ""
	}
	n = strings.TrimSuffix(n, "JSON")
	if !request {
		n = strings.TrimSuffix(n, "Body")
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

// serveOpenAPI answers GET /api/openapi.json.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.openAPIDoc)
	return nil
}
