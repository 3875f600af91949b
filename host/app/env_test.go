package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// logBuffer is a log destination tests read while the server runs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// boot builds an App as serve does, in an empty working directory with
// toml as its mastra.toml ("" for none) and environ as its environment,
// and serves it. It returns the Build error instead when there is one.
func boot(t *testing.T, toml string, environ ...string) (string, *logBuffer, error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if toml != "" {
		if err := os.WriteFile(config.DefaultFile, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	environ = append(environ, "MASTRA_MEMORY__SQLITE_PATH="+filepath.Join(dir, "m.db"),
		"MASTRA_PLUGINS__CACHE_DIR="+filepath.Join(dir, "cache"))
	cfg, err := config.Load("", environ)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	a, err := Build(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		return "", logs, err
	}
	ts := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	return ts.URL, logs, nil
}

// mustBoot is boot that fails the test on a Build error.
func mustBoot(t *testing.T, toml string, environ ...string) (string, *logBuffer) {
	t.Helper()
	base, logs, err := boot(t, toml, environ...)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return base, logs
}

// ask sends one user message to the default agent's route (generate or
// stream) and returns the status and body.
func ask(t *testing.T, base, route string) (int, string) {
	t.Helper()
	res, err := http.Post(base+"/api/agents/assistant/"+route, "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// text returns a generate response's text.
func text(t *testing.T, body string) string {
	t.Helper()
	var v struct{ Text string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("generate body %s: %v", body, err)
	}
	return v.Text
}

// With no configuration file, Azure's variables and a deployment name are
// enough for the default agent to answer from Azure OpenAI: the deployment
// from AZURE_DEPLOYMENT, or from MASTRA_MODEL. (AZURE_OPENAI_ENDPOINT points
// the client at the in-process server in place of
// https://<resource>.openai.azure.com.)
func TestEnvOnlyAzure(t *testing.T) {
	for _, deployment := range []string{"AZURE_DEPLOYMENT=gpt4o-prod", "MASTRA_MODEL=azure/gpt4o-prod"} {
		t.Run(deployment, func(t *testing.T) {
			fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "hello from azure"}))
			base, logs := mustBoot(t, "", "AZURE_RESOURCE_NAME=myres", "AZURE_API_KEY=az-key",
				"AZURE_OPENAI_ENDPOINT="+fake.URL, deployment)
			status, body := ask(t, base, "generate")
			if status != 200 || text(t, body) != "hello from azure" {
				t.Fatalf("generate = %d %s; want Azure's answer", status, body)
			}
			r := fake.Requests()[0]
			if r.URL != "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21" || r.Header.Get("Api-Key") != "az-key" {
				t.Errorf("Azure request = %s with api-key %q; want the deployment's URL and the key", r.URL, r.Header.Get("Api-Key"))
			}
			if strings.Contains(logs.String(), "echo") || strings.Contains(logs.String(), "no agent uses") {
				t.Errorf("logs warn of echo or unused credentials:\n%s", logs)
			}
		})
	}
}

// OPENAI_API_KEY alone gives the default agent an OpenAI model, with a
// warning naming it.
func TestEnvOnlyOpenAI(t *testing.T) {
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "hello from openai"}))
	base, logs := mustBoot(t, "", "OPENAI_API_KEY=sk-env", "OPENAI_BASE_URL="+fake.URL)
	status, body := ask(t, base, "generate")
	if status != 200 || text(t, body) != "hello from openai" {
		t.Fatalf("generate = %d %s; want OpenAI's answer", status, body)
	}
	r := fake.Requests()[0]
	if r.Model != "gpt-4o-mini" || r.Header.Get("Authorization") != "Bearer sk-env" {
		t.Errorf("request = model %q, auth %q; want gpt-4o-mini with the key", r.Model, r.Header.Get("Authorization"))
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "openai/gpt-4o-mini because OPENAI_API_KEY is set") {
		t.Errorf("logs = %s; want a warning naming openai/gpt-4o-mini", logs)
	}
}

// Keys of providers no agent uses get one warning naming them.
func TestUnusedCredentialsWarning(t *testing.T) {
	_, logs := mustBoot(t, "[agents.a]\nmodel = \"echo\"\n", "GROQ_API_KEY=gk", "MISTRAL_API_KEY=mk", "AZURE_RESOURCE_NAME=r")
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "no agent uses them") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "azure, groq, mistral") {
		t.Errorf("warnings = %q; want one naming azure, groq, mistral", lines)
	}
}

// Agents with no model get one warning that names them all, and no second
// line about the echo model they fall back to.
func TestNoModelWarnedOnce(t *testing.T) {
	_, logs := mustBoot(t, "[agents.a]\ninstructions = \"x\"\n[agents.b]\ninstructions = \"y\"\n")
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "echo model") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "agents=\"[a b]\"") {
		t.Errorf("echo lines = %q; want one warning naming agents a and b", lines)
	}
}

