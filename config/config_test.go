package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
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
		{"azure resource", cfg.Providers["azure"].ResourceName, "myres"},
		{"azure key", string(cfg.Providers["azure"].APIKey), "az-secret"},
		{"openai key", string(cfg.Providers["openai"].APIKey), "sk-secret"},
		{"openai base", cfg.Providers["openai"].BaseURL, "http://127.0.0.1:11434/v1"},
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
		// Where the syntax breaks, as an editor jumps to it: file:line:column.
		{"toml syntax position", "[server]\nport = 1\nhost = \"x\n", []string{"mastra.toml:3:10: "}},
		// An unknown key names the known key it was probably meant to be.
		{"typo suggests", "[server]\nprot = 1\n[memory]\nsqlite_pth = \"m.db\"\n", []string{
			"server.prot (did you mean server.port?)", "memory.sqlite_pth (did you mean memory.sqlite_path?)"}},
		{"typo in a list entry", "[[routes]]\nnmae = \"x\"\n", []string{"(did you mean routes[0].name?)"}},
		{"typo at the top", "[sevrer]\nport = 1\n", []string{"sevrer (did you mean server?)"}},
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
[server.streams]
retention = "0s"
lease = "10ms"
flush_interval = "-1s"
poll_interval = "0s"
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
[providers.openai]
base_url = "api.openai.com"
max_retries = -1
[providers.azure]
timeout = 0
api_version = ""
[plugins]
max_response = "512"
kv_max_keys = 0
[[routes]]
method = "FETCH"
path = "nope"
module = ""
middleware = ["ghost"]
max_response = 10
workflows = ["ghostflow"]
kv_max_bytes = "1MiB"
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
		`server.streams.retention = "0s": expected a positive duration`,
		`server.streams.lease = "10ms": expected a duration of at least 30ms`,
		`server.streams.flush_interval = "-1s": expected zero or a duration shorter than a third of server.streams.lease`,
		`server.streams.poll_interval = "0s": expected a positive duration`,
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
		`plugins.max_response = "512": expected at least 1KiB`,
		`providers.openai.base_url = "api.openai.com": expected an http:// or https:// URL`,
		`providers.openai.max_retries = -1: expected 0 (no retries) or more`,
		`providers.azure.timeout = "0s": expected a positive duration`,
		`providers.azure.api_version = "": expected an Azure OpenAI API version`,
		`routes[0].max_response = "10": expected at least 1KiB`,
		`routes[0].workflows = "ghostflow": no [workflows.ghostflow] is configured`,
		`plugins.kv_max_keys = 0: expected at least 1`,
		`routes[0].kv_max_bytes = "1MiB": the key-value quota needs kv = true`,
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
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.Contains(line, "build the plugins with scripts/build-plugins.sh") {
				t.Fatalf("Validate: %v", err)
			}
		}
		t.Skipf("the example plugins are not built (scripts/build-plugins.sh): %v", err)
	}
}

// Every plugin entry ([[middleware]], [[routes]], [[tools]]) is checked the
// same way: a bad mount is refused when the file is read, bad limits and a
// missing host directory by Validate.
func TestPluginEntriesCheckedAlike(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "p.wasm")
	if err := os.WriteFile(module, []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	entry := map[string]string{
		"middleware": "[[middleware]]\nname = \"m\"\n",
		"routes":     "[[routes]]\nname = \"r\"\nmethod = \"GET\"\npath = \"/r\"\n",
		"tools":      "[[tools]]\nname = \"t\"\n",
	}
	for kind, head := range entry {
		t.Run(kind, func(t *testing.T) {
			head := head + "module = " + strconv.Quote(module) + "\n"
			_, err := Load(writeFile(t, head+"mounts = [\"nocolon\"]\n"), nil)
			if err == nil || !strings.Contains(err.Error(), kind+"[0].mounts[0]") || !strings.Contains(err.Error(), `"nocolon" is not a mount`) {
				t.Errorf("mounts = [\"nocolon\"]: Load error %v; want a line naming %s[0].mounts[0] and the value", err, kind)
			}

			cfg, err := Load(writeFile(t, head+"memory_limit = \"1KiB\"\nmin_instances = 3\nmax_instances = 2\nmounts = [\"no-such-dir:/data\"]\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			for _, want := range []string{kind + "[0].memory_limit = \"1KiB\"", kind + "[0].max_instances = 2",
				kind + "[0].mounts = \"" + filepath.Join(filepath.Dir(cfg.File), "no-such-dir") + ":/data:ro\": host directory"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Validate error %v; want a line %q", err, want)
				}
			}

			cfg = mustLoad(t, writeFile(t, head+"mounts = ["+strconv.Quote(dir+":/data:rw")+", "+strconv.Quote(dir+":/ro")+"]\n"))
			var got []Mount
			switch kind {
			case "middleware":
				got = cfg.Middleware[0].Mounts
			case "routes":
				got = cfg.Routes[0].Mounts
			case "tools":
				got = cfg.Tools[0].Mounts
			}
			want := []Mount{{Host: dir, Guest: "/data", ReadOnly: false}, {Host: dir, Guest: "/ro", ReadOnly: true}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("mounts = %+v; want %+v", got, want)
			}
		})
	}
}

