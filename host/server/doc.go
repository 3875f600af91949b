// Package server is the HTTP host: it assembles the router, the middleware
// chain (recover, request id, access log, CORS, request context, Wasm
// middleware, time-to-first-byte timeout) and the built-in handlers, and
// runs the net/http server with graceful shutdown.
//
// Handlers decode and validate a request, make one call down (to the memory
// store or an agent) and write the result. Errors are returned, never
// written ad hoc: one function maps them to a status and a JSON body, and a
// 5xx body never carries internal error text.
//
// server imports memory, agent and reqctx; nothing under host/ imports server.
package server
