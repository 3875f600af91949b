// Package reqctx holds the per-request RequestContext: a small, concurrency-safe
// map of JSON values that travels in a request's context.Context.
//
// The server creates one Values per request before any middleware runs. Wasm
// middleware (through the mastra host module), built-in handlers, route plugins,
// agents and their tools all read and write the same map, so a value set by an
// auth middleware is seen by the tool an agent calls later in that request.
//
// Values are JSON text, as Mastra's RequestContext holds arbitrary JSON values.
// This package imports nothing from the rest of host/, so every layer may use it.
package reqctx