// Files a configuration points at resolve against the file's directory, so
// --config works from any working directory; absolute paths stay as given.
func TestPathsResolveAgainstConfigFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"plugins/route.wasm", "plugins/tool.wasm", "schemas/in.json"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := t.TempDir()
	abs := filepath.Join(elsewhere, "abs.wasm")
	os.WriteFile(abs, []byte("x"), 0o644)
	path := filepath.Join(dir, "mastra.toml")
	os.WriteFile(path, []byte(`
[[routes]]
method = "GET"
path = "/r"
module = "plugins/route.wasm"
mounts = ["schemas:/schemas"]
[[routes]]
method = "GET"
path = "/abs"
module = `+strconv.Quote(abs)+`
[[tools]]
name = "t"
module = "./plugins/tool.wasm"
input_schema = "schemas/in.json"
`), 0o644)
	t.Chdir(elsewhere)
	cfg := mustLoad(t, path)
	for _, c := range []struct{ got, want string }{
		{cfg.Routes[0].Module, filepath.Join(dir, "plugins/route.wasm")},
		{cfg.Routes[0].Mounts[0].Host, filepath.Join(dir, "schemas")},
		{cfg.Routes[1].Module, abs},
		{cfg.Tools[0].Module, filepath.Join(dir, "plugins/tool.wasm")},
		{cfg.Tools[0].InputSchema.(string), filepath.Join(dir, "schemas/in.json")},
		{cfg.Memory.SQLitePath, "mastra.db"}, // what the server writes stays in the working directory
	} {
		if c.got != c.want {
			t.Errorf("path = %q; want %q", c.got, c.want)
		}
	}

	// A module that is not there: the line says where it looked and how to build it.
	os.Remove(filepath.Join(dir, "plugins/tool.wasm"))
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	want := `tools[0].module = "` + filepath.Join(dir, "plugins/tool.wasm") + `": no such file; build the plugins with scripts/build-plugins.sh`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Validate = %v; want a line %q", err, want)
	}
}

// Every duration key reads a bare number as milliseconds (Mastra's
// convention), keeps strings with a unit, and refuses anything else with a
// line naming the key and the value.
func TestDurations(t *testing.T) {
	module := filepath.Join(t.TempDir(), "r.wasm")
	if err := os.WriteFile(module, []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := mustLoad(t, writeFile(t, `
[server]
timeout = 10000
keep_alive = 2500.5
idle_timeout = "2m"
[server.cors]
max_age = 3600000
[plugins]
timeout = 250
route_timeout = "45s"
[providers.openai]
timeout = 60000
[providers.azure]
timeout = "1m30s"
[[routes]]
method = "GET"
path = "/r"
module = `+strconv.Quote(module)+`
timeout = 1500
`), "MASTRA_SERVER__DRAIN_TIMEOUT=20000", "MASTRA_SERVER__READ_HEADER_TIMEOUT=5s")
	for _, c := range []struct {
		key       string
		got, want time.Duration
	}{
		{"server.timeout", cfg.Server.Timeout, 10 * time.Second},
		{"server.keep_alive", cfg.Server.KeepAlive, 2500500 * time.Microsecond},
		{"server.idle_timeout", cfg.Server.IdleTimeout, 2 * time.Minute},
		{"server.cors.max_age", cfg.Server.CORS.MaxAge, time.Hour},
		{"server.drain_timeout (env)", cfg.Server.DrainTimeout, 20 * time.Second},
		{"server.read_header_timeout (env)", cfg.Server.ReadHeaderTimeout, 5 * time.Second},
		{"plugins.timeout", cfg.Plugins.Timeout, 250 * time.Millisecond},
		{"plugins.route_timeout", cfg.Plugins.RouteTimeout, 45 * time.Second},
		{"providers.openai.timeout", cfg.Providers["openai"].Timeout, time.Minute},
		{"providers.azure.timeout", cfg.Providers["azure"].Timeout, 90 * time.Second},
		{"routes[0].timeout", cfg.Routes[0].Timeout, 1500 * time.Millisecond},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.key, c.got, c.want)
		}
	}

	for _, tt := range []struct{ toml, want string }{
		{"[server]\ntimeout = true\n", `server.timeout: true is not a duration; use milliseconds (30000)`},
		{"[server]\ntimeout = \"10 seconds\"\n", `server.timeout: "10 seconds" is not a duration`},
		{"[plugins]\ntimeout = 1e300\n", `plugins.timeout: 1e+300 is not a duration`},
		{"[providers.openai]\ntimeout = [1]\n", `providers.openai.timeout: [1] is not a duration`},
	} {
		_, err := Load(writeFile(t, tt.toml), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: Load error %v; want %q", tt.toml, err, tt.want)
		}
	}
	t.Chdir(t.TempDir())
	_, err := Load("", []string{"MASTRA_SERVER__TIMEOUT=ten"})
	if want := `server.timeout: "ten" is not a duration`; err == nil || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "MASTRA_SERVER__TIMEOUT") {
		t.Errorf("env: Load error %v; want %q naming MASTRA_SERVER__TIMEOUT", err, want)
	}
}

