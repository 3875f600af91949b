package memory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// testConns is the connection cap of the tests' stores (memory.max_open_conns's default).
const testConns = 10

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachStore runs fn against a fresh, migrated SQLite store and a fresh,
// migrated Postgres store.
func eachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openStore(t, Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openStore(t, Options{DatabaseURL: pgtest.NewDatabase(t)}))
	})
}

func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	ctx := context.Background()
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = testConns
	}
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func userMsg(text string, at time.Time) Message {
	return Message{ID: uuid.NewString(), Role: "user", Content: TextContent(text, at), CreatedAt: at}
}

func assistantMsg(text string, at time.Time) Message {
	return Message{ID: uuid.NewString(), Role: "assistant", Content: TextContent(text, at), CreatedAt: at}
}

func textOf(t *testing.T, m Message) string {
	t.Helper()
	c, err := ParseContent(m.Content)
	if err != nil {
		t.Fatalf("ParseContent(%s): %v", m.Content, err)
	}
	return c.Text()
}

// The store invents no pool size: the configuration's is the only default.
func TestOpenRequiresMaxOpenConns(t *testing.T) {
	_, err := Open(context.Background(), Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")})
	if err == nil || !strings.Contains(err.Error(), "MaxOpenConns = 0: at least 1 is required") {
		t.Errorf("Open without MaxOpenConns = %v; want an error naming it", err)
	}
}

func TestThreadLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		created, err := s.CreateThread(ctx, Thread{ID: "t1", ResourceID: "alice", Title: "Trip", Metadata: map[string]any{"topic": "travel"}})
		if err != nil {
			t.Fatalf("CreateThread: %v", err)
		}
		if created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
			t.Errorf("timestamps = %v / %v; want equal and set", created.CreatedAt, created.UpdatedAt)
		}
		if _, err := s.CreateThread(ctx, Thread{ID: "t1", ResourceID: "bob"}); !errors.Is(err, ErrConflict) {
			t.Errorf("second CreateThread err = %v; want ErrConflict", err)
		}

		got, err := s.Thread(ctx, "alice", "t1")
		if err != nil || got.Title != "Trip" || got.Metadata["topic"] != "travel" {
			t.Fatalf("Thread = %+v, %v; want title Trip with metadata", got, err)
		}
		if _, err := s.Thread(ctx, "bob", "t1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Thread as bob err = %v; want ErrNotFound", err)
		}
		if _, err := s.Thread(ctx, "alice", "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Thread(nope) err = %v; want ErrNotFound", err)
		}

		title := "Trip to Oslo"
		time.Sleep(2 * time.Millisecond)
		upd, err := s.UpdateThread(ctx, "alice", "t1", ThreadUpdate{Title: &title, Metadata: map[string]any{"k": "v"}})
		if err != nil {
			t.Fatalf("UpdateThread: %v", err)
		}
		if upd.Title != title || upd.Metadata["topic"] != nil || upd.Metadata["k"] != "v" || !upd.UpdatedAt.After(created.UpdatedAt) {
			t.Errorf("updated = %+v; want new title, replaced metadata, later updatedAt", upd)
		}
		if _, err := s.UpdateThread(ctx, "bob", "t1", ThreadUpdate{Title: &title}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateThread as bob err = %v; want ErrNotFound", err)
		}

		if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "t1", ResourceID: "alice"}, Messages: []Message{userMsg("hi", time.Now())}}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteThread(ctx, "bob", "t1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteThread as bob err = %v; want ErrNotFound", err)
		}
		if err := s.DeleteThread(ctx, "alice", "t1"); err != nil {
			t.Fatalf("DeleteThread: %v", err)
		}
		if _, err := s.Thread(ctx, "alice", "t1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete err = %v; want ErrNotFound", err)
		}
		if msgs, _ := s.LastMessages(ctx, "t1", 10); len(msgs) != 0 {
			t.Errorf("after delete %d messages remain; want 0", len(msgs))
		}
	})
}

