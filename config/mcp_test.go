package config

import (
	"strings"
	"testing"
)

// An MCP server's entries must exist and have descriptions, and no two may
// become the same MCP tool; each problem is its own line naming the key.
func TestMCPServersValidated(t *testing.T) {
	path := writeFile(t, `
[agents.helper]
model = "echo"
[agents.described]
model = "echo"
description = "Answers."
[[tools]]
name = "ask_described"
description = "clashes with the agent's MCP name"
module = "x.wasm"
[[tools]]
name = "bare"
module = "x.wasm"
[mcp_servers.main]
agents = ["helper", "described", "ghost"]
tools = ["bare", "nope", "ask_described"]
workflows = ["nowhere"]
[mcp_servers.empty]
[mcp_servers."bad id"]
tools = ["bare"]
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken [mcp_servers]")
	}
	for _, want := range []string{
		`mcp_servers.main.agents = "helper": agents.helper has no description`,
		`mcp_servers.main.agents = "ghost": no [agents.ghost] is defined`,
		`mcp_servers.main.tools = "bare": the tool has no description`,
		`mcp_servers.main.tools = "nope": no [[tools]] entry has this name`,
		`mcp_servers.main.workflows = "nowhere": no [workflows.nowhere] is defined`,
		`mcp_servers.main = "ask_described": two entries become the MCP tool "ask_described" (tools and agents)`,
		`mcp_servers.empty = "empty": expected at least one of agents, workflows or tools`,
		`mcp_servers.bad id = "bad id": MCP server ids use letters`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate errors lack %q:\n%v", want, err)
		}
	}
}

// Name and version default to the id and 1.0.0.
func TestMCPServerDefaults(t *testing.T) {
	cfg := loadIn(t, `
[agents.helper]
model = "echo"
description = "Helps."
[mcp_servers.main]
agents = ["helper"]
`)
	if s := cfg.MCPServers["main"]; s.Name != "main" || s.Version != "1.0.0" {
		t.Errorf("mcp_servers.main = %+v; want name main, version 1.0.0", s)
	}
}
