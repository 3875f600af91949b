package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachStore runs fn against a fresh, migrated SQLite store and a fresh,
// migrated Postgres store.
func eachStore(t *testing.T, fn func(t *testing.T, s *memory.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openStore(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t)}))
	})
}

func openStore(t *testing.T, opts memory.Options) *memory.Store {
	t.Helper()
	ctx := context.Background()
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 10 // memory.max_open_conns's default
	}
	s, err := memory.Open(ctx, opts)
	if err != nil {
		t.Fatalf("memory.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func sqliteStore(t *testing.T) *memory.Store {
	return openStore(t, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")})
}

// newFake starts a fake OpenAI server answering with replies in order, the
// last one repeating.
func newFake(t *testing.T, replies ...llmtest.Reply) *llmtest.Server {
	t.Helper()
	return llmtest.NewServer(t, llmtest.Replies(replies...))
}

// checkSequence fails unless req is a valid OpenAI tool-call sequence.
func checkSequence(t *testing.T, req llmtest.Request) {
	t.Helper()
	if err := req.CheckSequence(); err != nil {
		t.Error(err)
	}
}

// weather is a test tool that records its calls.
type weather struct {
	mu    sync.Mutex // guards calls
	calls []string
	fail  error
	panic bool
}

func (w *weather) Name() string        { return "weather" }
func (w *weather) Description() string { return "current weather of a city" }
func (w *weather) InputSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)
}

func (w *weather) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	w.mu.Lock()
	w.calls = append(w.calls, string(args))
	w.mu.Unlock()
	if w.panic {
		panic("weather station on fire")
	}
	if w.fail != nil {
		return nil, w.fail
	}
	var a struct{ City string }
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	return json.RawMessage(fmt.Sprintf(`{"city":%q,"tempC":21}`, a.City)), nil
}

func (w *weather) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// recorder collects emitted chunks; fail makes emit fail from the n-th
// text-delta on.
type recorder struct {
	chunks  []Chunk
	failAt  int // 0: never
	ndeltas int
}

func (r *recorder) emit(c Chunk) error {
	sameChunkJSON(c)
	if c.Type == ChunkTextDelta {
		r.ndeltas++
		if r.failAt > 0 && r.ndeltas >= r.failAt {
			return errors.New("write: broken pipe")
		}
	}
	r.chunks = append(r.chunks, c)
	return nil
}

func (r *recorder) types() []string {
	var out []string
	for _, c := range r.chunks {
		out = append(out, c.Type)
	}
	return out
}

// payload returns a chunk's payload as generic JSON.
func payload(t *testing.T, c Chunk) map[string]any {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal chunk %s: %v", c.Type, err)
	}
	var v struct{ Payload map[string]any }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Payload
}

// compact returns the chunk types with runs of the same type folded to one.
func compact(types []string) string {
	var out []string
	for _, ty := range types {
		if len(out) == 0 || out[len(out)-1] != ty {
			out = append(out, ty)
		}
	}
	return strings.Join(out, ",")
}

// messages reads a thread's saved messages.
func messages(t *testing.T, s *memory.Store, threadID string) []memory.Message {
	t.Helper()
	msgs, err := s.LastMessages(context.Background(), threadID, 100)
	if err != nil {
		t.Fatalf("LastMessages: %v", err)
	}
	return msgs
}

func content(t *testing.T, m memory.Message) memory.Content {
	t.Helper()
	c, err := memory.ParseContent(m.Content)
	if err != nil {
		t.Fatalf("ParseContent(%s): %v", m.Content, err)
	}
	return c
}

func newService(t *testing.T, store *memory.Store, agents ...*Agent) *Service {
	t.Helper()
	s, err := NewService(store, agents, "", nil)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return s
}

func user(text string) []llm.Message { return []llm.Message{{Role: llm.RoleUser, Content: text}} }