func TestAgentModelSettings(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[agents.a]
temperature = 0.3
max_tokens = 100
top_p = 1
stop = ["END"]
seed = 42
presence_penalty = -0.5
`), "MASTRA_AGENTS__A__FREQUENCY_PENALTY=0.25")
	a := cfg.Agents["a"]
	if *a.Temperature != 0.3 || *a.MaxTokens != 100 || *a.TopP != 1 || a.Stop[0] != "END" || *a.Seed != 42 ||
		*a.PresencePenalty != -0.5 || *a.FrequencyPenalty != 0.25 {
		t.Errorf("agent settings = %+v", a)
	}

	cfg, err := Load(writeFile(t, `
[agents.a]
temperature = 2.5
max_tokens = 0
top_p = -0.1
stop = ["a", "b", "c", "d", "e"]
frequency_penalty = 3
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		`agents.a.temperature = 2.5: expected a number from 0 to 2`,
		`agents.a.max_tokens = 0: expected a positive number of tokens`,
		`agents.a.top_p = -0.1: expected a number from 0 to 1`,
		`agents.a.stop = ["a" "b" "c" "d" "e"]: expected at most 4 stop sequences`,
		`agents.a.frequency_penalty = 3: expected a number from -2 to 2`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want a line %q", err, want)
		}
	}
}

// Platforms (Render, Railway, Heroku) inject PORT; MASTRA_PORT, when also
// set, wins whatever the order of the environment.
func TestPlatformPort(t *testing.T) {
	path := writeFile(t, "[server]\nport = 4000\n")
	for _, tc := range []struct {
		env  []string
		want int
	}{
		{nil, 4000},
		{[]string{"PORT=10000"}, 10000},
		{[]string{"PORT=10000", "MASTRA_PORT=4100"}, 4100},
		{[]string{"MASTRA_PORT=4100", "PORT=10000"}, 4100},
		{[]string{"PORT=10000", "MASTRA_SERVER__PORT=4200"}, 4200},
		{[]string{"PORT=", "MASTRA_PORT="}, 4000},
	} {
		if got := mustLoad(t, path, tc.env...).Server.Port; got != tc.want {
			t.Errorf("env %q: port = %d; want %d", tc.env, got, tc.want)
		}
	}
	if _, err := Load(path, []string{"PORT=http"}); err == nil || !strings.Contains(err.Error(), "environment variable PORT") {
		t.Errorf("PORT=http: %v; want an error naming PORT", err)
	}
}

// Render, Railway and Heroku name the attached database DATABASE_URL: it
// sets the memory database when ours is not set, and MEMORY_DATABASE_URL
// (or MASTRA_MEMORY__DATABASE_URL) wins whatever the order.
func TestPlatformDatabaseURL(t *testing.T) {
	path := writeFile(t, "[server]\nport = 4000\n")
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, ""},
		{[]string{"DATABASE_URL=postgres://platform/db"}, "postgres://platform/db"},
		{[]string{"DATABASE_URL=postgres://platform/db", "MEMORY_DATABASE_URL=postgres://ours/db"}, "postgres://ours/db"},
		{[]string{"MEMORY_DATABASE_URL=postgres://ours/db", "DATABASE_URL=postgres://platform/db"}, "postgres://ours/db"},
		{[]string{"DATABASE_URL=postgres://platform/db", "MASTRA_MEMORY__DATABASE_URL=postgres://generic/db"}, "postgres://generic/db"},
		{[]string{"DATABASE_URL=", "MEMORY_DATABASE_URL="}, ""},
	} {
		if got := string(mustLoad(t, path, tc.env...).Memory.DatabaseURL); got != tc.want {
			t.Errorf("env %q: memory.database_url = %q; want %q", tc.env, got, tc.want)
		}
	}
}

