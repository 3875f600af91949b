package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// [memory] embedder and [agents.<id>.memory.semantic_recall] reach the
// agent: a turn in a new thread recalls what the user said in another one,
// through the provider's /embeddings; memory/config reports the settings
// and /metrics counts the operations.
// On Postgres the embedding jobs are River's.
func TestSemanticRecallFromConfig(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var env []string
			if db == "postgres" {
				env = append(env, "MEMORY_DATABASE_URL="+pgtest.NewDatabase(t))
			}
			recallFromConfig(t, db, env)
		})
	}
}

func recallFromConfig(t *testing.T, db string, env []string) {
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "Noted."}))
	a, ts := build(t, "[providers.openai]\nbase_url = \""+fake.URL+"\"\napi_key = \"sk-test\"\n"+
		"[memory]\nembedder = \"openai/text-embedding-3-small\"\n"+
		"[agents.one]\nmodel = \"openai/gpt-test\"\n"+
		"[agents.one.memory.semantic_recall]\nenabled = true\ntop_k = 1\nmessage_range = 0\n", env...)
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	url := ts.URL
	if (a.embeds != nil) != (db == "postgres") {
		t.Errorf("%s: River jobs %v", db, a.embeds != nil)
	}
	post := func(thread, text string) {
		t.Helper()
		body := `{"messages":[{"role":"user","content":"` + text + `"}],"memory":{"thread":"` + thread + `","resource":"alice"}}`
		res, err := http.Post(url+"/api/agents/one/generate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("generate: %d %s", res.StatusCode, b)
		}
	}
	post("t1", "My dog is called Rex")
	// The turn's query, then (in the background) its reply: the user's
	// message was embedded already.
	embedded := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if ix, err := a.Store.DescribeVectorIndex(context.Background(), agent.RecallSpace, "memory_messages"); err == nil && ix.Count == n {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%d messages were not embedded", n)
	}
	embedded(2)
	post("t2", "what is my dog called?")
	reqs := fake.Requests()
	if sys := reqs[len(reqs)-1].Messages[0]; !strings.Contains(sys.Text(), "User: My dog is called Rex") {
		t.Errorf("thread t2's prompt: %s", reqs[len(reqs)-1].Dump())
	}
	if e := fake.EmbedRequests(); len(e) < 3 || len(e[1].Input) != 1 || e[1].Input[0] != "Noted." || e[0].Model != "text-embedding-3-small" || e[0].Header.Get("Authorization") != "Bearer sk-test" {
		t.Errorf("embedding requests %+v", e)
	}

	// client-js searchMemory: newest first, each hit with its context.
	embedded(4)
	var found struct {
		Results []struct {
			Content, ThreadID string
			Context           struct{ Before, After []struct{ Content string } }
		}
		Count       int
		SearchScope string
	}
	res, err := http.Get(url + "/api/memory/search?agentId=one&resourceId=alice&searchQuery=dog+called&memoryConfig=" +
		`%7B%22semanticRecall%22%3A%7B%22topK%22%3A2%2C%22messageRange%22%3A1%7D%7D`)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&found)
	res.Body.Close()
	if found.Count != 2 || found.SearchScope != "resource" || found.Results[0].Content != "what is my dog called?" ||
		found.Results[1].Content != "My dog is called Rex" || len(found.Results[1].Context.After) != 1 ||
		found.Results[1].Context.After[0].Content != "Noted." || len(found.Results[1].Context.Before) != 0 {
		t.Errorf("search = %+v", found)
	}
	// Messages saved through save-messages are embedded too, as Mastra's
	// Memory.saveMessages does.
	res, err = http.Post(url+"/api/memory/save-messages?agentId=one&resourceId=alice", "application/json",
		strings.NewReader(`{"messages":[{"id":"imported-1","role":"user","content":"my cat is called Tom","threadId":"t1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("save-messages = %d", res.StatusCode)
	}
	embedded(5)
	res, err = http.Get(url + "/api/memory/search?agentId=one&resourceId=alice&searchQuery=cat+called+Tom")
	if err != nil {
		t.Fatal(err)
	}
	found.Results = nil
	json.NewDecoder(res.Body).Decode(&found)
	res.Body.Close()
	if len(found.Results) == 0 || found.Results[0].Content != "my cat is called Tom" {
		t.Errorf("search for the saved message = %+v", found)
	}
	res, err = http.Get(url + "/api/memory/config?agentId=one")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Config struct {
			SemanticRecall map[string]any `json:"semanticRecall"`
		} `json:"config"`
	}
	json.NewDecoder(res.Body).Decode(&cfg)
	res.Body.Close()
	if sr := cfg.Config.SemanticRecall; sr["topK"] != 1.0 || sr["scope"] != "resource" || sr["embedder"] != "openai/text-embedding-3-small" {
		t.Errorf("memory config semanticRecall = %v", sr)
	}
	res, err = http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `mastra_semantic_recall_total{agent="one",op="query",outcome="ok"} 2`) {
		t.Errorf("metrics lack the recall counter: %s", grepLines(string(b), "semantic_recall"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A [vectors.<name>] table declares a store of the vector API; an agent's
// embedder Mastra's list lacks is added to /api/embedders.
func TestVectorStoresFromConfig(t *testing.T) {
	_, url := start(t, "[vectors.docs]\n[agents.one]\nmodel = \"echo\"\n[agents.one.memory]\nembedder = \"echo\"\n"+
		"[agents.one.memory.semantic_recall]\nenabled = true\n")
	res, err := http.Post(url+"/api/vector/docs/create-index", "application/json", strings.NewReader(`{"indexName":"kb","dimension":3}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("create-index in docs = %d", res.StatusCode)
	}
	for path, want := range map[string]string{
		"/api/vectors":              `{"vectors":[{"id":"docs","name":"docs","type":"MastraServerVector"}]}`,
		"/api/vector/docs/indexes":  `["kb"]`,
		"/api/vector/other/indexes": `{"error":"Vector store other not found"}`,
	} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("GET %s = %s; want %s", path, b, want)
		}
	}
	res, err = http.Get(url + "/api/embedders")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `"id":"echo"`) || !strings.Contains(string(b), `"dimensions":256`) {
		t.Errorf("embedders = %s", b)
	}
}

