package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeTOML(t *testing.T, cfg *Config) string {
	t.Helper()
	var b strings.Builder
	if err := cfg.WriteTOML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteTOMLRedactsSecrets(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load("", []string{"OPENAI_API_KEY=sk-live-123", "MEMORY_DATABASE_URL=postgres://app:hunter2@db/mastra", "MASTRA_PORT=4100"})
	if err != nil {
		t.Fatal(err)
	}
	out := writeTOML(t, cfg)
	if strings.Contains(out, "sk-live-123") || strings.Contains(out, "hunter2") {
		t.Errorf("WriteTOML leaks a secret:\n%s", out)
	}
	for _, want := range []string{"(defaults and environment)", "port = 4100", `api_key = "<redacted>"`, `database_url = "postgres://app:xxxxx@db/mastra"`} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTOML lacks %q:\n%s", want, out)
		}
	}
}

// Unset keys are left out, never printed as "" (a string where a number
// goes); set ones are printed; an empty list that overrides a default is kept.
func TestWriteTOMLLeavesUnsetKeysOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mastra.toml")
	os.WriteFile(path, []byte("[agents.a]\nmodel = \"echo\"\ntemperature = 0.5\n[agents.b]\nmodel = \"echo\"\n"+
		"[server.cors]\norigins = []\n[[routes]]\nmethod = \"GET\"\npath = \"/r\"\nmodule = \"r.wasm\"\n"), 0o644)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := writeTOML(t, cfg)
	if strings.Contains(out, `""`) || strings.Contains(out, "max_tokens") || strings.Contains(out, "mounts") {
		t.Errorf("WriteTOML prints unset keys:\n%s", out)
	}
	for _, want := range []string{"(" + path + ")", "[agents.a]\n", "temperature = 0.5\n", "origins = []\n", "[[routes]]\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTOML lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "temperature") != 1 {
		t.Errorf("temperature printed for an agent that does not set it:\n%s", out)
	}
}

// What `mastra-server config` prints is TOML that loads back to the same
// configuration: a plugin's config table and a tool's inline input schema
// come out as TOML inline tables, not JSON objects (which TOML rejects).
func TestWriteTOMLLoadsBack(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile(filepath.Join(dir, "m.wasm"), []byte("\x00asm"), 0o644)
	first := writeFile(t, `
[[middleware]]
name = "tenant"
path = "/*"
module = "m.wasm"
config = { headers = { "X-Tenant-Id" = "tenant" }, limit = 3, ratio = 0.5, on = true, tags = ["a", "b c"], nested = [{ k = "v" }] }

[[tools]]
name = "calc"
description = "adds"
module = "m.wasm"
input_schema = { type = "object", properties = { a = { type = "number" } }, required = ["a"] }

[server.auth]
enabled = true
[[server.auth.tokens]]
env = "BATCH_TOKEN"
user = "batch"
resource_id = "batch-jobs"
[server.auth.tokens.limits]
requests_per_minute = 1200
max_streams = 0
`)
	env := []string{"BATCH_TOKEN=t0ken"}
	cfg, err := Load(first, env)
	if err != nil {
		t.Fatal(err)
	}
	out := writeTOML(t, cfg)
	again, err := Load(writeFile(t, out), env)
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again.Middleware[0].Config, cfg.Middleware[0].Config) {
		t.Errorf("middleware config = %#v, want %#v", again.Middleware[0].Config, cfg.Middleware[0].Config)
	}
	if !reflect.DeepEqual(again.Server.Auth.Tokens[0].Limits, cfg.Server.Auth.Tokens[0].Limits) {
		t.Errorf("token limits = %+v, want %+v", again.Server.Auth.Tokens[0].Limits, cfg.Server.Auth.Tokens[0].Limits)
	}
	if !reflect.DeepEqual(again.Tools[0].InputSchema, cfg.Tools[0].InputSchema) {
		t.Errorf("input_schema = %#v, want %#v", again.Tools[0].InputSchema, cfg.Tools[0].InputSchema)
	}
}