// Mastra's camelCase CORS options work in the file as aliases of ours.
func TestMastraCORSNames(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[server.cors]
origin = ["https://app.example.com", "https://admin.example.com"]
allowMethods = ["GET", "POST"]
allowHeaders = ["Content-Type", "Authorization"]
exposeHeaders = ["X-Thread-Id"]
credentials = true
maxAge = 600
`))
	want := CORS{
		Origins:       []string{"https://app.example.com", "https://admin.example.com"},
		AllowMethods:  []string{"GET", "POST"},
		AllowHeaders:  []string{"Content-Type", "Authorization"},
		ExposeHeaders: []string{"X-Thread-Id"},
		Credentials:   true,
		MaxAge:        10 * time.Minute, // Hono's maxAge is seconds
	}
	if !reflect.DeepEqual(cfg.Server.CORS, want) {
		t.Errorf("cors = %+v; want %+v", cfg.Server.CORS, want)
	}
	// A single origin as a string, as Mastra writes it; maxAge with a unit.
	cfg = mustLoad(t, writeFile(t, "[server.cors]\norigin = \"https://app.example.com\"\nmaxAge = \"2h\"\n"))
	if got := cfg.Server.CORS; !reflect.DeepEqual(got.Origins, []string{"https://app.example.com"}) || got.MaxAge != 2*time.Hour {
		t.Errorf("origin string, maxAge 2h = %v %v", got.Origins, got.MaxAge)
	}
	// The environment still overrides an aliased key.
	cfg = mustLoad(t, writeFile(t, "[server.cors]\norigin = \"https://a.com\"\n"), "ALLOWED_ORIGINS=https://b.com")
	if !reflect.DeepEqual(cfg.Server.CORS.Origins, []string{"https://b.com"}) {
		t.Errorf("ALLOWED_ORIGINS over origin = %v", cfg.Server.CORS.Origins)
	}
	// Both spellings of one key: an error naming both, not a silent pick.
	_, err := Load(writeFile(t, "[server.cors]\norigin = \"https://a.com\"\norigins = [\"https://b.com\"]\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "server.cors.origin and server.cors.origins") {
		t.Errorf("origin and origins both set: %v; want an error naming both", err)
	}
	// Aliases are still checked: a wrong type or credentials with "*" is refused.
	if _, err := Load(writeFile(t, "[server.cors]\nallowMethods = 3\n"), nil); err == nil || !strings.Contains(err.Error(), "server.cors.allow_methods") {
		t.Errorf("allowMethods = 3: %v; want an error", err)
	}
	cfg, err = Load(writeFile(t, "[server.cors]\norigin = \"*\"\ncredentials = true\n"), nil)
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("origin * with credentials: %v; want refused", err)
	}
}

func TestAgentWorkingMemoryAndTitles(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[agents.md.working_memory]
enabled = true

[agents.js]
generate_title = true
title_model = "openai/gpt-4o-mini"
[agents.js.working_memory]
enabled = true
scope = "thread"
schema = '{"type":"object","properties":{"name":{"type":"string"}}}'
`))
	md, js := cfg.Agents["md"], cfg.Agents["js"]
	if md.WorkingMemory.Scope != "resource" || md.WorkingMemory.Template != DefaultWorkingMemoryTemplate || md.WorkingMemory.Schema != "" {
		t.Errorf("md working memory = %+v; want Mastra's defaults (resource scope, its template)", md.WorkingMemory)
	}
	if js.WorkingMemory.Scope != "thread" || js.WorkingMemory.Template != "" || !js.GenerateTitle || js.TitleModel != "openai/gpt-4o-mini" {
		t.Errorf("js = %+v", js)
	}

	cfg, err := Load(writeFile(t, `
[agents.a]
title_model = "nosuch/model"
[agents.a.working_memory]
enabled = true
scope = "user"
template = "# Me"
schema = '{"type":"array"}'
[agents.b.working_memory]
enabled = true
schema = '{"type":'
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		`agents.a.title_model = "nosuch/model": unknown provider "nosuch"`,
		`agents.a.working_memory.scope = "user": expected "resource" or "thread"`,
		`agents.a.working_memory.schema = "(set)": set template (Markdown) or schema (JSON), not both`,
		`agents.a.working_memory.schema = "array": expected an object schema`,
		`agents.b.working_memory.schema = "(not JSON)": expected a JSON Schema as JSON text`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want a line %q", err, want)
		}
	}
}

// [providers.anthropic] gets the Messages API defaults, and so does a
// custom provider of kind anthropic; those keys are checked on anthropic
// kinds and refused on the others, as are the per-agent ones.
func TestAnthropicSettings(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, "[agents.a]\nmodel = \"anthropic/claude-x\"\nthinking_budget = 2048\n"+
		"[agents.b]\nmodel = [\"claude/claude-y\", \"openai/gpt-4o-mini\"]\ncache = false\n"+
		"[providers.claude]\nkind = \"anthropic\"\nbase_url = \"https://claude.example\"\napi_key_env = \"CLAUDE_KEY\"\n"),
		"ANTHROPIC_API_KEY=sk-ant-1", "CLAUDE_KEY=sk-ant-2")
	an, custom := cfg.Providers["anthropic"], cfg.Providers["claude"]
	if an.APIKey != "sk-ant-1" || an.BaseURL != "https://api.anthropic.com" || an.Version != "2023-06-01" ||
		*an.MaxTokens != 4096 || !*an.Cache || *an.ThinkingBudget != 0 || *cfg.Agents["a"].ThinkingBudget != 2048 {
		t.Errorf("anthropic settings = %+v, agent %+v", an, cfg.Agents["a"])
	}
	if custom.APIKey != "sk-ant-2" || custom.Version != "2023-06-01" || *custom.MaxTokens != 4096 || !*custom.Cache {
		t.Errorf("custom anthropic-kind settings = %+v; want the Messages API defaults", custom)
	}
	if _, ok := cfg.Providers["openai"]; !ok || cfg.Providers["openai"].Cache != nil || cfg.Providers["openai"].MaxTokens != nil || cfg.Providers["openai"].Version != "" {
		t.Errorf("openai settings = %+v; want no Messages API keys", cfg.Providers["openai"])
	}

	cfg, err := Load(writeFile(t, `
[providers.anthropic]
max_tokens = 0
thinking_budget = 100
[providers.claude]
kind = "anthropic"
base_url = "https://claude.example"
version = ""
[providers.openai]
cache = true
version = "2023-06-01"
[agents.a]
model = "anthropic/claude-x"
seed = 1
[agents.b]
model = "openai/gpt-4o-mini"
thinking_budget = 2048
[agents.c]
model = ["openai/gpt-4o-mini", "claude/claude-y"]
presence_penalty = 0.5
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		`providers.anthropic.max_tokens = 0: expected a positive number`,
		`providers.anthropic.thinking_budget = 100: expected 0 (off) or at least 1024`,
		`providers.claude.version = "": expected an anthropic-version`,
		`providers.openai.cache = "openai": only providers of kind anthropic`,
		`providers.openai.version = "openai": only providers of kind anthropic`,
		`agents.a.seed = "anthropic/claude-x": Anthropic models have no seed setting`,
		`agents.b.thinking_budget = "openai/gpt-4o-mini": thinking_budget and cache apply to Anthropic models only`,
		`agents.c.presence_penalty = "openai/gpt-4o-mini, claude/claude-y": Anthropic models have no presence_penalty setting`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want a line %q", err, want)
		}
	}
}

