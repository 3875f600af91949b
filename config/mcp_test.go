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
		`mcp_servers.empty = "empty": expected at least one of agents, workflows, tools, resources, resource_templates or prompts`,
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

// A client needs url or command; agents name its tools "mcp:<client>" or
// "mcp:<client>/<tool>", a tool the allow-list has; header values take
// ${VAR} from the environment.
func TestMCPClientsValidated(t *testing.T) {
	path := writeFile(t, `
[agents.a]
model = "echo"
tools = ["mcp:remote", "mcp:remote/echo", "mcp:remote/secret", "mcp:ghost", "mcp:remote/"]
[mcp_clients.remote]
url = "https://mcp.example.com/mcp"
tools = ["echo"]
[mcp_clients.remote.headers]
Authorization = "Bearer ${REMOTE_KEY}"
[mcp_clients.both]
url = "https://x.example.com/mcp"
command = "node"
[mcp_clients.neither]
timeout = "-1s"
[mcp_clients.ftp]
url = "ftp://x.example.com"
[mcp_clients.local]
command = "node"
args = ["server.js"]
headers = { X = "y" }
[mcp_clients.templated]
url = "https://t.example.com/mcp"
headers = { Authorization = "Bearer {{user}} {{context.team}} {{password}}" }
`)
	cfg, err := Load(path, []string{"REMOTE_KEY=sk-123"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(cfg.MCPClients["remote"].Headers["Authorization"]); got != "Bearer sk-123" {
		t.Errorf("header = %q; want ${REMOTE_KEY} expanded", got)
	}
	if cfg.MCPClients["remote"].Timeout.Seconds() != 60 {
		t.Errorf("timeout = %v; want the 60s default", cfg.MCPClients["remote"].Timeout)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted broken [mcp_clients]")
	}
	for _, want := range []string{
		`agents.a.tools = "mcp:remote/secret": mcp_clients.remote.tools does not allow "secret"`,
		`agents.a.tools = "mcp:ghost": no [mcp_clients.ghost] is defined`,
		`agents.a.tools = "mcp:remote/": expected mcp:<client> or mcp:<client>/<tool>`,
		`mcp_clients.both.command = "node": expected url or command, not both`,
		`mcp_clients.neither = "neither": expected url (streamable HTTP) or command (stdio)`,
		`mcp_clients.neither.timeout`,
		`mcp_clients.ftp.url = "ftp://x.example.com": expected an http:// or https:// URL`,
		`mcp_clients.local.headers`,
		`mcp_clients.templated.headers.Authorization = "{{password}}": expected {{resourceId}}, {{user}} or {{context.<key>}}`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate errors lack %q:\n%v", want, err)
		}
	}
	for _, ok := range []string{`"mcp:remote"`, `"mcp:remote/echo"`} {
		if strings.Contains(err.Error(), "agents.a.tools = "+ok) {
			t.Errorf("Validate refused %s:\n%v", ok, err)
		}
	}
}

// require_approval on a client takes true (every tool), a list of its
// tools, or "true" / a comma list from the environment; a listed tool
// the allow-list leaves out, or a value of another type, is refused.
func TestMCPClientRequireApproval(t *testing.T) {
	path := writeFile(t, `
[mcp_clients.all]
url = "https://a.example.com/mcp"
require_approval = true
[mcp_clients.some]
url = "https://s.example.com/mcp"
tools = ["read", "delete"]
require_approval = ["delete"]
[mcp_clients.none]
url = "https://n.example.com/mcp"
[mcp_clients.stale]
url = "https://x.example.com/mcp"
tools = ["read"]
require_approval = ["delete"]
`)
	cfg, err := Load(path, []string{"MASTRA_MCP_CLIENTS__NONE__REQUIRE_APPROVAL=write,drop"})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.MCPClients
	if !c["all"].RequireApproval.Needs("anything") {
		t.Errorf("all = %v; want every tool", c["all"].RequireApproval)
	}
	if s := c["some"].RequireApproval; !s.Needs("delete") || s.Needs("read") {
		t.Errorf("some = %v; want delete only", s)
	}
	if n := c["none"].RequireApproval; !n.Needs("drop") || n.Needs("read") {
		t.Errorf("none from the environment = %v; want write and drop", n)
	}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `mcp_clients.stale.require_approval = "delete": mcp_clients.stale.tools does not allow "delete"`) {
		t.Errorf("Validate = %v; want the stale entry refused", err)
	}
	for _, e := range []string{"mcp_clients.all", "mcp_clients.some"} {
		if err != nil && strings.Contains(err.Error(), e+".") {
			t.Errorf("Validate refused %s:\n%v", e, err)
		}
	}

	bad := writeFile(t, `
[mcp_clients.x]
url = "https://x.example.com/mcp"
require_approval = 3
`)
	if _, err := Load(bad, nil); err == nil || !strings.Contains(err.Error(), "require_approval") || !strings.Contains(err.Error(), "expected true, false or a list of tool names") {
		t.Errorf("require_approval = 3: %v; want refused", err)
	}
}

// Static resources and prompts: one kind of content each, files that
// exist, named arguments; each problem names its key.
func TestMCPServerContentValidated(t *testing.T) {
	path := writeFile(t, `
[[mcp_servers.docs.resources]]
uri = "docs://a"
text = "A"
[[mcp_servers.docs.resources]]
uri = "docs://a"
text = "again"
[[mcp_servers.docs.resources]]
uri = "docs://both"
text = "x"
file = "x.txt"
[[mcp_servers.docs.resources]]
uri = "docs://missing"
file = "missing.bin"
[[mcp_servers.docs.resource_templates]]
uri_template = "docs://fixed"
text = "x"
[[mcp_servers.docs.prompts]]
name = "p"
messages = [{ role = "system", text = "x" }, { text = "x", image = "i.png" }]
[[mcp_servers.docs.prompts]]
name = "p"
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted broken MCP content")
	}
	for _, want := range []string{
		`mcp_servers.docs.resources[1].uri = "docs://a": two resources have this uri`,
		`mcp_servers.docs.resources[2] = "docs://both": expected text or file (one of them)`,
		`mcp_servers.docs.resources[3].file = `,
		`mcp_servers.docs.resource_templates[0].uri_template = "docs://fixed": expected a URI template`,
		`mcp_servers.docs.prompts[0].messages[0].role = "system": expected user or assistant`,
		`mcp_servers.docs.prompts[0].messages[1] = "p": expected one of text, image or resource`,
		`mcp_servers.docs.prompts[1].name = "p": expected a name no other prompt`,
		`mcp_servers.docs.prompts[1].messages = "p": expected at least one message`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate errors lack %q:\n%v", want, err)
		}
	}
}
