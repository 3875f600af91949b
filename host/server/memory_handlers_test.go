package server

import (
	"encoding/base64"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// memoryServer serves the echo agent "assistant" on store; edit changes the
// server config (auth, CORS) before the server is built.
func memoryServer(t *testing.T, store *memory.Store, edit func(*Config), mws ...Middleware) string {
	t.Helper()
	return loggedMemoryServer(t, store, quietLogger(), edit, mws...)
}

// loggedMemoryServer is memoryServer writing its logs to log.
func loggedMemoryServer(t *testing.T, store *memory.Store, log *slog.Logger, edit func(*Config), mws ...Middleware) string {
	t.Helper()
	agents := []*agent.Agent{{ID: "assistant", Name: "Assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, DefaultResourceID: "anon", Middleware: mws, Logger: log})
	return ts.URL
}

func bothStores(t *testing.T, f func(t *testing.T, store *memory.Store)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "sqlite" {
				f(t, openSQLite(t))
				return
			}
			f(t, openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)}))
		})
	}
}

func threadIDs(t *testing.T, r response) []string {
	t.Helper()
	list, ok := r.body["threads"].([]any)
	if !ok {
		t.Fatalf("no threads in %d %s", r.status, r.raw)
	}
	var ids []string
	for _, th := range list {
		ids = append(ids, th.(map[string]any)["id"].(string))
	}
	return ids
}

const jsonCT = "application/json"