// semantic_recall.filter narrows GET /api/memory/search as Mastra's
// semanticRecall.filter narrows Memory.recall (AND-ed with the scope's
// filter); a filter the server cannot read, or an index_config pgvector
// would refuse, is a start error.
func TestSemanticRecallFilterFromConfig(t *testing.T) {
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "Your dog Rex is noted."}))
	conf := "[providers.openai]\nbase_url = \"" + fake.URL + "\"\napi_key = \"sk-test\"\n" +
		"[memory]\nembedder = \"openai/text-embedding-3-small\"\n" +
		"[agents.one]\nmodel = \"openai/gpt-test\"\n" +
		"[agents.one.memory.semantic_recall]\nenabled = true\ntop_k = 5\nmessage_range = 0\nfilter = { role = \"user\" }\n"
	a, ts := build(t, conf)
	t.Cleanup(func() {
		ts.Close()
		a.Close(context.Background())
	})
	res, err := http.Post(ts.URL+"/api/agents/one/generate", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"My dog is called Rex"}],"memory":{"thread":"t1","resource":"alice"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ix, err := a.Store.DescribeVectorIndex(context.Background(), agent.RecallSpace, "memory_messages")
		if err == nil && ix.Count == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the turn's 2 messages were not embedded: %+v, %v", ix, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var found struct {
		Results []struct{ Content, Role string }
	}
	res, err = http.Get(ts.URL + "/api/memory/search?agentId=one&resourceId=alice&searchQuery=dog+Rex")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&found)
	res.Body.Close()
	if len(found.Results) != 1 || found.Results[0].Content != "My dog is called Rex" {
		t.Errorf("search with filter role = user: %+v; want only the user's message", found.Results)
	}

	for _, c := range []struct{ bad, key string }{
		{`filter = { role = { "$regex" = "u.*" } }`, "agents.one.memory.semantic_recall.filter"},
		{`index_config = { type = "hnsw", m = 1 }`, "agents.one.memory.semantic_recall.index_config"},
		{`index_config = { ef_search = 5000 }`, "agents.one.memory.semantic_recall.index_config"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "mastra.toml")
		if err := os.WriteFile(path, []byte(strings.Replace(conf, `filter = { role = "user" }`, c.bad, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, []string{"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db")})
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil {
			var b *App
			if b, err = Build(context.Background(), cfg, slog.New(slog.DiscardHandler)); b != nil {
				b.Close(context.Background())
			}
		}
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: %v; want a start error naming %s", c.bad, err, c.key)
		}
	}
}

// Two agents whose recall vectors go to one table must agree on its
// index_config (the first to embed would build the index with its own
// settings): a difference is a start error naming both; the same
// settings, spelled differently, or a table of its own for one, start.
func TestRecallIndexConfigConflict(t *testing.T) {
	conf := func(one, two string) string {
		return "[providers.openai]\napi_key = \"sk-test\"\n" +
			"[memory]\nembedder = \"openai/text-embedding-3-small\"\n" +
			"[agents.one]\nmodel = \"openai/gpt-test\"\n[agents.one.memory.semantic_recall]\nenabled = true\n" + one + "\n" +
			"[agents.two]\nmodel = \"openai/gpt-test\"\n[agents.two.memory.semantic_recall]\nenabled = true\n" + two + "\n"
	}
	for _, c := range []struct {
		name, one, two string
		conflict       bool
	}{
		{"one model, m differs", `index_config = { m = 16 }`, ``, true},
		{"one model, ef_search differs", `index_config = { ef_search = 100 }`, `index_config = { ef_search = 200 }`, true},
		{"one model, type differs", `index_config = { type = "ivfflat" }`, `index_config = { type = "flat" }`, true},
		{"one dimension", "dimensions = 256\nindex_config = { lists = 50, type = \"ivfflat\" }", "dimensions = 256\nindex_config = { type = \"ivfflat\" }", true},
		{"one index by name and by size", "index = \"memory_messages\"\nindex_config = { m = 12 }", "dimensions = 1536", true},
		{"the defaults spelled out", `index_config = { type = "hnsw", m = 8, ef_construction = 32 }`, ``, false},
		{"settings the type does not use", `index_config = { type = "ivfflat", m = 16 }`, `index_config = { type = "ivfflat", lists = 100 }`, false},
		{"a table of its own", "index = \"recall_one\"\nindex_config = { m = 16 }", ``, false},
		{"other dimensions", "dimensions = 256\nindex_config = { m = 16 }", "dimensions = 512", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "mastra.toml")
			if err := os.WriteFile(path, []byte(conf(c.one, c.two)), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path, []string{"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db")})
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil {
				var b *App
				if b, err = Build(context.Background(), cfg, slog.New(slog.DiscardHandler)); b != nil {
					b.Close(context.Background())
				}
			}
			switch {
			case c.conflict && (err == nil || !strings.Contains(err.Error(), "agents.one and agents.two write to")):
				t.Errorf("start error %v; want one naming agents.one and agents.two", err)
			case !c.conflict && err != nil:
				t.Errorf("start error %v; want none", err)
			}
		})
	}
}