func TestListThreads(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		for i := 0; i < 5; i++ {
			at := base.Add(time.Duration(i) * time.Minute)
			if _, err := s.CreateThread(ctx, Thread{ID: fmt.Sprintf("a%d", i), ResourceID: "alice", CreatedAt: at,
				Metadata: map[string]any{"even": i%2 == 0}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateThread(ctx, Thread{ID: "b0", ResourceID: "bob"}); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", PerPage: 2})
		if err != nil {
			t.Fatal(err)
		}
		if ids := threadIDs(page.Threads); ids != "a4,a3" || page.Total != 5 || !page.HasMore {
			t.Errorf("page 0 = %s total %d hasMore %v; want a4,a3 total 5 hasMore", ids, page.Total, page.HasMore)
		}
		page, _ = s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", PerPage: 2, Page: 2})
		if ids := threadIDs(page.Threads); ids != "a0" || page.HasMore {
			t.Errorf("page 2 = %s hasMore %v; want a0, no more", ids, page.HasMore)
		}
		page, _ = s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", Ascending: true, PerPage: -1})
		if ids := threadIDs(page.Threads); ids != "a0,a1,a2,a3,a4" {
			t.Errorf("ascending = %s; want a0..a4", ids)
		}
		page, _ = s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", Metadata: map[string]any{"even": true}})
		if ids := threadIDs(page.Threads); ids != "a4,a2,a0" {
			t.Errorf("metadata filter = %s; want a4,a2,a0", ids)
		}
		page, _ = s.ListThreads(ctx, ThreadQuery{ResourceID: "carol"})
		if len(page.Threads) != 0 || page.Total != 0 {
			t.Errorf("carol's threads = %d; want none", len(page.Threads))
		}
		// Updating a thread moves it first when ordering by updatedAt.
		if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "a1", ResourceID: "alice"}, Messages: []Message{userMsg("x", time.Now())}}); err != nil {
			t.Fatal(err)
		}
		page, _ = s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", OrderBy: "updatedAt", PerPage: 1})
		if ids := threadIDs(page.Threads); ids != "a1" {
			t.Errorf("by updatedAt = %s; want a1", ids)
		}
	})
}

func threadIDs(ts []Thread) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ","
		}
		s += t.ID
	}
	return s
}

func TestAppendTurnAndHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		th := Thread{ID: "conv", ResourceID: "alice"}
		base := time.Now().UTC().Add(-time.Hour)
		for i := 0; i < 5; i++ {
			at := base.Add(time.Duration(i) * time.Second)
			err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{
				userMsg(fmt.Sprintf("q%d", i), at), assistantMsg(fmt.Sprintf("a%d", i), at.Add(time.Millisecond)),
			}})
			if err != nil {
				t.Fatalf("AppendTurn %d: %v", i, err)
			}
		}
		last, err := s.LastMessages(ctx, "conv", 3)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range last {
			got = append(got, textOf(t, m))
		}
		if fmt.Sprint(got) != "[a3 q4 a4]" {
			t.Errorf("LastMessages(3) = %v; want [a3 q4 a4] (oldest first)", got)
		}
		if last[0].ResourceID != "alice" || last[0].ThreadID != "conv" || last[0].Type != "v2" {
			t.Errorf("message = %+v; want thread conv, resource alice, type v2", last[0])
		}

		page, err := s.ListMessages(ctx, MessageQuery{ThreadID: "conv", ResourceID: "alice", PerPage: 4, Page: 1})
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, m := range page.Messages {
			got = append(got, textOf(t, m))
		}
		if fmt.Sprint(got) != "[q2 a2 q3 a3]" || page.Total != 10 || !page.HasMore {
			t.Errorf("ListMessages page 1 = %v total %d more %v; want [q2 a2 q3 a3] 10 true", got, page.Total, page.HasMore)
		}
		if _, err := s.ListMessages(ctx, MessageQuery{ThreadID: "conv", ResourceID: "bob"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("ListMessages as bob err = %v; want ErrNotFound", err)
		}

		// Another resource cannot append to alice's thread, and nothing of
		// the refused turn is written.
		err = s.AppendTurn(ctx, Turn{Thread: Thread{ID: "conv", ResourceID: "mallory"}, Messages: []Message{userMsg("sneaky", time.Now())}})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("AppendTurn by mallory err = %v; want ErrNotFound", err)
		}
		// A turn that fails half-way (duplicate id on the 2nd message) saves nothing.
		dup := last[0].ID
		err = s.AppendTurn(ctx, Turn{Thread: Thread{ID: "fresh", ResourceID: "alice"}, Messages: []Message{
			userMsg("first", time.Now()), {ID: dup, Role: "assistant", Content: TextContent("dup", time.Now())},
		}})
		if err == nil {
			t.Fatal("AppendTurn with a duplicate message id succeeded; want an error")
		}
		if _, err := s.Thread(ctx, "alice", "fresh"); !errors.Is(err, ErrNotFound) {
			t.Errorf("thread of the failed turn exists (err %v); want nothing saved", err)
		}
		page, _ = s.ListMessages(ctx, MessageQuery{ThreadID: "conv", ResourceID: "alice", PerPage: -1})
		if page.Total != 10 {
			t.Errorf("conv has %d messages; want 10", page.Total)
		}
	})
}

