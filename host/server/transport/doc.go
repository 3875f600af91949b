// Package transport is the HTTP plumbing under the API faces of
// [github.com/mastra-server/mastra-server/host/server]: what every route
// needs and no route decides.
//
//   - [Entry]: request id, body read deadline, panic recovery, access log.
//   - [CrossOrigin]: CORS, answering preflights itself.
//   - [RequestContext]: a fresh reqctx map per request.
//   - [Authenticate]: the built-in tokens of [server.auth], and the JWTs
//     its Verify hook accepts; [IsAdmin].
//   - [FirstByteTimeout]: a 504 when no byte went out in time, with the
//     commit gate that keeps a 504 from hiding a saved turn.
//   - [DecodeJSON]: a size-limited JSON body with 400, 408, 413 and 415.
//   - [StartSSE]: Server-Sent Events with keep-alive pings.
//   - [Error], [ErrorWriter], [WriteJSON]: one JSON error shape, one place
//     that writes it; 5xx bodies never carry internal error text.
//   - [PathMatch]: the path patterns of auth and the Wasm middleware.
//
// Each middleware has the shape func(http.Handler) http.Handler and is
// built once; server assembles them in order.
//
// transport knows HTTP and nothing of agents, threads or tenants: it imports
// reqctx and the standard library only. Errors of the packages above it (a
// thread not found, a model down) are mapped to statuses by the caller,
// through [ErrorWriter.Map].
package transport
