package config

import (
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

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
	// Resources, ResourceTemplates and Prompts are static content the
	// server also offers ([[mcp_servers.<id>.resources]], …), the same for
	// every caller.
	Resources         []MCPResource         `koanf:"resources"`
	ResourceTemplates []MCPResourceTemplate `koanf:"resource_templates"`
	Prompts           []MCPPrompt           `koanf:"prompts"`
}

// MCPResource is a resource read by its uri: text, or the bytes of file
// (relative to the configuration file; sent base64 unless mime_type is
// text/* or JSON).
type MCPResource struct {
	URI         string `koanf:"uri"`
	Name        string `koanf:"name"` // default: the uri
	Description string `koanf:"description"`
	MIMEType    string `koanf:"mime_type"`
	Text        string `koanf:"text"`
	File        string `koanf:"file"`
}

// MCPResourceTemplate is a family of resources (uri_template, RFC 6570);
// text is answered with each {name} of the template replaced.
type MCPResourceTemplate struct {
	URITemplate string `koanf:"uri_template"`
	Name        string `koanf:"name"` // default: the template
	Description string `koanf:"description"`
	MIMEType    string `koanf:"mime_type"`
	Text        string `koanf:"text"`
}

// MCPPrompt is a prompt template: messages whose {{argument}} are
// replaced by the caller's values.
type MCPPrompt struct {
	Name        string              `koanf:"name"`
	Description string              `koanf:"description"`
	Arguments   []MCPPromptArgument `koanf:"arguments"`
	Messages    []MCPPromptMessage  `koanf:"messages"`
}

// MCPPromptArgument is one argument of a prompt.
type MCPPromptArgument struct {
	Name        string `koanf:"name"`
	Description string `koanf:"description"`
	Required    bool   `koanf:"required"`
}

// MCPPromptMessage is one message of a prompt: text, image (a file,
// relative to the configuration file) or resource (embedded).
type MCPPromptMessage struct {
	Role     string       `koanf:"role"` // "user" (default) or "assistant"
	Text     string       `koanf:"text"`
	Image    string       `koanf:"image"`
	Resource *MCPResource `koanf:"resource"`
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

// MCPClient is one [mcp_clients.<name>]: a remote MCP server whose tools
// agents use, named "mcp:<name>" (all its allowed tools) or
// "mcp:<name>/<tool>" in their tools lists; the model sees them as
// <name>_<tool>, as Mastra's MCPClient names them.
type MCPClient struct {
	// URL is a streamable HTTP endpoint (or a legacy HTTP+SSE one, tried
	// when the server refuses the streamable POST); Headers go with every
	// request.
	// A header value may name the caller's {{resourceId}}, {{user}} or
	// {{context.<key>}}, filled per call (each caller's credentials get a
	// session of their own).
	URL     string            `koanf:"url"`
	Headers map[string]Secret `koanf:"headers"`
	// Command and Args start a stdio server inside the container; it gets
	// HOME, LOGNAME, PATH, SHELL, TERM, USER and Env, nothing else.
	Command string            `koanf:"command"`
	Args    []string          `koanf:"args"`
	Env     map[string]Secret `koanf:"env"`
	// Timeout bounds each tool call, connecting included (default 60s,
	// Mastra's).
	Timeout time.Duration `koanf:"timeout"`
	// Tools is the allow-list of the server's tools; empty allows all.
	Tools []string `koanf:"tools"`
	// RequireApproval makes calls of the server's tools wait for a
	// human's approval through the agent's approval path: true (or
	// ["*"]) for all its tools, or a list of the tools that need it.
	RequireApproval ToolApproval `koanf:"require_approval"`
}

// ToolApproval is require_approval of an [mcp_clients.<name>]: the
// remote tools whose calls wait for approval, "*" for all. TOML takes
// true / false as well as a list; the environment "true", "false" or a
// comma-separated list. It is kept as a list so that it prints as one.
type ToolApproval []string

// AllTools is the ToolApproval entry for every tool (require_approval = true).
const AllTools = "*"

// Needs reports whether a call of remote tool name waits for approval.
func (a ToolApproval) Needs(name string) bool {
	return slices.Contains(a, AllTools) || slices.Contains(a, name)
}

var toolApprovalType = reflect.TypeOf(ToolApproval{})

// toolApprovalHook reads require_approval's shapes; anything else is
// refused with what is expected.
func toolApprovalHook(_, to reflect.Type, data any) (any, error) {
	if to != toolApprovalType {
		return data, nil
	}
	bad := fmt.Errorf("expected true, false or a list of tool names, got %v", data)
	switch v := data.(type) {
	case bool:
		if v {
			return []string{AllTools}, nil
		}
		return []string{}, nil
	case string:
		switch strings.TrimSpace(v) {
		case "true":
			return []string{AllTools}, nil
		case "false", "":
			return []string{}, nil
		}
		return splitList(v), nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, bad
			}
			out = append(out, s)
		}
		return out, nil
	case []string, ToolApproval:
		return v, nil
	}
	return nil, bad
}

