package workflow

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// cutProxy stands between one engine and Postgres: cutOff drops its
// connections and refuses new ones, as a dead or paused instance looks to
// the database; restore lets it connect again.
type cutProxy struct {
	url    string // the database through the proxy
	target string
	net    string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, rawURL string) *cutProxy {
	t.Helper()
	cc, err := pgx.ParseConfig(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{net: "tcp", target: net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))}
	if strings.HasPrefix(cc.Host, "/") {
		p.net, p.target = "unix", filepath.Join(cc.Host, ".s.PGSQL."+strconv.Itoa(int(cc.Port)))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); p.cutOff() })
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("host")
	q.Del("port")
	u.Host, u.RawQuery = ln.Addr().String(), q.Encode()
	p.url = u.String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			d, err := net.Dial(p.net, p.target)
			if p.cut || err != nil {
				p.mu.Unlock()
				c.Close()
				if d != nil {
					d.Close()
				}
				continue
			}
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); d.Close() }()
			go func() { _, _ = io.Copy(c, d); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cutOff() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// replyAgent answers its reply; block, when set, holds a call until it is
// closed or the call's context ends.
type replyAgent struct {
	reply string
	block chan struct{}
	began chan struct{}
}

func (a *replyAgent) RunAgent(ctx context.Context, _, _, _ string) (string, error) {
	a.began <- struct{}{}
	select {
	case <-a.block:
		return a.reply, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func newReplyAgent(reply string) *replyAgent {
	return &replyAgent{reply: reply, block: make(chan struct{}), began: make(chan struct{}, 4)}
}

// longStepDef is one agent step with a ten-minute timeout, so that River's
// rescue (which waits for the longest step timeout) would come far too late.
var longStepDef = Definition{
	ID: "long", StepTimeout: 10 * time.Minute,
	Steps: []StepDef{
		{ID: "draft", Kind: "agent", Agent: "assistant", Prompt: "write"},
		{ID: "publish", Kind: "map", Map: `{"by": steps.draft.text}`},
	},
}

// logWatch is a log that closes seen at the first record containing want.
type logWatch struct {
	want string
	once sync.Once
	seen chan struct{}
}

func (w *logWatch) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

// openInstance starts an engine on url with a one-second instance lease.
func openInstance(t *testing.T, url string, agent AgentRunner, log io.Writer) *Engine {
	t.Helper()
	return openWith(t, target{name: "postgres", url: url}, Options{Definitions: []Definition{longStepDef}, Agents: agent,
		InstanceLease: time.Second, Logger: slog.New(slog.NewTextHandler(log, nil))})
}

func waitBegan(t *testing.T, a *replyAgent, who string) {
	t.Helper()
	select {
	case <-a.began:
	case <-time.After(60 * time.Second): // a deadlock guard
		t.Fatalf("the step never began on %s", who)
	}
}

// A step's instance disappears while the step runs (its connections to
// the database are cut and never come back): the other instance runs the
// step again once the dead one's lease has expired, not after the step's
// ten-minute timeout, and the run finishes with its result.
func TestDeadInstanceStepRunsElsewhere(t *testing.T) {
	url := pgtest.NewDatabase(t)
	migrate(t, target{name: "postgres", url: url})
	proxy := newCutProxy(t, url)
	agentA := newReplyAgent("A")
	a := openInstance(t, proxy.url, agentA, io.Discard)
	run := startRun(t, a, "long", "", nil)
	waitBegan(t, agentA, "A")
	agentB := newReplyAgent("B")
	close(agentB.block)
	b := openInstance(t, url, agentB, io.Discard)
	proxy.cutOff()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // far below the old rescue (10 min 20 s)
	defer cancel()
	r, err := b.Wait(ctx, "long", run, "")
	if err != nil {
		t.Fatalf("the run did not finish on the live instance: %v", err)
	}
	if r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `{"by":"B"}` {
		t.Fatalf("run %s with result %s; want success by B", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
	}
	proxy.restore() // lets A close
	close(agentA.block)
}

// An instance pauses past its lease while its step runs (SIGSTOP), the
// other takes the step over; the paused one resumes and finishes the step
// first: its commit records nothing, and the run's result is the live
// instance's.
func TestStaleStepCommitIsFenced(t *testing.T) {
	url := pgtest.NewDatabase(t)
	migrate(t, target{name: "postgres", url: url})
	proxy := newCutProxy(t, url)
	agentA := newReplyAgent("A")
	fenced := &logWatch{want: "taken over", seen: make(chan struct{})}
	a := openInstance(t, proxy.url, agentA, fenced)
	run := startRun(t, a, "long", "", nil)
	waitBegan(t, agentA, "A")
	agentB := newReplyAgent("B")
	b := openInstance(t, url, agentB, io.Discard)
	proxy.cutOff()
	waitBegan(t, agentB, "B")

	proxy.restore()
	close(agentA.block) // A finishes its stale step and commits
	deadline := time.Now().Add(60 * time.Second)
	for waiting := true; waiting; {
		select {
		case <-fenced.seen:
			waiting = false
		case <-time.After(50 * time.Millisecond):
		}
		r, err := b.GetRun(context.Background(), "long", run, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Snapshot.Status != StatusRunning {
			t.Fatalf("the paused instance's stale commit was recorded: run %s with result %s", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
		}
		if time.Now().After(deadline) { // a deadlock guard
			t.Fatal("the paused instance never committed")
		}
	}
	close(agentB.block)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := b.Wait(ctx, "long", run, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Snapshot.Status != StatusSuccess || jsonOf(r.Snapshot.Result) != `{"by":"B"}` {
		t.Fatalf("run %s with result %s; want success by B", r.Snapshot.Status, jsonOf(r.Snapshot.Result))
	}
}
