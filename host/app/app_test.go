package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/internal/anthropictest"
)

// wasm compiles testdata/<name>.wat with wat2wasm into the test's temp
// directory and returns its path, quoted for TOML.
func wasm(t testing.TB, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	if b, err := exec.Command("wat2wasm", filepath.Join("testdata", name+".wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s.wat (install wabt: scripts/install-plugin-toolchains.sh): %v\n%s", name, err, b)
	}
	return strconv.Quote(out)
}

// start builds an App from toml, as serve does, and serves it over HTTP.
func start(t *testing.T, toml string) (*App, string) {
	t.Helper()
	a, ts := build(t, toml)
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	return a, ts.URL
}

// build builds an App from toml with env added to its environment (its
// database a fresh SQLite file unless env names one) and an HTTP server
// for it, which the caller closes.
func build(t testing.TB, toml string, env ...string) (*App, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mastra.toml")
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, append([]string{"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db"),
		"MASTRA_PLUGINS__CACHE_DIR=" + filepath.Join(dir, "cache")}, env...))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := Build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return a, httptest.NewServer(a.Server.Handler())
}

// ran sends a request and returns the middleware that ran on it, in order
// (the x-ran values the mark fixture appends: each one's tag), and the body.
func ran(t *testing.T, method, url string) (tags []string, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, v := range res.Header.Values("X-Ran") {
		tags = append(tags, strings.TrimSuffix(strings.TrimPrefix(v, `{"tag":"`), `"}`))
	}
	return tags, string(b)
}

func mark(name, path, tag string, mod string) string {
	s := "[[middleware]]\nname = \"" + name + "\"\nmodule = " + mod + "\nconfig = { tag = \"" + tag + "\" }\n"
	if path != "" {
		s += "path = \"" + path + "\"\n"
	}
	return s
}

func checkRan(t *testing.T, method, url string, want ...string) {
	t.Helper()
	if got, _ := ran(t, method, url); !reflect.DeepEqual(got, want) {
		t.Errorf("%s %s: middleware ran %q; want %q", method, url, got, want)
	}
}

// A middleware without a path runs on /api/* only; one with "/*" on every
// path; in the order of the file.
func TestMiddlewareDefaultPathAndOrder(t *testing.T) {
	m, c := wasm(t, "mark"), wasm(t, "counter")
	_, base := start(t, mark("api", "", "api", m)+mark("all", "/*", "all", m)+
		"[[routes]]\nmethod = \"GET\"\npath = \"/hello\"\nmodule = "+c+"\n")
	checkRan(t, "GET", base+"/api/agents", "api", "all")
	checkRan(t, "GET", base+"/api", "api", "all")
	checkRan(t, "GET", base+"/hello", "all")
	checkRan(t, "GET", base+"/nowhere", "all")
}

// A middleware without a path that a route lists runs on that route only,
// after the global chain and in the route's order.
func TestRouteOnlyMiddleware(t *testing.T) {
	m, c := wasm(t, "mark"), wasm(t, "counter")
	_, base := start(t, mark("one", "/*", "one", m)+mark("three", "", "three", m)+mark("four", "", "four", m)+
		"[[routes]]\nmethod = \"GET\"\npath = \"/a\"\nmodule = "+c+"\nmiddleware = [\"four\", \"three\"]\n"+
		"[[routes]]\nmethod = \"GET\"\npath = \"/b\"\nmodule = "+c+"\n")
	checkRan(t, "GET", base+"/a", "one", "four", "three")
	checkRan(t, "GET", base+"/b", "one")
	checkRan(t, "GET", base+"/api/agents", "one")
}

// Defect 4: a middleware with a path that a route also lists runs once on
// that route: in the chain when its path and methods match, else on the
// route.
func TestMiddlewareInChainAndOnRouteRunsOnce(t *testing.T) {
	m, c := wasm(t, "mark"), wasm(t, "counter")
	_, base := start(t, mark("m", "/r/*", "m", m)+mark("g", "/*", "g", m)+"methods = [\"GET\"]\n"+
		"[[routes]]\nmethod = \"GET\"\npath = \"/r/:id\"\nmodule = "+c+"\nmiddleware = [\"m\", \"g\"]\n"+
		"[[routes]]\nmethod = \"ALL\"\npath = \"/other\"\nmodule = "+c+"\nmiddleware = [\"m\", \"g\"]\n")
	checkRan(t, "GET", base+"/r/1", "m", "g")    // both in the chain
	checkRan(t, "GET", base+"/other", "g", "m")  // g in the chain, m on the route
	checkRan(t, "POST", base+"/other", "m", "g") // neither in the chain: both on the route
}

