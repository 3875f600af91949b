// Package mcp speaks the Model Context Protocol both ways, on the official
// Go SDK (github.com/modelcontextprotocol/go-sdk).
//
// Server: a Server exposes a list of Tools (the server package maps agents
// to ask_<agent>, workflows to run_<workflow> and tools by name) over the
// streamable HTTP transport in the SDK's stateless mode, so any instance
// behind a balancer answers any request, and over plain calls for Mastra's
// REST routes. The package knows nothing of agents, tenancy or HTTP routing:
// a Tool's Call gets the request's context, in which the server package has
// put the resource the request is bound to. A single JSON tools/call of a
// known tool takes a fast path with the SDK's answer, byte for byte
// (fastcall.go); everything else is the SDK's. A tool that waits for input
// (a suspended run: Call returns *NeedsInput) asks clients of 2026-07-28
// through the call's result, and its Resume takes their answer, which any
// instance may receive. Static resources, resource templates and prompts
// (content.go) are the same for every caller.
//
// Client: a Client connects to a remote MCP server (streamable HTTP or a
// stdio subprocess) and offers its tools as agent tools named
// <client>_<tool>, as Mastra's MCPClient names them.
//
// The package imports neither host/agent nor host/server; its tools
// implement agent.Tool by shape.
package mcp
