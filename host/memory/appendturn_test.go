package memory

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// bunAppendTurnSQL is appendTurnSQL as it was written before, through
// Bun's placeholders: the reference the hand-written one must equal.
func bunAppendTurnSQL(db *bun.DB, turn Turn, created, now time.Time) string {
	t := turn.Thread
	var meta any
	if t.Metadata != nil {
		meta = jsonText(t.Metadata)
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO mastra_threads (id, "resourceId", title, metadata, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
VALUES (?, ?, ?, ?::jsonb, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET "updatedAt" = EXCLUDED."updatedAt", "updatedAtZ" = EXCLUDED."updatedAtZ"
WHERE mastra_threads."resourceId" = EXCLUDED."resourceId";
INSERT INTO mastra_messages (id, thread_id, content, role, type, "createdAt", "resourceId", "createdAtZ")
SELECT v.id, v.thread_id, v.content, v.role, v.type, v.created::timestamp + s.shift, v.resource,
	(v.created::timestamp + s.shift) AT TIME ZONE 'UTC'
FROM (VALUES `)
	args := []any{t.ID, t.ResourceID, t.Title, meta, created, now, created, now}
	for i, m := range turn.Messages {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		r := newMessageRow(m)
		args = append(args, r.ID, r.ThreadID, r.Content, r.Role, r.Type, r.CreatedAt, r.ResourceID)
	}
	q.WriteString(`) AS v(id, thread_id, content, role, type, created, resource),
	(SELECT GREATEST(interval '0', COALESCE(max(m."createdAt") + interval '1 millisecond' - ?::timestamp, interval '0')) AS shift
	 FROM mastra_messages m WHERE m.thread_id = ?) AS s
WHERE EXISTS (SELECT 1 FROM mastra_threads WHERE id = ? AND "resourceId" = ?)
RETURNING id, to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.US'), xmin, ctid`)
	args = append(args, turn.Messages[0].CreatedAt, t.ID, t.ID, t.ResourceID)
	return db.NewRaw(q.String(), args...).String()
}

// FuzzAppendTurnSQL: the save's SQL, written by hand into one buffer, is
// byte for byte what Bun's formatting made of the same turn, whatever the
// ids, title and content hold (quotes, backslashes, invalid UTF-8, NULs).
func FuzzAppendTurnSQL(f *testing.F) {
	db := bun.NewDB(nil, pgdialect.New())
	f.Add("t1", "alice", "", `{"format":2,"parts":[{"type":"text","text":"hi"}],"content":"hi"}`, "v2", "bob", true)
	f.Add("t'1", "al'ice", "it's", `{"text":"O'Brien \\ \u00e9 \\u0000 '' \"q\""}`, "", "", false)
	f.Add("t", "r", "\xff\xfe title", "\"caf\xc3\xa9 \xe2\x82 \xff\"", "v1", "r", true)
	f.Add("t", "r", "nul", "a\x00b", "v2", "r", false)
	f.Fuzz(func(t *testing.T, thread, resource, title, content, typ, msgResource string, meta bool) {
		created := time.Date(2026, 12, 7, 15, 4, 5, 123456000, time.UTC)
		now := created.Add(time.Second)
		turn := Turn{Thread: Thread{ID: thread, ResourceID: resource, Title: title}, Messages: []Message{
			{ID: "m1", ThreadID: thread, ResourceID: msgResource, Role: "user", Type: typ, Content: json.RawMessage(content), CreatedAt: created},
			{ID: "m'2", ThreadID: thread, ResourceID: resource, Role: "assistant", Content: json.RawMessage(title + content), CreatedAt: now},
		}}
		if meta {
			turn.Thread.Metadata = map[string]any{"k'": content}
		}
		got := appendTurnSQL(db.Dialect(), turn, created, now)
		if want := bunAppendTurnSQL(db, turn, created, now); got != want {
			t.Errorf("appendTurnSQL =\n%s\nBun's formatting =\n%s", got, want)
		}
	})
}
