package follow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/wakeup"
)

// memLog is a log in memory that counts its reads.
type memLog struct {
	mu     sync.Mutex
	chunks [][]byte
	ended  bool
	reads  atomic.Int64
}

func (m *memLog) add(hub *wakeup.Hub, n int, end bool) {
	m.mu.Lock()
	for i := 0; i < n; i++ {
		m.chunks = append(m.chunks, []byte(fmt.Sprintf("c%d", len(m.chunks)+1)))
	}
	m.ended = end
	m.mu.Unlock()
	hub.Signal("k")
}

func (m *memLog) Read(ctx context.Context, after int64) (Page[int64], error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	p := Page[int64]{State: int64(len(m.chunks))}
	for i := after; i < int64(len(m.chunks)) && len(p.Chunks) < 10; i++ {
		p.Chunks = append(p.Chunks, Chunk{Seq: i + 1, Data: m.chunks[i]})
	}
	p.More = len(p.Chunks) == 10
	p.Done = m.ended && !p.More
	return p, nil
}

func (m *memLog) Backlog(ctx context.Context, after, upTo int64, fn func(Chunk) error) (int64, error) {
	m.mu.Lock()
	var cs []Chunk
	for i := after; i < upTo && i < int64(len(m.chunks)); i++ {
		cs = append(cs, Chunk{Seq: i + 1, Data: m.chunks[i]})
	}
	m.mu.Unlock()
	for _, c := range cs {
		if err := fn(c); err != nil {
			return after, err
		}
		after = c.Seq
	}
	return after, nil
}

// collect follows the log from after and returns what it was handed.
func collect(ctx context.Context, g *Group[int64], m *memLog, after int64, slow <-chan struct{}) ([]string, error) {
	var got []string
	err := g.Follow(ctx, "k", "k", m, after, nil, func(c Chunk) error {
		if slow != nil {
			<-slow
		}
		if want := after + int64(len(got)) + 1; c.Seq != want {
			return fmt.Errorf("chunk %d, want %d", c.Seq, want)
		}
		got = append(got, string(c.Data))
		return nil
	})
	return got, err
}