func TestConcurrentTurnsOnOneThread(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				now := time.Now()
				errs <- s.AppendTurn(ctx, Turn{Thread: Thread{ID: "busy", ResourceID: "alice"}, Messages: []Message{
					userMsg(fmt.Sprintf("q%d", i), now), assistantMsg(fmt.Sprintf("a%d", i), now.Add(time.Millisecond)),
				}})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("AppendTurn: %v", err)
			}
		}
		page, err := s.ListMessages(ctx, MessageQuery{ThreadID: "busy", ResourceID: "alice", PerPage: -1})
		if err != nil || page.Total != 2*n {
			t.Errorf("messages = %d, %v; want %d", page.Total, err, 2*n)
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		names, err := s.Migrate(context.Background())
		if err != nil || len(names) != 0 {
			t.Errorf("second Migrate = %v, %v; want nothing to do", names, err)
		}
		pending, err := s.PendingMigrations(context.Background())
		if err != nil || len(pending) != 0 {
			t.Errorf("PendingMigrations = %v, %v; want none", pending, err)
		}
	})
}

// A database that Mastra's @mastra/pg created and wrote is used as it is,
// and what we write reads like Mastra's rows.
func TestMastraDatabase(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fixture, err := os.ReadFile(filepath.Join("testdata", "mastra_pg_dump.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(string(fixture)); err != nil {
		t.Fatalf("load Mastra fixture: %v", err)
	}

	s := openStore(t, Options{DatabaseURL: url}) // migrates over Mastra's tables
	th, err := s.Thread(ctx, "pg-u1", "pg-t1")
	if err != nil {
		t.Fatalf("Thread(pg-t1): %v", err)
	}
	if th.Title != "" || th.Metadata != nil || th.CreatedAt.Format(time.RFC3339Nano) != "2026-11-22T10:36:00.27Z" {
		t.Errorf("thread = %+v; want Mastra's row", th)
	}
	msgs, err := s.LastMessages(ctx, "pg-t1", 10)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("LastMessages = %d, %v; want 2", len(msgs), err)
	}
	if got := textOf(t, msgs[0]); got != "what is the weather?" || msgs[0].Role != "user" {
		t.Errorf("first = %s %q; want the user's question", msgs[0].Role, got)
	}
	c, _ := ParseContent(msgs[1].Content)
	if c.Text() != "Hello world" || len(c.Parts) != 3 || c.Parts[0].ToolInvocation == nil ||
		c.Parts[0].ToolInvocation.ToolName != "weather" || string(c.Parts[0].ToolInvocation.Result) != `{"city":"Paris","tempC":21}` {
		t.Errorf("assistant content = %+v; want text and the weather tool invocation", c)
	}
	var stored map[string]any
	_ = json.Unmarshal(msgs[1].Content, &stored)
	if stored["metadata"] == nil {
		t.Errorf("stored content lost Mastra's metadata: %s", msgs[1].Content)
	}

	// Write a turn and read the row the way Mastra's store would.
	at := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "pg-t1", ResourceID: "pg-u1"}, Messages: []Message{userMsg("and tomorrow?", at)}}); err != nil {
		t.Fatal(err)
	}
	var typ, content, resource string
	var createdAt, createdAtZ time.Time
	err = raw.QueryRow(`SELECT type, content, "resourceId", "createdAt", "createdAtZ" FROM mastra_messages WHERE thread_id='pg-t1' ORDER BY "createdAt" DESC LIMIT 1`).
		Scan(&typ, &content, &resource, &createdAt, &createdAtZ)
	if err != nil {
		t.Fatal(err)
	}
	if typ != "v2" || resource != "pg-u1" || !createdAt.Equal(at) || !createdAtZ.Equal(at) {
		t.Errorf("row = %s %s %v %v; want v2 pg-u1 at %v in both columns", typ, resource, createdAt, createdAtZ, at)
	}
	var v2 struct {
		Format int `json:"format"`
		Parts  []struct {
			Type, Text string
		} `json:"parts"`
		Content string `json:"content"`
	}
	if err := json.Unmarshal([]byte(content), &v2); err != nil || v2.Format != 2 || v2.Content != "and tomorrow?" ||
		len(v2.Parts) != 1 || v2.Parts[0].Type != "text" {
		t.Errorf("content = %s; want Mastra v2 JSON", content)
	}
	var updated time.Time
	_ = raw.QueryRow(`SELECT "updatedAtZ" FROM mastra_threads WHERE id='pg-t1'`).Scan(&updated)
	if !updated.After(th.UpdatedAt) {
		t.Errorf("thread updatedAtZ = %v; want bumped after %v", updated, th.UpdatedAt)
	}
}