// A registry provider needs no table but its key; its table overrides the
// base URL; a custom provider takes its kind, URL and key variable from
// its table; a missing key stops Build naming the variable.
func TestRegistryAndCustomProviders(t *testing.T) {
	groq := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "groq here"}))
	mine := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "mine here"}))
	base, _ := mustBoot(t, "[providers.groq]\nbase_url = \""+groq.URL+"\"\n"+
		"[providers.mine]\nkind = \"openai\"\nbase_url = \""+mine.URL+"\"\napi_key_env = \"MINE_TOKEN\"\n"+
		"[agents.assistant]\nmodel = \"groq/llama-3.3-70b-versatile\"\n[agents.other]\nmodel = \"mine/m7\"\n",
		"GROQ_API_KEY=gk", "MINE_TOKEN=mt")
	if status, body := ask(t, base, "generate"); status != 200 || text(t, body) != "groq here" {
		t.Fatalf("generate = %d %s", status, body)
	}
	if r := groq.Requests()[0]; r.Model != "llama-3.3-70b-versatile" || r.Header.Get("Authorization") != "Bearer gk" {
		t.Errorf("groq request = %q, %q", r.Model, r.Header.Get("Authorization"))
	}
	res, err := http.Post(base+"/api/agents/other/generate", "application/json", strings.NewReader(`{"messages":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if r := mine.Requests(); len(r) != 1 || r[0].Model != "m7" || r[0].Header.Get("Authorization") != "Bearer mt" {
		t.Errorf("custom provider requests = %+v; want one for m7 with MINE_TOKEN's key", r)
	}

	for _, tc := range []struct{ model, env string }{
		{"groq/llama", "GROQ_API_KEY"}, {"togetherai/x", "TOGETHER_API_KEY"}, {"google/gemini-2.5-flash", "GOOGLE_GENERATIVE_AI_API_KEY"},
	} {
		_, _, err := boot(t, "[agents.assistant]\nmodel = \""+tc.model+"\"\n")
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "set "+tc.env) {
			t.Errorf("Build with %s and no key = %v; want a ConfigError naming %s", tc.model, err, tc.env)
		}
	}
	if _, _, err := boot(t, "[agents.assistant]\nmodel = \"ollama/llama3.2\"\n"); err != nil {
		t.Errorf("Build with ollama and no key = %v; want none needed for a local server", err)
	}
}

// A model list falls back, on a 429 before the first token, to the next
// model, even on another provider: the stream's start names the model that
// answered, the agent's settings reach its wire, and a log line says so.
func TestFallbackAcrossProviders(t *testing.T) {
	primary := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Status: 429}))
	backup := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "from groq"}))
	base, logs := mustBoot(t, "[providers.openai]\nmax_retries = 0\n[providers.groq]\nbase_url = \""+backup.URL+"\"\n"+
		"[agents.assistant]\nmodel = [\"openai/gpt-4o\", \"groq/llama-3.3-70b-versatile\"]\ntemperature = 0.3\nseed = 7\n",
		"OPENAI_API_KEY=sk", "OPENAI_BASE_URL="+primary.URL, "GROQ_API_KEY=gk")
	status, body := ask(t, base, "stream")
	if status != 200 || !strings.Contains(body, `"type":"start"`) {
		t.Fatalf("stream = %d %s", status, body)
	}
	start := body[strings.Index(body, `"type":"start"`):]
	start = start[:strings.Index(start, "\n")]
	if !strings.Contains(start, `"modelId":"llama-3.3-70b-versatile"`) || !strings.Contains(start, `"provider":"groq"`) {
		t.Errorf("start chunk = %s; want groq's model", start)
	}
	if !strings.Contains(body, "from groq") {
		t.Errorf("stream = %s; want groq's text", body)
	}
	r := backup.Requests()
	if len(primary.Requests()) != 1 || len(r) != 1 || r[0].Temperature == nil || *r[0].Temperature != 0.3 || r[0].Seed == nil || *r[0].Seed != 7 {
		t.Fatalf("requests: primary %d, backup %+v; want one each, the backup with temperature 0.3 and seed 7", len(primary.Requests()), r)
	}
	if !strings.Contains(logs.String(), "falling back") || !strings.Contains(logs.String(), "from=openai/gpt-4o to=groq/llama-3.3-70b-versatile") {
		t.Errorf("logs = %s; want the fallback's line", logs)
	}
}

// json_schema = false on a compatible provider: structured output puts the
// schema in the prompt and sends no response_format; the structuring model
// a request names resolves among the configured providers.
func TestJSONSchemaOffAndNamedModel(t *testing.T) {
	local := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: `{"a":1}`}))
	base, _ := mustBoot(t, "[providers.ollama]\nbase_url = \""+local.URL+"\"\njson_schema = false\n"+
		"[agents.assistant]\nmodel = \"ollama/llama3.2\"\n")
	body := `{"messages":"hi","structuredOutput":{"schema":{"type":"object","properties":{"a":{"type":"number"}},"required":["a"]}}}`
	res, err := http.Post(base+"/api/agents/assistant/generate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"object":{"a":1}`) {
		t.Fatalf("generate = %d %s", res.StatusCode, b)
	}
	if r := local.Requests()[0]; r.ResponseFormat != nil || !strings.Contains(r.Messages[0].Text(), "JSON schema:") {
		t.Errorf("request: format %s, system %q", r.ResponseFormat, r.Messages[0].Text())
	}
	body = `{"messages":"hi","structuredOutput":{"model":"nowhere/x","schema":{"type":"object"}}}`
	res, err = http.Post(base+"/api/agents/assistant/generate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), "structuredOutput.model") {
		t.Errorf("unknown structuring model = %d %s", res.StatusCode, b)
	}
}
