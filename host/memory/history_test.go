package memory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// historyTexts is TurnHistory's messages as "role:text", each text taken
// from ParsedContent (the memo) and checked against a fresh parse.
func historyTexts(t *testing.T, h History) string {
	t.Helper()
	var out []string
	for i := range h.Messages {
		m := &h.Messages[i]
		c, err := m.ParsedContent()
		if err != nil {
			t.Fatalf("ParsedContent(%s): %v", m.Content, err)
		}
		if fresh := textOf(t, *m); c.Text() != fresh {
			t.Errorf("message %s: memoised text %q, content says %q", m.ID, c.Text(), fresh)
		}
		out = append(out, m.Role+":"+c.Text())
	}
	return fmt.Sprint(out)
}

// TurnHistory reads what LastMessages and Thread read, field for field,
// turn after turn (each turn's read reuses the previous one's parses).
func TestTurnHistoryIsLastMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		th := Thread{ID: "conv", ResourceID: "alice"}
		if _, err := s.TurnHistory(ctx, "alice", "conv", 4); !errors.Is(err, ErrNotFound) {
			t.Fatalf("TurnHistory of a missing thread: %v; want ErrNotFound", err)
		}
		base := time.Now().UTC().Add(-time.Hour)
		for i := range 6 {
			at := base.Add(time.Duration(i) * time.Second)
			err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{
				userMsg(fmt.Sprintf("q%d", i), at), assistantMsg(fmt.Sprintf("a%d", i), at),
			}})
			if err != nil {
				t.Fatal(err)
			}
			h, err := s.TurnHistory(ctx, "alice", "conv", 4)
			if err != nil {
				t.Fatal(err)
			}
			last, err := s.LastMessages(ctx, "conv", 4)
			if err != nil {
				t.Fatal(err)
			}
			if h.ResourceID != "alice" || h.Title != "" || len(h.Messages) != len(last) {
				t.Fatalf("turn %d: history %+v; want alice's, untitled, %d messages", i, h, len(last))
			}
			for j, m := range h.Messages {
				w := last[j]
				if m.ID != w.ID || m.ThreadID != w.ThreadID || m.ResourceID != w.ResourceID || m.Role != w.Role ||
					m.Type != w.Type || !m.CreatedAt.Equal(w.CreatedAt) || string(m.Content) != string(w.Content) {
					t.Errorf("turn %d message %d = %+v; LastMessages has %+v", i, j, m, w)
				}
			}
			want := fmt.Sprintf("[user:q%d assistant:a%d]", i, i)
			if i > 0 {
				want = fmt.Sprintf("[user:q%d assistant:a%d user:q%d assistant:a%d]", i-1, i-1, i, i)
			}
			if got := historyTexts(t, h); got != want {
				t.Errorf("turn %d: history %s; want %s", i, got, want)
			}
		}
		if h, err := s.TurnHistory(ctx, "alice", "conv", 0); err != nil || h.ResourceID != "alice" || len(h.Messages) != 0 {
			t.Errorf("TurnHistory(0) = %+v, %v; want the thread without messages", h, err)
		}
	})
}