func TestUnreachableDatabase(t *testing.T) {
	dir := t.TempDir() // no server listens here
	s, err := Open(context.Background(), Options{DatabaseURL: "postgres://postgres@/x?host=" + dir + "&port=5&sslmode=disable&connect_timeout=2", MaxOpenConns: testConns})
	if err != nil {
		t.Fatalf("Open: %v (Open must not need the server)", err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping err = %v; want ErrUnavailable", err)
	}
	if _, err := s.Thread(context.Background(), "a", "b"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Thread err = %v; want ErrUnavailable", err)
	}
}

func TestSaveAndDeleteMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed := userMsg("original", time.Now())
		if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "t", ResourceID: "alice"}, Messages: []Message{seed}}); err != nil {
			t.Fatal(err)
		}
		edited := seed
		edited.ThreadID = "t"
		edited.Content = TextContent("edited", seed.CreatedAt)
		extra := Message{ID: "m-extra", ThreadID: "t", Role: "assistant", Content: TextContent("added", time.Now())}
		saved, err := s.SaveMessages(ctx, "alice", []Message{edited, extra})
		if err != nil || len(saved) != 2 || saved[1].ResourceID != "alice" {
			t.Fatalf("SaveMessages = %+v, %v", saved, err)
		}
		page, _ := s.ListMessages(ctx, MessageQuery{ThreadID: "t", ResourceID: "alice"})
		if page.Total != 2 || textOf(t, page.Messages[0]) != "edited" {
			t.Errorf("after save: %d messages, first %q; want 2 with the edit", page.Total, textOf(t, page.Messages[0]))
		}
		if _, err := s.SaveMessages(ctx, "bob", []Message{{ID: "x", ThreadID: "t", Role: "user", Content: TextContent("sneaky", time.Now())}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob saving into alice's thread: %v; want ErrNotFound", err)
		}
		if _, err := s.SaveMessages(ctx, "", []Message{{ID: "y", ThreadID: "nope", Role: "user", Content: TextContent("x", time.Now())}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("saving into a missing thread: %v; want ErrNotFound", err)
		}
		if n, err := s.DeleteMessages(ctx, "bob", []string{"m-extra"}); err != nil || n != 0 {
			t.Errorf("bob deleting alice's message = %d, %v; want 0", n, err)
		}
		if n, err := s.DeleteMessages(ctx, "alice", []string{"m-extra", "unknown"}); err != nil || n != 1 {
			t.Errorf("DeleteMessages = %d, %v; want 1", n, err)
		}
		page, _ = s.ListMessages(ctx, MessageQuery{ThreadID: "t", ResourceID: "alice"})
		if page.Total != 1 {
			t.Errorf("after delete: %d messages; want 1", page.Total)
		}
	})
}

