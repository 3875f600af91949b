package config

import "sort"

// MCPServer is one [mcp_servers.<id>]: agents, workflows and tools exposed
// over MCP at /api/mcp/<id>/mcp, as ask_<agent>, run_<workflow> and the
// tools' own names (Mastra's MCPServer mapping).
type MCPServer struct {
	Name        string `koanf:"name"`    // default: the id
	Version     string `koanf:"version"` // default: "1.0.0"
	Description string `koanf:"description"`
	// Agents, Workflows and Tools are ids of [agents.*], [workflows.*] and
	// [[tools]]; each needs a description, which tells the calling model
	// what the tool is for.
	Agents    []string `koanf:"agents"`
	Workflows []string `koanf:"workflows"`
	Tools     []string `koanf:"tools"`
}

// MCPServerIDs lists the ids of [mcp_servers.*], sorted.
func (c *Config) MCPServerIDs() []string {
	ids := make([]string, 0, len(c.MCPServers))
	for id := range c.MCPServers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (c *Config) applyMCPDefaults() {
	for id, s := range c.MCPServers {
		if s.Name == "" {
			s.Name = id
		}
		if s.Version == "" {
			s.Version = "1.0.0"
		}
		c.MCPServers[id] = s
	}
}

// validateMCPServers checks that every entry a server exposes exists and
// has a description, and that no two of its tools share a name.
func (c *Config) validateMCPServers(bad func(string, any, string, ...any)) {
	tools := map[string]Tool{}
	for _, t := range c.Tools {
		tools[t.Name] = t
	}
	for _, id := range c.MCPServerIDs() {
		s := c.MCPServers[id]
		key := "mcp_servers." + id
		if !idPattern.MatchString(id) {
			bad(key, id, "MCP server ids use letters, digits, '_' or '-'")
		}
		if len(s.Agents)+len(s.Workflows)+len(s.Tools) == 0 {
			bad(key, id, "expected at least one of agents, workflows or tools")
		}
		names := map[string]string{} // MCP tool name -> the key that made it
		name := func(n, from string) {
			if prev, dup := names[n]; dup {
				bad(key, n, "two entries become the MCP tool %q (%s and %s)", n, prev, from)
			}
			names[n] = from
		}
		for _, t := range s.Tools {
			tc, ok := tools[t]
			switch {
			case !ok:
				bad(key+".tools", t, "no [[tools]] entry has this name")
			case tc.Description == "":
				bad(key+".tools", t, "the tool has no description; an MCP client's model needs one")
			}
			name(t, "tools")
		}
		for _, a := range s.Agents {
			ac, ok := c.Agents[a]
			switch {
			case !ok:
				bad(key+".agents", a, "no [agents.%s] is defined", a)
			case ac.Description == "":
				bad(key+".agents", a, "agents.%s has no description; an MCP client's model needs one", a)
			}
			name("ask_"+a, "agents")
		}
		for _, w := range s.Workflows {
			wc, ok := c.Workflows[w]
			switch {
			case !ok:
				bad(key+".workflows", w, "no [workflows.%s] is defined", w)
			case wc.Description == "":
				bad(key+".workflows", w, "workflows.%s has no description; an MCP client's model needs one", w)
			default:
				if m, ok := wc.InputSchema.(map[string]any); ok && m["type"] != "object" {
					bad(key+".workflows", w, "workflows.%s.input_schema must be an object schema (type = \"object\") to be an MCP tool", w)
				}
			}
			name("run_"+w, "workflows")
		}
	}
}
