package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to read the tables as Mastra does
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// wmDB is a store and a plain connection to its database, to read the
// tables the way a Mastra server would.
type wmDB struct {
	store *memory.Store
	raw   *sql.DB
}

func bothWMStores(t *testing.T, f func(t *testing.T, db wmDB)) {
	open := func(t *testing.T, opts memory.Options, driver, dsn string) wmDB {
		raw, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return wmDB{store: openStore(t, opts), raw: raw}
	}
	t.Run("sqlite", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "m.db")
		f(t, open(t, memory.Options{SQLitePath: p}, sqliteshim.ShimName, "file:"+p))
	})
	t.Run("postgres", func(t *testing.T) {
		u := pgtest.NewDatabase(t)
		f(t, open(t, memory.Options{DatabaseURL: u}, "pgx", u))
	})
}

// wmServer serves three echo agents: "res" with resource-scoped Markdown
// working memory, "thr" with thread-scoped JSON working memory, "plain"
// without.
func wmServer(t *testing.T, store *memory.Store, edit func(*Config)) string {
	t.Helper()
	agents := []*agent.Agent{
		{ID: "res", Model: llm.Echo{}, Provider: "echo", WorkingMemory: &agent.WorkingMemory{Scope: agent.ScopeResource, Template: "# User\n- Name:\n"}},
		{ID: "thr", Model: llm.Echo{}, Provider: "echo", WorkingMemory: &agent.WorkingMemory{Scope: agent.ScopeThread,
			Schema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}}}`)}},
		{ID: "plain", Model: llm.Echo{}, Provider: "echo"},
	}
	svc, err := agent.NewService(store, agents, "res", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon"})
	return ts.URL
}

func TestWorkingMemoryRoutes(t *testing.T) {
	bothWMStores(t, func(t *testing.T, db wmDB) {
		base := wmServer(t, db.store, nil)
		wm := base + "/api/memory/threads/t-1/working-memory"
		seed(t, db.store, "alice", "t-1", "hello")

		r := do(t, "GET", base+"/api/memory/threads/nope/working-memory?agentId=res&resourceId=alice", "")
		if r.status != 200 || r.body["workingMemory"] != nil || r.body["source"] != "resource" || r.body["threadExists"] != false {
			t.Fatalf("GET before any = %d %s", r.status, r.raw)
		}
		tpl, _ := r.body["workingMemoryTemplate"].(map[string]any)
		if tpl["format"] != "markdown" || tpl["content"] != "# User\n- Name:" {
			t.Errorf("template = %v", r.body["workingMemoryTemplate"])
		}

		r = do(t, "POST", wm+"?agentId=res", `{"workingMemory":"# User\n- Name: Alice\n","resourceId":"alice"}`, "Content-Type", jsonCT)
		if r.status != 200 || r.body["success"] != true {
			t.Fatalf("POST = %d %s", r.status, r.raw)
		}
		var col string
		if err := db.raw.QueryRow(`SELECT "workingMemory" FROM mastra_resources WHERE id = 'alice'`).Scan(&col); err != nil || col != "# User\n- Name: Alice\n" {
			t.Errorf("mastra_resources.workingMemory = %q, %v", col, err)
		}
		r = do(t, "GET", wm+"?agentId=res&resourceId=alice", "")
		if r.status != 200 || r.body["workingMemory"] != "# User\n- Name: Alice\n" || r.body["source"] != "resource" || r.body["threadExists"] != true {
			t.Fatalf("GET = %d %s", r.status, r.raw)
		}
		// Without resourceId (client-js sends none unless told), the
		// thread's owner decides while auth is off.
		if r2 := do(t, "GET", wm+"?agentId=res", ""); r2.body["workingMemory"] != "# User\n- Name: Alice\n" {
			t.Errorf("GET without resourceId = %s", r2.raw)
		}

		// If-Match: a stale ETag is 409 and changes nothing.
		etag := r.header.Get("ETag")
		if etag == "" {
			t.Fatal("GET sent no ETag")
		}
		r = do(t, "POST", wm+"?agentId=res", `{"workingMemory":"v2","resourceId":"alice"}`, "Content-Type", jsonCT, "If-Match", etag)
		if r.status != 200 {
			t.Fatalf("POST with the current ETag = %d %s", r.status, r.raw)
		}
		r = do(t, "POST", wm+"?agentId=res", `{"workingMemory":"v3","resourceId":"alice"}`, "Content-Type", jsonCT, "If-Match", etag)
		if r.status != 409 || r.body["code"] != "working_memory_changed" {
			t.Errorf("POST with a stale ETag = %d %s; want 409", r.status, r.raw)
		}
		if got, _ := db.store.WorkingMemory(context.Background(), memory.WorkingMemoryRef{ResourceID: "alice"}); got != "v2" {
			t.Errorf("working memory = %q after a refused update; want v2", got)
		}

		// Thread scope with a schema: JSON in the thread's metadata.
		r = do(t, "POST", wm+"?agentId=thr", `{"workingMemory":"{\"name\":\"Alice\"}"}`, "Content-Type", jsonCT)
		if r.status != 200 {
			t.Fatalf("POST thread scope = %d %s", r.status, r.raw)
		}
		var meta string
		if err := db.raw.QueryRow(`SELECT metadata FROM mastra_threads WHERE id = 't-1'`).Scan(&meta); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if json.Unmarshal([]byte(meta), &m); m["workingMemory"] != `{"name":"Alice"}` {
			t.Errorf("mastra_threads.metadata = %s", meta)
		}
		r = do(t, "GET", wm+"?agentId=thr&resourceId=alice", "")
		if r.body["workingMemory"] != `{"name":"Alice"}` || r.body["source"] != "thread" {
			t.Errorf("GET thread scope = %s", r.raw)
		}
		if tpl, _ := r.body["workingMemoryTemplate"].(map[string]any); tpl["format"] != "json" || tpl["content"] != `{"name":""}` {
			t.Errorf("JSON template = %v", r.body["workingMemoryTemplate"])
		}

		// Client mistakes are 4xx naming the field; a missing thread is 404.
		for _, tt := range []struct {
			url, body string
			status    int
			field     string
		}{
			{wm + "?agentId=thr", `{"workingMemory":"not json"}`, 400, "workingMemory"},
			{wm + "?agentId=res", `{"resourceId":"alice"}`, 400, "workingMemory"},
			{wm + "?agentId=res", `{"workingMemory":"a\u0000b","resourceId":"alice"}`, 400, "workingMemory"},
			{wm, `{"workingMemory":"x"}`, 400, "agentId"},
			{wm + "?agentId=plain", `{"workingMemory":"x"}`, 400, "agentId"},
			{base + "/api/memory/threads/nope/working-memory?agentId=res", `{"workingMemory":"x","resourceId":"alice"}`, 404, ""},
		} {
			r := do(t, "POST", tt.url, tt.body, "Content-Type", jsonCT)
			if r.status != tt.status {
				t.Errorf("POST %s %s = %d %s; want %d", tt.url, tt.body, r.status, r.raw, tt.status)
				continue
			}
			if issues, _ := r.body["issues"].([]any); tt.field != "" && (len(issues) == 0 || issues[0].(map[string]any)["field"] != tt.field) {
				t.Errorf("POST %s %s = %s; want an issue on %s", tt.url, tt.body, r.raw, tt.field)
			}
		}
		if r := do(t, "GET", wm+"?agentId=plain", ""); r.status != 200 || r.body["workingMemory"] != nil || r.body["workingMemoryTemplate"] != nil {
			t.Errorf("GET for an agent without working memory = %d %s", r.status, r.raw)
		}
	})
}

// Two clients read the same working memory and both write with If-Match at
// once: one wins, the other gets 409, never a silent overwrite.
func TestWorkingMemoryConcurrentWritesConflict(t *testing.T) {
	bothWMStores(t, func(t *testing.T, db wmDB) {
		base := wmServer(t, db.store, nil)
		wm := base + "/api/memory/threads/t-1/working-memory"
		seed(t, db.store, "alice", "t-1", "hello")
		etag := do(t, "GET", wm+"?agentId=res&resourceId=alice", "").header.Get("ETag")
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i, text := range []string{"from client A", "from client B"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = do(t, "POST", wm+"?agentId=res", `{"workingMemory":"`+text+`","resourceId":"alice"}`,
					"Content-Type", jsonCT, "If-Match", etag).status
			}()
		}
		wg.Wait()
		if !(statuses[0] == 200 && statuses[1] == 409) && !(statuses[0] == 409 && statuses[1] == 200) {
			t.Fatalf("statuses = %v; want one 200 and one 409", statuses)
		}
		winner := "from client A"
		if statuses[1] == 200 {
			winner = "from client B"
		}
		if got, _ := db.store.WorkingMemory(context.Background(), memory.WorkingMemoryRef{ResourceID: "alice"}); got != winner {
			t.Errorf("stored %q; want the winner's %q", got, winner)
		}
	})
}

// With two tokens, Alice neither reads nor writes Bob's working memory, by
// his thread id or by naming his resource.
func TestWorkingMemoryTenants(t *testing.T) {
	bothWMStores(t, func(t *testing.T, db wmDB) {
		ctx := context.Background()
		base := wmServer(t, db.store, withAuth)
		seed(t, db.store, "res-bob", "b-1", "bob here")
		seed(t, db.store, "res-alice", "a-1", "alice here")
		for _, ref := range []memory.WorkingMemoryRef{{ResourceID: "res-bob"}, {ResourceID: "res-bob", ThreadID: "b-1"}} {
			if _, err := db.store.UpdateWorkingMemory(ctx, ref, func(string) (string, error) { return `{"secret":"bob"}`, nil }); err != nil {
				t.Fatal(err)
			}
		}
		as := func(tok, method, path, body string) response {
			t.Helper()
			return do(t, method, base+path, body, "Authorization", "Bearer "+tok, "Content-Type", jsonCT)
		}
		for _, path := range []string{
			"/api/memory/threads/b-1/working-memory?agentId=res&resourceId=res-bob",
			"/api/memory/threads/b-1/working-memory?agentId=thr&resourceId=res-bob",
			"/api/memory/threads/a-1/working-memory?agentId=res&resourceId=res-bob",
		} {
			r := as(aliceToken, "GET", path, "")
			if r.status != 200 || r.body["workingMemory"] != nil {
				t.Errorf("Alice GET %s = %d %s; want her own (none)", path, r.status, r.raw)
			}
		}
		for _, agentID := range []string{"res", "thr"} {
			r := as(aliceToken, "POST", "/api/memory/threads/b-1/working-memory?agentId="+agentID, `{"workingMemory":"{}","resourceId":"res-bob"}`)
			if r.status != 404 {
				t.Errorf("Alice POST on Bob's thread (%s) = %d %s; want 404", agentID, r.status, r.raw)
			}
		}
		// On her own thread, naming Bob's resource writes her own.
		r := as(aliceToken, "POST", "/api/memory/threads/a-1/working-memory?agentId=res", `{"workingMemory":"alice's","resourceId":"res-bob"}`)
		if r.status != 200 {
			t.Fatalf("Alice POST on her thread = %d %s", r.status, r.raw)
		}
		if got, _ := db.store.WorkingMemory(ctx, memory.WorkingMemoryRef{ResourceID: "res-alice"}); got != "alice's" {
			t.Errorf("Alice's working memory = %q", got)
		}
		for _, ref := range []memory.WorkingMemoryRef{{ResourceID: "res-bob"}, {ResourceID: "res-bob", ThreadID: "b-1"}} {
			if got, _ := db.store.WorkingMemory(ctx, ref); got != `{"secret":"bob"}` {
				t.Errorf("Bob's working memory %+v = %q after Alice's attempts", ref, got)
			}
		}
		// Bob reads his own.
		if r := as(bobToken, "GET", "/api/memory/threads/b-1/working-memory?agentId=thr", ""); r.body["workingMemory"] != `{"secret":"bob"}` {
			t.Errorf("Bob GET = %s", r.raw)
		}
	})
}