func TestFollowersShareOneReader(t *testing.T) {
	hub := wakeup.NewHub()
	g := NewGroup[int64](hub, time.Hour) // no polls: only wake-ups read
	defer g.Close()
	m := &memLog{}
	m.add(hub, 3, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := collect(ctx, g, m, 0, nil)
			if err == nil && len(got) != 23 {
				err = fmt.Errorf("got %d chunks, want 23", len(got))
			}
			errs <- err
		}()
	}
	// Wait until all of them follow the one reader, which has read the
	// first chunks.
	for g.Followers("k") != n || m.reads.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatalf("%d followers joined", g.Followers("k"))
		}
		time.Sleep(time.Millisecond)
	}
	before := m.reads.Load()
	const wakeups = 10
	for i := 0; i < wakeups; i++ {
		m.add(hub, 2, i == wakeups-1)
		// The next wake-up once this one is read: each is one read.
		for m.reads.Load() < before+int64(i)+1 {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := m.reads.Load() - before; got > wakeups {
		t.Errorf("%d followers made %d reads for %d wake-ups, want at most one each", n, got, wakeups)
	}
	if g.Readers() != 0 {
		t.Errorf("%d readers left after the log ended", g.Readers())
	}
}

func TestSlowFollowerReadsItsGap(t *testing.T) {
	hub := wakeup.NewHub()
	g := NewGroup[int64](hub, time.Millisecond)
	defer g.Close()
	m := &memLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	total := 3 * Buffer
	all := func(n, after int64) bool { return n >= int64(total) && after >= n }
	type result struct {
		got int
		err error
	}
	follow := func(slow <-chan struct{}, done chan<- result) {
		var n int
		err := g.Follow(ctx, "k", "k", m, 0, all, func(c Chunk) error {
			if slow != nil {
				<-slow
			}
			if n++; c.Seq != int64(n) {
				return fmt.Errorf("chunk %d, want %d", c.Seq, n)
			}
			return nil
		})
		done <- result{n, err}
	}
	// A follower that keeps the reader going throughout.
	holdCtx, release := context.WithCancel(ctx)
	defer release()
	go func() { _ = g.Follow(holdCtx, "k", "k", m, 0, nil, func(Chunk) error { return nil }) }()
	slow := make(chan struct{})
	slowDone, fastDone := make(chan result, 1), make(chan result, 1)
	go follow(slow, slowDone)
	go follow(nil, fastDone)
	for g.Followers("k") != 3 {
		time.Sleep(time.Millisecond)
	}
	// More than a follower's buffer while the slow one is stuck on its
	// first chunk: the fast one is not held up.
	m.add(hub, total, false)
	if r := <-fastDone; r.err != nil || r.got != total {
		t.Fatalf("fast follower: %d chunks, %v", r.got, r.err)
	}
	close(slow)
	if r := <-slowDone; r.err != nil || r.got != total {
		t.Fatalf("slow follower: %d chunks, %v", r.got, r.err)
	}
}

func TestLateFollowerAndUntil(t *testing.T) {
	hub := wakeup.NewHub()
	g := NewGroup[int64](hub, time.Hour)
	defer g.Close()
	m := &memLog{}
	m.add(hub, 5, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A follower that stops once the log holds 5 chunks and it has them.
	var got []int64
	err := g.Follow(ctx, "k", "k", m, 2, func(n, after int64) bool { return n >= 5 && after >= n }, func(c Chunk) error {
		got = append(got, c.Seq)
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[3 4 5]" {
		t.Fatalf("got %v, %v", got, err)
	}
	// A follower's error ends its follow, and only its own.
	boom := errors.New("boom")
	if err := g.Follow(ctx, "k", "k", m, 0, nil, func(Chunk) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("follow = %v, want fn's error", err)
	}
	// A follower whose context ends returns its error.
	short, stop := context.WithTimeout(ctx, 10*time.Millisecond)
	defer stop()
	if err := g.Follow(short, "k", "k", m, 5, nil, func(Chunk) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("follow = %v, want the deadline", err)
	}
}

// statusLog is a memLog whose state is a status, as a workflow run's.
type statusLog struct {
	memLog
	status string
}

func (s *statusLog) Read(ctx context.Context, after int64) (Page[string], error) {
	p, err := s.memLog.Read(ctx, after)
	s.mu.Lock()
	defer s.mu.Unlock()
	return Page[string]{Chunks: p.Chunks, State: s.status, More: p.More}, err
}

func (s *statusLog) set(status string, chunks int, hub *wakeup.Hub, signal bool) {
	s.mu.Lock()
	s.status = status
	for i := 0; i < chunks; i++ {
		s.chunks = append(s.chunks, []byte(fmt.Sprintf("c%d", len(s.chunks)+1)))
	}
	s.mu.Unlock()
	if signal {
		hub.Signal("k")
	}
}

// A follower that joins a running reader does not stop on the state that
// reader read before it joined: its caller may have changed the log since
// (a resume that committed just before its watch, whose notification has
// not come yet).
func TestJoinerWaitsForAFreshState(t *testing.T) {
	hub := wakeup.NewHub()
	g := NewGroup[string](hub, time.Hour) // no polls
	defer g.Close()
	s := &statusLog{}
	s.set("suspended", 2, hub, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A follower that keeps the reader going, which has read the
	// suspended log.
	var held atomic.Int64
	go func() {
		_ = g.Follow(ctx, "k", "k", s, 0, nil, func(c Chunk) error { held.Store(c.Seq); return nil })
	}()
	for held.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	// Resumed, unannounced.
	s.set("running", 1, hub, false)
	untilSuspended := func(st string, after int64) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return st == "suspended" && after >= int64(len(s.chunks))
	}
	done := make(chan []int64, 1)
	go func() {
		var got []int64
		err := g.Follow(ctx, "k", "k", s, 2, untilSuspended, func(c Chunk) error { got = append(got, c.Seq); return nil })
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	// It reads the resumed log's chunk and goes on waiting.
	for held.Load() != 3 {
		if ctx.Err() != nil {
			t.Fatal("the joiner's read never came")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case got := <-done:
		t.Fatalf("the joiner stopped on the stale state with %v", got)
	default:
	}
	s.set("suspended", 1, hub, true)
	if got := <-done; fmt.Sprint(got) != "[3 4]" {
		t.Fatalf("got %v, want [3 4]", got)
	}
}
