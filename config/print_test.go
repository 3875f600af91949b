package config

import (
	"os"
	"path/filepath"
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
