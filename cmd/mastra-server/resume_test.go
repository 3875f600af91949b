package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// TestResumeAcrossProcesses: two mastra-server processes on one Postgres.
// A resumable stream on A whose client is cut is resumed on B with the id
// of the last event read, and ends there in full; a second one, whose
// instance A is then killed (SIGKILL), ends on B with error and
// finish(error) once A's lease has run out, and its turn is not saved.
func TestResumeAcrossProcesses(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mastra-server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The model says its first word, then waits: the first request until
	// release is closed, any later one until its caller is gone.
	release := make(chan struct{})
	var calls atomic.Int32
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(text, finish string) {
			fr := "null"
			if finish != "" {
				fr = strconv.Quote(finish)
			}
			fmt.Fprintf(w, `data: {"choices":[{"index":0,"delta":{"content":%q},"finish_reason":%s}]}`+"\n\n", text, fr)
			http.NewResponseController(w).Flush()
		}
		send("first", "")
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			send(" second", "")
			send(" last", "stop")
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		<-r.Context().Done()
	}))
	defer model.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	db := pgtest.NewDatabase(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mastra.toml")
	os.WriteFile(cfgPath, []byte(`
[agents.slow]
model = "openai/slow-model"
[server.streams]
lease = "1s"
flush_interval = "20ms"
`), 0o644)
	start := func(name string) (*exec.Cmd, string) {
		cmd := exec.Command(bin, "--config", cfgPath)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "OPENAI_BASE_URL="+model.URL,
			"OPENAI_API_KEY=test", "MEMORY_DATABASE_URL="+db)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		logs := bufio.NewScanner(stderr)
		for logs.Scan() {
			if line := logs.Text(); strings.Contains(line, "mastra-server listening") {
				_, rest, _ := strings.Cut(line, "addr=")
				addr, _, _ := strings.Cut(rest, " ")
				go io.Copy(io.Discard, stderr)
				return cmd, "http://" + addr
			}
		}
		t.Fatalf("%s did not report its address", name)
		return nil, ""
	}
	procA, a := start("A")
	_, b := start("B")

	// events reads an SSE body: each chunk's type and text, with the id of
	// the event before it (Mastra's face sends ids as events of their own).
	type event struct {
		id         int64
		typ, text  string
		finishedAs string
	}
	read := func(br *bufio.Reader, until func(event) bool) (evs []event, done bool) {
		var id int64
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return evs, false
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
			case line == "data: [DONE]":
				return evs, true
			case strings.HasPrefix(line, "data: "):
				var c struct {
					Type    string `json:"type"`
					Payload struct {
						Text       string `json:"text"`
						StepResult struct {
							Reason string `json:"reason"`
						} `json:"stepResult"`
					} `json:"payload"`
				}
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c); err != nil {
					t.Fatalf("bad chunk %q", line)
				}
				ev := event{id: id, typ: c.Type, text: c.Payload.Text, finishedAs: c.Payload.StepResult.Reason}
				evs = append(evs, ev)
				if until != nil && until(ev) {
					return evs, false
				}
			}
		}
	}
	firstDelta := func(ev event) bool { return ev.typ == "text-delta" }
	stream := func(thread string) (*http.Response, []event) {
		res, err := http.Post(a+"/agent/stream", "application/json", strings.NewReader(
			fmt.Sprintf(`{"message":"hi","threadId":%q,"resourceId":"alice","resumable":true}`, thread)))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("stream on A: %v %v", res, err)
		}
		evs, _ := read(bufio.NewReader(res.Body), firstDelta)
		res.Body.Close() // cut after the first word
		return res, evs
	}
	resume := func(run string, after int64) ([]event, bool) {
		req, _ := http.NewRequest("GET", b+"/agent/stream/"+run+"?resourceId=alice", nil)
		req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			body, _ := io.ReadAll(res.Body)
			t.Fatalf("resume run %s on B = %d %s", run, res.StatusCode, body)
		}
		defer res.Body.Close()
		return read(bufio.NewReader(res.Body), nil)
	}

	// Cut, then resumed on B while A still runs the turn.
	res, first := stream("t-cut")
	run := res.Header.Get("X-Run-Id")
	done := make(chan struct{})
	var rest []event
	var ended bool
	go func() {
		defer close(done)
		rest, ended = resume(run, first[len(first)-1].id)
	}()
	close(release)
	<-done
	text := ""
	for _, ev := range append(first, rest...) {
		text += ev.text
	}
	if !ended || text != "first second last" || rest[len(rest)-1].typ != "finish" {
		t.Fatalf("resumed stream: %+v, [DONE] %v, text %q", rest, ended, text)
	}
	for i, ev := range rest {
		if want := first[len(first)-1].id + int64(i) + 1; ev.id != want {
			t.Errorf("resumed event %d (%s) has id %d; want %d", i, ev.typ, ev.id, want)
		}
	}

	// A dies in the middle of the next turn.
	res, first = stream("t-killed")
	run = res.Header.Get("X-Run-Id")
	if err := procA.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	procA.Wait()
	rest, ended = resume(run, first[len(first)-1].id)
	var typs []string
	for _, ev := range rest {
		typs = append(typs, ev.typ)
	}
	// What A logged before it died comes first (the step's end only if
	// its start was logged), then the end of a failed turn.
	got := strings.Join(typs, ",")
	if !ended || !(strings.HasSuffix(got, "error,step-finish,finish") || got == "error,finish") || rest[len(rest)-1].finishedAs != "error" {
		t.Errorf("after A was killed the stream ended with %s (reason %q), [DONE] %v; want error, then finish(error)", got, rest[len(rest)-1].finishedAs, ended)
	}
	for _, tc := range []struct {
		thread string
		want   int
	}{{"t-cut", 200}, {"t-killed", 404}} {
		r, err := http.Get(b + "/api/memory/threads/" + tc.thread + "/messages?resourceId=alice")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != tc.want || (tc.want == 200 && strings.Count(string(body), `"role":`) != 2) {
			t.Errorf("messages of %s = %d %s; want %d (the cut turn saved once, the killed one not at all)", tc.thread, r.StatusCode, body, tc.want)
		}
	}
}
