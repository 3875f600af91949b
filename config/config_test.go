package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mastra.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string, environ ...string) *Config {
	t.Helper()
	cfg, err := Load(path, environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return cfg
}

func TestDefaultsWithoutFile(t *testing.T) {
	t.Chdir(t.TempDir()) // no mastra.toml here
	cfg := mustLoad(t, "")
	if cfg.File != "" {
		t.Errorf("File = %q; want none", cfg.File)
	}
	if cfg.Server.Port != 4000 || cfg.Server.Addr() != "0.0.0.0:4000" {
		t.Errorf("addr = %s; want 0.0.0.0:4000", cfg.Server.Addr())
	}
	if cfg.Server.Timeout != 30*time.Second {
		t.Errorf("timeout = %v; want 30s", cfg.Server.Timeout)
	}
	if want := ByteSize(4718592); cfg.Server.BodyLimit != want {
		t.Errorf("body_limit = %d; want %d", cfg.Server.BodyLimit, want)
	}
	if cfg.Memory.Kind() != "sqlite" || cfg.Memory.SQLitePath != "mastra.db" {
		t.Errorf("memory = %s %q; want sqlite mastra.db", cfg.Memory.Kind(), cfg.Memory.SQLitePath)
	}
	if got := cfg.DefaultAgentID(); got != "assistant" {
		t.Errorf("default agent = %q; want assistant", got)
	}
}

func TestFileThenEnvironment(t *testing.T) {
	path := writeFile(t, `
[server]
port = 5000
timeout = "45s"
body_limit = 1024
[server.cors]
origins = ["https://file.example"]
[memory]
last_messages = 7
[agents.support]
name = "Support"
model = "openai/gpt-4o-mini"
[agents.sales]
model = "echo"
`)
	cfg := mustLoad(t, path,
		"MASTRA_PORT=6001",
		"ALLOWED_ORIGINS=https://app1.com, https://app2.com",
		"MEMORY_DATABASE_URL=postgres://u:hunter2@db:5432/mastra",
		"AZURE_RESOURCE_NAME=myres",
		"AZURE_API_KEY=az-secret",
		"OPENAI_API_KEY=sk-secret",
		"OPENAI_BASE_URL=http://127.0.0.1:11434/v1",
		"MASTRA_SERVER__BODY_LIMIT=2MiB",
		"MASTRA_AGENTS__SALES__INSTRUCTIONS=Be brief, and kind.",
		"MASTRA_API_TOKEN=not-ours", // a plugin's variable: ignored, not an error
		"UNRELATED=1",
	)
	checks := []struct {
		name      string
		got, want any
	}{
		{"file", cfg.File, path},
		{"port (env beats file)", cfg.Server.Port, 6001},
		{"timeout (file)", cfg.Server.Timeout, 45 * time.Second},
		{"body_limit (generic env)", cfg.Server.BodyLimit, ByteSize(2 << 20)},
		{"origins", strings.Join(cfg.Server.CORS.Origins, "|"), "https://app1.com|https://app2.com"},
		{"database kind", cfg.Memory.Kind(), "postgres"},
		{"database url", string(cfg.Memory.DatabaseURL), "postgres://u:hunter2@db:5432/mastra"},
		{"last_messages", cfg.Memory.LastMessages, 7},
		{"azure resource", cfg.Providers.Azure.ResourceName, "myres"},
		{"azure key", string(cfg.Providers.Azure.APIKey), "az-secret"},
		{"openai key", string(cfg.Providers.OpenAI.APIKey), "sk-secret"},
		{"openai base", cfg.Providers.OpenAI.BaseURL, "http://127.0.0.1:11434/v1"},
		{"instructions with a comma", cfg.Agents["sales"].Instructions, "Be brief, and kind."},
		{"agent name default", cfg.Agents["sales"].Name, "sales"},
		{"first declared agent is default", cfg.DefaultAgentID(), "support"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
}

func TestExplicitDefaultAgent(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, "[agents.a]\nmodel=\"echo\"\n[agents.b]\nmodel=\"echo\"\ndefault=true\n"))
	if got := cfg.DefaultAgentID(); got != "b" {
		t.Errorf("DefaultAgentID = %q; want b", got)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		wants []string
	}{
		{"unknown section", "[sever]\nport = 1\n", []string{"unknown key(s) sever"}},
		{"unknown nested key", "[server]\nprot = 1\n", []string{"unknown key(s) server.prot"}},
		{"wrong type", "[server]\nport = \"four thousand\"\n", []string{"server.port", "expected type 'int'"}},
		{"bad duration", "[server]\ntimeout = \"soon\"\n", []string{"server.timeout", "soon"}},
		{"bad size", "[server]\nbody_limit = \"lots\"\n", []string{"server.body_limit", "lots"}},
		{"toml syntax", "[server\n", []string{"mastra.toml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.toml), nil)
			if err == nil {
				t.Fatalf("Load succeeded; want an error containing %q", tt.wants)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestEnvironmentTypeError(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load("", []string{"MASTRA_PORT=abc"})
	if err == nil || !strings.Contains(err.Error(), "MASTRA_PORT") {
		t.Fatalf("Load error = %v; want one naming MASTRA_PORT", err)
	}
}

func TestMissingExplicitFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Fatalf("Load error = %v; want one naming the file", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	path := writeFile(t, `
[server]
port = 70000
[server.cors]
origins = ["*", "ftp://x", "https://ok.example/path"]
credentials = true
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "TOKEN_THAT_IS_NOT_SET"
user = "alice"
[memory]
database_url = "mysql://x"
[log]
level = "loud"
[agents.a]
model = "gpt-4o"
default = true
tools = ["missing"]
[agents.b]
model = "bogus/x"
default = true
[[routes]]
method = "FETCH"
path = "nope"
module = ""
middleware = ["ghost"]
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate succeeded; want errors")
	}
	lines := strings.Split(err.Error(), "\n")
	wants := []string{
		`server.port = 70000`,
		`server.cors.origins = ["*" "ftp://x" "https://ok.example/path"]: "*" cannot be combined`,
		`server.cors.origins = "ftp://x"`,
		`server.cors.origins = "https://ok.example/path"`,
		`server.auth.tokens[0].env = "TOKEN_THAT_IS_NOT_SET": environment variable TOKEN_THAT_IS_NOT_SET is not set`,
		`server.auth.tokens[0].resource_id = "": expected the resource (tenant)`,
		`memory.database_url = "mysql://x"`,
		`log.level = "loud"`,
		`agents.a.model = "gpt-4o"`,
		`agents.a.tools = "missing"`,
		`agents.b.model = "bogus/x": unknown provider "bogus"`,
		`agents = ["a" "b"]: more than one agent has default = true`,
		`routes[0].method = "FETCH"`,
		`routes[0].path = "nope"`,
		`routes[0].module = ""`,
		`routes[0].middleware = "ghost"`,
	}
	for _, w := range wants {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line starts with %q in:\n%s", w, err)
		}
	}
	if len(lines) != len(wants) {
		t.Errorf("got %d lines; want %d:\n%s", len(lines), len(wants), err)
	}
}

func TestAuthTokensFromEnvironment(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "ALICE_TOKEN"
user = "alice"
resource_id = "res-alice"
`), "ALICE_TOKEN=tok-a")
	tok := cfg.Server.Auth.Tokens[0]
	if string(tok.Value) != "tok-a" || tok.ResourceID != "res-alice" {
		t.Errorf("token = %+v; want value tok-a for res-alice", tok)
	}
	if p := cfg.Server.Auth.Protected; len(p) != 1 || p[0] != "/*" {
		t.Errorf("default protected = %v; want [/*]: everything but public paths", p)
	}
}

// An admin token needs no resource_id, and may not have one.
func TestAdminTokens(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "OPS_TOKEN"
user = "ops"
admin = true
`), "OPS_TOKEN=tok-o")
	if tok := cfg.Server.Auth.Tokens[0]; !tok.Admin || tok.ResourceID != "" {
		t.Errorf("admin token = %+v", tok)
	}
	cfg.Server.Auth.Tokens[0].ResourceID = "res-x"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "server.auth.tokens[0].resource_id") {
		t.Errorf("admin with resource_id: Validate = %v; want an error naming the key", err)
	}
}

func TestSecretRedaction(t *testing.T) {
	tests := []struct {
		in   Secret
		want string
	}{
		{"", ""},
		{"sk-12345", "<redacted>"},
		{"postgres://u:hunter2@db:5432/x?sslmode=disable", "postgres://u:xxxxx@db:5432/x?sslmode=disable"},
		{"postgres://db/x?password=hunter2", "postgres://db/x?password=xxxxx"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Secret(%q).String() = %q; want %q", string(tt.in), got, tt.want)
		}
		if strings.Contains(tt.in.LogValue().String(), "hunter2") || strings.Contains(tt.in.LogValue().String(), "sk-12345") {
			t.Errorf("LogValue of %q leaks the secret", string(tt.in))
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
	}{
		{"4.5MiB", 4718592}, {"64KiB", 65536}, {"1MB", 1000000}, {"512", 512}, {"2g", 2 << 30},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseByteSize("-1"); err == nil {
		t.Error("ParseByteSize(-1) succeeded; want an error")
	}
}

// The repository's own mastra.toml must run as is.
func TestRepositoryConfig(t *testing.T) {
	path := filepath.Join("..", "mastra.toml")
	if _, err := os.Stat(path); err != nil {
		t.Skip("no mastra.toml yet")
	}
	mustLoad(t, path)
}
