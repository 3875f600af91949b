package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
	"github.com/uptrace/bun"
)

// messageInserts counts the INSERT statements into mastra_messages that a
// store runs.
type messageInserts struct{ n atomic.Int64 }

func (c *messageInserts) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *messageInserts) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if strings.HasPrefix(e.Query, `INSERT INTO "mastra_messages"`) {
		c.n.Add(1)
	}
}

// N1: a batch larger than one statement carries (messageRowsPerStatement
// rows; Bun inlines the values, so this is our bound on a statement's
// size, not Postgres's 65,535 parameters) is written in a few statements,
// not one per message, and
// reads back complete, in the batch's order, with the messages that
// share a time kept in order too.
func TestSaveMessagesWritesABatchInAFewStatements(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, id := range []string{"big", "small"} {
			if _, err := s.CreateThread(ctx, Thread{ID: id, ResourceID: "alice"}); err != nil {
				t.Fatal(err)
			}
		}
		inserts := new(messageInserts)
		s.AddQueryHook(inserts)

		const n = 8_200 // more than one statement's worth of rows
		base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
		batch := make([]Message, n)
		for i := range batch {
			at := base.Add(time.Duration(i) * time.Second)
			if i >= n-100 {
				at = base.Add(n * time.Second) // the last 100 share one time
			}
			thread := "big"
			if i%1000 == 999 {
				thread = "small"
			}
			batch[i] = Message{ID: fmt.Sprintf("m-%05d", n-i), ThreadID: thread, Role: "user",
				Content: TextContent(fmt.Sprintf("text %d", i), at), CreatedAt: at}
		}
		saved, err := s.SaveMessages(ctx, "alice", batch)
		if err != nil {
			t.Fatalf("SaveMessages of %d messages: %v", n, err)
		}
		if len(saved) != n || saved[n-1].ResourceID != "alice" {
			t.Fatalf("SaveMessages returned %d messages (last %+v); want %d of alice", len(saved), saved[len(saved)-1], n)
		}
		if got := inserts.n.Load(); got > 3 {
			t.Errorf("%d messages took %d INSERT statements; want a few (one per 8,191 rows)", n, got)
		}

		var want, wantSmall []string
		for i := range batch {
			if batch[i].ThreadID == "small" {
				wantSmall = append(wantSmall, fmt.Sprintf("text %d", i))
			} else {
				want = append(want, fmt.Sprintf("text %d", i))
			}
		}
		for thread, want := range map[string][]string{"big": want, "small": wantSmall} {
			page, err := s.ListMessages(ctx, MessageQuery{ThreadID: thread, ResourceID: "alice", PerPage: -1})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range page.Messages {
				got = append(got, textOf(t, m))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("thread %s reads back %d messages, not the %d saved in order", thread, len(got), len(want))
			}
		}
	})
}

// An id that comes twice in one batch is written once, with the later
// message's content and the earlier one's time, as saving the messages
// one after the other would leave it; bob's conflicting id still refuses
// the whole batch.
func TestSaveMessagesRepeatedIDInOneBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seedTenants(t, s)
		first := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
		batch := []Message{
			{ID: "twice", ThreadID: "ta", Role: "user", Content: TextContent("first", first), CreatedAt: first},
			{ID: "once", ThreadID: "ta", Role: "user", Content: TextContent("between", first), CreatedAt: first.Add(time.Second)},
			{ID: "twice", ThreadID: "ta", Role: "assistant", Content: TextContent("second", first), CreatedAt: first.Add(time.Hour)},
		}
		if _, err := s.SaveMessages(ctx, "alice", batch); err != nil {
			t.Fatalf("SaveMessages with a repeated id: %v", err)
		}
		got, err := s.MessagesByID(ctx, "alice", []string{"twice", "once"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "twice" || textOf(t, got[0]) != "second" || got[0].Role != "assistant" ||
			!got[0].CreatedAt.Equal(first) {
			t.Errorf("messages = %+v; want twice (second, assistant, at %v) before once", got, first)
		}

		// The same id in alice's thread and in bob's (an unscoped caller):
		// the second would take the first's row from another resource.
		cross := []Message{
			{ID: "cross", ThreadID: "ta", Role: "user", Content: TextContent("a", first)},
			{ID: "cross", ThreadID: "tb", Role: "user", Content: TextContent("b", first)},
		}
		if _, err := s.SaveMessages(ctx, "", cross); !errors.Is(err, ErrMessageConflict) {
			t.Errorf("one id in two resources' threads: err = %v; want ErrMessageConflict", err)
		}
		wantUntouched(t, s)
		if got, _ := s.MessagesByID(ctx, "alice", []string{"cross"}); len(got) != 0 {
			t.Errorf("refused batch left %+v", got)
		}
	})
}

// BenchmarkSaveMessages saves batches of 1,000 messages (the default
// memory.max_save_messages) into one thread. The figures are ns/message
// (wall) and cpu-ns/message: the CPU of this process and, on Postgres, of
// the one backend serving the store (read from /proc on Linux), which a
// loaded machine distorts far less than wall time.
//
//	go test ./host/memory -run '^$' -bench SaveMessages -benchtime 20x
func BenchmarkSaveMessages(b *testing.B) {
	const batch = 1000
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			opts := Options{SQLitePath: b.TempDir() + "/m.db", MaxOpenConns: testConns}
			if kind == "postgres" {
				opts = Options{DatabaseURL: pgtest.NewDatabase(b), MaxOpenConns: testConns}
			}
			ctx := context.Background()
			m, err := Open(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Migrate(ctx); err != nil { // (it takes more than one connection)
				b.Fatal(err)
			}
			m.Close()
			// One connection, so one Postgres backend does all the work.
			opts.MaxOpenConns = 1
			s, err := Open(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.CreateThread(ctx, Thread{ID: "bench", ResourceID: "bench"}); err != nil {
				b.Fatal(err)
			}
			backend := 0
			if kind == "postgres" {
				if err := s.db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
					b.Fatal(err)
				}
			}
			at := time.Now()
			msgs := make([]Message, batch)
			run := 0
			cpu0 := processCPU() + backendCPU(backend)
			b.ResetTimer()
			for b.Loop() {
				run++
				for i := range msgs {
					msgs[i] = Message{ID: fmt.Sprintf("b%d-%d", run, i), ThreadID: "bench", Role: "user",
						Content: TextContent("a message of a bulk import", at), CreatedAt: at}
				}
				if _, err := s.SaveMessages(ctx, "bench", msgs); err != nil {
					b.Fatal(err)
				}
			}
			cpu := processCPU() + backendCPU(backend) - cpu0
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/message")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/message")
		})
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU is the CPU time process pid (a Postgres backend on this
// machine) has used, from /proc; 0 for pid 0 or without /proc.
func backendCPU(pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if pid == 0 || err != nil {
		return 0
	}
	// After the command name: state is field 3, utime 14 and stime 15,
	// in clock ticks of 1/100 s.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * (time.Second / 100)
}
