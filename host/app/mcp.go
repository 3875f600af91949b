package app

import (
	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/server"
)

// mcpServers turns [mcp_servers.*] into the servers the HTTP server
// exposes, in id order.
func mcpServers(cfg *config.Config) []server.MCPServer {
	var out []server.MCPServer
	for _, id := range cfg.MCPServerIDs() {
		s := cfg.MCPServers[id]
		out = append(out, server.MCPServer{ID: id, Name: s.Name, Version: s.Version, Description: s.Description,
			Agents: s.Agents, Workflows: s.Workflows, Tools: s.Tools})
	}
	return out
}