// [server.auth.jwt] alone is enough for auth; without auth enabled it is
// refused rather than left silently unchecked.
func TestJWTAuthConfig(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[server.auth]
enabled = true
[server.auth.jwt]
jwks_url = "https://example.clerk.accounts.dev/.well-known/jwks.json"
issuer = "https://example.clerk.accounts.dev"
`))
	j := cfg.Server.Auth.JWT
	if j.ResourceClaim != "sub" || strings.Join(j.Algorithms, ",") != "RS256,ES256,EdDSA" || j.Leeway != 30*time.Second ||
		j.JWKSMaxAge != time.Hour || j.JWKSMinRefresh != 30*time.Second {
		t.Errorf("jwt defaults = %+v; want sub, RS256/ES256/EdDSA, 30s leeway, 1h max age, 30s min refresh", j)
	}
	cfg.Server.Auth.Enabled = false
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "server.auth.jwt.jwks_url") {
		t.Errorf("jwt with auth disabled: Validate = %v; want an error naming server.auth.jwt.jwks_url", err)
	}
}

// Limits are off by default; a token's own limits replace the global ones
// key by key (0 lifts one), and bad values are named.
func TestLimitsConfig(t *testing.T) {
	if l := Defaults().Server.Limits; l != (Limits{}) {
		t.Errorf("default limits = %+v; want all 0 (off)", l)
	}
	cfg := mustLoad(t, writeFile(t, `
[server.limits]
requests_per_minute = 60
tokens_per_minute = 50000
max_streams = 2
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "A_TOKEN"
user = "a"
resource_id = "res-a"
[server.auth.tokens.limits]
requests_per_minute = 600
max_streams = 0
[[server.auth.tokens]]
env = "B_TOKEN"
user = "b"
resource_id = "res-b"
`), "A_TOKEN=tok-a", "B_TOKEN=tok-b")
	if l := cfg.Server.Limits; l != (Limits{RequestsPerMinute: 60, TokensPerMinute: 50000, MaxStreams: 2}) {
		t.Errorf("server.limits = %+v", l)
	}
	a, b := cfg.Server.Auth.Tokens[0].Limits, cfg.Server.Auth.Tokens[1].Limits
	if a == nil || a.RequestsPerMinute == nil || *a.RequestsPerMinute != 600 || a.MaxStreams == nil || *a.MaxStreams != 0 || a.TokensPerMinute != nil {
		t.Errorf("token a limits = %+v; want requests 600, streams 0, tokens unset", a)
	}
	if b != nil {
		t.Errorf("token b limits = %+v; want none", b)
	}
	neg, same := -1, "a"
	cfg.Server.Limits.MaxStreams = neg
	cfg.Server.Auth.Tokens[1].User = same
	cfg.Server.Auth.Tokens[1].Limits = &TokenLimits{TokensPerMinute: &neg}
	err := cfg.Validate()
	for _, key := range []string{"server.limits.max_streams", "server.auth.tokens[1].limits.tokens_per_minute", "server.auth.tokens[1].user"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate = %v; want it to name %s", err, key)
		}
	}
}

// Tokens with auth off would be ignored and leave every route open: a
// configuration that says so is refused, as JWTs without auth are.
func TestTokensWithAuthOff(t *testing.T) {
	path := writeFile(t, `
[server.auth]
enabled = false
[[server.auth.tokens]]
env = "APP_TOKEN"
user = "app"
resource_id = "res-app"
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "server.auth.tokens") || !strings.Contains(err.Error(), "enabled") {
		t.Fatalf("tokens with auth disabled: Validate = %v; want an error naming server.auth.tokens and enabled", err)
	}
}