// Another resource's thread is reported as the other resource's, with
// none of its messages, and leaves nothing in the memo under either
// resource; a thread moved to another resource is read afresh under the
// new owner and no longer under the old one.
func TestTurnHistoryTenantsNeverShare(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seedTenants(t, s)
		h, err := s.TurnHistory(ctx, "bob", "ta", 10)
		if err != nil || h.ResourceID != "alice" || h.Title != "" || len(h.Messages) != 0 {
			t.Fatalf("bob reading alice's thread = %+v, %v; want it reported as alice's, with nothing of it", h, err)
		}
		if w := s.memo.get(memoKey{"bob", "ta"}); w != nil {
			t.Errorf("bob's read of alice's thread left %d messages in the memo", len(w))
		}
		if h, err = s.TurnHistory(ctx, "alice", "ta", 10); err != nil || historyTexts(t, h) != "[user:alice private]" {
			t.Fatalf("alice's history = %+v, %v", h, err)
		}
		// Unscoped, the thread is handed to bob: bob now reads it, alice
		// no longer does, though her memo had it.
		if _, err := s.UpdateThread(ctx, "", "ta", ThreadUpdate{ResourceID: ptr("bob")}); err != nil {
			t.Fatal(err)
		}
		if h, err = s.TurnHistory(ctx, "alice", "ta", 10); err != nil || h.ResourceID != "bob" || len(h.Messages) != 0 {
			t.Errorf("alice reading the moved thread = %+v, %v; want it bob's, with nothing of it", h, err)
		}
		if h, err = s.TurnHistory(ctx, "bob", "ta", 10); err != nil || historyTexts(t, h) != "[user:alice private]" {
			t.Errorf("bob reading the moved thread = %+v, %v", h, err)
		}
		// Two resources' memos of their own threads stay apart.
		if h, err = s.TurnHistory(ctx, "bob", "tb", 10); err != nil || historyTexts(t, h) != "[user:bob private]" {
			t.Errorf("bob's own thread = %+v, %v", h, err)
		}
		if w := s.memo.get(memoKey{"alice", "ta"}); w != nil {
			t.Errorf("alice's memo of the thread she no longer owns still holds %d messages", len(w))
		}
		for k, e := range s.memo.threads {
			for _, m := range e.window {
				if m.msg.ThreadID != k.thread {
					t.Errorf("memo of %v holds message %s of thread %s", k, m.msg.ID, m.msg.ThreadID)
				}
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// Two server instances on one Postgres: whatever instance B writes to a
// thread (a turn, an edit of a message in place, a deletion) is in
// instance A's next read, although A's memo holds the thread.
func TestTurnHistorySeesAnotherInstancesWrites(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a := openStore(t, Options{DatabaseURL: url})
	b := openStore(t, Options{DatabaseURL: url})
	ctx := context.Background()
	th := Thread{ID: "shared", ResourceID: "alice"}
	q := userMsg("question", time.Now().Add(-time.Minute))
	ans := assistantMsg("answer", time.Now().Add(-time.Minute))
	if err := a.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{q, ans}}); err != nil {
		t.Fatal(err)
	}
	read := func(want string) {
		t.Helper()
		h, err := a.TurnHistory(ctx, "alice", "shared", 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := historyTexts(t, h); got != want {
			t.Errorf("instance A reads %s; want %s", got, want)
		}
	}
	read("[user:question assistant:answer]")

	// A turn saved through B.
	if err := b.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{userMsg("from b", time.Now()), assistantMsg("b's answer", time.Now())}}); err != nil {
		t.Fatal(err)
	}
	read("[user:question assistant:answer user:from b assistant:b's answer]")

	// B edits A's answer in place: same id, same time, new content.
	edited := ans
	edited.ThreadID = "shared"
	edited.Content = TextContent("answer, edited", ans.CreatedAt)
	if _, err := b.SaveMessages(ctx, "alice", []Message{edited}); err != nil {
		t.Fatal(err)
	}
	read("[user:question assistant:answer, edited user:from b assistant:b's answer]")

	// B changes only the role of a message (content untouched).
	role := q
	role.ThreadID, role.Role = "shared", "system"
	if _, err := b.SaveMessages(ctx, "alice", []Message{role}); err != nil {
		t.Fatal(err)
	}
	read("[system:question assistant:answer, edited user:from b assistant:b's answer]")

	// B deletes a message.
	if n, err := b.DeleteMessages(ctx, "alice", []string{ans.ID}); err != nil || n != 1 {
		t.Fatalf("DeleteMessages = %d, %v", n, err)
	}
	read("[system:question user:from b assistant:b's answer]")

	// B deletes the thread: A finds none.
	if err := b.DeleteThread(ctx, "alice", "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TurnHistory(ctx, "alice", "shared", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("A reading the thread B deleted: %v; want ErrNotFound", err)
	}
}

