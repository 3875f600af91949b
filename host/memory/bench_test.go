package memory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// Benchmarks of the history read that every agent turn makes. They run
// only with -bench, against the package's Postgres (TEST_DATABASE_URL or a
// throwaway cluster, see TestMain):
//
//	go test ./host/memory -run '^$' -bench LastMessages -benchtime 2000x
//
// Each size is one thread of that many messages among a few other threads
// (so the index holds more than the thread being read); the figure to look
// at is ns/op staying flat from 1,000 to 100,000 messages.

// benchThreadSizes are the thread lengths compared in one run.
var benchThreadSizes = []int{1_000, 10_000, 100_000}

// seedBenchThreads creates, in one database, a thread of each size plus a
// noise thread, with message rows written by INSERT … SELECT
// generate_series (seconds for 100k rows, where AppendTurn would take
// minutes). Rows look like the ones AppendTurn writes: v2 text content,
// increasing createdAt, resourceId set.
func seedBenchThreads(b *testing.B, s *Store, dbURL string) map[int]string {
	b.Helper()
	ctx := context.Background()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := map[int]string{}
	sizes := append([]int{50_000}, benchThreadSizes...) // 50k rows of another thread first
	for i, n := range sizes {
		id := fmt.Sprintf("bench-%d-%d", i, n)
		ids[n] = id
		if _, err := s.CreateThread(ctx, Thread{ID: id, ResourceID: "bench", Title: id}); err != nil {
			b.Fatal(err)
		}
		// Two messages share each second's timestamp, like the user and
		// assistant message of one turn, so the (createdAt, id) tiebreak
		// of LastMessages is exercised too.
		_, err := db.ExecContext(ctx, `
			INSERT INTO mastra_messages (id, thread_id, content, role, type, "createdAt", "resourceId", "createdAtZ")
			SELECT $1 || '-' || lpad(g::text, 7, '0'), $1,
			       '{"format":2,"parts":[{"type":"text","text":"message ' || g || ' of a long benchmark thread","createdAt":'
			         || (extract(epoch from $2::timestamptz) * 1000 + (g/2) * 1000)::bigint || '}],"content":"message ' || g || ' of a long benchmark thread"}',
			       CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END, 'v2',
			       ($2::timestamptz + make_interval(secs => g/2)) AT TIME ZONE 'UTC',
			       'bench', $2::timestamptz + make_interval(secs => g/2)
			FROM generate_series(0, $3::int - 1) AS g`, id, base, n)
		if err != nil {
			b.Fatalf("seed %d messages: %v", n, err)
		}
	}
	if _, err := db.ExecContext(ctx, `ANALYZE mastra_messages`); err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkLastMessages reads the last 20 messages (what an agent turn
// sends the model) of threads of 1,000, 10,000 and 100,000 messages.
func BenchmarkLastMessages(b *testing.B) {
	dbURL := pgtest.NewDatabase(b)
	s, err := Open(context.Background(), Options{DatabaseURL: dbURL, MaxOpenConns: testConns})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	ids := seedBenchThreads(b, s, dbURL)
	ctx := context.Background()
	logPlan(b, dbURL, ids[100_000])
	for _, n := range benchThreadSizes {
		b.Run(fmt.Sprintf("postgres/thread=%d", n), func(b *testing.B) {
			want := fmt.Sprintf("%s-%07d", ids[n], n-1)
			b.ReportAllocs()
			for b.Loop() {
				msgs, err := s.LastMessages(ctx, ids[n], 20)
				if err != nil {
					b.Fatal(err)
				}
				if len(msgs) != 20 || msgs[19].ID != want {
					b.Fatalf("got %d messages, last %q; want 20 ending with %q", len(msgs), msgs[len(msgs)-1].ID, want)
				}
			}
		})
	}
}

// logPlan logs Postgres's plan for LastMessages' query on the longest
// thread, to show it walks the (thread_id, createdAt) index with a LIMIT.
func logPlan(b *testing.B, dbURL, threadID string) {
	b.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`EXPLAIN SELECT * FROM mastra_messages WHERE thread_id = $1
		ORDER BY "createdAt" DESC, id DESC LIMIT 20`, threadID)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	plan := ""
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		plan += "\n" + line
	}
	b.Logf("plan of the last-20 query on a 100,000-message thread:%s", plan)
}

// BenchmarkAppendTurn saves one turn (user + assistant message) to an
// existing thread of 100,000 messages: the write side of a turn.
func BenchmarkAppendTurn(b *testing.B) {
	dbURL := pgtest.NewDatabase(b)
	s, err := Open(context.Background(), Options{DatabaseURL: dbURL, MaxOpenConns: testConns})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	ids := seedBenchThreads(b, s, dbURL)
	ctx := context.Background()
	b.Run("postgres/thread=100000", func(b *testing.B) {
		th := Thread{ID: ids[100_000], ResourceID: "bench"}
		b.ReportAllocs()
		for b.Loop() {
			now := time.Now()
			err := s.AppendTurn(ctx, Turn{Thread: th, Messages: []Message{
				{ID: uuid.NewString(), Role: "user", Content: TextContent("hello", now), CreatedAt: now},
				{ID: uuid.NewString(), Role: "assistant", Content: TextContent("hi there", now), CreatedAt: now},
			}})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTurnMemory is what an agent turn asks of the store, on
// Postgres: read the thread's last 20 messages (TurnHistory), then save
// the turn's question and answer (AppendTurn, built with their parse as
// host/agent builds them), round twenty threads of 20+ messages as
// BenchmarkTurn in tests/ops does; with short answers and with 4 KiB
// ones. It reports this process's CPU per turn
// (cpu-ns/op); Postgres's is not counted.
func BenchmarkTurnMemory(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: testConns})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{35, 4096} {
		b.Run(fmt.Sprintf("answer=%dB", size), func(b *testing.B) {
			const threads = 20
			answer := strings.Repeat("hi there, how can I help you today? ", size/36+1)[:size]
			turn := func(i int) {
				id := fmt.Sprintf("t%d-%d", size, i%threads)
				h, err := s.TurnHistory(ctx, "r", id, 20)
				if err != nil && !errors.Is(err, ErrNotFound) {
					b.Fatal(err)
				}
				for j := range h.Messages {
					if _, err := h.Messages[j].ParsedContent(); err != nil {
						b.Fatal(err)
					}
				}
				// Built as host/agent builds them: handed over parsed.
				now := time.Now()
				text := func(role, s string) Message {
					c := Content{Format: 2, Parts: []Part{{Type: "text", Text: s, CreatedAt: now.UnixMilli()}}, Content: s}
					m, err := newMessage(Message{ID: uuid.NewString(), Role: role, CreatedAt: now}, c)
					if err != nil {
						b.Fatal(err)
					}
					return m
				}
				err = s.AppendTurn(ctx, Turn{Thread: Thread{ID: id, ResourceID: "r"}, Messages: []Message{
					text("user", "hello there"), text("assistant", answer),
				}})
				if err != nil {
					b.Fatal(err)
				}
			}
			for i := range 12 * threads { // every thread past 20 messages
				turn(i)
			}
			b.ReportAllocs()
			cpu := rusage()
			i := 0
			for b.Loop() {
				turn(i)
				i++
			}
			b.ReportMetric(float64(rusage()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