// seedTenants gives alice thread "ta" and bob thread "tb", each with one
// message of a known id.
func seedTenants(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for _, x := range []struct{ res, thread, msg, text string }{
		{"alice", "ta", "msg-a", "alice private"},
		{"bob", "tb", "msg-b", "bob private"},
	} {
		m := userMsg(x.text, time.Now())
		m.ID = x.msg
		if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: x.thread, ResourceID: x.res}, Messages: []Message{m}}); err != nil {
			t.Fatal(err)
		}
	}
}

// wantUntouched checks that bob's thread still holds his message as written.
func wantUntouched(t *testing.T, s *Store) {
	t.Helper()
	page, err := s.ListMessages(context.Background(), MessageQuery{ThreadID: "tb", ResourceID: "bob", PerPage: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || page.Messages[0].ID != "msg-b" || textOf(t, page.Messages[0]) != "bob private" ||
		page.Messages[0].ResourceID != "bob" {
		t.Errorf("bob's thread = %+v; want msg-b unchanged", page.Messages)
	}
}

// F1: a message id that exists in another resource's thread is a conflict
// for SaveMessages, scoped or not, and nothing of the batch is written.
func TestSaveMessagesCannotTakeAnotherTenantsMessage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seedTenants(t, s)
		for _, caller := range []string{"alice", ""} {
			steal := Message{ID: "msg-b", ThreadID: "ta", Role: "user", Content: TextContent("overwritten by alice", time.Now())}
			fresh := Message{ID: "msg-new", ThreadID: "ta", Role: "user", Content: TextContent("new", time.Now())}
			_, err := s.SaveMessages(ctx, caller, []Message{fresh, steal})
			if !errors.Is(err, ErrMessageConflict) {
				t.Errorf("caller %q: SaveMessages with bob's id err = %v; want ErrMessageConflict", caller, err)
			}
			if strings.Contains(fmt.Sprint(err), "bob") || strings.Contains(fmt.Sprint(err), "tb") {
				t.Errorf("error %q names the owner", err)
			}
			wantUntouched(t, s)
			page, _ := s.ListMessages(ctx, MessageQuery{ThreadID: "ta", ResourceID: "alice", PerPage: -1})
			if page.Total != 1 {
				t.Errorf("alice's thread has %d messages; want 1 (nothing of the refused batch)", page.Total)
			}
		}
		// Her own message she may still edit and move between her threads.
		if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "ta2", ResourceID: "alice"}}); err != nil {
			t.Fatal(err)
		}
		moved := Message{ID: "msg-a", ThreadID: "ta2", Role: "user", Content: TextContent("edited", time.Now())}
		if _, err := s.SaveMessages(ctx, "alice", []Message{moved}); err != nil {
			t.Fatalf("alice editing her own message: %v", err)
		}
		page, _ := s.ListMessages(ctx, MessageQuery{ThreadID: "ta2", ResourceID: "alice", PerPage: -1})
		if page.Total != 1 || textOf(t, page.Messages[0]) != "edited" {
			t.Errorf("ta2 = %+v; want alice's edited message", page.Messages)
		}
	})
}