// The memo is checked against each row's version (xmin, ctid), not its
// content: writes by plain SQL, which no route of this server saw, are in
// the next read all the same, and so is a row that shares the xmin of a
// remembered one. A turn's own messages are remembered as it saves them,
// and read back without their content.
func TestTurnHistorySeesPlainSQL(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := openStore(t, Options{DatabaseURL: url})
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	read := func(n int, want string) History {
		t.Helper()
		h, err := s.TurnHistory(ctx, "alice", "conv", n)
		if err != nil {
			t.Fatal(err)
		}
		if got := historyTexts(t, h); got != want {
			t.Errorf("history %s; want %s", got, want)
		}
		return h
	}
	th := Thread{ID: "conv", ResourceID: "alice"}
	base := time.Now().UTC().Add(-time.Hour)
	q, a := userMsg("question", base), assistantMsg("answer", base.Add(time.Second))
	if err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{q, a}}); err != nil {
		t.Fatal(err)
	}
	saved := s.memo.get(memoKey{"alice", "conv"})
	if len(saved) != 2 {
		t.Fatalf("the memo holds %d messages after the turn's save; want its 2", len(saved))
	}
	h := read(10, "[user:question assistant:answer]")
	for i, m := range h.Messages {
		if e := saved[len(saved)-1-i]; m.parsed != e.msg.parsed {
			t.Errorf("message %d was read again; want the one remembered as saved", i)
		}
	}

	// Content, role and time changed by plain SQL, one row each.
	exec(`UPDATE mastra_messages SET content = $1 WHERE id = $2`, string(TextContent("answer, by sql", base)), a.ID)
	read(10, "[user:question assistant:answer, by sql]")
	exec(`UPDATE mastra_messages SET role = 'system' WHERE id = $1`, q.ID)
	read(10, "[system:question assistant:answer, by sql]")
	exec(`UPDATE mastra_messages SET "createdAt" = "createdAt" + interval '1 hour', "createdAtZ" = "createdAtZ" + interval '1 hour' WHERE id = $1`, q.ID)
	read(10, "[assistant:answer, by sql system:question]")

	// Deleted and inserted again under the same id, same content but the
	// role: a new row version.
	exec(`DELETE FROM mastra_messages WHERE id = $1`, a.ID)
	read(10, "[system:question]")
	exec(`INSERT INTO mastra_messages (id, thread_id, content, role, type, "createdAt", "resourceId", "createdAtZ")
		VALUES ($1, 'conv', $2, 'user', 'v2', $3::timestamptz AT TIME ZONE 'UTC', 'alice', $3::timestamptz)`, a.ID, string(TextContent("answer, by sql", base)), base.Add(3*time.Hour))
	read(10, "[system:question user:answer, by sql]")

	// One transaction rewrites two rows: read one at a time, the second
	// shares the xmin of the first, which the memo holds, and is withheld
	// by the query: the read sees it is not remembered and reads again.
	exec(`UPDATE mastra_messages SET content = CASE id WHEN $1 THEN $3 ELSE $4 END WHERE id IN ($1, $2)`,
		q.ID, a.ID, string(TextContent("q, once more", base)), string(TextContent("a, once more", base)))
	read(1, "[user:a, once more]")
	read(2, "[system:q, once more user:a, once more]")
	read(2, "[system:q, once more user:a, once more]")
}

// The memo stays within its bounds: a thread whose window is larger than
// a thread may hold is not kept, and the whole never passes its budget.
func TestHistoryMemoBounds(t *testing.T) {
	var h historyMemo
	big := &memoMessage{size: memoMaxThreadBytes + 1}
	h.put(memoKey{"r", "big"}, []*memoMessage{big})
	if h.get(memoKey{"r", "big"}) != nil || h.bytes != 0 {
		t.Errorf("a window over memoMaxThreadBytes was kept (%d bytes held)", h.bytes)
	}
	one := &memoMessage{size: memoMaxThreadBytes / 2}
	for i := range 4 * memoMaxBytes / one.size {
		h.put(memoKey{"r", fmt.Sprint(i)}, []*memoMessage{one})
		if h.bytes > memoMaxBytes || len(h.threads) > memoMaxThreads {
			t.Fatalf("after %d windows the memo holds %d bytes in %d threads; bounds %d and %d", i+1, h.bytes, len(h.threads), memoMaxBytes, memoMaxThreads)
		}
	}
	h.forget("r", "0")
	total := 0
	for _, e := range h.threads {
		total += e.size
	}
	if total != h.bytes {
		t.Errorf("memo accounts %d bytes; its windows hold %d", h.bytes, total)
	}
}

