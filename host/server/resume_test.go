package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/runlog"
	"github.com/mastra-server/mastra-server/internal/llmtest"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// Resumable streams (runs.go, host/runlog): a client cut after any event
// reconnects with Last-Event-ID, to the same instance or another one on
// the same database, and gets exactly the rest of the stream; a runner that
// stops renewing its lease leaves its followers an error and finish(error)
// and saves nothing; other tokens get 404; a stream that is not resumable
// is still cancelled by its client leaving.

type runsOptions struct {
	lease, poll time.Duration
}

// openRuns starts a stream log on store, closed when the test ends.
func openRuns(t testing.TB, store *memory.Store, o runsOptions) *runlog.Log {
	t.Helper()
	l, err := runlog.Open(runlog.Options{Store: store, Lease: o.lease, PollInterval: o.poll,
		FlushInterval: 2 * time.Millisecond, Terminate: agent.EndLost, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// resumeInstance is one server process of a cluster: its own stores and
// stream log on a shared database, and a fake OpenAI.
type resumeInstance struct {
	url   string
	store *memory.Store // the agents' memory
	runs  *runlog.Log
	// runStore is the stream log's own store: closing it is the instance
	// losing the database, as a crash looks to the others.
	runStore *memory.Store
	ts       *httptest.Server
}

func newResumeInstance(t *testing.T, db memory.Options, fake *llmtest.Server, o runsOptions) *resumeInstance {
	t.Helper()
	in := &resumeInstance{store: openStore(t, db), runStore: openStore(t, db)}
	in.runs = openRuns(t, in.runStore, o)
	agents := []*agent.Agent{
		{ID: "gpt", Name: "GPT", Model: fake.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-4o-mini", LastMessages: 10},
	}
	svc, err := agent.NewService(in.store, agents, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, in.ts = newTestServer(t, Options{Config: testConfig(), Store: in.store, Agents: svc, DefaultResourceID: "anon", Runs: in.runs})
	in.url = in.ts.URL
	return in
}

// dbOptions is a fresh database of kind.
func dbOptions(t *testing.T, kind string) memory.Options {
	if kind == "sqlite" {
		return memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db")}
	}
	return memory.Options{DatabaseURL: pgtest.NewDatabase(t)}
}

// sseEvent is one event as an EventSource client sees it.
type sseEvent struct {
	id   int64 // 0: none
	data string
}

// sseReader reads events one at a time.
type sseReader struct {
	t  *testing.T
	br *bufio.Reader
}

// next returns the next event; ok is false at [DONE] and at the end.
func (r *sseReader) next() (ev sseEvent, done, ok bool) {
	r.t.Helper()
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return ev, false, false
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.data == "" {
				continue
			}
			if ev.data == "[DONE]" {
				return ev, true, false
			}
			return ev, false, true
		case strings.HasPrefix(line, "id: "):
			if ev.id, err = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64); err != nil {
				r.t.Fatalf("bad id line %q", line)
			}
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		case strings.HasPrefix(line, ":"):
		default:
			r.t.Fatalf("unexpected stream line %q", line)
		}
	}
}

func chunkOf(t *testing.T, ev sseEvent) (typ, text string) {
	t.Helper()
	var c struct {
		Type    string `json:"type"`
		Delta   string `json:"delta"`
		Payload struct {
			Text string `json:"text"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
		t.Fatalf("event %q: %v", ev.data, err)
	}
	return c.Type, c.Payload.Text + c.Delta
}

// words is the fake model's reply, released word by word through a gate.
var resumeWords = []string{"one ", "two ", "three ", "four ", "five ", "six"}

// pacer releases the model's words in step with a reader: one at the
// start, then one more per text delta read, so a run is still going when
// its client is cut (unless the cut is after the last delta).
type pacer struct {
	gate chan struct{}
	mu   sync.Mutex
	fed  int
}

// newPacer returns a pacer that releases every word when the test ends, so
// that a failed test does not leave a model waiting.
func newPacer(t *testing.T) *pacer {
	p := &pacer{gate: make(chan struct{}, len(resumeWords))}
	t.Cleanup(p.feedAll)
	return p
}

func (p *pacer) feed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fed < len(resumeWords) {
		p.fed++
		p.gate <- struct{}{}
	}
}

func (p *pacer) feedAll() {
	for range resumeWords {
		p.feed()
	}
}

// read reads events up to [DONE], or n of them when n >= 0, feeding a
// word after each text delta.
func (p *pacer) read(t *testing.T, r *sseReader, n int) (events []sseEvent, done bool) {
	t.Helper()
	for n < 0 || len(events) < n {
		ev, d, ok := r.next()
		if !ok {
			return events, d
		}
		events = append(events, ev)
		if typ, _ := chunkOf(t, ev); typ == "text-delta" {
			p.feed()
		}
	}
	return events, false
}

// streamFaces are the two ways to start and reconnect to a stream.
var streamFaces = []struct {
	name      string
	start     func(base, thread string) (*http.Request, error)
	reconnect func(base, run string) string
}{
	{"root", func(base, thread string) (*http.Request, error) {
		return http.NewRequest("POST", base+"/agent/stream", strings.NewReader(
			fmt.Sprintf(`{"message":"count","agentId":"gpt","resourceId":"alice","threadId":%q,"resumable":true}`, thread)))
	}, func(base, run string) string { return base + "/agent/stream/" + run }},
	{"mastra", func(base, thread string) (*http.Request, error) {
		return http.NewRequest("POST", base+"/api/agents/gpt/stream", strings.NewReader(
			fmt.Sprintf(`{"messages":"count","memory":{"thread":%q,"resource":"alice"},"resumable":true}`, thread)))
	}, func(base, run string) string { return base + "/api/agents/gpt/stream/" + run }},
}

func open(t *testing.T, req *http.Request, headers ...string) (*http.Response, *sseReader) {
	t.Helper()
	req.Header.Set("Content-Type", jsonCT)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("%s %s = %d %s", req.Method, req.URL, res.StatusCode, b)
	}
	return res, &sseReader{t: t, br: bufio.NewReader(res.Body)}
}

// normalize makes two runs' chunks comparable: run, message, thread and
// response ids replaced.
func normalize(events []sseEvent, run, thread string) []string {
	var msg string
	resp := regexp.MustCompile(`chatcmpl-\d+`)
	// Times differ between the two runs.
	startedAt := regexp.MustCompile(`"startedAt":\d+`)
	stamp := regexp.MustCompile(`"timestamp":"[^"]*"`)
	var out []string
	for _, ev := range events {
		if msg == "" {
			var c struct {
				Payload struct {
					MessageID string `json:"messageId"`
				} `json:"payload"`
			}
			_ = json.Unmarshal([]byte(ev.data), &c)
			msg = c.Payload.MessageID
		}
		d := strings.ReplaceAll(ev.data, run, "RUN")
		d = strings.ReplaceAll(d, thread, "THREAD")
		if msg != "" {
			d = strings.ReplaceAll(d, msg, "MSG")
		}
		d = startedAt.ReplaceAllString(stamp.ReplaceAllString(d, `"timestamp":"TS"`), `"startedAt":0`)
		out = append(out, fmt.Sprintf("%d %s", ev.id, resp.ReplaceAllString(d, "RESP")))
	}
	return out
}

// savedTurn returns the texts of a thread's messages.
func savedTurn(t *testing.T, store *memory.Store, thread string) []string {
	t.Helper()
	msgs, err := store.LastMessages(context.Background(), thread, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		c, err := memory.ParseContent(m.Content)
		if err != nil {
			t.Fatal(err)
		}
		text := c.Content
		if text == "" {
			text = c.Text()
		}
		out = append(out, m.Role+":"+text)
	}
	return out
}

// TestResumeAtEveryBoundary cuts a resumable stream after each of its
// events in turn and reconnects with the last id received: the events of
// both connections are those of an uninterrupted run, ids 1..n, and the
// turn is saved once. Root face on one instance (SQLite and Postgres),
// Mastra's face reconnecting to a second instance (Postgres, woken by
// LISTEN/NOTIFY only: its polls are a minute apart).
func TestResumeAtEveryBoundary(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		face       int
		cross      bool
	}{
		{"root/sqlite", "sqlite", 0, false},
		{"root/postgres", "postgres", 0, false},
		{"mastra/postgres/other-instance", "postgres", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				cur *pacer
			)
			fake := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply {
				mu.Lock()
				defer mu.Unlock()
				return llmtest.Reply{Text: strings.Join(resumeWords, ""), Gate: cur.gate}
			})
			db := dbOptions(t, tc.kind)
			a := newResumeInstance(t, db, fake, runsOptions{})
			b := a
			if tc.cross {
				b = newResumeInstance(t, db, fake, runsOptions{poll: time.Minute})
				waitListening(t, b.runs)
			}
			face := streamFaces[tc.face]
			use := func() *pacer {
				mu.Lock()
				defer mu.Unlock()
				cur = newPacer(t)
				return cur
			}

			// The uninterrupted run.
			p := use()
			p.feed()
			req, _ := face.start(a.url, "t-ref")
			res, rd := open(t, req)
			ref, done := p.read(t, rd, -1)
			res.Body.Close()
			run := res.Header.Get("X-Run-Id")
			if !done || len(ref) < 10 || run == "" {
				t.Fatalf("reference run: %d events, [DONE] %v, X-Run-Id %q", len(ref), done, run)
			}
			want := normalize(ref, run, "t-ref")
			for i, ev := range ref {
				if ev.id != int64(i+1) {
					t.Fatalf("reference event %d has id %d; want %d", i, ev.id, i+1)
				}
			}

			for k := 1; k <= len(ref); k++ {
				thread := fmt.Sprintf("t-cut-%d", k)
				p := use()
				p.feed()
				req, _ := face.start(a.url, thread)
				res, rd := open(t, req)
				first, _ := p.read(t, rd, k)
				res.Body.Close() // the connection drops
				run := res.Header.Get("X-Run-Id")
				if typ, _ := chunkOf(t, first[0]); typ != "start" || !strings.Contains(first[0].data, `"runId":"`+run+`"`) {
					t.Fatalf("k=%d: first chunk %s does not carry X-Run-Id %q", k, first[0].data, run)
				}
				last := strconv.FormatInt(first[len(first)-1].id, 10)
				rreq, _ := http.NewRequest("GET", face.reconnect(b.url, run), nil)
				res2, rd2 := open(t, rreq, "Last-Event-ID", last)
				rest, done := p.read(t, rd2, -1)
				res2.Body.Close()
				if !done {
					t.Fatalf("k=%d: the reconnected stream ended without [DONE]", k)
				}
				got := normalize(append(first, rest...), run, thread)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("k=%d: events across the cut:\n%s\nwant\n%s", k, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				// The runner saves a turn before it sends finish.
				if turn := savedTurn(t, a.store, thread); strings.Join(turn, "|") != "user:count|assistant:"+strings.Join(resumeWords, "") {
					t.Fatalf("k=%d: thread holds %q; want the turn once", k, turn)
				}
			}
		})
	}
}