func TestMemoryRoutes(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		base := memoryServer(t, store, nil)
		api := base + "/api/memory"
		seed(t, store, "alice", "t-old", "hello", "hi there")
		time.Sleep(5 * time.Millisecond)
		seed(t, store, "alice", "t-new", "q1", "a1", "q2", "a2", "q3")
		seed(t, store, "bob", "t-bob", "bob secret")

		// List: defaults, pagination, the three orderBy spellings.
		r := do(t, "GET", api+"/threads?resourceId=alice&agentId=assistant", "")
		if r.status != 200 || r.body["total"] != 2.0 || r.body["page"] != 0.0 || r.body["perPage"] != 100.0 || r.body["hasMore"] != false {
			t.Fatalf("list = %d %s; want 2 threads, page 0 of 100", r.status, r.raw)
		}
		if ids := threadIDs(t, r); strings.Join(ids, ",") != "t-new,t-old" {
			t.Errorf("default order = %v; want newest first", ids)
		}
		th := r.body["threads"].([]any)[0].(map[string]any)
		if th["resourceId"] != "alice" || th["title"] != "" || !strings.HasSuffix(th["createdAt"].(string), "Z") {
			t.Errorf("thread = %v; want Mastra's thread shape", th)
		}
		for _, q := range []string{
			"orderBy[field]=createdAt&orderBy[direction]=ASC",
			"orderBy=" + url.QueryEscape(`{"field":"createdAt","direction":"ASC"}`),
			"orderBy=createdAt&sortDirection=ASC",
		} {
			r = do(t, "GET", api+"/threads?resourceId=alice&"+q, "")
			if ids := threadIDs(t, r); strings.Join(ids, ",") != "t-old,t-new" {
				t.Errorf("%s: order = %v; want oldest first", q, ids)
			}
		}
		r = do(t, "GET", api+"/threads?resourceId=alice&perPage=1&page=0", "")
		if ids := threadIDs(t, r); len(ids) != 1 || ids[0] != "t-new" || r.body["hasMore"] != true || r.body["perPage"] != 1.0 {
			t.Errorf("page 0 of 1 = %s; want t-new and more", r.raw)
		}
		// 0.x clients send lowercase resourceid.
		r = do(t, "GET", api+"/threads?resourceid=bob", "")
		if ids := threadIDs(t, r); len(ids) != 1 || ids[0] != "t-bob" {
			t.Errorf("resourceid=bob = %v; want t-bob", ids)
		}
		// Even without auth, no resourceId lists nothing: a shared server
		// must not list every user's threads to anyone (F5).
		r = do(t, "GET", api+"/threads", "")
		if r.status != 400 || !strings.Contains(r.raw, "resourceId") || strings.Contains(r.raw, "t-bob") {
			t.Errorf("list without resourceId (auth off) = %d %s; want 400 naming resourceId", r.status, r.raw)
		}

		// Create, with and without an id; metadata filter.
		r = do(t, "POST", api+"/threads?agentId=assistant", `{"resourceId":"alice","title":"Plans","metadata":{"topic":"trip","n":1},"threadId":"t-made","agentId":"assistant"}`, "Content-Type", jsonCT)
		if r.status != 200 || r.body["id"] != "t-made" || r.body["title"] != "Plans" || r.body["resourceId"] != "alice" ||
			r.body["metadata"].(map[string]any)["topic"] != "trip" {
			t.Fatalf("create = %d %s", r.status, r.raw)
		}
		created := r.body
		r = do(t, "POST", api+"/threads?agentId=assistant", `{"resourceId":"alice"}`, "Content-Type", jsonCT)
		if r.status != 200 || len(r.body["id"].(string)) != 36 || r.body["title"] != "" {
			t.Errorf("create without id = %d %s; want a uuid and an empty title", r.status, r.raw)
		}
		r = do(t, "GET", api+"/threads?resourceId=alice&metadata="+url.QueryEscape(`{"topic":"trip"}`), "")
		if ids := threadIDs(t, r); len(ids) != 1 || ids[0] != "t-made" {
			t.Errorf("metadata filter = %v; want t-made", ids)
		}

		// Get.
		r = do(t, "GET", api+"/threads/t-made?agentId=assistant", "")
		if r.status != 200 || r.body["id"] != "t-made" || r.body["createdAt"] != created["createdAt"] {
			t.Errorf("get = %d %s", r.status, r.raw)
		}
		for _, u := range []string{"/threads/nope", "/threads/t-bob?resourceId=alice", "/threads/nope/messages", "/threads/t-bob/messages?resourceId=alice"} {
			r = do(t, "GET", api+u, "")
			if r.status != 404 || r.body["error"] != "Thread not found" || strings.Contains(r.raw, "secret") {
				t.Errorf("GET %s = %d %s; want 404 Thread not found", u, r.status, r.raw)
			}
		}

		// Messages: oldest first, 40 a page, uiMessages null.
		r = do(t, "GET", api+"/threads/t-new/messages?agentId=assistant", "")
		if r.status != 200 || r.body["total"] != 5.0 || r.body["perPage"] != 40.0 || r.body["page"] != 0.0 || r.body["hasMore"] != false {
			t.Fatalf("messages = %d %s", r.status, r.raw)
		}
		if v, ok := r.body["uiMessages"]; !ok || v != nil {
			t.Errorf("uiMessages = %v (present %v); want null", v, ok)
		}
		msgs := r.body["messages"].([]any)
		m0 := msgs[0].(map[string]any)
		if m0["content"].(map[string]any)["content"] != "q1" || m0["content"].(map[string]any)["format"] != 2.0 || m0["threadId"] != "t-new" || m0["resourceId"] != "alice" {
			t.Errorf("first message = %v; want q1 in v2 content", m0)
		}
		r = do(t, "GET", api+"/threads/t-new/messages?perPage=2&page=0&orderBy="+url.QueryEscape(`{"field":"createdAt","direction":"DESC"}`), "")
		if ms := r.body["messages"].([]any); len(ms) != 2 || ms[0].(map[string]any)["content"].(map[string]any)["content"] != "q3" || r.body["hasMore"] != true {
			t.Errorf("messages DESC = %s; want q3 first, 2 of 5", r.raw)
		}

		// Update: title, metadata replaced, updatedAt bumped, then ordered by it.
		time.Sleep(5 * time.Millisecond)
		r = do(t, "PATCH", api+"/threads/t-old?agentId=assistant", `{"title":"Renamed","metadata":{"b":2}}`, "Content-Type", jsonCT)
		if r.status != 200 || r.body["title"] != "Renamed" || r.body["updatedAt"] == r.body["createdAt"] {
			t.Fatalf("update = %d %s", r.status, r.raw)
		}
		r = do(t, "PATCH", api+"/threads/t-made?agentId=assistant", `{"metadata":{"b":2}}`, "Content-Type", jsonCT)
		if md := r.body["metadata"].(map[string]any); len(md) != 1 || md["b"] != 2.0 || r.body["title"] != "Plans" {
			t.Errorf("metadata after update = %v; want {b:2} only, title kept", r.raw)
		}
		r = do(t, "GET", api+"/threads?resourceId=alice&orderBy[field]=updatedAt&orderBy[direction]=DESC", "")
		if ids := threadIDs(t, r); ids[0] != "t-made" || ids[1] != "t-old" {
			t.Errorf("by updatedAt = %v; want t-made, t-old first", ids)
		}
		// Without auth, resourceId in the body moves the thread (Mastra's update).
		r = do(t, "PATCH", api+"/threads/t-made?agentId=assistant", `{"resourceId":"carol"}`, "Content-Type", jsonCT)
		if r.status != 200 || r.body["resourceId"] != "carol" {
			t.Errorf("transfer = %d %s; want resource carol", r.status, r.raw)
		}

		// Delete.
		r = do(t, "DELETE", api+"/threads/t-old?agentId=assistant&resourceId=bob", "")
		if r.status != 404 {
			t.Errorf("delete naming another resource = %d; want 404", r.status)
		}
		r = do(t, "DELETE", api+"/threads/t-old?agentId=assistant", "")
		if r.status != 200 || r.body["result"] != "Thread deleted" {
			t.Errorf("delete = %d %s", r.status, r.raw)
		}
		if r = do(t, "GET", api+"/threads/t-old", ""); r.status != 404 {
			t.Errorf("after delete = %d; want 404", r.status)
		}

		// Status and config.
		r = do(t, "GET", api+"/status?agentId=assistant", "")
		if r.status != 200 || r.body["result"] != true || r.body["memoryType"] != "local" {
			t.Errorf("status = %d %s", r.status, r.raw)
		}
		r = do(t, "GET", api+"/config?agentId=assistant", "")
		if c, ok := r.body["config"].(map[string]any); r.status != 200 || !ok || c["lastMessages"] != 10.0 || c["semanticRecall"] != false ||
			c["workingMemory"].(map[string]any)["enabled"] != false {
			t.Errorf("config = %d %s", r.status, r.raw)
		}

		// requestContext on GETs: JSON or base64 JSON; anything else is a 400.
		b64 := base64.StdEncoding.EncodeToString([]byte(`{"tenant":"x"}`))
		for _, q := range []string{url.QueryEscape(b64), url.QueryEscape(`{"tenant":"x"}`)} {
			if r = do(t, "GET", api+"/threads?resourceId=alice&requestContext="+q, ""); r.status != 200 {
				t.Errorf("requestContext=%s = %d %s", q, r.status, r.raw)
			}
		}
	})
}