// N5: two entries whose variables hold one token would be one tenant (the
// last entry wins): refused, in one line naming both entries and never the
// token. A short token only draws a warning naming its entry.
func TestDuplicateAndShortTokens(t *testing.T) {
	path := writeFile(t, `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "ETOK"
user = "alice"
resource_id = "r"
[[server.auth.tokens]]
env = "ETOK2"
user = "bob"
resource_id = "r2"
`)
	const secret = "same-token-0123456789"
	cfg, err := Load(path, []string{"ETOK=" + secret, "ETOK2=" + secret})
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("two tokens with one value: Validate succeeded; want an error")
	}
	var line string
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.Contains(l, "same token") {
			line = l
		}
	}
	for _, want := range []string{"server.auth.tokens[1]", "ETOK2", "server.auth.tokens[0]", "ETOK", "alice"} {
		if !strings.Contains(line, want) {
			t.Errorf("error line %q does not name %s (whole error: %v)", line, want, err)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the token: %v", err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings for %d-byte tokens = %q; want none", len(secret), w)
	}

	cfg = mustLoad(t, path, "ETOK=z9q", "ETOK2=long-enough-token-0123")
	w := cfg.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "server.auth.tokens[0]") || !strings.Contains(w[0], "ETOK") || strings.Contains(w[0], "z9q") {
		t.Errorf("warnings = %q; want one naming server.auth.tokens[0] (ETOK), without the token", w)
	}
}

// N6: a static token may not be bound to a resource the server writes
// under itself: the default resource (admin requests without one) and each
// plugin entry's fallback resource, configured or "plugin:<name>".
func TestTokenOnReservedResource(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "p.wasm")
	if err := os.WriteFile(module, []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ resource, owner string }{
		{"default", "memory.default_resource_id"},
		{"plugin:hello", "routes[0]"},
		{"plugin:GET /anon", "routes[1]"},
		{"bot-threads", "tools[0]"},
		{"plugin:not-configured", `"plugin:"`},
	} {
		t.Run(c.resource, func(t *testing.T) {
			path := writeFile(t, `
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "A_TOKEN"
user = "alice"
resource_id = "`+c.resource+`"
[[server.auth.tokens]]
env = "B_TOKEN"
user = "bob"
resource_id = "res-b"
[[routes]]
name = "hello"
method = "GET"
path = "/hello"
module = "`+module+`"
[[routes]]
method = "GET"
path = "/anon"
module = "`+module+`"
[[tools]]
name = "bot"
module = "`+module+`"
resource_id = "bot-threads"
`)
			cfg, err := Load(path, []string{"A_TOKEN=token-aaaa-1111-2222", "B_TOKEN=token-bbbb-1111-2222"})
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), `server.auth.tokens[0].resource_id = "`+c.resource+`"`) ||
				!strings.Contains(err.Error(), c.owner) {
				t.Fatalf("token on %q: Validate = %v; want an error naming server.auth.tokens[0].resource_id and %s", c.resource, err, c.owner)
			}
			if n := len(strings.Split(err.Error(), "\n")); n != 1 {
				t.Errorf("Validate = %d lines; want 1: %v", n, err)
			}
		})
	}
}