// waitListening waits until l receives notifications.
func waitListening(t *testing.T, l *runlog.Log) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !l.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the stream log never started listening")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestResumeAfterRunnerLost: the instance running a resumable turn loses
// the database (its stream log's store closes, as a crash looks from
// outside) while its client is away. A client reconnecting to another
// instance gets, once the runner's lease has expired, the end of a failed
// turn: text-end, error, step-finish and finish with reason "error", then
// [DONE]. When the runner's model then finishes, the turn is not saved.
func TestResumeAfterRunnerLost(t *testing.T) {
	p := newPacer(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: strings.Join(resumeWords, ""), Gate: p.gate}))
	db := dbOptions(t, "postgres")
	o := runsOptions{lease: 300 * time.Millisecond, poll: time.Minute}
	a := newResumeInstance(t, db, fake, o)
	b := newResumeInstance(t, db, fake, o)
	waitListening(t, b.runs)

	p.feed() // the first word only: the model then waits
	req, _ := streamFaces[0].start(a.url, "t-lost")
	res, rd := open(t, req)
	var first []sseEvent
	for len(first) < 4 { // start, step-start, text-start, text-delta
		ev, _, ok := rd.next()
		if !ok {
			t.Fatalf("stream ended after %d events", len(first))
		}
		first = append(first, ev)
	}
	res.Body.Close()
	run := res.Header.Get("X-Run-Id")
	// The log has what the client read (the runner logs every 2 ms); then
	// A is gone for the others: no more renewals or chunks.
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := b.runs.Info(context.Background(), run)
		if err == nil && info.LastSeq >= first[3].id {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log never got the first %d chunks: %+v, %v", first[3].id, info, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	a.runStore.Close()

	rreq, _ := http.NewRequest("GET", b.url+"/agent/stream/"+run, nil)
	res2, rd2 := open(t, rreq, "Last-Event-ID", strconv.FormatInt(first[3].id, 10))
	var got []string
	var last sseEvent
	done := false
	for {
		ev, d, ok := rd2.next()
		if !ok {
			done = d
			break
		}
		typ, _ := chunkOf(t, ev)
		got = append(got, typ)
		if ev.id <= first[3].id {
			t.Errorf("event %s has id %d, not after Last-Event-ID %d", typ, ev.id, first[3].id)
		}
		last = ev
	}
	res2.Body.Close()
	if strings.Join(got, ",") != "text-end,error,step-finish,finish" || !done ||
		!strings.Contains(last.data, `"reason":"error"`) {
		t.Fatalf("after the runner was lost the stream got %v (last %s), [DONE] %v; want text-end,error,step-finish,finish(error), [DONE]", got, last.data, done)
	}

	p.feedAll()  // A's model answers in full after all
	a.ts.Close() // returns once A's handler, and so its turn, is over
	if _, err := b.store.Thread(context.Background(), "alice", "t-lost"); err == nil {
		t.Errorf("the lost runner's turn was saved: %q", savedTurn(t, b.store, "t-lost"))
	}
}

