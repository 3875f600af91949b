package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/runlog"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// TestLostRunEndsAlike: a stream whose runner dies after its first word
// ends, for a client reconnecting to another instance, with the same bytes
// whichever face started it (/agent/stream, /api/agents/:id/stream,
// /stream/vnext), and those are the bytes the agent itself ends a turn
// with when its model fails at the same point: the text so far, the
// model's id and the usage in step-finish and finish, whoever wrote them.
// Only the error's message says which failure it was.
func TestLostRunEndsAlike(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	fake := llmtest.NewServer(t, llmtest.Replies(
		llmtest.Reply{Text: "Hello ", MidStreamError: true},
		llmtest.Reply{Text: "Hello world", HoldAfterFirstToken: hold}))
	db := dbOptions(t, "postgres")
	o := runsOptions{lease: 300 * time.Millisecond, poll: time.Minute}
	a := newResumeInstance(t, db, fake, o)
	b := newResumeInstance(t, db, fake, o)
	waitListening(t, b.runs)

	// The agent's own end: the model fails after its first word.
	req, _ := http.NewRequest("POST", a.url+"/agent/stream",
		strings.NewReader(`{"message":"count","agentId":"gpt","resourceId":"alice","threadId":"t-fail"}`))
	res, rd := open(t, req)
	failed := readEnd(t, rd, 0)
	res.Body.Close()
	want := normalizeEnd(failed, res.Header.Get("X-Run-Id"), "model provider error")

	faces := []struct{ name, start, resume string }{
		{"root", "/agent/stream", "/agent/stream/"},
		{"mastra", "/api/agents/gpt/stream", "/api/agents/gpt/stream/"},
		{"vnext", "/api/agents/gpt/stream/vnext", "/api/agents/gpt/stream/"},
	}
	runs := make([]string, len(faces))
	lastIDs := make([]int64, len(faces))
	for i, f := range faces {
		body := fmt.Sprintf(`{"messages":"count","memory":{"thread":"t-%s","resource":"alice"},"resumable":true}`, f.name)
		if f.name == "root" {
			body = `{"message":"count","agentId":"gpt","resourceId":"alice","threadId":"t-root","resumable":true}`
		}
		req, _ := http.NewRequest("POST", a.url+f.start, strings.NewReader(body))
		res, rd := open(t, req)
		for n := 0; n < 4; n++ { // start, step-start, text-start, text-delta
			ev, _, ok := rd.next()
			if !ok {
				t.Fatalf("%s: stream ended after %d events", f.name, n)
			}
			lastIDs[i] = ev.id
		}
		res.Body.Close()
		runs[i] = res.Header.Get("X-Run-Id")
	}
	// The log has what the clients read; then A is gone for the others.
	for i, run := range runs {
		deadline := time.Now().Add(10 * time.Second)
		for {
			info, err := b.runs.Info(context.Background(), run)
			if err == nil && info.LastSeq >= lastIDs[i] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the log never got the first %d chunks: %+v, %v", faces[i].name, lastIDs[i], info, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	a.runStore.Close()

	for i, f := range faces {
		rreq, _ := http.NewRequest("GET", b.url+f.resume+runs[i], nil)
		res, rd := open(t, rreq, "Last-Event-ID", strconv.FormatInt(lastIDs[i], 10))
		got := normalizeEnd(readEnd(t, rd, lastIDs[i]), runs[i], agent.LostRunMessage)
		res.Body.Close()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: the lost run ended with\n%s\nwant the end of a failed turn\n%s",
				f.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// readEnd reads a stream to [DONE] and returns the data of its events from
// the one that ends the text on (ids past after); it fails the test
// without [DONE].
func readEnd(t *testing.T, rd *sseReader, after int64) []string {
	t.Helper()
	var out []string
	for {
		ev, done, ok := rd.next()
		if !ok {
			if !done {
				t.Fatalf("stream ended without [DONE] after %q", out)
			}
			return out
		}
		if ev.id != 0 && ev.id <= after {
			t.Errorf("event %s has id %d, not after %d", ev.data, ev.id, after)
		}
		if typ, _ := chunkOf(t, ev); typ == agent.ChunkTextEnd || len(out) > 0 {
			out = append(out, ev.data)
		}
	}
}

// normalizeEnd replaces a stream's run and message ids and its error
// message.
func normalizeEnd(data []string, run, msg string) []string {
	ids := regexp.MustCompile(`"messageId":"[^"]*"`)
	out := make([]string, len(data))
	for i, d := range data {
		d = strings.ReplaceAll(strings.ReplaceAll(d, run, "RUN"), `"message":"`+msg+`"`, `"message":"MSG"`)
		out[i] = ids.ReplaceAllString(d, `"messageId":"MSG-ID"`)
	}
	return out
}

// TestResumableSaveRefusedEnds: a resumable turn whose run cannot be held
// just before its save (the log's tables are locked, as in a database
// stall) is not saved, and its stream still ends, by the agent and not the
// handler: the client reads error "could not save the conversation",
// finish with reason "error", then [DONE]. Once the database is back the
// log holds that same end, so a client that reconnects reads the same
// bytes.
func TestResumableSaveRefusedEnds(t *testing.T) {
	hold := make(chan struct{})
	fake := llmtest.NewServer(t, llmtest.Replies(llmtest.Reply{Text: "Hello world", HoldAfterFirstToken: hold}))
	db := dbOptions(t, "postgres")
	a := newResumeInstance(t, db, fake, runsOptions{lease: 500 * time.Millisecond, poll: time.Minute})
	admin, err := sql.Open("pgx", db.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx := context.Background()

	req, _ := http.NewRequest("POST", a.url+"/agent/stream",
		strings.NewReader(`{"message":"hi","agentId":"gpt","resourceId":"alice","threadId":"t-refused","resumable":true}`))
	res, rd := open(t, req)
	defer res.Body.Close()
	run := res.Header.Get("X-Run-Id")
	var last int64
	for n := 0; n < 4; n++ { // start, step-start, text-start, text-delta
		ev, _, ok := rd.next()
		if !ok {
			t.Fatalf("stream ended after %d events", n)
		}
		last = ev.id
	}
	waitLogged := func(done func(runlog.Info) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			info, err := a.runs.Info(ctx, run)
			if err == nil && done(info) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the log never got there: %+v, %v", info, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitLogged(func(i runlog.Info) bool { return i.LastSeq >= last })

	lock, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(`LOCK TABLE mastra_server_stream_runs IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	close(hold) // the model finishes; the save's check of the run fails
	got := readEnd(t, rd, last)
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	end := strings.Join(got, "\n")
	if !strings.Contains(got[len(got)-2], `"message":"could not save the conversation"`) ||
		!strings.Contains(got[len(got)-1], `"type":"finish"`) || !strings.Contains(got[len(got)-1], `"reason":"error"`) {
		t.Fatalf("the refused turn's stream ended\n%s\nwant error (could not save the conversation), then finish with reason error", end)
	}
	if _, err := a.store.Thread(ctx, "alice", "t-refused"); !errors.Is(err, memory.ErrNotFound) {
		t.Errorf("thread after the refused save: %v; want ErrNotFound (nothing saved)", err)
	}

	waitLogged(func(i runlog.Info) bool { return i.Status != runlog.StatusRunning })
	rreq, _ := http.NewRequest("GET", a.url+"/agent/stream/"+run, nil)
	rres, rrd := open(t, rreq, "Last-Event-ID", strconv.FormatInt(last, 10))
	defer rres.Body.Close()
	if again := strings.Join(readEnd(t, rrd, last), "\n"); again != end {
		t.Errorf("reconnected, the run ended with\n%s\nwant what its client read\n%s", again, end)
	}
}