// [providers.azure] base_url was accepted and ignored (the Azure client
// builds its URL from resource_name or endpoint): refused, with the key to
// use instead, in one line.
func TestAzureBaseURLRefused(t *testing.T) {
	path := writeFile(t, `
[providers.azure]
base_url = "https://my-resource.openai.azure.com"
api_key = "k"
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `providers.azure.base_url = "https://my-resource.openai.azure.com"`) ||
		!strings.Contains(err.Error(), "endpoint") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("azure base_url: Validate = %v; want one line naming providers.azure.base_url and endpoint", err)
	}
	cfg.Providers["azure"] = Provider{Endpoint: "https://my-resource.openai.azure.com", APIKey: "k", APIVersion: "2024-10-21", Timeout: time.Minute}
	if err := cfg.Validate(); err != nil {
		t.Errorf("azure endpoint: Validate = %v; want none", err)
	}
}

// Keys that only work with another one on were accepted and ignored when
// it was off: each is refused, in one line naming it.
func TestInertKeysRefused(t *testing.T) {
	path := writeFile(t, `
[server.auth.jwt]
issuer = "https://issuer.test/"
audience = "api"
[server.metrics]
enabled = false
listen = "127.0.0.1:9090"
[agents.a]
model = "echo"
title_model = "openai/gpt-4o-mini"
[agents.a.working_memory]
scope = "thread"
template = "# Notes"
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate succeeded; want errors")
	}
	lines := strings.Split(err.Error(), "\n")
	wants := []string{
		`server.auth.jwt.issuer = "https://issuer.test/": JWTs are off`,
		`server.auth.jwt.audience = "api": JWTs are off`,
		`server.metrics.listen = "127.0.0.1:9090": server.metrics.enabled is false`,
		`agents.a.title_model = "openai/gpt-4o-mini": generate_title is false`,
		`agents.a.working_memory.scope = "(set)": working_memory.enabled is false`,
		`agents.a.working_memory.template = "(set)": working_memory.enabled is false`,
	}
	for _, w := range wants {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, w)
		}
		if !found {
			t.Errorf("no line starts with %q in:\n%s", w, err)
		}
	}
	if len(lines) != len(wants) {
		t.Errorf("got %d lines; want %d:\n%s", len(lines), len(wants), err)
	}
}

// N1: save-messages' cap and each resource's share of the pool.
func TestSaveMessagesLimitsConfig(t *testing.T) {
	d := Defaults().Memory
	if d.MaxSaveMessages != 1000 || d.BulkWriteShare != 0.25 || d.BulkWriteConns() != 2 {
		t.Errorf("defaults: max_save_messages %d, bulk_write_share %v (%d connections of 10); want 1000, 0.25 (2)",
			d.MaxSaveMessages, d.BulkWriteShare, d.BulkWriteConns())
	}
	cfg := mustLoad(t, writeFile(t, "[memory]\nmax_save_messages = 50\nbulk_write_share = 1\nmax_open_conns = 3\n"))
	if m := cfg.Memory; m.MaxSaveMessages != 50 || m.BulkWriteConns() != 3 {
		t.Errorf("memory = %+v, %d connections; want 50 messages, all 3 connections", m, m.BulkWriteConns())
	}
	for share, want := range map[float64]int{0.25: 1, 0.5: 1, 0.7: 2} { // of 3
		cfg.Memory.BulkWriteShare = share
		if got := cfg.Memory.BulkWriteConns(); got != want {
			t.Errorf("bulk_write_share %v of 3 connections = %d; want %d", share, got, want)
		}
	}
	cfg.Memory.MaxSaveMessages, cfg.Memory.BulkWriteShare = 0, 1.5
	err := cfg.Validate()
	for _, key := range []string{"memory.max_save_messages = 0", "memory.bulk_write_share = 1.5"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate = %v; want it to name %s", err, key)
		}
	}
}

// [agents.<id>.memory.semantic_recall] gets Mastra's defaults and the
// embedder of [memory]; bad values, an agent without an embedder and
// settings left behind a disabled recall are refused, each by name.
func TestSemanticRecallConfig(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[memory]
embedder = "openai/text-embedding-3-small"
[agents.a.memory.semantic_recall]
enabled = true
[agents.b.memory]
embedder = ["echo"]
[agents.b.memory.semantic_recall]
enabled = true
top_k = 2
message_range = 3
after = 0
scope = "thread"
threshold = 0.7
`))
	a, b := cfg.Agents["a"].Memory, cfg.Agents["b"].Memory
	if sr := a.SemanticRecall; sr.TopK != 4 || *sr.Before != 1 || *sr.After != 1 || sr.Scope != "resource" || sr.Threshold != nil ||
		len(a.Embedder) != 1 || a.Embedder[0] != "openai/text-embedding-3-small" {
		t.Errorf("a = %+v %+v; want Mastra's defaults and memory.embedder", a, sr)
	}
	if sr := b.SemanticRecall; sr.TopK != 2 || *sr.Before != 3 || *sr.After != 0 || sr.Scope != "thread" || *sr.Threshold != 0.7 || b.Embedder[0] != "echo" {
		t.Errorf("b = %+v %+v", b, sr)
	}

	cfg, err := Load(writeFile(t, `
[agents.a.memory.semantic_recall]
enabled = true
top_k = 0
scope = "world"
threshold = 2
index = "1bad"
before = -1
[agents.b.memory]
embedder = "anthropic/claude-x"
[agents.b.memory.semantic_recall]
enabled = true
[agents.c.memory]
embedder = "echo"
[agents.c.memory.semantic_recall]
top_k = 3
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		`agents.a.memory.embedder = "": semantic recall needs an embedding model`,
		`agents.a.memory.semantic_recall.scope = "world"`,
		`agents.a.memory.semantic_recall.threshold = 2`,
		`agents.a.memory.semantic_recall.index = "1bad"`,
		`agents.a.memory.semantic_recall.before = -1`,
		`agents.b.memory.embedder = "anthropic/claude-x": anthropic has no embeddings API`,
		`agents.c.memory = "(set)": memory.semantic_recall.enabled is false`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want a line %q", err, want)
		}
	}
}