// TestStreamNotResumableIsCancelled: without resumable, a client leaving
// cancels the model call as before, and the run cannot be reconnected to.
func TestStreamNotResumableIsCancelled(t *testing.T) {
	fake := upstream(t, llmtest.Reply{Text: "Hello world", HangAfterFirstToken: true})
	a := newResumeInstance(t, dbOptions(t, "sqlite"), fake, runsOptions{})
	res := post(t, a.url+"/agent/stream", `{"message":"hi","agentId":"gpt","resourceId":"alice","threadId":"t-gone"}`)
	rd := &sseReader{t: t, br: bufio.NewReader(res.Body)}
	for {
		ev, _, ok := rd.next()
		if !ok {
			t.Fatal("stream ended before its first token")
		}
		if typ, _ := chunkOf(t, ev); typ == "text-delta" {
			if ev.id != 4 {
				t.Errorf("first text-delta has id %d; want 4 (start, step-start, text-start before it)", ev.id)
			}
			break
		}
	}
	run := res.Header.Get("X-Run-Id")
	res.Body.Close()
	select {
	case <-fake.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream model request was not cancelled")
	}
	if r := do(t, "GET", a.url+"/agent/stream/"+run, ""); r.status != 404 {
		t.Errorf("reconnect to a run that was not resumable = %d %s; want 404", r.status, r.raw)
	}
}

