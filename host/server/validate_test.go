package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/host/memory"
)

// F9/F10: client input the database cannot hold (NUL, over-long ids, dates
// out of range, invalid UTF-8) is a 400 naming the field, before any model
// call, on both stores.
func TestBadInputIsRefusedAtTheEdge(t *testing.T) {
	long := strings.Repeat("x", 3000)
	type tc struct {
		name, method, path, body string
		field                    string
	}
	cases := []tc{
		{"root threadId NUL", "POST", "/agent/generate", `{"message":"hi","agentId":"gpt","threadId":"bad\u0000nul"}`, "threadId"},
		{"root threadId long", "POST", "/agent/generate", `{"message":"hi","agentId":"gpt","threadId":"` + long + `"}`, "threadId"},
		{"root threadId slash", "POST", "/agent/generate", `{"message":"hi","agentId":"gpt","threadId":"bad/slash"}`, "threadId"},
		{"root stream threadId NUL", "POST", "/agent/stream", `{"message":"hi","agentId":"gpt","threadId":"a\u0000"}`, "threadId"},
		{"root stream threadId slash", "POST", "/agent/stream", `{"message":"hi","agentId":"gpt","threadId":"a/b"}`, "threadId"},
		{"root resourceId NUL", "POST", "/agent/generate", `{"message":"hi","agentId":"gpt","resourceId":"r\u0000"}`, "resourceId"},
		{"root resourceId long", "POST", "/agent/generate", `{"message":"hi","agentId":"gpt","resourceId":"` + long + `"}`, "resourceId"},
		{"root message NUL", "POST", "/agent/generate", `{"message":"h\u0000i","agentId":"gpt"}`, "message"},
		{"root agentId NUL", "POST", "/agent/generate", `{"message":"hi","agentId":"g\u0000"}`, "agentId"},
		{"api thread NUL", "POST", "/api/agents/gpt/generate", `{"messages":"hi","memory":{"thread":"t\u0000","resource":"r"}}`, "memory.thread"},
		{"api thread long", "POST", "/api/agents/gpt/stream", `{"messages":"hi","memory":{"thread":{"id":"` + long + `"},"resource":"r"}}`, "memory.thread"},
		{"api thread slash", "POST", "/api/agents/gpt/generate", `{"messages":"hi","memory":{"thread":"a/b","resource":"r"}}`, "memory.thread"},
		{"api resource NUL", "POST", "/api/agents/gpt/generate", `{"messages":"hi","memory":{"thread":"t","resource":"r\u0000"}}`, "memory.resource"},
		{"api message NUL", "POST", "/api/agents/gpt/generate", `{"messages":[{"role":"user","content":[{"type":"text","text":"a\u0000"}]}]}`, "messages"},
		{"api runId NUL", "POST", "/api/agents/gpt/generate", `{"messages":"hi","runId":"r\u0000"}`, "runId"},
		{"path threadId NUL", "GET", "/threads/x%00y?resourceId=a", "", "threadId"},
		{"path threadId not UTF-8", "GET", "/threads/x%FFy?resourceId=a", "", "threadId"},
		{"path threadId long", "GET", "/api/memory/threads/" + long, "", "threadId"},
		{"path threadId NUL delete", "DELETE", "/threads/x%00y?resourceId=a", "", "threadId"},
		{"path agentId NUL", "GET", "/api/agents/a%00b", "", "agentId"},
		{"query resourceId NUL", "GET", "/api/memory/threads?resourceId=a%00", "", "resourceId"},
		{"query resourceId long", "GET", "/threads?resourceId=" + long, "", "resourceId"},
		{"query agentId NUL", "GET", "/api/memory/threads?resourceId=a&agentId=a%00", "", "agentId"},
		{"metadata filter NUL", "GET", "/api/memory/threads?resourceId=a&metadata=" + url.QueryEscape(`{"k":"a\u0000"}`), "", "metadata"},
		{"create id NUL", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a","threadId":"t\u0000"}`, "threadId"},
		{"create id long", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a","threadId":"` + long + `"}`, "threadId"},
		{"create id slash", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a","threadId":"bad-slash/x"}`, "threadId"},
		{"create resource NUL", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a\u0000"}`, "resourceId"},
		{"create title NUL", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a","title":"t\u0000"}`, "title"},
		{"create metadata value NUL", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a","metadata":{"k":"a\u0000b"}}`, "metadata"},
		{"create metadata key NUL", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a","metadata":{"k\u0000":1}}`, "metadata"},
		{"create metadata nested NUL", "POST", "/api/memory/threads?agentId=gpt", `{"resourceId":"a","metadata":{"k":[{"x":"\u0000"}]}}`, "metadata"},
		{"update title NUL", "PATCH", "/api/memory/threads/t1?agentId=gpt", `{"title":"\u0000"}`, "title"},
		{"update metadata NUL", "PATCH", "/api/memory/threads/t1?agentId=gpt", `{"metadata":{"k":"\u0000"}}`, "metadata"},
		{"save id NUL", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"id":"m\u0000","role":"user","content":"x","threadId":"t1"}]}`, "messages[0].id"},
		{"save id long", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"id":"` + long + `","role":"user","content":"x","threadId":"t1"}]}`, "messages[0].id"},
		{"save thread NUL", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":"x","threadId":"t\u0000"}]}`, "messages[0].threadId"},
		{"save type NUL", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":"x","threadId":"t1","type":"v\u0000"}]}`, "messages[0].type"},
		{"save resource NUL", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":"x","threadId":"t1","resourceId":"r\u0000"}]}`, "messages[0].resourceId"},
		{"save text NUL", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":"x\u0000","threadId":"t1"}]}`, "messages[0].content"},
		{"save parts NUL", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":{"format":2,"parts":[{"type":"text","text":"\u0000"}]},"threadId":"t1"}]}`, "messages[0].content"},
		{"save createdAt huge", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":"x","threadId":"t1","createdAt":1e300}]}`, "messages[0].createdAt"},
		{"save createdAt negative", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":"x","threadId":"t1","createdAt":-1e300}]}`, "messages[0].createdAt"},
		{"save createdAt year 0", "POST", "/api/memory/save-messages?agentId=gpt", `{"messages":[{"role":"user","content":"x","threadId":"t1","createdAt":"0000-01-01T00:00:00Z"}]}`, "messages[0].createdAt"},
		{"delete id NUL", "POST", "/api/memory/messages/delete?agentId=gpt", `{"messageIds":["ok","m\u0000"]}`, "messageIds[1]"},
		{"delete id long", "POST", "/api/memory/messages/delete?agentId=gpt", `{"messageIds":[{"id":"` + long + `"}]}`, "messageIds[0]"},
	}
	bothStores(t, func(t *testing.T, store *memory.Store) {
		fake := upstream(t, hello)
		base := agentServer(t, store, fake).URL
		seed(t, store, "anon", "t1", "hello")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var h []string
				if c.body != "" {
					h = []string{"Content-Type", jsonCT}
				}
				r := do(t, c.method, base+c.path, c.body, h...)
				if r.status != 400 || !hasIssue(r, c.field) {
					t.Errorf("%s %.80s = %d %.300s; want 400 naming %q", c.method, c.path, r.status, r.raw, c.field)
				}
				if len(r.raw) > 1000 {
					t.Errorf("a %d-byte answer: the input is echoed back", len(r.raw))
				}
			})
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("the model was called %d times for refused input; want never", n)
		}
		// The thread the bad updates aimed at is intact and still
		// updatable (F10).
		r := do(t, "PATCH", base+"/api/memory/threads/t1?agentId=gpt", `{"title":"fine"}`, "Content-Type", jsonCT)
		if r.status != 200 || r.body["title"] != "fine" {
			t.Errorf("title update after refused ones = %d %s; want 200", r.status, r.raw)
		}
		if m, err := store.ListMessages(t.Context(), memory.MessageQuery{ThreadID: "t1", ResourceID: "anon"}); err != nil || m.Total != 1 {
			t.Errorf("t1 has %d messages (%v); want its 1 seeded message", m.Total, err)
		}
	})
}

func hasIssue(r response, field string) bool {
	issues, _ := r.body["issues"].([]any)
	for _, is := range issues {
		if m, ok := is.(map[string]any); ok && m["field"] == field {
			return true
		}
	}
	return false
}

// F10: metadata round-trips exactly (unicode, nesting, escapes, numbers),
// through create, read, update and list, and the thread stays updatable.
func TestMetadataRoundTrips(t *testing.T) {
	meta := `{"emoji":"😀 é ü ß 中文","nested":{"a":[1,2.5,"x",null,true,{"deep":"ñ"}],"empty":{}},` +
		`"quote":"\"<>&'","slash":"back\\slash \\n \\u00e9 \\u0000","lit\\u0000key":"x","big":12345678901,"neg":-0.5,"line":"a\nb\tc"}`
	var want map[string]any
	if err := json.Unmarshal([]byte(meta), &want); err != nil {
		t.Fatal(err)
	}
	bothStores(t, func(t *testing.T, store *memory.Store) {
		base := memoryServer(t, store, nil)
		api := base + "/api/memory/threads"
		r := do(t, "POST", api+"?agentId=assistant", `{"resourceId":"alice","threadId":"t-meta","title":"Ünïcødé 😀","metadata":`+meta+`}`, "Content-Type", jsonCT)
		if r.status != 200 || !reflect.DeepEqual(r.body["metadata"], want) || r.body["title"] != "Ünïcødé 😀" {
			t.Fatalf("create = %d %s; want the metadata as sent", r.status, r.raw)
		}
		r = do(t, "GET", api+"/t-meta?resourceId=alice", "")
		if !reflect.DeepEqual(r.body["metadata"], want) {
			t.Errorf("read back = %v; want %v", r.body["metadata"], want)
		}
		r = do(t, "PATCH", api+"/t-meta?agentId=assistant", `{"metadata":`+meta+`}`, "Content-Type", jsonCT)
		if r.status != 200 || !reflect.DeepEqual(r.body["metadata"], want) {
			t.Errorf("update = %d %s", r.status, r.raw)
		}
		r = do(t, "PATCH", api+"/t-meta?agentId=assistant", `{"title":"again"}`, "Content-Type", jsonCT)
		if r.status != 200 || !reflect.DeepEqual(r.body["metadata"], want) {
			t.Errorf("title-only update = %d %s; want 200 with the metadata unchanged", r.status, r.raw)
		}
		r = do(t, "GET", api+"?resourceId=alice", "")
		if list := r.body["threads"].([]any); len(list) != 1 || !reflect.DeepEqual(list[0].(map[string]any)["metadata"], want) {
			t.Errorf("listed metadata = %s", r.raw)
		}
	})
}

// logBuffer collects log lines, safe for concurrent handlers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(l.b.String(), "\n")
}

// F9: a 1 MiB id reaches no log line whole, at any level.
func TestHugeInputIsNotLogged(t *testing.T) {
	store := openSQLite(t)
	logs := &logBuffer{}
	cfg := testConfig()
	cfg.BodyLimit = 4 << 20
	_, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: echoAgents(t, store),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	huge := strings.Repeat("A", 1<<20)
	do(t, "POST", ts.URL+"/agent/generate", `{"message":"hi","threadId":"`+huge+`"}`, "Content-Type", jsonCT)
	do(t, "GET", ts.URL+"/threads/"+huge+"?resourceId="+huge, "")
	do(t, "GET", ts.URL+"/"+huge, "")
	do(t, "POST", ts.URL+"/api/agents/"+huge+"/generate", `{"messages":"hi"}`, "Content-Type", jsonCT)
	n := 0
	for _, l := range logs.lines() {
		n++
		if len(l) > 4096 {
			t.Errorf("a %d-byte log line: %.200s…", len(l), l)
		}
	}
	if n < 2 {
		t.Errorf("%d log lines; want the requests logged", n)
	}
}
