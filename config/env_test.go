package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// loadIn loads the configuration with no file (in an empty directory) or
// with toml as mastra.toml, from environ.
func loadIn(t *testing.T, toml string, environ ...string) *Config {
	t.Helper()
	t.Chdir(t.TempDir())
	if toml != "" {
		if err := os.WriteFile(DefaultFile, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Load("", environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return cfg
}

// Setting one key of the built-in agent from the environment keeps its
// other keys; so does setting one key of a file's agent.
func TestEnvAgentKeyKeepsOtherKeys(t *testing.T) {
	cfg := loadIn(t, "", "MASTRA_AGENTS__ASSISTANT__MODEL=groq/llama-3.3-70b-versatile")
	a := cfg.Agents["assistant"]
	if a.Instructions != "You are a helpful assistant." || a.Name != "Assistant" ||
		!reflect.DeepEqual(a.Model, ModelList{"groq/llama-3.3-70b-versatile"}) {
		t.Errorf("assistant = %+v; want the built-in instructions and name with the environment's model", a)
	}

	cfg = loadIn(t, "[agents.helper]\ninstructions = \"Be brief.\"\ntemperature = 0.5\n",
		"MASTRA_AGENTS__HELPER__MODEL=openai/gpt-4o")
	h := cfg.Agents["helper"]
	if h.Instructions != "Be brief." || h.Temperature == nil || *h.Temperature != 0.5 || h.Model.Primary() != "openai/gpt-4o" {
		t.Errorf("helper = %+v; want the file's instructions and temperature with the environment's model", h)
	}
	if _, ok := cfg.Agents["assistant"]; ok {
		t.Error("the built-in assistant is there beside the file's agents")
	}
}

// MASTRA_MODEL is the default agent's model, over the file's, with
// fallbacks after commas; AZURE_DEPLOYMENT is the model of agents that
// name none.
func TestMastraModelAndAzureDeployment(t *testing.T) {
	cfg := loadIn(t, "[agents.a]\nmodel = \"echo\"\n[agents.b]\ndefault = true\nmodel = \"echo\"\n",
		"MASTRA_MODEL=groq/llama-3.3-70b-versatile, openai/gpt-4o-mini")
	if got := cfg.Agents["b"].Model; !reflect.DeepEqual(got, ModelList{"groq/llama-3.3-70b-versatile", "openai/gpt-4o-mini"}) {
		t.Errorf("default agent b's model = %q; want MASTRA_MODEL's two", got)
	}
	if got := cfg.Agents["a"].Model; !reflect.DeepEqual(got, ModelList{"echo"}) {
		t.Errorf("agent a's model = %q; want its own echo", got)
	}
	if cfg.Providers["groq"].Timeout == 0 || cfg.Providers["groq"].BaseURL != "https://api.groq.com/openai/v1" {
		t.Errorf("providers.groq = %+v; want its defaults, since MASTRA_MODEL names it", cfg.Providers["groq"])
	}

	cfg = loadIn(t, "", "AZURE_RESOURCE_NAME=res", "AZURE_API_KEY=k", "AZURE_DEPLOYMENT=gpt4o-dep")
	if got := cfg.Agents["assistant"].Model; !reflect.DeepEqual(got, ModelList{"azure/gpt4o-dep"}) {
		t.Errorf("assistant's model = %q; want azure/gpt4o-dep from AZURE_DEPLOYMENT", got)
	}
	cfg = loadIn(t, "", "AZURE_RESOURCE_NAME=res", "AZURE_API_KEY=k", "AZURE_DEPLOYMENT=x", "MASTRA_MODEL=azure/other")
	if got := cfg.Agents["assistant"].Model; !reflect.DeepEqual(got, ModelList{"azure/other"}) {
		t.Errorf("assistant's model = %q; want MASTRA_MODEL's azure/other", got)
	}
}

// A model list in the file, a string or a list.
func TestModelList(t *testing.T) {
	cfg := loadIn(t, "[agents.a]\nmodel = [\"openai/gpt-4o\", \"groq/llama\"]\n[agents.b]\nmodel = \"echo\"\n")
	if got := cfg.Agents["a"].Model; !reflect.DeepEqual(got, ModelList{"openai/gpt-4o", "groq/llama"}) {
		t.Errorf("a's model = %q", got)
	}
	if got := cfg.Agents["b"].Model; !reflect.DeepEqual(got, ModelList{"echo"}) {
		t.Errorf("b's model = %q", got)
	}
}

// A .env file fills what the environment does not set; the environment
// wins, even when it sets a variable empty. A given file must exist.
func TestEnvFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // no mastra.toml, no .env
	path := filepath.Join(dir, "my.env")
	os.WriteFile(path, []byte("# comment\nMASTRA_PORT=5001\nexport MASTRA_HOST=\"127.0.0.2\"\nALLOWED_ORIGINS=https://file.example\nMEMORY_DATABASE_URL=postgres://file/db\n"), 0o644)
	environ, added, err := WithEnvFile(path, []string{"MASTRA_PORT=6001", "MEMORY_DATABASE_URL="})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(added, []string{"ALLOWED_ORIGINS", "MASTRA_HOST"}) {
		t.Errorf("added = %q; want the two the environment lacks", added)
	}
	cfg, err := Load("", environ)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Port != 6001 || cfg.Server.Host != "127.0.0.2" || cfg.Memory.DatabaseURL != "" ||
		!reflect.DeepEqual(cfg.Server.CORS.Origins, []string{"https://file.example"}) {
		t.Errorf("port %d, host %q, database %q, origins %q; want 6001 (environment), 127.0.0.2 and https://file.example (file), no database (environment's empty)",
			cfg.Server.Port, cfg.Server.Host, cfg.Memory.DatabaseURL, cfg.Server.CORS.Origins)
	}

	if _, _, err := WithEnvFile(filepath.Join(dir, "missing.env"), nil); err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Errorf("missing --env-file = %v; want an error naming it", err)
	}
	if env, added, err := WithEnvFile("", []string{"A=1"}); err != nil || len(added) != 0 || len(env) != 1 {
		t.Errorf("no .env = %q, %q, %v; want the environment unchanged", env, added, err)
	}
	os.WriteFile(".env", []byte("B=2\n"), 0o644)
	if env, _, err := WithEnvFile("", []string{"A=1"}); err != nil || !reflect.DeepEqual(env, []string{"B=2", "A=1"}) {
		t.Errorf("./.env = %q, %v; want B=2 added", env, err)
	}
}

// Registry providers need no table; a table overrides the base URL and the
// key's variable; a custom provider needs a kind and a base URL; an alias
// resolves to its provider.
func TestProviderResolution(t *testing.T) {
	cfg := loadIn(t, "[providers.groq]\nbase_url = \"http://127.0.0.1:8080/v1\"\n"+
		"[providers.mine]\nkind = \"openai\"\nbase_url = \"https://llm.example/v1\"\napi_key_env = \"MINE_KEY\"\n",
		"GROQ_API_KEY=gk", "MISTRAL_API_KEY=mk", "MINE_KEY=mine")
	for _, tc := range []struct{ name, canonical, url, key string }{
		{"groq", "groq", "http://127.0.0.1:8080/v1", "gk"},
		{"mistral", "mistral", "https://api.mistral.ai/v1", "mk"},
		{"together", "togetherai", "https://api.together.xyz/v1", ""},
		{"mine", "mine", "https://llm.example/v1", "mine"},
	} {
		p, s, ok := cfg.Provider(tc.name)
		if !ok || p.Name != tc.canonical || p.BaseURL != tc.url || string(s.APIKey) != tc.key {
			t.Errorf("Provider(%q) = %s at %s, key %q, %v; want %s at %s, key %q", tc.name, p.Name, p.BaseURL, s.APIKey, ok, tc.canonical, tc.url, tc.key)
		}
	}
	if _, _, ok := cfg.Provider("nobody"); ok {
		t.Error("Provider(nobody) found one")
	}

	t.Chdir(t.TempDir())
	os.WriteFile(DefaultFile, []byte("[providers.mine]\nbase_url = \"https://x\"\n[providers.together]\napi_key = \"k\"\n"+
		"[providers.groq]\nresource_name = \"r\"\n[providers.anthropic]\njson_schema = false\n[agents.a]\nmodel = \"mine/m\"\n"), 0o644)
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, want := range []string{`providers.mine.kind = "": "mine" is not a built-in provider`,
		`providers.together = "together": "together" is another name of provider "togetherai"`,
		`providers.groq.resource_name = "r": only Azure OpenAI`,
		`providers.anthropic.json_schema = false: only OpenAI-compatible providers have json_schema`,
		`agents.a.model = "mine/m": unknown provider "mine"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want a line %q", err, want)
		}
	}
}