// TestChatResume: useChat's reconnect replays the chat's running resumable
// turn from its start as UI chunks, then follows it; another resource and
// a chat with nothing running get 204.
func TestChatResume(t *testing.T) {
	p := newPacer(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: strings.Join(resumeWords, ""), Gate: p.gate}))
	a := newResumeInstance(t, dbOptions(t, "postgres"), fake, runsOptions{})
	if r := do(t, "GET", a.url+"/chat/gpt/chat-r/stream?resourceId=alice", ""); r.status != 204 {
		t.Fatalf("reconnect with nothing running = %d %s; want 204", r.status, r.raw)
	}
	p.feed()
	req, _ := http.NewRequest("POST", a.url+"/chat/gpt", strings.NewReader(
		chatBodyJSON("chat-r", `,"resourceId":"alice","resumable":true`, uiMsg("u1", "user", "count"))))
	res, rd := open(t, req)
	if _, _, ok := rd.next(); !ok {
		t.Fatal("the chat stream sent nothing")
	}
	res.Body.Close() // the tab reloads
	if r := do(t, "GET", a.url+"/chat/gpt/chat-r/stream?resourceId=bob", ""); r.status != 204 {
		t.Errorf("another resource's reconnect = %d %s; want 204", r.status, r.raw)
	}
	rreq, _ := http.NewRequest("GET", a.url+"/chat/gpt/chat-r/stream?resourceId=alice", nil)
	res2, rd2 := open(t, rreq)
	if res2.Header.Get("X-Vercel-AI-UI-Message-Stream") != "v1" {
		t.Errorf("reconnect headers %v; want the UI message stream's", res2.Header)
	}
	events, done := p.read(t, rd2, -1)
	res2.Body.Close()
	var typs []string
	var text string
	for _, ev := range events {
		typ, s := chunkOf(t, ev)
		if typ != "text-delta" || typs[len(typs)-1] != "text-delta" {
			typs = append(typs, typ)
		}
		if typ == "text-delta" {
			text += s
		}
	}
	if got := strings.Join(typs, ","); got != "start,start-step,text-start,text-delta,text-end,finish-step,finish" || !done ||
		text != strings.Join(resumeWords, "") || !strings.Contains(events[len(events)-1].data, `"finishReason":"stop"`) {
		t.Errorf("replayed chat = %s %q, [DONE] %v; want the whole UI stream from its start", got, text, done)
	}
	if r := do(t, "GET", a.url+"/chat/gpt/chat-r/stream?resourceId=alice", ""); r.status != 204 {
		t.Errorf("reconnect once the turn is over = %d %s; want 204", r.status, r.raw)
	}
}