func TestSaveAndDeleteMessageRoutes(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		api := memoryServer(t, store, nil) + "/api/memory"
		seed(t, store, "alice", "t1", "hello")
		r := do(t, "POST", api+"/save-messages?agentId=assistant", `{"messages":[
			{"id":"m-a","role":"user","content":"plain text","threadId":"t1","createdAt":"2026-05-01T10:00:00.000Z"},
			{"id":"m-b","role":"assistant","threadId":"t1","createdAt":1777629600000,
			 "content":{"format":2,"parts":[{"type":"text","text":"v2 text"}],"content":"v2 text","metadata":{"k":"v"}}}]}`, "Content-Type", jsonCT)
		if r.status != 200 {
			t.Fatalf("save = %d %s", r.status, r.raw)
		}
		saved := r.body["messages"].([]any)
		if len(saved) != 2 || saved[0].(map[string]any)["resourceId"] != "alice" {
			t.Errorf("saved = %s; want both, in alice's resource", r.raw)
		}
		r = do(t, "GET", api+"/threads/t1/messages?agentId=assistant", "")
		if r.body["total"] != 3.0 || !strings.Contains(r.raw, `"metadata":{"k":"v"}`) || !strings.Contains(r.raw, "plain text") {
			t.Errorf("messages after save = %s; want 3 with the v2 content kept whole", r.raw)
		}
		r = do(t, "POST", api+"/messages/delete?agentId=assistant", `{"messageIds":[{"id":"m-a"},{"id":"m-b"}]}`, "Content-Type", jsonCT)
		if r.status != 200 || r.body["success"] != true || r.body["message"] != "2 message(s) deleted" {
			t.Errorf("delete = %d %s", r.status, r.raw)
		}
		r = do(t, "POST", api+"/messages/delete?agentId=assistant", `{"messageIds":"t1-m00"}`, "Content-Type", jsonCT)
		if r.body["message"] != "1 message(s) deleted" {
			t.Errorf("delete one = %s", r.raw)
		}
		if r = do(t, "GET", api+"/threads/t1/messages?agentId=assistant", ""); r.body["total"] != 0.0 {
			t.Errorf("after deletes = %s; want none left", r.raw)
		}
	})
}

