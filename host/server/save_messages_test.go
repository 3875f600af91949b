package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// bulkBody is a save-messages body of n messages into thread, one second
// apart, with texts "text 0" … "text n-1".
func bulkBody(n int, thread string) string {
	base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	msgs := make([]map[string]any, n)
	for i := range msgs {
		msgs[i] = map[string]any{"id": fmt.Sprintf("%s-%05d", thread, i), "role": "user", "content": fmt.Sprintf("text %d", i),
			"threadId": thread, "createdAt": base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)}
	}
	b, _ := json.Marshal(map[string]any{"messages": msgs})
	return string(b)
}

// N1: save-messages takes at most memory.max_save_messages (1000 here)
// messages. One more is a 400 naming the cap and the field, and nothing
// of it is stored; a batch of exactly the cap is stored and reads back in
// order.
func TestSaveMessagesCap(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		as := asTenant(t, memoryServer(t, store, withAuth))
		for _, th := range []struct{ tok, id string }{{bobToken, "tb-bulk"}, {aliceToken, "ta-bulk"}} {
			if r := as(th.tok, "POST", "/api/memory/threads?agentId=assistant", `{"threadId":"`+th.id+`"}`); r.status != 200 {
				t.Fatalf("create %s = %d %s", th.id, r.status, r.raw)
			}
		}

		r := as(bobToken, "POST", "/api/memory/save-messages?agentId=assistant", bulkBody(1001, "tb-bulk"))
		issues, _ := r.body["issues"].([]any)
		if r.status != 400 || len(issues) != 1 {
			t.Fatalf("save of 1001 messages = %d %.300s; want 400 with one issue", r.status, r.raw)
		}
		issue := issues[0].(map[string]any)
		if issue["field"] != "messages" || !strings.Contains(issue["message"].(string), "1000") {
			t.Errorf("issue = %v; want field messages and the cap 1000", issue)
		}
		r = as(bobToken, "GET", "/api/memory/threads/tb-bulk/messages?agentId=assistant", "")
		if r.status != 200 || r.body["total"] != float64(0) {
			t.Errorf("bob's thread after the refused batch = %d %.300s; want no messages", r.status, r.raw)
		}

		r = as(aliceToken, "POST", "/api/memory/save-messages?agentId=assistant", bulkBody(1000, "ta-bulk"))
		if r.status != 200 {
			t.Fatalf("save of 1000 messages = %d %.300s; want 200", r.status, r.raw)
		}
		r = as(aliceToken, "GET", "/api/memory/threads/ta-bulk/messages?agentId=assistant&perPage=1000", "")
		list, _ := r.body["messages"].([]any)
		if r.status != 200 || len(list) != 1000 {
			t.Fatalf("alice's thread = %d, %d messages; want 1000", r.status, len(list))
		}
		for i, m := range list {
			if id := m.(map[string]any)["id"]; id != fmt.Sprintf("ta-bulk-%05d", i) {
				t.Fatalf("message %d is %v; want the batch's order", i, id)
			}
		}
	})
}

// N1: with a pool of two connections, bob's bulk saves cannot take both.
// The test holds his thread's row lock, so his first save waits holding
// one connection; his next saves are refused at once (429) instead of
// taking the other, and alice's turn still gets one and completes. The
// context's deadline is the failure signal: before the fix, bob's second
// save held the last connection and alice's turn waited behind it.
func TestBulkSavesLeaveConnectionsForOtherTenants(t *testing.T) {
	// A minute: under -race on a loaded 2-core machine three 1000-message
	// bodies take seconds to read and check (CI saw 20 s run out).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.NewDatabase(t)
	store := openStore(t, memory.Options{DatabaseURL: url, MaxOpenConns: 2, BulkWriteConns: 1})
	base := memoryServer(t, store, withAuth)
	send := func(tok, method, path, body string) (response, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			return response{}, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", jsonCT)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return response{}, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		out := response{status: res.StatusCode, header: res.Header, raw: string(b)}
		_ = json.Unmarshal(b, &out.body)
		return out, err
	}
	if r, err := send(bobToken, "POST", "/api/memory/threads?agentId=assistant", `{"threadId":"tb-bulk"}`); err != nil || r.status != 200 {
		t.Fatalf("create = %d %s %v", r.status, r.raw, err)
	}

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `SELECT 1 FROM mastra_threads WHERE id = 'tb-bulk' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	body := bulkBody(1000, "tb-bulk")
	first := make(chan response, 1)
	go func() {
		r, err := send(bobToken, "POST", "/api/memory/save-messages?agentId=assistant", body)
		if err != nil {
			r.raw = err.Error()
		}
		first <- r
	}()
	for waiting := 0; waiting == 0; {
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatalf("bob's first save never waited on the lock: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling for the wait to start
	}

	more := make(chan response, 2)
	for range 2 {
		go func() {
			r, err := send(bobToken, "POST", "/api/memory/save-messages?agentId=assistant", body)
			if err != nil {
				r.raw = err.Error()
			}
			more <- r
		}()
	}
	for range 2 {
		r := <-more
		if r.status != 429 || !strings.Contains(r.raw, "at once") {
			t.Fatalf("bob's save beside his waiting one = %d %.300s; want 429 at once, holding no connection", r.status, r.raw)
		}
	}

	r, err := send(aliceToken, "POST", "/agent/generate", `{"message":"still served?","threadId":"ta"}`)
	if err != nil || r.status != 200 {
		t.Fatalf("alice's turn while bob saves = %d %.300s %v; want 200", r.status, r.raw, err)
	}

	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if r := <-first; r.status != 200 {
		t.Fatalf("bob's first save after the lock = %d %.300s; want 200", r.status, r.raw)
	}
	var stored int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM mastra_messages WHERE thread_id = 'tb-bulk'`).Scan(&stored); err != nil || stored != 1000 {
		t.Errorf("bob's thread holds %d messages (%v); want the first save's 1000", stored, err)
	}
}

// N1: a turn saves every message of its `messages`, so the same cap holds
// there: one more is a 400 naming it, before the model, and no thread is
// created.
func TestTurnMessagesCap(t *testing.T) {
	as := asTenant(t, memoryServer(t, openSQLite(t), withAuth))
	msgs := make([]string, 1001)
	for i := range msgs {
		msgs[i] = fmt.Sprintf("message %d", i)
	}
	b, _ := json.Marshal(map[string]any{"messages": msgs, "memory": map[string]any{"thread": "ta-long", "resource": "res-alice"}})
	r := as(aliceToken, "POST", "/api/agents/assistant/generate", string(b))
	if r.status != 400 || !strings.Contains(r.raw, `"field":"messages"`) || !strings.Contains(r.raw, "at most 1000 messages") {
		t.Errorf("turn of 1001 messages = %d %.300s; want 400 naming messages and the cap", r.status, r.raw)
	}
	if r := as(aliceToken, "GET", "/threads/ta-long", ""); r.status != 404 {
		t.Errorf("thread after the refused turn = %d %.300s; want 404", r.status, r.raw)
	}
}