// TestResumeBadRequests: a bad Last-Event-ID is 400, an unknown run 404, a
// run id in use 409, resumable without a stream log 400; all before any
// model call.
func TestResumeBadRequests(t *testing.T) {
	p := newPacer(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: strings.Join(resumeWords, ""), Gate: p.gate}))
	a := newResumeInstance(t, dbOptions(t, "sqlite"), fake, runsOptions{})
	for _, tc := range []struct {
		path    string
		headers []string
		status  int
	}{
		{"/agent/stream/r1", []string{"Last-Event-ID", "abc"}, 400},
		{"/agent/stream/r1?lastEventId=-1", nil, 400},
		{"/agent/stream/no-such-run", nil, 404},
		{"/api/agents/gpt/stream/no-such-run?lastEventId=3", nil, 404},
		{"/api/agents/nobody/stream/r1", nil, 404},
		{"/chat/gpt/chat-x/stream?resourceId=alice", []string{"Last-Event-ID", "1.5"}, 400},
		{"/chat/gpt/chat-x/stream?resourceId=alice&lastEventId=x", nil, 400},
		{"/chat/nobody/chat-x/stream?resourceId=alice", nil, 404},
	} {
		if r := do(t, "GET", a.url+tc.path, "", tc.headers...); r.status != tc.status {
			t.Errorf("GET %s %v = %d %s; want %d", tc.path, tc.headers, r.status, r.raw, tc.status)
		}
	}
	p.feed()
	req, _ := http.NewRequest("POST", a.url+"/api/agents/gpt/stream",
		strings.NewReader(`{"messages":"count","runId":"run-mine","memory":{"thread":"t-409","resource":"alice"},"resumable":true}`))
	res, rd := open(t, req)
	defer res.Body.Close()
	rd.next()
	calls := len(fake.Requests())
	for _, body := range []string{
		`{"messages":"again","runId":"run-mine","memory":{"thread":"t-409b","resource":"alice"},"resumable":true}`,
		`{"messages":"again","runId":"run-mine","memory":{"thread":"t-409b","resource":"bob"},"resumable":true}`,
	} {
		if r := do(t, "POST", a.url+"/api/agents/gpt/stream", body, "Content-Type", jsonCT); r.status != 409 {
			t.Errorf("a stream with a run id in use = %d %s; want 409", r.status, r.raw)
		}
	}
	if n := len(fake.Requests()); n != calls {
		t.Errorf("refused streams called the model %d times", n-calls)
	}
	p.feedAll()
	if _, done := p.read(t, rd, -1); !done {
		t.Error("the first stream did not end")
	}

	plain := agentServer(t, openSQLite(t), fake)
	if r := do(t, "POST", plain.URL+"/agent/stream", `{"message":"hi","resumable":true}`, "Content-Type", jsonCT); r.status != 400 {
		t.Errorf("resumable on a server without a stream log = %d %s; want 400", r.status, r.raw)
	}
}