func TestMemoryRouteMistakes(t *testing.T) {
	store := openSQLite(t)
	base := memoryServer(t, store, nil)
	api := base + "/api/memory"
	seed(t, store, "alice", "t1", "hello")
	ct := []string{"Content-Type", jsonCT}
	tests := []struct {
		name, method, path, body string
		status                   int
		field                    string // named in issues, or in the error
	}{
		{"unknown agent on list", "GET", "/threads?agentId=ghost", "", 404, "ghost"},
		{"unknown agent on get", "GET", "/threads/t1?agentId=ghost", "", 404, "ghost"},
		{"unknown agent on messages", "GET", "/threads/t1/messages?agentId=ghost", "", 404, "ghost"},
		{"unknown agent on create", "POST", "/threads?agentId=ghost", `{"resourceId":"alice"}`, 404, "ghost"},
		{"unknown agent on update", "PATCH", "/threads/t1?agentId=ghost", `{}`, 404, "ghost"},
		{"unknown agent on delete", "DELETE", "/threads/t1?agentId=ghost", "", 404, "ghost"},
		{"unknown agent on status", "GET", "/status?agentId=ghost", "", 404, "ghost"},
		{"unknown agent on config", "GET", "/config?agentId=ghost", "", 404, "ghost"},
		{"status without agent", "GET", "/status", "", 400, "agentId"},
		{"config without agent", "GET", "/config", "", 400, "agentId"},
		{"create without agent", "POST", "/threads", `{"resourceId":"alice"}`, 400, "agentId"},
		{"update without agent", "PATCH", "/threads/t1", `{}`, 400, "agentId"},
		{"delete without agent", "DELETE", "/threads/t1", "", 400, "agentId"},
		{"create without resource", "POST", "/threads?agentId=assistant", `{"title":"x"}`, 400, "resourceId"},
		{"create bad JSON", "POST", "/threads?agentId=assistant", `{"resourceId":`, 400, "body"},
		{"create bad title", "POST", "/threads?agentId=assistant", `{"resourceId":"a","title":5}`, 400, "title"},
		{"create taken id", "POST", "/threads?agentId=assistant", `{"resourceId":"bob","threadId":"t1"}`, 409, "exists"},
		{"update bad metadata", "PATCH", "/threads/t1?agentId=assistant", `{"metadata":[1]}`, 400, "metadata"},
		{"update missing thread", "PATCH", "/threads/nope?agentId=assistant", `{"title":"x"}`, 404, "Thread not found"},
		{"bad page", "GET", "/threads?resourceId=a&page=-1", "", 400, "page"},
		{"page overflow", "GET", "/threads?resourceId=a&page=9223372036854775807&perPage=2", "", 400, "page"},
		{"page overflow on messages", "GET", "/threads/t1/messages?page=4611686018427387904&perPage=2", "", 400, "page"},
		{"offset past the bound", "GET", "/threads?resourceId=a&page=10000001&perPage=1", "", 400, "page"},
		{"bad perPage", "GET", "/threads/t1/messages?perPage=x", "", 400, "perPage"},
		{"bad order field", "GET", "/threads?resourceId=a&orderBy[field]=title", "", 400, "orderBy"},
		{"bad order direction", "GET", "/threads?resourceId=a&orderBy=createdAt&sortDirection=UP", "", 400, "orderBy"},
		{"save without agent", "POST", "/save-messages", `{"messages":[]}`, 400, "agentId"},
		{"save nothing", "POST", "/save-messages?agentId=assistant", `{"messages":[]}`, 400, "messages"},
		{"save without thread", "POST", "/save-messages?agentId=assistant", `{"messages":[{"role":"user","content":"x"}]}`, 400, "messages[0].threadId"},
		{"save bad role", "POST", "/save-messages?agentId=assistant", `{"messages":[{"role":"bot","content":"x","threadId":"t1"}]}`, 400, "messages[0].role"},
		{"save bad content", "POST", "/save-messages?agentId=assistant", `{"messages":[{"role":"user","content":{"parts":[]},"threadId":"t1"}]}`, 400, "messages[0].content"},
		{"save bad date", "POST", "/save-messages?agentId=assistant", `{"messages":[{"role":"user","content":"x","threadId":"t1","createdAt":"yesterday"}]}`, 400, "messages[0].createdAt"},
		{"save into a missing thread", "POST", "/save-messages?agentId=assistant", `{"messages":[{"role":"user","content":"x","threadId":"nope"}]}`, 404, "Thread not found"},
		{"delete messages without ids", "POST", "/messages/delete?agentId=assistant", `{}`, 400, "messageIds"},
		{"delete messages bad ids", "POST", "/messages/delete?agentId=assistant", `{"messageIds":[1,2]}`, 400, "messageIds"},
		{"bad order JSON", "GET", "/threads/t1/messages?orderBy=%7Bx", "", 400, "orderBy"},
		{"messages by updatedAt", "GET", "/threads/t1/messages?orderBy[field]=updatedAt", "", 400, "orderBy"},
		{"bad metadata filter", "GET", "/threads?resourceId=a&metadata=nope", "", 400, "metadata"},
		{"bad requestContext", "GET", "/threads?requestContext=not-json", "", 400, "requestContext"},
		{"bad requestContext base64", "GET", "/threads?requestContext=bm90IGpzb24", "", 400, "requestContext"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.body != "" {
				h = ct
			}
			r := do(t, tc.method, api+tc.path, tc.body, h...)
			if r.status != tc.status || r.body["error"] == nil || !strings.Contains(r.raw, tc.field) {
				t.Errorf("%s %s = %d %s; want %d naming %q", tc.method, tc.path, r.status, r.raw, tc.status, tc.field)
			}
		})
	}
	r := do(t, "POST", api+"/threads?agentId=assistant", `{"resourceId":"a"}`, "Content-Type", "text/plain")
	if r.status != 415 {
		t.Errorf("create as text/plain = %d; want 415", r.status)
	}
	r = do(t, "PUT", api+"/threads/t1", "")
	if r.status != 405 {
		t.Errorf("PUT thread = %d; want 405", r.status)
	}
}