// The other write paths, each tried by alice against bob's rows.
func TestWritePathsStayInTheirResource(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seedTenants(t, s)

		if n, err := s.DeleteMessages(ctx, "alice", []string{"msg-b"}); err != nil || n != 0 {
			t.Errorf("DeleteMessages of bob's id by alice = %d, %v; want 0", n, err)
		}
		if _, err := s.CreateThread(ctx, Thread{ID: "tb", ResourceID: "alice", Title: "mine now"}); !errors.Is(err, ErrConflict) {
			t.Errorf("CreateThread over bob's id err = %v; want ErrConflict", err)
		}
		title := "hijacked"
		if _, err := s.UpdateThread(ctx, "alice", "tb", ThreadUpdate{Title: &title}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateThread of bob's thread by alice err = %v; want ErrNotFound", err)
		}
		// A scoped caller cannot give its thread away (nor push rows into
		// another resource that way).
		bob := "bob"
		if _, err := s.UpdateThread(ctx, "alice", "ta", ThreadUpdate{ResourceID: &bob}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateThread moving alice's thread to bob err = %v; want refused", err)
		}
		if th, err := s.Thread(ctx, "alice", "ta"); err != nil || th.ResourceID != "alice" {
			t.Errorf("after refused move: %+v, %v; want alice's", th, err)
		}
		if err := s.DeleteThread(ctx, "alice", "tb"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteThread of bob's thread by alice err = %v; want ErrNotFound", err)
		}
		// AppendTurn into bob's thread, and with bob's message id in alice's.
		err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "tb", ResourceID: "alice"}, Messages: []Message{userMsg("sneaky", time.Now())}})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("AppendTurn into bob's thread err = %v; want ErrNotFound", err)
		}
		taken := userMsg("taken id", time.Now())
		taken.ID = "msg-b"
		err = s.AppendTurn(ctx, Turn{Thread: Thread{ID: "ta", ResourceID: "alice"}, Messages: []Message{userMsg("ok", time.Now()), taken}})
		if !errors.Is(err, ErrMessageConflict) {
			t.Errorf("AppendTurn reusing bob's message id err = %v; want ErrMessageConflict", err)
		}
		wantUntouched(t, s)
		if th, err := s.Thread(ctx, "bob", "tb"); err != nil || th.Title != "" {
			t.Errorf("bob's thread = %+v, %v; want untouched", th, err)
		}
		if page, _ := s.ListMessages(ctx, MessageQuery{ThreadID: "ta", ResourceID: "alice", PerPage: -1}); page.Total != 1 {
			t.Errorf("alice's thread has %d messages; want 1 (the refused turn saved nothing)", page.Total)
		}

	})
}

func texts(t *testing.T, msgs []Message) string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		out = append(out, textOf(t, m))
	}
	return strings.Join(out, " ")
}

// F7: turns whose messages all carry the same millisecond (a fast model,
// or a clock that repeats or goes back) read back in the order they were
// saved, in both directions and in the prompt's history.
func TestHistoryOrderWithRepeatingClock(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		frozen := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		th := Thread{ID: "fast", ResourceID: "alice"}
		const turns = 30
		var want []string
		for i := 0; i < turns; i++ {
			at := frozen
			if i%3 == 2 {
				at = frozen.Add(-time.Second) // a clock that went back
			}
			msgs := []Message{userMsg(fmt.Sprintf("q%d", i), at), assistantMsg(fmt.Sprintf("a%d", i), at)}
			if err := s.AppendTurn(ctx, Turn{Thread: th, Messages: msgs}); err != nil {
				t.Fatalf("turn %d: %v", i, err)
			}
			if !msgs[1].CreatedAt.After(msgs[0].CreatedAt) {
				t.Errorf("turn %d: stored times %v, %v written back; want increasing", i, msgs[0].CreatedAt, msgs[1].CreatedAt)
			}
			want = append(want, fmt.Sprintf("q%d", i), fmt.Sprintf("a%d", i))
		}
		page, err := s.ListMessages(ctx, MessageQuery{ThreadID: "fast", ResourceID: "alice", PerPage: -1})
		if err != nil {
			t.Fatal(err)
		}
		if got := texts(t, page.Messages); got != strings.Join(want, " ") {
			t.Errorf("ascending = %s\nwant        %s", got, strings.Join(want, " "))
		}
		for i := 1; i < len(page.Messages); i++ {
			if !page.Messages[i].CreatedAt.After(page.Messages[i-1].CreatedAt) {
				t.Errorf("messages %d and %d share or invert createdAt %v", i-1, i, page.Messages[i].CreatedAt)
			}
		}
		page, _ = s.ListMessages(ctx, MessageQuery{ThreadID: "fast", ResourceID: "alice", PerPage: 4, Descending: true})
		if got := texts(t, page.Messages); got != "a29 q29 a28 q28" {
			t.Errorf("descending page 0 = %s; want a29 q29 a28 q28", got)
		}
		last, err := s.LastMessages(ctx, "fast", 5)
		if err != nil {
			t.Fatal(err)
		}
		if got := texts(t, last); got != "a27 q28 a28 q29 a29" {
			t.Errorf("LastMessages(5) = %s; want a27 q28 a28 q29 a29", got)
		}

		// Concurrent turns with the same frozen time: each turn's pair stays
		// together, user then assistant, whichever order they commit in.
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: "race", ResourceID: "alice"}, Messages: []Message{
					userMsg(fmt.Sprintf("q%d", i), frozen), assistantMsg(fmt.Sprintf("a%d", i), frozen)}})
				if err != nil {
					t.Errorf("AppendTurn %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		page, _ = s.ListMessages(ctx, MessageQuery{ThreadID: "race", ResourceID: "alice", PerPage: -1})
		if len(page.Messages) != 16 {
			t.Fatalf("race thread has %d messages; want 16", len(page.Messages))
		}
		for i := 0; i < 16; i += 2 {
			q, a := textOf(t, page.Messages[i]), textOf(t, page.Messages[i+1])
			if q[0] != 'q' || a != "a"+q[1:] {
				t.Errorf("positions %d,%d = %s,%s; want a turn's question then its answer", i, i+1, q, a)
			}
		}

		// save-messages with one time for the whole batch keeps the batch order.
		var batch []Message
		for i := 0; i < 6; i++ {
			batch = append(batch, Message{ID: fmt.Sprintf("b%d", i), ThreadID: "race", Role: "user",
				Content: TextContent(fmt.Sprintf("b%d", i), frozen.Add(time.Hour)), CreatedAt: frozen.Add(time.Hour)})
		}
		if _, err := s.SaveMessages(ctx, "alice", batch); err != nil {
			t.Fatal(err)
		}
		last, _ = s.LastMessages(ctx, "race", 6)
		if got := texts(t, last); got != "b0 b1 b2 b3 b4 b5" {
			t.Errorf("saved batch reads back %s; want b0 … b5", got)
		}
	})
}

