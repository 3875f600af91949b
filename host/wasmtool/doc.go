// Package wasmtool makes a Wasm plugin an agent tool: the call's arguments
// go to the guest as the JSON body of a POST to "/", and the guest's JSON
// response is the tool's result. Any http-wasm guest can be a tool.
//
// The request's RequestContext (reqctx.From(ctx)) is visible to the guest
// through mastra.ctx_get, and its deadline bounds the call together with the
// plugin's own timeout.
//
// A *Tool implements agent.Tool; the package imports neither host/agent
// nor host/server.
package wasmtool