// Text joins the text parts, and falls back on the content field when
// they hold nothing.
func TestContentText(t *testing.T) {
	for _, c := range []struct {
		content Content
		want    string
	}{
		{Content{Content: "field"}, "field"},
		{Content{Parts: []Part{{Type: "text", Text: "one"}}, Content: "field"}, "one"},
		{Content{Parts: []Part{{Type: "text"}}, Content: "field"}, "field"},
		{Content{Parts: []Part{{Type: "step-start"}, {Type: "text", Text: "a"}, {Type: "reasoning", Text: "x"}, {Type: "text", Text: "b"}}}, "ab"},
		{Content{Parts: []Part{{Type: "text"}, {Type: "text"}}, Content: "field"}, "field"},
	} {
		if got := c.content.Text(); got != c.want {
			t.Errorf("%+v.Text() = %q; want %q", c.content, got, c.want)
		}
	}
}

// Turns on one thread read and replace its memo window at once: each read
// is still the thread's messages in order (run with -race).
func TestTurnHistoryConcurrentReads(t *testing.T) {
	s := openStore(t, Options{DatabaseURL: pgtest.NewDatabase(t)})
	ctx := context.Background()
	th := Thread{ID: "busy", ResourceID: "alice"}
	if err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{userMsg("q", time.Now())}}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := range 10 {
				if w%2 == 0 {
					if err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{userMsg(fmt.Sprint(w, i), time.Now())}}); err != nil {
						errs <- err
						return
					}
				}
				h, err := s.TurnHistory(ctx, "alice", "busy", 5)
				if err != nil {
					errs <- err
					return
				}
				for j := 1; j < len(h.Messages); j++ {
					if !h.Messages[j-1].CreatedAt.Before(h.Messages[j].CreatedAt) {
						errs <- fmt.Errorf("history out of order: %v then %v", h.Messages[j-1].CreatedAt, h.Messages[j].CreatedAt)
						return
					}
				}
				for j := range h.Messages {
					fresh, _ := ParseContent(h.Messages[j].Content)
					if c, err := h.Messages[j].ParsedContent(); err != nil || c.Text() != fresh.Text() {
						errs <- fmt.Errorf("message %s parsed as %q, %v", h.Messages[j].ID, c.Text(), err)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// ContentValid holds for every message TurnHistory reads, a stored content
// that is not JSON included (the read replaces it by a text message), and
// for no content the store did not read; ContentVerbatim holds for those of
// them json.Marshal writes unchanged.
func TestContentValid(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		at := time.Now().UTC().Add(-time.Minute)
		bad := userMsg("q", at)
		bad.Content = json.RawMessage(`{"format":2,"parts":[`)
		spaced := assistantMsg("b", at.Add(time.Second))
		spaced.Content = json.RawMessage(`{"format":2, "parts":[{"type":"text","text":"b"}]}`)
		escaped := assistantMsg("c", at.Add(2*time.Second))
		escaped.Content = json.RawMessage(`{"format":2,"parts":[{"type":"text","text":"a < b \u2028"}]}`)
		th := Thread{ID: "valid", ResourceID: "alice"}
		if err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{bad, assistantMsg("a", at), spaced, escaped}}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // read, then read through the memo
			h, err := s.TurnHistory(ctx, "alice", "valid", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Messages) != 4 {
				t.Fatalf("history has %d messages; want 4", len(h.Messages))
			}
			verbatim := 0
			for _, m := range h.Messages {
				if !m.ContentValid() || !json.Valid(m.Content) {
					t.Errorf("message %s: ContentValid %v, content %s", m.ID, m.ContentValid(), m.Content)
				}
				if w, _ := json.Marshal(m.Content); m.ContentVerbatim() != bytes.Equal(w, m.Content) {
					t.Errorf("message %s: ContentVerbatim %v for content %s (json.Marshal writes %s)", m.ID, m.ContentVerbatim(), m.Content, w)
				}
				if m.ContentVerbatim() {
					verbatim++
				}
				edited := m
				edited.Content = append(json.RawMessage(nil), m.Content...)
				if edited.ContentValid() || edited.ContentVerbatim() {
					t.Errorf("message %s: ContentValid for content the store did not read", m.ID)
				}
			}
			if verbatim != 2 {
				t.Errorf("%d messages verbatim; want 2 (the text read for bad, and a)", verbatim)
			}
		}
		if m := assistantMsg("new", at); m.ContentValid() || m.ContentVerbatim() {
			t.Error("ContentValid for a message built here")
		}
	})
}
