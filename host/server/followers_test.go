package server

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/uptrace/bun"
)

// streamReads counts the statements that read a stream run or its chunks.
type streamReads struct{ n atomic.Int64 }

func (c *streamReads) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	q := strings.TrimSpace(e.Query)
	if strings.HasPrefix(q, "SELECT run_id, resource_id") || strings.HasPrefix(q, "SELECT seq, chunk FROM mastra_server_stream_chunks") {
		c.n.Add(1)
	}
	return ctx
}

func (c *streamReads) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestResumeManyFollowersShareReads: 50 clients reconnect to a running
// turn through another instance than its runner's. Each gets the whole
// stream, the same ids and events as the turn's own client, then [DONE];
// and while they follow it live, that instance reads the run from the
// database about once per write of the runner, not once per client.
func TestResumeManyFollowersShareReads(t *testing.T) {
	p := newPacer(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: strings.Join(resumeWords, ""), Gate: p.gate}))
	db := dbOptions(t, "postgres")
	a := newResumeInstance(t, db, fake, runsOptions{})
	b := newResumeInstance(t, db, fake, runsOptions{poll: time.Minute})
	waitListening(t, b.runs)
	reads := &streamReads{}
	b.runStore.AddQueryHook(reads)

	p.feed()
	req, _ := streamFaces[0].start(a.url, "t-many")
	res, rd := open(t, req)
	defer res.Body.Close()
	own, _ := p.read(t, rd, 4) // start, step-start, text-start, text-delta
	run := res.Header.Get("X-Run-Id")

	const n = 50
	type follower struct {
		events []sseEvent
		done   bool
		err    error
	}
	fs := make([]follower, n)
	joined := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &fs[i]
			r, err := http.Get(b.url + "/agent/stream/" + run)
			if err == nil && r.StatusCode != 200 {
				err = fmt.Errorf("status %d", r.StatusCode)
			}
			if err != nil {
				f.err = err
				joined <- struct{}{}
				return
			}
			defer r.Body.Close()
			sr := &sseReader{t: t, br: bufio.NewReader(r.Body)}
			for {
				ev, d, ok := sr.next()
				if !ok {
					f.done = d
					return
				}
				f.events = append(f.events, ev)
				if len(f.events) == 1 {
					joined <- struct{}{}
				}
			}
		}()
	}
	for range n {
		<-joined
	}
	before := reads.n.Load()
	rest, done := p.read(t, rd, -1)
	if !done {
		t.Fatal("the turn's own stream ended without [DONE]")
	}
	own = append(own, rest...)
	wg.Wait()
	live := reads.n.Load() - before

	for i, f := range fs {
		if f.err != nil || !f.done {
			t.Fatalf("follower %d: %v, [DONE] %v", i, f.err, f.done)
		}
		if fmt.Sprint(f.events) != fmt.Sprint(own) {
			t.Fatalf("follower %d got\n%v\nthe turn's own client\n%v", i, f.events, own)
		}
	}
	// Each live chunk is at most one write, so one wake-up of b's reader:
	// a read of the run and one of its new chunks. One read per client per
	// wake-up would be at least n.
	liveChunks := int64(len(own) - 4)
	t.Logf("%d followers, %d live chunks: %d stream reads on their instance", n, liveChunks, live)
	if limit := 2*liveChunks + 4; live > limit {
		t.Errorf("%d followers made %d stream reads for %d live chunks; want at most %d, whatever the followers' number", n, live, liveChunks, limit)
	}
}
