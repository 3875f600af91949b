package app

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/mcp"
	"github.com/mastra-server/mastra-server/host/server"
)

// mcpServers turns [mcp_servers.*] into the servers the HTTP server
// exposes, in id order.
func mcpServers(cfg *config.Config) []server.MCPServer {
	var out []server.MCPServer
	for _, id := range cfg.MCPServerIDs() {
		s := cfg.MCPServers[id]
		ms := server.MCPServer{ID: id, Name: s.Name, Version: s.Version, Description: s.Description,
			Agents: s.Agents, Workflows: s.Workflows, Tools: s.Tools}
		for _, r := range s.Resources {
			ms.Resources = append(ms.Resources, mcpResource(r))
		}
		for _, t := range s.ResourceTemplates {
			ms.ResourceTemplates = append(ms.ResourceTemplates, mcp.ResourceTemplate{URITemplate: t.URITemplate, Name: t.Name,
				Description: t.Description, MIMEType: t.MIMEType, Text: t.Text})
		}
		for _, p := range s.Prompts {
			mp := mcp.Prompt{Name: p.Name, Description: p.Description}
			for _, a := range p.Arguments {
				mp.Arguments = append(mp.Arguments, mcp.PromptArgument{Name: a.Name, Description: a.Description, Required: a.Required})
			}
			for _, m := range p.Messages {
				pm := mcp.PromptMessage{Role: m.Role, Text: m.Text, ImageFile: m.Image}
				if m.Resource != nil {
					r := mcpResource(*m.Resource)
					pm.Resource = &r
				}
				mp.Messages = append(mp.Messages, pm)
			}
			ms.Prompts = append(ms.Prompts, mp)
		}
		out = append(out, ms)
	}
	return out
}

func mcpResource(r config.MCPResource) mcp.Resource {
	return mcp.Resource{URI: r.URI, Name: r.Name, Description: r.Description, MIMEType: r.MIMEType, Text: r.Text, File: r.File}
}

// mcpStartWait bounds how long the start waits for a remote server's tool
// list, for agents that name all its tools ("mcp:<client>"); the listings
// run beside the plugins' compilation.
const mcpStartWait = 5 * time.Second

// mcpClients are the [mcp_clients.*] that agents use, and the listings of
// those whose every tool an agent takes.
type mcpClients struct {
	clients map[string]*mcp.Client
	wg      sync.WaitGroup
	listed  map[string][]*mcp.RemoteTool // by client; nil: not reachable at start
	mu      sync.Mutex
}

// openMCPClients makes a client of every [mcp_clients.*] an agent names
// and starts listing the tools of those named whole. It never fails: a
// remote server that is down costs its tools' calls, not the start.
func openMCPClients(ctx context.Context, cfg *config.Config, log *slog.Logger, client *http.Client) *mcpClients {
	m := &mcpClients{clients: map[string]*mcp.Client{}, listed: map[string][]*mcp.RemoteTool{}}
	whole := map[string]bool{}
	for _, a := range cfg.Agents {
		for _, ref := range a.Tools {
			rest, ok := strings.CutPrefix(ref, config.MCPToolPrefix)
			if !ok {
				continue
			}
			name, tool, _ := strings.Cut(rest, "/")
			if tool == "" {
				whole[name] = true
			}
			if m.clients[name] != nil {
				continue
			}
			c := cfg.MCPClients[name]
			headers := map[string]string{}
			for k, v := range c.Headers {
				headers[k] = string(v)
			}
			env := map[string]string{}
			for k, v := range c.Env {
				env[k] = string(v)
			}
			m.clients[name] = mcp.NewClient(mcp.ClientConfig{Name: name, URL: c.URL, Headers: headers, Command: c.Command,
				Args: c.Args, Env: env, Timeout: c.Timeout, Allow: c.Tools, RequireApproval: c.RequireApproval.Needs, Logger: log, HTTPClient: client})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(whole)) {
		c := m.clients[name]
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			lctx, cancel := context.WithTimeout(ctx, mcpStartWait)
			defer cancel()
			tools, err := c.Tools(lctx)
			if err != nil {
				log.Warn("mcp client: no tools at start; agents naming mcp:"+name+" start without them (name tools as mcp:"+name+"/<tool> to keep them across an outage)",
					"mcp_client", name, "err", err.Error())
				return
			}
			m.mu.Lock()
			m.listed[name] = tools
			m.mu.Unlock()
		}()
	}
	return m
}

// tools waits for the start listings and returns the agents' MCP tools by
// reference: "mcp:<client>/<tool>" for each tool named or listed, so that
// "mcp:<client>" finds them all under "mcp:<client>/".
func (m *mcpClients) tools(cfg *config.Config) map[string]agent.Tool {
	m.wg.Wait()
	out := map[string]agent.Tool{}
	for name, ts := range m.listed {
		for _, t := range ts {
			out[config.MCPToolPrefix+name+"/"+strings.TrimPrefix(t.Name(), name+"_")] = t
		}
	}
	for _, a := range cfg.Agents {
		for _, ref := range a.Tools {
			rest, ok := strings.CutPrefix(ref, config.MCPToolPrefix)
			if !ok {
				continue
			}
			if name, tool, _ := strings.Cut(rest, "/"); tool != "" && out[ref] == nil {
				out[ref] = m.clients[name].Tool(tool)
			}
		}
	}
	return out
}

// toolsUnder lists the tools whose reference starts with prefix, in
// reference order.
func toolsUnder(tools map[string]agent.Tool, prefix string) []agent.Tool {
	var out []agent.Tool
	for _, ref := range slices.Sorted(maps.Keys(tools)) {
		if strings.HasPrefix(ref, prefix) {
			out = append(out, tools[ref])
		}
	}
	return out
}

func (m *mcpClients) close() {
	if m == nil {
		return
	}
	m.wg.Wait()
	for _, c := range m.clients {
		c.Close()
	}
}