// defaultMCPTimeout is Mastra's MCPClient default request timeout.
const defaultMCPTimeout = 60 * time.Second

// headerTemplate finds the {{…}} references of a header value, filled per
// call from the caller's request (host/mcp).
var headerTemplate = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

// MCPToolPrefix starts an agent's tools entry that names an MCP client.
const MCPToolPrefix = "mcp:"

// MCPClientNames lists the names of [mcp_clients.*], sorted.
func (c *Config) MCPClientNames() []string {
	names := make([]string, 0, len(c.MCPClients))
	for n := range c.MCPClients {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// expandEnv replaces ${NAME} in a header or env value with the variable's
// value, so that secrets stay in the environment, not in the file.
func expandEnv(v Secret, lookup func(string) string) Secret {
	return Secret(os.Expand(string(v), lookup))
}

func (c *Config) applyMCPDefaults(lookup func(string) string) {
	for n, m := range c.MCPClients {
		if m.Timeout == 0 {
			m.Timeout = defaultMCPTimeout
		}
		for k, v := range m.Headers {
			m.Headers[k] = expandEnv(v, lookup)
		}
		for k, v := range m.Env {
			m.Env[k] = expandEnv(v, lookup)
		}
		c.MCPClients[n] = m
	}
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
		if len(s.Agents)+len(s.Workflows)+len(s.Tools)+len(s.Resources)+len(s.ResourceTemplates)+len(s.Prompts) == 0 {
			bad(key, id, "expected at least one of agents, workflows, tools, resources, resource_templates or prompts")
		}
		s.validateContent(key, bad)
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

// validateMCPClients checks each client's transport, and
// validateMCPToolRef an agent's "mcp:…" tools entry.
func (c *Config) validateMCPClients(bad func(string, any, string, ...any)) {
	for _, n := range c.MCPClientNames() {
		m := c.MCPClients[n]
		key := "mcp_clients." + n
		if !idPattern.MatchString(n) {
			bad(key, n, "MCP client names use letters, digits, '_' or '-'")
		}
		switch {
		case m.URL == "" && m.Command == "":
			bad(key, n, "expected url (streamable HTTP) or command (stdio)")
		case m.URL != "" && m.Command != "":
			bad(key+".command", m.Command, "expected url or command, not both")
		case m.URL != "":
			if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(key+".url", m.URL, "expected an http:// or https:// URL")
			}
			if len(m.Args) > 0 || len(m.Env) > 0 {
				bad(key+".args", m.Args, "args and env apply to a command (stdio) server only")
			}
		default:
			if len(m.Headers) > 0 {
				bad(key+".headers", len(m.Headers), "headers apply to a url (HTTP) server only")
			}
		}
		for h, v := range m.Headers {
			for _, ref := range headerTemplate.FindAllStringSubmatch(string(v), -1) {
				if r := ref[1]; r != "resourceId" && r != "user" && (!strings.HasPrefix(r, "context.") || r == "context.") {
					bad(key+".headers."+h, "{{"+r+"}}", "expected {{resourceId}}, {{user}} or {{context.<key>}}")
				}
			}
		}
		if m.Timeout < 0 {
			bad(key+".timeout", m.Timeout, "expected a positive duration such as \"30s\"")
		}
		for _, t := range m.Tools {
			if strings.TrimSpace(t) == "" {
				bad(key+".tools", m.Tools, "expected tool names, not empty strings")
			}
		}
		for _, t := range m.RequireApproval {
			switch {
			case strings.TrimSpace(t) == "":
				bad(key+".require_approval", []string(m.RequireApproval), "expected tool names, not empty strings")
			case t != AllTools && len(m.Tools) > 0 && !slices.Contains(m.Tools, t):
				// A name the allow-list leaves out is a typo or a stale
				// entry: approval that never applies must not pass silently.
				bad(key+".require_approval", t, "mcp_clients.%s.tools does not allow %q", n, t)
			}
		}
	}
}

// validateMCPToolRef checks "mcp:<client>" or "mcp:<client>/<tool>" of
// agent key's tools; ok is false when ref is not an MCP reference.
func (c *Config) validateMCPToolRef(bad func(string, any, string, ...any), key, ref string) (ok bool) {
	rest, ok := strings.CutPrefix(ref, MCPToolPrefix)
	if !ok {
		return false
	}
	client, tool, _ := strings.Cut(rest, "/")
	m, found := c.MCPClients[client]
	switch {
	case !found:
		bad(key+".tools", ref, "no [mcp_clients.%s] is defined", client)
	case strings.Contains(rest, "/") && tool == "":
		bad(key+".tools", ref, "expected mcp:<client> or mcp:<client>/<tool>")
	case tool != "" && len(m.Tools) > 0 && !slices.Contains(m.Tools, tool):
		bad(key+".tools", ref, "mcp_clients.%s.tools does not allow %q", client, tool)
	}
	return true
}

// validateContent checks a server's resources, resource templates and
// prompts (names, one kind of content each, files that exist).
func (s MCPServer) validateContent(key string, bad func(string, any, string, ...any)) {
	oneOf := func(vals ...string) int {
		n := 0
		for _, v := range vals {
			if v != "" {
				n++
			}
		}
		return n
	}
	file := func(k, path string) {
		if _, err := os.Stat(path); err != nil {
			bad(k, path, "cannot read the file: %v", err)
		}
	}
	uris := map[string]bool{}
	resource := func(k string, r MCPResource, needURI bool) {
		if needURI && r.URI == "" {
			bad(k+".uri", r.URI, "expected the resource's uri")
		}
		if uris[r.URI] && needURI {
			bad(k+".uri", r.URI, "two resources have this uri")
		}
		uris[r.URI] = true
		if oneOf(r.Text, r.File) != 1 {
			bad(k, r.URI, "expected text or file (one of them)")
		}
		if r.File != "" {
			file(k+".file", r.File)
		}
	}
	for i, r := range s.Resources {
		resource(fmt.Sprintf("%s.resources[%d]", key, i), r, true)
	}
	for i, t := range s.ResourceTemplates {
		k := fmt.Sprintf("%s.resource_templates[%d]", key, i)
		if !strings.Contains(t.URITemplate, "{") {
			bad(k+".uri_template", t.URITemplate, "expected a URI template with {variables} (RFC 6570); a fixed uri is a resource")
		}
	}
	names := map[string]bool{}
	for i, p := range s.Prompts {
		k := fmt.Sprintf("%s.prompts[%d]", key, i)
		if p.Name == "" || names[p.Name] {
			bad(k+".name", p.Name, "expected a name no other prompt of the server has")
		}
		names[p.Name] = true
		if len(p.Messages) == 0 {
			bad(k+".messages", p.Name, "expected at least one message")
		}
		for j, m := range p.Messages {
			mk := fmt.Sprintf("%s.messages[%d]", k, j)
			if m.Role != "" && m.Role != "user" && m.Role != "assistant" {
				bad(mk+".role", m.Role, "expected user or assistant")
			}
			n := oneOf(m.Text, m.Image)
			if m.Resource != nil {
				n++
				resource(mk+".resource", *m.Resource, false)
				if m.Resource.URI == "" {
					bad(mk+".resource.uri", "", "expected the embedded resource's uri")
				}
			}
			if n != 1 {
				bad(mk, p.Name, "expected one of text, image or resource")
			}
			if m.Image != "" {
				file(mk+".image", m.Image)
			}
		}
	}
}