// [vectors.<name>]: an empty table declares a store; a name that is not a
// path segment is refused.
func TestVectorStoresConfig(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, "[vectors.docs]\n[vectors.faq-2]\n"))
	if _, ok := cfg.Vectors["docs"]; !ok || len(cfg.Vectors) != 2 {
		t.Errorf("vectors = %v", cfg.Vectors)
	}
	cfg, err := Load(writeFile(t, "[vectors.\"a/b\"]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `vectors.a/b = "a/b": expected a store name`) {
		t.Errorf("Validate = %v", err)
	}
}

// agents = [...] names sub-agents; sub_agent_memory sets their memory;
// unknown sub-agents, bad modes, approval in a sub-agent and cycles are
// refused, the cycle named.
func TestSubAgents(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, `
[agents.boss]
agents = ["researcher", "writer"]
sub_agent_memory = { writer = "shared" }
[agents.researcher]
[agents.writer]
`))
	if b := cfg.Agents["boss"]; !slices.Equal(b.Agents, []string{"researcher", "writer"}) || b.SubAgentMemory["writer"] != "shared" {
		t.Errorf("boss = %+v", b)
	}
	cfg, err := Load(writeFile(t, `
[agents.a]
agents = ["b", "ghost"]
sub_agent_memory = { b = "global", c = "shared" }
[agents.b]
agents = ["c"]
[agents.c]
agents = ["a"]
[agents.d]
agents = ["e"]
[agents.e]
require_approval = true
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		`agents.a.agents = "ghost": no [agents.ghost] table`,
		`agents.a.sub_agent_memory.b = "global": expected isolated or shared`,
		`agents.a.sub_agent_memory.c = "shared": c is not in agents.a.agents`,
		`agents.d.agents = "e": agent e has tools that wait for approval`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want a line %q", err, want)
		}
	}
	cfg, err = Load(writeFile(t, "[agents.a]\nagents = [\"b\"]\n[agents.b]\nagents = [\"c\"]\n[agents.c]\nagents = [\"a\"]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `agents.a.agents = "b": delegation cycle a → b → c → a`) {
		t.Errorf("Validate = %v; want the cycle named", err)
	}
	// Through a workflow whose step runs the agent.
	cfg, err = Load(writeFile(t, "[agents.a]\nworkflows = [\"w\", \"nope\"]\n[workflows.w]\n[[workflows.w.steps]]\nid = \"s\"\nagent = \"a\"\nprompt = \"hi\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `agents.a.workflows = "nope": no [workflows.nope] table`) {
		t.Errorf("Validate = %v; want the unknown workflow named", err)
	}
	cfg.Agents["a"] = Agent{Workflows: []string{"w"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `agents.a.workflows = "w": delegation cycle a → workflow:w → a`) {
		t.Errorf("Validate = %v; want the cycle through the workflow named", err)
	}
}

// server.pprof_addr is off by default, set from the file or from
// MASTRA_SERVER__PPROF_ADDR, and must be a host:port of its own.
func TestPprofAddr(t *testing.T) {
	if a := mustLoad(t, writeFile(t, "")).Server.PprofAddr; a != "" {
		t.Errorf("default pprof_addr = %q; want empty (off)", a)
	}
	file := writeFile(t, "[server]\npprof_addr = \"127.0.0.1:6060\"\n")
	if a := mustLoad(t, file).Server.PprofAddr; a != "127.0.0.1:6060" {
		t.Errorf("pprof_addr from the file = %q; want 127.0.0.1:6060", a)
	}
	if a := mustLoad(t, file, "MASTRA_SERVER__PPROF_ADDR=:6061").Server.PprofAddr; a != ":6061" {
		t.Errorf("pprof_addr with MASTRA_SERVER__PPROF_ADDR=:6061 = %q; want :6061", a)
	}
	for _, tc := range []struct{ toml, want string }{
		{"[server]\npprof_addr = \"6060\"\n", `server.pprof_addr = "6060": expected host:port`},
		{"[server]\npprof_addr = \"127.0.0.1:\"\n", `server.pprof_addr = "127.0.0.1:": expected host:port`},
		{"[server]\nhost = \"127.0.0.1\"\nport = 4100\npprof_addr = \"127.0.0.1:4100\"\n", `server.pprof_addr = "127.0.0.1:4100": is the API's or the metrics' address`},
		{"[server]\npprof_addr = \":9090\"\n[server.metrics]\nlisten = \":9090\"\n", `server.pprof_addr = ":9090": is the API's or the metrics' address`},
	} {
		cfg, err := Load(writeFile(t, tc.toml), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v; want %q", tc.toml, err, tc.want)
		}
	}
}