// F13: a page whose offset (page × perPage) overflows is empty, with no
// more after it, instead of wrapping round to the first page.
func TestHugePageNumbers(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			if err := s.AppendTurn(ctx, Turn{Thread: Thread{ID: fmt.Sprintf("t%d", i), ResourceID: "alice"},
				Messages: []Message{userMsg("q", time.Now()), assistantMsg("a", time.Now())}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, pg := range []struct{ page, per int }{{math.MaxInt64, 2}, {math.MaxInt64/2 + 1, 2}, {math.MaxInt64, math.MaxInt64}, {1 << 40, 1 << 30}} {
			tp, err := s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", Page: pg.page, PerPage: pg.per})
			if err != nil || len(tp.Threads) != 0 || tp.HasMore || tp.Total != 3 {
				t.Errorf("threads page %d×%d = %d threads, more %v, total %d, %v; want none, no more, total 3",
					pg.page, pg.per, len(tp.Threads), tp.HasMore, tp.Total, err)
			}
			mp, err := s.ListMessages(ctx, MessageQuery{ThreadID: "t0", ResourceID: "alice", Page: pg.page, PerPage: pg.per})
			if err != nil || len(mp.Messages) != 0 || mp.HasMore || mp.Total != 2 {
				t.Errorf("messages page %d×%d = %d messages, more %v, total %d, %v; want none, no more, total 2",
					pg.page, pg.per, len(mp.Messages), mp.HasMore, mp.Total, err)
			}
		}
		// Ordinary pages still work, and a huge perPage is one page of all.
		tp, _ := s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", Page: 1, PerPage: 2})
		if len(tp.Threads) != 1 || tp.HasMore {
			t.Errorf("page 1 of 2 = %d threads, more %v; want 1, no more", len(tp.Threads), tp.HasMore)
		}
		tp, _ = s.ListThreads(ctx, ThreadQuery{ResourceID: "alice", PerPage: math.MaxInt64})
		if len(tp.Threads) != 3 || tp.HasMore {
			t.Errorf("perPage max = %d threads, more %v; want 3, no more", len(tp.Threads), tp.HasMore)
		}
	})
}

// The migration list reads in the order the migrator applies it (by name),
// so that the last entry is the newest and a reader of the file sees the
// schema's history as a database went through it.
func TestMigrationsListedInOrder(t *testing.T) {
	for i := 1; i < len(schemaMigrations); i++ {
		if prev, cur := schemaMigrations[i-1].name, schemaMigrations[i].name; prev >= cur {
			t.Errorf("migration %s is listed after %s; list them by name", cur, prev)
		}
	}
}