// TestStreamIDFraming: on Mastra's face each chunk's id is an event of its
// own just before the chunk, so a reader that splits on blank lines and
// keeps the events beginning with "data: " (@mastra/client-js) reads every
// chunk as JSON; on the AI SDK face id and data share one event.
func TestStreamIDFraming(t *testing.T) {
	fake := upstream(t, llmtest.Reply{Text: "Hello brave new world"})
	a := newResumeInstance(t, dbOptions(t, "sqlite"), fake, runsOptions{})
	body := func(path, b string) string {
		res := post(t, a.url+path, b)
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return string(raw)
	}
	mastra := body("/api/agents/gpt/stream", `{"messages":"hi","resumable":true}`)
	blocks := strings.Split(strings.TrimSuffix(mastra, "\n\n"), "\n\n")
	var want int64 = 1
	for i, b := range blocks {
		switch {
		case strings.HasPrefix(b, "id: "):
			if b != "id: "+strconv.FormatInt(want, 10) || i+1 >= len(blocks) || !strings.HasPrefix(blocks[i+1], "data: {") {
				t.Fatalf("block %d %q: want id %d alone, then its chunk", i, b, want)
			}
			want++
		case strings.HasPrefix(b, "data: "):
			if d := strings.TrimPrefix(b, "data: "); d != "[DONE]" && !json.Valid([]byte(d)) {
				t.Fatalf("block %d is not one JSON chunk as client-js reads it: %q", i, b)
			}
		default:
			t.Fatalf("block %d %q", i, b)
		}
	}
	if want < 8 || blocks[len(blocks)-1] != "data: [DONE]" {
		t.Errorf("Mastra stream had %d ids and ends %q", want-1, blocks[len(blocks)-1])
	}
	chat := body("/chat/gpt", chatBodyJSON("chat-ids", `,"resourceId":"alice"`, uiMsg("u1", "user", "hi")))
	for i, b := range strings.Split(strings.TrimSuffix(chat, "\n\n"), "\n\n") {
		id, data, _ := strings.Cut(b, "\n")
		if b != "data: [DONE]" && (!strings.HasPrefix(id, "id: ") || !strings.HasPrefix(data, "data: {")) {
			t.Errorf("chat block %d %q: want id and data in one event", i, b)
		}
	}
}

