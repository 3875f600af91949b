// Package app is the composition root: [Build] turns a validated
// config.Config into the running parts of a server (the memory store, model
// clients from the provider registry, agents, Wasm middleware, routes and
// tools, the HTTP host) and [App] serves and closes them.
//
// Every rule that maps configuration to runtime lives here: a middleware's
// default path ("/api/*"), route-only middleware, the order of the chain,
// routes that share one plugin, the tools an agent gets. cmd/mastra-server
// only parses flags, picks a subcommand and sets the exit code.
//
// Plugins and agents need each other: a plugin may call an agent
// (mastra.agent_generate) and an agent's tools are plugins. Build resolves
// that in two visible phases: plugins first, with an agent caller that has
// no agents yet, then the agents, which are then bound to that caller
// before the server takes a request.
//
// This is the only package under host/ that imports config; the packages it
// wires take explicit options and invent no defaults of their own, with two
// exceptions that README's configuration section names: host/runlog and
// host/workflow fill a zero option with the value config sets (for tests
// and library callers), and the workflow engine's numbers that are not
// settings are its fixed policy.
package app