// Routes with the same module, settings and resource share one plugin
// (one pool, here one instance whose count goes on); any difference gives
// a plugin of its own.
func TestRoutesShareOnePlugin(t *testing.T) {
	c := wasm(t, "counter")
	route := func(method, path, res, conf string) string {
		return "[[routes]]\nmethod = \"" + method + "\"\npath = \"" + path + "\"\nmodule = " + c +
			"\nresource_id = \"" + res + "\"\nmin_instances = 1\nmax_instances = 1\nconfig = " + conf + "\n"
	}
	_, base := start(t, route("GET", "/a", "shop", "{ x = 1 }")+route("POST", "/a", "shop", "{ x = 1 }")+
		route("GET", "/c", "shop", "{ x = 2 }")+route("GET", "/d", "other", "{ x = 1 }"))
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/a", "1"}, {"POST", "/a", "2"}, {"GET", "/a", "3"}, {"GET", "/c", "1"}, {"GET", "/d", "1"},
	} {
		if _, body := ran(t, tt.method, base+tt.path); body != tt.want {
			t.Errorf("%s %s = %q; want %q", tt.method, tt.path, body, tt.want)
		}
	}
}

// Every [[tools]] entry is listed, sorted by name, whether or not an agent
// uses it; an agent gets the tools it names.
func TestToolListing(t *testing.T) {
	c := wasm(t, "counter")
	a, base := start(t, "[agents.assistant]\nmodel = \"echo\"\ntools = [\"zeta\"]\n"+
		"[[tools]]\nname = \"zeta\"\ndescription = \"z\"\nmodule = "+c+"\n"+
		"[[tools]]\nname = \"alpha\"\ndescription = \"a\"\nmodule = "+c+"\n")
	var names []string
	for _, tool := range a.Tools() {
		names = append(names, tool.Name())
	}
	if !reflect.DeepEqual(names, []string{"alpha", "zeta"}) {
		t.Errorf("Tools() = %q; want alpha, zeta", names)
	}
	ag, _ := a.Agents.Agent("assistant")
	if len(ag.Tools) != 1 || ag.Tools[0].Name() != "zeta" {
		t.Errorf("assistant's tools = %v; want zeta", ag.Tools)
	}
	_, body := ran(t, "GET", base+"/api/tools")
	if !strings.Contains(body, `"alpha"`) || !strings.Contains(body, `"zeta"`) {
		t.Errorf("GET /api/tools = %s; want alpha and zeta", body)
	}
}

// Agents get their model clients from the provider registry: one client per
// provider, shared by its agents; a provider without its key is refused at
// Build, naming the variable to set.
func TestAgentsFromRegistry(t *testing.T) {
	a, _ := start(t, "[providers.openai]\nbase_url = \"http://127.0.0.1:9/v1\"\n"+
		"[agents.one]\nmodel = \"openai/m1\"\n[agents.two]\nmodel = \"openai/m2\"\n[agents.dev]\nmodel = \"echo\"\n")
	one, _ := a.Agents.Agent("one")
	two, _ := a.Agents.Agent("two")
	dev, _ := a.Agents.Agent("dev")
	if one.Model != two.Model || one.ModelRef() != "openai/m1" || two.ModelRef() != "openai/m2" {
		t.Errorf("agents one and two = %s on %p, %s on %p; want openai/m1 and openai/m2 on one client", one.ModelRef(), one.Model, two.ModelRef(), two.Model)
	}
	if _, ok := dev.Model.(llm.Echo); !ok || dev.Provider != llm.ProviderEcho {
		t.Errorf("agent dev = %T (%s); want the echo model", dev.Model, dev.Provider)
	}

	cfg := config.Defaults()
	cfg.Agents = map[string]config.Agent{"x": {Model: config.ModelList{"openai/gpt-4o-mini"}}}
	cfg.Memory.SQLitePath = filepath.Join(t.TempDir(), "m.db")
	_, err := Build(context.Background(), cfg, nil)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `agents.x.model = "openai/gpt-4o-mini": provider openai needs an API key: set OPENAI_API_KEY`) {
		t.Errorf("Build with an OpenAI agent and no key = %v; want a ConfigError naming OPENAI_API_KEY", err)
	}
}

