package ops_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// Two instances on one Postgres: what instance B writes to a thread (an
// edit of a message in place through save-messages, a turn) is in the
// history instance A sends the model on its next turn, although A read
// (and memoised) the thread just before.
func TestHistoryAcrossInstances(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	db := pgtest.NewDatabase(t)
	toml := "[providers.openai]\nbase_url = \"" + fake.URL + "\"\napi_key = \"sk-test\"\nmax_retries = 0\n[agents.a]\nmodel = \"openai/m1\"\n"
	a, b := startOn(t, toml, db), startOn(t, toml, db)
	turn := func(s *server, text string) string {
		t.Helper()
		r := do(t, "POST", s.url+"/api/agents/a/generate", `{"messages":`+strconv.Quote(text)+`,"memory":{"thread":"shared","resource":"r"}}`)
		if r.status != 200 {
			t.Fatalf("turn %q: %d %s", text, r.status, r.body)
		}
		reqs := fake.Requests()
		return reqs[len(reqs)-1].Dump()
	}
	turn(a, "first question")
	turn(a, "second question") // A has read the thread: its memo holds it

	// B edits the first question in place (same id and time).
	var id string
	r := do(t, "GET", b.url+"/api/memory/threads/shared/messages?agentId=a&resourceId=r", "")
	if r.status != 200 {
		t.Fatalf("messages through B: %d %s", r.status, r.body)
	}
	for _, m := range r.json(t)["messages"].([]any) {
		if strings.Contains(mustJSON(t, m), `"first question"`) && m.(map[string]any)["role"] == "user" {
			id = m.(map[string]any)["id"].(string)
		}
	}
	if id == "" {
		t.Fatalf("the first question is not among the thread's messages: %s", r.body)
	}
	r = do(t, "POST", b.url+"/api/memory/save-messages?agentId=a",
		`{"messages":[{"id":"`+id+`","role":"user","content":"first question, edited on b","threadId":"shared","resourceId":"r"}]}`)
	if r.status != 200 {
		t.Fatalf("save-messages through B: %d %s", r.status, r.body)
	}
	turn(b, "third question")

	got := turn(a, "fourth question")
	for _, want := range []string{"user:first question, edited on b", "user:second question", "user:third question", "user:fourth question"} {
		if !strings.Contains(got, want) {
			t.Errorf("A's next turn sent the model %q; want %q in it", got, want)
		}
	}
	if strings.Contains(got, "user:first question |") {
		t.Errorf("A's next turn sent the model the first question as it was before B edited it: %q", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A message edited by plain SQL (no route of any instance saw it) between
// two turns is in the history the next turn sends the model, although
// the instance remembered the thread, and the row it edited was one the
// previous turn saved (remembered as written, never read).
func TestHistorySeesPlainSQL(t *testing.T) {
	fake := llmtest.NewServer(t, script)
	db := pgtest.NewDatabase(t)
	s := startOn(t, "[providers.openai]\nbase_url = \""+fake.URL+"\"\napi_key = \"sk-test\"\nmax_retries = 0\n[agents.a]\nmodel = \"openai/m1\"\n", db)
	turn := func(text string) string {
		t.Helper()
		r := do(t, "POST", s.url+"/api/agents/a/generate", `{"messages":`+strconv.Quote(text)+`,"memory":{"thread":"plain","resource":"r"}}`)
		if r.status != 200 {
			t.Fatalf("turn %q: %d %s", text, r.status, r.body)
		}
		reqs := fake.Requests()
		return reqs[len(reqs)-1].Dump()
	}
	turn("first question")
	turn("second question")

	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tag, err := conn.Exec(context.Background(), `UPDATE mastra_messages SET content = replace(content, 'second question', 'second question, edited by sql')
		WHERE thread_id = 'plain' AND role = 'user' AND content LIKE '%second question%'`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("edit by SQL: %v, %v rows", err, tag.RowsAffected())
	}
	got := turn("third question")
	for _, want := range []string{"user:first question", "user:second question, edited by sql", "user:third question"} {
		if !strings.Contains(got, want) {
			t.Errorf("the next turn sent the model %q; want %q in it", got, want)
		}
	}
	if strings.Contains(got, "user:second question |") {
		t.Errorf("the next turn sent the model the question as it was before the edit: %q", got)
	}
}
