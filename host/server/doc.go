// Package server is the HTTP host: it assembles the router, the middleware
// chain (recover, request id, access log, CORS, request context, auth,
// time-to-first-byte timeout, Wasm middleware) and the built-in handlers, and
// runs the net/http server with graceful shutdown.
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
// path is protected by default; an admin token is unbound.
//
// Client input is checked at the edge (validate.go) before any store or
// model call, and client-controlled text reaches log lines only clipped.
//
// Handlers decode and validate a request, make one call down (to the memory
// store or an agent) and write the result. Errors are returned, never
// written ad hoc: one function maps them to a status and a JSON body, and a
// 5xx body never carries internal error text.
//
// server imports memory, agent and reqctx; nothing under host/ imports server.
package server
