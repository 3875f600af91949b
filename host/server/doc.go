// Package server is the HTTP host: the API faces (the built-in routes and
// their handlers), the route table, tenant scoping, and the assembly of the
// handler chain, run by a net/http server with graceful shutdown.
//
// The transport under the faces (request id, recovery and access log, CORS,
// token auth, the first-byte timeout and its commit gate, body decoding, the
// SSE writer, JSON errors, path patterns) is the package
// [github.com/mastra-server/mastra-server/host/server/transport]; server
// configures it (from [Config]) and chains it once, in [New]. Errors of the
// domain (a thread not found, a model unavailable) are mapped to statuses
// here, in errors.go, never in transport.
//
// # Two faces, one store
//
// The root routes (/agent/generate|stream, /threads…) and Mastra's routes
// under /api (/api/agents…, /api/memory/threads…, /api/memory/status|config)
// call the same agents and the same memory store; only the decoding of
// requests and a few defaults differ. Every built-in route is listed once,
// with what it touches, in the table of routes.go ([Server.Routes]).
//
// # Auth and tenants
//
// [server.auth] tokens (Bearer header or ?apiKey=) are checked after CORS
// and /health and before the Wasm middleware and routing, so unknown paths
// under a protected pattern are 401 too and a preflight needs no token. A
// valid token puts its user and resource in the RequestContext
// (reqctx.UserKey, reqctx.ResourceIDKey); a Wasm middleware may set the
// resource key instead. When that key is set, every handler acts for that
// resource only, whatever resourceId, memory.resource or requestContext
// the client sent, and another resource's thread is 404. One function,
// Server.resource in scope.go, applies these rules for every route. Every
// path is protected by default; an admin token is unbound. A JWT of
// [server.auth.jwt] (jwt.go, package jwtauth) binds its request to the
// resource its claim names, exactly like a token's resource_id.
//
// # Limits
//
// With Options.Limiter, each request is counted against its subject (its
// bound resource, an admin's user, else the client address) right after
// auth, and each agent stream holds a slot while it runs (limits.go);
// refusals are 429 with Retry-After.
//
// Client input is checked at the edge (validate.go) before any store or
// model call, and client-controlled text reaches log lines only clipped.
//
// Handlers decode and validate a request, make one call down (to the memory
// store or an agent) and write the result. Errors are returned, never
// written ad hoc: one function maps them to a status and a JSON body, and a
// 5xx body never carries internal error text.
//
// server imports transport, jwtauth, limits, agent, memory, llm, reqctx,
// toolschema, runlog, workflow and wire (the JSON shapes it shares with host/app),
// never config: it takes its options as plain values ([Config], [Options]).
// Under host/ only host/app imports server. Streams end as the agent's
// [agent.Tracker] writes it; the faces get the agent's typed chunks.
package server