// TestResumeConcurrentStreams: eight resumable streams run at once on one
// instance (their chunks share the instance's batches) while another
// instance follows each from its start: every follower gets exactly what
// the stream's own client got, ids included, and every turn is saved once.
func TestResumeConcurrentStreams(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	words := strings.Repeat("tick ", 30)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: words, Gate: gate}))
	db := dbOptions(t, "postgres")
	a := newResumeInstance(t, db, fake, runsOptions{})
	b := newResumeInstance(t, db, fake, runsOptions{poll: time.Minute})
	waitListening(t, b.runs)

	const n = 8
	type got struct {
		events []sseEvent
		done   bool
	}
	own, followed := make([]got, n), make([]got, n)
	var wg sync.WaitGroup
	read := func(res *http.Response, into *got) {
		defer res.Body.Close()
		rd := &sseReader{t: t, br: bufio.NewReader(res.Body)}
		for {
			ev, d, ok := rd.next()
			if !ok {
				into.done = d
				return
			}
			into.events = append(into.events, ev)
		}
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"messages":"count","runId":"conc-%d","memory":{"thread":"t-conc-%d","resource":"alice"},"resumable":true}`, i, i)
			res, err := http.Post(a.url+"/api/agents/gpt/stream", jsonCT, strings.NewReader(body))
			if err != nil || res.StatusCode != 200 {
				t.Errorf("stream %d: %v %v", i, res, err)
				return
			}
			read(res, &own[i])
		}()
	}
	// The runs are logged as they start (their ids were chosen): follow
	// each from another instance before the model says a word.
	deadline := time.Now().Add(10 * time.Second)
	for i := range n {
		for {
			if _, err := b.runs.Info(context.Background(), fmt.Sprintf("conc-%d", i)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run conc-%d never logged", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		res, err := http.Get(fmt.Sprintf("%s/api/agents/gpt/stream/conc-%d", b.url, i))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("follow %d: %v %v", i, res, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			read(res, &followed[i])
		}()
	}
	release()
	wg.Wait()
	for i := range n {
		if !own[i].done || !followed[i].done || len(own[i].events) < 30 {
			t.Fatalf("stream %d: own %d events (done %v), followed %d (done %v)", i, len(own[i].events), own[i].done, len(followed[i].events), followed[i].done)
		}
		if g, w := fmt.Sprint(followed[i].events), fmt.Sprint(own[i].events); g != w {
			t.Errorf("stream %d followed from another instance:\n%s\nwant\n%s", i, g, w)
		}
		if turn := savedTurn(t, a.store, fmt.Sprintf("t-conc-%d", i)); strings.Join(turn, "|") != "user:count|assistant:"+words {
			t.Errorf("stream %d saved %q", i, turn)
		}
	}
}

// TestShutdownEndsResumableStreams: a resumable turn whose client left is
// still running when its server shuts down. Serve waits for it, ends it
// near the end of the drain time as it ends every stream (error, finish
// with reason "error", nothing saved), and logs that end: the client,
// coming back to another instance, gets it.
func TestShutdownEndsResumableStreams(t *testing.T) {
	p := newPacer(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: strings.Join(resumeWords, ""), Gate: p.gate}))
	db := dbOptions(t, "postgres")
	storeA := openStore(t, db)
	svc, err := agent.NewService(storeA, []*agent.Agent{{ID: "gpt", Model: fake.Model(10 * time.Second), Provider: "openai", ModelID: "m"}}, "gpt", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.DrainTimeout = time.Second
	s, err := New(Options{Config: cfg, Store: storeA, Agents: svc, Logger: quietLogger(), DefaultResourceID: "anon",
		Runs: openRuns(t, storeA, runsOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	b := newResumeInstance(t, db, fake, runsOptions{})

	p.feed()
	req, _ := streamFaces[0].start("http://"+ln.Addr().String(), "t-drain")
	res, rd := open(t, req)
	var last sseEvent
	for {
		ev, _, ok := rd.next()
		if !ok {
			t.Fatal("stream ended before its first token")
		}
		last = ev
		if typ, _ := chunkOf(t, ev); typ == "text-delta" {
			break
		}
	}
	res.Body.Close() // the client leaves; the turn runs on
	run := res.Header.Get("X-Run-Id")
	cancel() // SIGTERM
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	rreq, _ := http.NewRequest("GET", b.url+"/agent/stream/"+run, nil)
	res2, rd2 := open(t, rreq, "Last-Event-ID", strconv.FormatInt(last.id, 10))
	defer res2.Body.Close()
	var got []string
	var end sseEvent
	done := false
	for {
		ev, d, ok := rd2.next()
		if !ok {
			done = d
			break
		}
		typ, _ := chunkOf(t, ev)
		got = append(got, typ)
		end = ev
	}
	if strings.Join(got, ",") != "text-end,error,step-finish,finish" || !done || !strings.Contains(end.data, `"reason":"error"`) {
		t.Errorf("after the shutdown the stream's log ends %v (%s), [DONE] %v; want text-end,error,step-finish,finish(error)", got, end.data, done)
	}
	if _, err := storeA.Thread(context.Background(), "alice", "t-drain"); err == nil {
		t.Errorf("the stopped turn was saved: %q", savedTurn(t, storeA, "t-drain"))
	}
}

// TestResumeDatabaseDown: with the stream log's database gone, a reconnect
// is a JSON 500, not the 404 of a missing run nor useChat's 204 "nothing
// running", which would make the client give up on a run that may well be
// going on.
func TestResumeDatabaseDown(t *testing.T) {
	fake := upstream(t, llmtest.Reply{Text: "unused"})
	a := newResumeInstance(t, dbOptions(t, "postgres"), fake, runsOptions{})
	a.runStore.Close()
	for _, path := range []string{
		"/agent/stream/some-run?resourceId=alice",
		"/api/agents/gpt/stream/some-run?resourceId=alice",
		"/chat/gpt/chat-down/stream?resourceId=alice",
	} {
		r := do(t, "GET", a.url+path, "", "Last-Event-ID", "3")
		if r.status != 503 || r.body["error"] != "Database unavailable" {
			t.Errorf("GET %s with the database down = %d %s; want the JSON 503 Database unavailable", path, r.status, r.raw)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("reconnects called the model %d times", n)
	}
}

// TestResumeDatabaseLostWhileFollowing: a reconnected stream whose
// instance loses the database ends without [DONE], so that its client
// reconnects; on another instance it gets the rest, then [DONE].
func TestResumeDatabaseLostWhileFollowing(t *testing.T) {
	p := newPacer(t)
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: strings.Join(resumeWords, ""), Gate: p.gate}))
	db := dbOptions(t, "postgres")
	o := runsOptions{poll: 20 * time.Millisecond}
	a := newResumeInstance(t, db, fake, o)
	b := newResumeInstance(t, db, fake, o)

	p.feed()
	req, _ := streamFaces[0].start(a.url, "t-follow-down")
	res, rd := open(t, req)
	defer res.Body.Close()
	if _, _, ok := rd.next(); !ok {
		t.Fatal("the stream sent nothing")
	}
	run := res.Header.Get("X-Run-Id")

	breq, _ := http.NewRequest("GET", b.url+"/agent/stream/"+run, nil)
	bres, brd := open(t, breq)
	defer bres.Body.Close()
	ev, _, ok := brd.next()
	if !ok {
		t.Fatal("the reconnected stream sent nothing")
	}
	b.runStore.Close()
	last := ev.id
	for {
		ev, done, ok := brd.next()
		if !ok {
			if done {
				t.Fatal("the stream of an instance without its database ended with [DONE]; want it cut so the client reconnects")
			}
			break
		}
		last = ev.id
		if typ, _ := chunkOf(t, ev); typ == "text-delta" {
			p.feed()
		}
	}

	areq, _ := http.NewRequest("GET", a.url+"/agent/stream/"+run, nil)
	ares, ard := open(t, areq, "Last-Event-ID", strconv.FormatInt(last, 10))
	defer ares.Body.Close()
	events, done := p.read(t, ard, -1)
	if !done || len(events) == 0 || events[0].id != last+1 {
		t.Errorf("reconnect elsewhere after id %d = %d events from id %v, [DONE] %v; want the rest from id %d, then [DONE]",
			last, len(events), firstID(events), done, last+1)
	}
}

func firstID(events []sseEvent) any {
	if len(events) == 0 {
		return nil
	}
	return events[0].id
}