// [providers.anthropic] and per-agent thinking reach the wire: the key,
// anthropic-version, the default max_tokens, cache breakpoints; an agent
// with its own thinking budget gets a client of its own.
func TestAnthropicAgents(t *testing.T) {
	f := anthropictest.NewServer(t, anthropictest.Replies(anthropictest.Reply{Text: "Hi from Claude"}))
	a, url := start(t, "[providers.anthropic]\nbase_url = \""+f.URL+"\"\napi_key = \""+anthropictest.APIKey+"\"\n"+
		"[agents.one]\nmodel = \"anthropic/claude-a\"\ninstructions = \"Be brief.\"\n[agents.two]\nmodel = \"anthropic/claude-b\"\n"+
		"[agents.deep]\nmodel = \"anthropic/claude-c\"\nthinking_budget = 2048\ncache = false\n"+
		"[providers.claude]\nkind = \"anthropic\"\nbase_url = \""+f.URL+"/v1\"\napi_key = \""+anthropictest.APIKey+"\"\nmax_tokens = 100\n"+
		"[agents.custom]\nmodel = \"claude/claude-d\"\n")
	one, _ := a.Agents.Agent("one")
	two, _ := a.Agents.Agent("two")
	deep, _ := a.Agents.Agent("deep")
	if one.Model != two.Model || deep.Model == one.Model {
		t.Errorf("clients: one %p, two %p, deep %p; want one and two to share, deep its own", one.Model, two.Model, deep.Model)
	}
	for _, id := range []string{"one", "deep", "custom"} {
		res, err := http.Post(url+"/api/agents/"+id+"/generate", "application/json", strings.NewReader(`{"messages":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), "Hi from Claude") {
			t.Fatalf("%s: generate = %d %s", id, res.StatusCode, body)
		}
	}
	reqs := f.Requests()
	if v := reqs[0].Header.Get("anthropic-version"); v != "2023-06-01" || *reqs[0].MaxTokens != 4096 || reqs[0].Model != "claude-a" {
		t.Errorf("one: version %q, max_tokens %d, model %q", v, *reqs[0].MaxTokens, reqs[0].Model)
	}
	if bp := reqs[0].Breakpoints(); len(bp) != 2 || bp[0] != "system" {
		t.Errorf("one: breakpoints %v; want system and the last message", bp)
	}
	if reqs[1].Thinking == nil || reqs[1].Thinking.BudgetTokens != 2048 || *reqs[1].MaxTokens != 4096+2048 || len(reqs[1].Breakpoints()) != 0 {
		t.Errorf("deep: thinking %+v, max_tokens %d, breakpoints %v", reqs[1].Thinking, *reqs[1].MaxTokens, reqs[1].Breakpoints())
	}
	// A custom provider of kind anthropic: its own max_tokens, the
	// defaults for the rest (version, cache).
	if v := reqs[2].Header.Get("anthropic-version"); v != "2023-06-01" || *reqs[2].MaxTokens != 100 || reqs[2].Model != "claude-d" ||
		len(reqs[2].Breakpoints()) == 0 {
		t.Errorf("custom: version %q, max_tokens %d, model %q, breakpoints %v", v, *reqs[2].MaxTokens, reqs[2].Model, reqs[2].Breakpoints())
	}

	cfg := config.Defaults()
	cfg.Agents = map[string]config.Agent{"x": {Model: config.ModelList{"anthropic/claude-x"}}}
	cfg.Memory.SQLitePath = filepath.Join(t.TempDir(), "m.db")
	_, err := Build(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "ANTHROPIC_API_KEY") {
		t.Errorf("Build with an Anthropic agent and no key = %v; want it to name ANTHROPIC_API_KEY", err)
	}
}

// [agents.<id>.working_memory], generate_title and title_model reach the
// agent; the title model shares its provider's client.
func TestAgentMemoryOptions(t *testing.T) {
	a, url := start(t, "[providers.openai]\nbase_url = \"http://127.0.0.1:9/v1\"\n"+
		"[agents.one]\nmodel = \"openai/big\"\ngenerate_title = true\ntitle_model = \"openai/small\"\n"+
		"[agents.one.working_memory]\nenabled = true\nscope = \"thread\"\n"+
		"[agents.two]\nmodel = \"echo\"\n")
	one, _ := a.Agents.Agent("one")
	two, _ := a.Agents.Agent("two")
	if wm := one.WorkingMemory; wm == nil || wm.Scope != "thread" || wm.Template != config.DefaultWorkingMemoryTemplate || wm.Format() != "markdown" {
		t.Errorf("agent one working memory = %+v", one.WorkingMemory)
	}
	if !one.GenerateTitle || one.TitleModel != one.Model || one.TitleModelID != "small" {
		t.Errorf("agent one titles: %v, model %p (agent's %p), id %q", one.GenerateTitle, one.TitleModel, one.Model, one.TitleModelID)
	}
	if two.WorkingMemory != nil || two.GenerateTitle {
		t.Errorf("agent two = %+v; want neither", two)
	}
	res, err := http.Get(url + "/api/memory/config?agentId=one")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), `"generateTitle":true`) || !strings.Contains(string(b), `"scope":"thread"`) {
		t.Errorf("memory config = %s", b)
	}
}
