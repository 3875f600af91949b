package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// tenant is one of the two resources, each with its static token.
type tenant struct {
	name, token string
	threads     []string // shared by the tenant's clients, so turns on one thread overlap
}

func threadOf(tenant string, i int) string { return fmt.Sprintf("%s-thread-%d", tenant, i) }

// shared is what the clients share: the open streams (a fault drops them
// all), the runs each tenant started (the other tenant probes them) and
// the numbering of raced resumes.
type shared struct {
	mu      sync.Mutex
	streams map[int]context.CancelFunc
	nextID  int
	runs    map[string][][2]string // workflow and run id, by tenant
	races   int
	stored  map[string]bool // threads with an acknowledged turn: they exist
}

func (s *shared) turnStored(thread string) {
	s.mu.Lock()
	if s.stored == nil {
		s.stored = map[string]bool{}
	}
	s.stored[thread] = true
	s.mu.Unlock()
}

// existing is the threads of ts known to exist.
func (s *shared) existing(ts []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range ts {
		if s.stored[t] {
			out = append(out, t)
		}
	}
	return out
}

// openStream registers a stream's cancel; the returned func forgets it.
func (s *shared) openStream(cancel context.CancelFunc) func() {
	s.mu.Lock()
	if s.streams == nil {
		s.streams = map[int]context.CancelFunc{}
	}
	s.nextID++
	id := s.nextID
	s.streams[id] = cancel
	s.mu.Unlock()
	return func() { s.mu.Lock(); delete(s.streams, id); s.mu.Unlock() }
}

// dropStreams cuts every open SSE connection; it returns how many.
func (s *shared) dropStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.streams {
		cancel()
	}
	return len(s.streams)
}

func (s *shared) addRun(tenant, workflow, id string) {
	s.mu.Lock()
	if s.runs == nil {
		s.runs = map[string][][2]string{}
	}
	s.runs[tenant] = append(s.runs[tenant], [2]string{workflow, id})
	s.mu.Unlock()
}

// someRun is one of tenant's runs (workflow and id), picked by rng.
func (s *shared) someRun(tenant string, rng *rand.Rand) (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.runs[tenant]) == 0 {
		return "", ""
	}
	r := s.runs[tenant][rng.IntN(len(s.runs[tenant]))]
	return r[0], r[1]
}

func (s *shared) race() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.races++
	return s.races
}

// myRun is a run a client started, with what it last knew of it.
type myRun struct {
	id, workflow string
	status       string // as last read; "" before
	raced        bool
}

// client is one process of the history: it sends a seeded mix of
// operations, each to an instance its seed picks, as its tenant.
type client struct {
	id     int
	me     *tenant
	other  *tenant
	rng    *rand.Rand
	fleet  *fleet
	r      *report
	shared *shared
	http   *http.Client
	n      int
	runs   []*myRun
}

func newClient(id int, me, other *tenant, seed uint64, f *fleet, r *report, s *shared) *client {
	return &client{id: id, me: me, other: other, rng: rand.New(rand.NewPCG(seed, uint64(1000+id))), fleet: f, r: r, shared: s,
		http: &http.Client{Timeout: 30 * time.Second}}
}

// mix is the operations and their weights.
var mix = []struct {
	kind   string
	weight int
}{
	{"generate", 22}, {"stream", 26}, {"start", 12}, {"resume", 8}, {"cancel", 3},
	{"read-thread", 8}, {"read-threads", 5}, {"read-run", 5}, {"read-runs", 4}, {"probe", 4}, {"tool", 3},
}

func (c *client) loop(ctx context.Context) {
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	for ctx.Err() == nil {
		c.n++
		p := c.rng.IntN(total)
		kind := ""
		for _, m := range mix {
			if p < m.weight {
				kind = m.kind
				break
			}
			p -= m.weight
		}
		var good bool
		switch kind {
		case "generate":
			good = c.generate()
		case "stream":
			good = c.stream()
		case "start":
			good = c.start()
		case "resume":
			good = c.resumeRace()
		case "cancel":
			good = c.cancel()
		case "read-thread":
			good = c.read("read-thread", "/threads/"+c.thread(), c.thread(), "")
		case "read-threads":
			good = c.read("read-threads", "/threads?perPage=50&resourceId="+c.someTenant(), "", "")
		case "read-run":
			good = c.readRun()
		case "read-runs":
			good = c.read("read-runs", "/api/workflows/"+c.workflow()+"/runs?perPage=20&resourceId="+c.someTenant(), "", "")
		case "probe":
			good = c.probe()
		case "tool":
			good = c.tool()
		}
		if !good {
			time.Sleep(pause)
		}
	}
}

func (c *client) marker() string { return fmt.Sprintf("soak-%d-%d", c.id, c.n) }

func (c *client) thread() string { return c.me.threads[c.rng.IntN(len(c.me.threads))] }

func (c *client) workflow() string { return [...]string{"soak", "approve"}[c.rng.IntN(2)] }

// someTenant is a resourceId to send: usually the caller's, sometimes the
// other tenant's, which the token must override.
func (c *client) someTenant() string {
	if c.rng.IntN(3) == 0 {
		return c.other.name
	}
	return c.me.name
}

// base is an instance's URL, picked by the seed; "" when none is up.
func (c *client) base() string { return c.baseBut("") }

// baseBut is base, but another instance than the one at not when one is
// up: a stream reconnects through another instance.
func (c *client) baseBut(not string) string {
	all := c.fleet.all()
	i := c.rng.IntN(len(all))
	found := ""
	for k := range all {
		if u := all[(i+k)%len(all)].baseURL(); u != "" && (u != not || found == "") {
			found = u
			if u != not {
				break
			}
		}
	}
	return found
}

func (c *client) begin(o op) *op {
	o.process, o.tenant = c.id, c.me.name
	return c.r.h.invoke(&o)
}

// call is send for operation o, whose answers it notes.
func (c *client) call(ctx context.Context, o *op, method, url string, body any, header map[string]string) (*http.Response, error) {
	res, err := c.send(ctx, method, url, body, header)
	if err == nil {
		c.r.h.answered(o, res.StatusCode)
	}
	return res, err
}

// send makes one request as the client's tenant.
func (c *client) send(ctx context.Context, method, url string, body any, header map[string]string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.me.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return c.http.Do(req)
}

// classify is an HTTP answer's outcome: 2xx ok, 5xx info (the server may
// have done it), any other status a definite fail.
func classify(status int) string {
	switch {
	case status/100 == 2:
		return ok
	case status >= 500:
		return info
	}
	return fail
}

// worse keeps the less certain of two failed attempts' outcomes.
func worse(a, b string) string {
	if a == info || b == info {
		return info
	}
	return fail
}

// generate sends a turn and retries it (to another instance, with the same
// Idempotency-Key) while the answer is unknown.
func (c *client) generate() bool {
	m := c.marker()
	o := c.begin(op{kind: "generate", thread: c.thread(), marker: m})
	outcome, note := fail, "no instance up"
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(50+c.rng.IntN(200)) * time.Millisecond)
		}
		base := c.base()
		if base == "" {
			continue
		}
		o.attempts++
		o.on = append(o.on, c.fleet.nameOf(base))
		res, err := c.call(context.Background(), o, "POST", base+"/agent/generate",
			map[string]string{"message": m, "threadId": o.thread}, map[string]string{"Idempotency-Key": "key-" + m})
		if err != nil {
			outcome, note = info, err.Error()
			continue
		}
		var out struct {
			Text     string `json:"text"`
			ThreadID string `json:"threadId"`
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 && json.Unmarshal(body, &out) == nil {
			o.text = out.Text
			c.shared.turnStored(o.thread)
			c.r.h.done(o, ok, "threadId=%s", out.ThreadID)
			return true
		}
		outcome, note = worse(outcome, classify(res.StatusCode)), fmt.Sprintf("%d %s", res.StatusCode, trim(body))
		if outcome == fail && res.StatusCode < 500 {
			break // a client mistake is not retried
		}
	}
	c.r.h.done(o, outcome, "%s", note)
	return false
}

func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// sse is what a client has read of one resumable stream.
type sse struct {
	runID  string
	lastID string
	text   strings.Builder
	deltas int
	done   bool // [DONE] read
	failed bool // an error chunk, or a finish with reason error
}

// stream sends a resumable turn. The seed cuts some streams after a few
// text chunks; a fault drops others. A cut stream reconnects, through
// whichever instance the seed picks, with the last event id it read, until
// [DONE]. A request that failed before its stream began is retried with the
// same Idempotency-Key.
func (c *client) stream() bool {
	m := c.marker()
	o := c.begin(op{kind: "stream", thread: c.thread(), marker: m})
	cutAfter := -1
	if c.rng.IntN(3) == 0 {
		cutAfter = 1 + c.rng.IntN(6)
	}
	var s sse
	outcome, note := fail, "no instance up"
	base := ""
	for try := 0; try < 12 && !s.done; try++ {
		if try > 0 {
			time.Sleep(time.Duration(50+c.rng.IntN(250)) * time.Millisecond)
		}
		if base = c.baseBut(base); base == "" {
			continue
		}
		o.on = append(o.on, c.fleet.nameOf(base))
		ctx, cancel := context.WithCancel(context.Background())
		forget := c.shared.openStream(cancel)
		var res *http.Response
		var err error
		if s.runID == "" {
			o.attempts++
			res, err = c.call(ctx, o, "POST", base+"/agent/stream",
				map[string]any{"message": m, "threadId": o.thread, "resumable": true}, map[string]string{"Idempotency-Key": "key-" + m})
		} else {
			res, err = c.call(ctx, o, "GET", base+"/agent/stream/"+s.runID, nil, map[string]string{"Last-Event-ID": s.lastID})
		}
		switch {
		case err != nil:
			outcome, note = info, err.Error()
		case res.StatusCode != 200:
			body, _ := io.ReadAll(res.Body)
			outcome, note = worse(outcome, classify(res.StatusCode)), fmt.Sprintf("%d %s", res.StatusCode, trim(body))
			if res.StatusCode == 404 && s.runID != "" && s.deltas == 0 {
				s.runID = "" // never logged: send the turn again
			}
		default:
			if s.runID == "" {
				s.runID = res.Header.Get("X-Run-Id")
				o.run = s.runID
			} else {
				o.resumes++
			}
			s.read(res.Body, cutAfter, cancel)
			outcome, note = info, "cut after event "+s.lastID
			cutAfter = -1
		}
		if res != nil {
			res.Body.Close()
		}
		forget()
		cancel()
	}
	o.text = s.text.String()
	switch {
	case s.done && !s.failed:
		c.shared.turnStored(o.thread)
		c.r.h.done(o, ok, "run=%s", s.runID)
		return true
	case s.done:
		c.r.h.done(o, fail, "error chunk after event %s", s.lastID)
	default:
		c.r.h.done(o, outcome, "%s", note)
	}
	return false
}

// read reads SSE events into s until [DONE] or the body ends; it cancels
// the request itself after cutAfter text chunks (when not -1).
func (s *sse) read(body io.Reader, cutAfter int, cancel context.CancelFunc) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	id := ""
	for sc.Scan() {
		line := sc.Text()
		if v, found := strings.CutPrefix(line, "id: "); found {
			id = v
			continue
		}
		data, found := strings.CutPrefix(line, "data: ")
		if !found {
			continue
		}
		if id != "" {
			s.lastID = id
		}
		if data == "[DONE]" {
			s.done = true
			return
		}
		var ch struct {
			Type    string `json:"type"`
			Payload struct {
				Text       string `json:"text"`
				StepResult struct {
					Reason string `json:"reason"`
				} `json:"stepResult"`
			} `json:"payload"`
		}
		if json.Unmarshal([]byte(data), &ch) != nil {
			continue
		}
		switch ch.Type {
		case "text-delta":
			s.text.WriteString(ch.Payload.Text)
			s.deltas++
			if s.deltas == cutAfter {
				cancel()
				return
			}
		case "error":
			s.failed = true
		case "finish":
			s.failed = s.failed || ch.Payload.StepResult.Reason == "error"
		}
	}
}

// start creates a run of soak or approve and starts it; an acknowledged
// start is a run that must end or suspend.
func (c *client) start() bool {
	wf := c.workflow()
	o := c.begin(op{kind: "start", workflow: wf, marker: "wf-" + c.marker()})
	base := c.base()
	if base == "" {
		c.r.h.done(o, fail, "no instance up")
		return false
	}
	o.on = append(o.on, c.fleet.nameOf(base))
	res, err := c.call(context.Background(), o, "POST", base+"/api/workflows/"+wf+"/create-run", map[string]string{}, nil)
	if err != nil {
		c.r.h.done(o, info, "create-run: %v", err)
		return false
	}
	var created struct {
		RunID string `json:"runId"`
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || json.Unmarshal(body, &created) != nil || created.RunID == "" {
		c.r.h.done(o, classify(res.StatusCode), "create-run: %d %s", res.StatusCode, trim(body))
		return false
	}
	o.run = created.RunID
	c.shared.addRun(c.me.name, wf, o.run)
	res, err = c.call(context.Background(), o, "POST", base+"/api/workflows/"+wf+"/start?runId="+o.run,
		map[string]any{"inputData": map[string]string{"topic": o.marker}}, nil)
	if err != nil {
		c.r.h.done(o, info, "start: %v", err)
		return false
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		c.r.h.done(o, classify(res.StatusCode), "start: %d %s", res.StatusCode, trim(body))
		return false
	}
	c.runs = append(c.runs, &myRun{id: o.run, workflow: wf})
	c.r.h.done(o, ok, "")
	return true
}

// pickRun is one of the client's runs that match, picked by the seed.
func (c *client) pickRun(match func(*myRun) bool) *myRun {
	var cands []*myRun
	for _, r := range c.runs {
		if match(r) {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[c.rng.IntN(len(cands))]
}

func isTerminal(status string) bool {
	switch status {
	case "success", "failed", "canceled", "bailed":
		return true
	}
	return false
}

// readRun reads one of the client's runs and notes its status.
func (c *client) readRun() bool {
	run := c.pickRun(func(r *myRun) bool { return !isTerminal(r.status) })
	if run == nil {
		run = c.pickRun(func(*myRun) bool { return true })
	}
	if run == nil {
		return true
	}
	return c.readRunOf(run)
}

func (c *client) readRunOf(run *myRun) bool {
	var out struct {
		Status string `json:"status"`
	}
	good := c.readInto("read-run", "/api/workflows/"+run.workflow+"/runs/"+run.id, "", run.id, &out)
	if good && out.Status != "" {
		run.status = out.Status
	}
	return good
}

// resumeRace reads one of the client's approve runs and, when it is
// suspended, sends two resumes of it at once to two instances: one must
// win, the other get 409.
func (c *client) resumeRace() bool {
	run := c.pickRun(func(r *myRun) bool { return r.workflow == "approve" && !r.raced && !isTerminal(r.status) })
	if run == nil {
		return c.readRun()
	}
	if !c.readRunOf(run) || run.status != "suspended" {
		return true
	}
	run.raced = true
	race := c.shared.race()
	all := c.fleet.all()
	first := c.rng.IntN(len(all))
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for k, side := range []string{"a", "b"} {
		in := all[(first+k)%len(all)]
		o := c.begin(op{kind: "resume", workflow: run.workflow, run: run.id, race: race,
			resumeData: fmt.Sprintf("p%d-race%d-%s", c.id, race, side)})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			base := in.baseURL()
			if base == "" {
				c.r.h.done(o, fail, "%s is down", in.name)
				return
			}
			res, err := c.call(context.Background(), o, "POST", base+"/api/workflows/"+run.workflow+"/resume?runId="+run.id,
				map[string]any{"step": "approval", "resumeData": map[string]string{"by": o.resumeData}}, nil)
			if err != nil {
				c.r.h.done(o, info, "%s: %v", in.name, err)
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			c.r.h.done(o, classify(res.StatusCode), "%s: %d %s", in.name, res.StatusCode, trim(body))
		}()
	}
	close(gate)
	wg.Wait()
	return true
}

// cancel cancels one of the client's runs that had not ended when last
// read.
func (c *client) cancel() bool {
	run := c.pickRun(func(r *myRun) bool { return !isTerminal(r.status) })
	if run == nil {
		return true
	}
	o := c.begin(op{kind: "cancel", workflow: run.workflow, run: run.id})
	base := c.base()
	if base == "" {
		c.r.h.done(o, fail, "no instance up")
		return false
	}
	o.on = append(o.on, c.fleet.nameOf(base))
	res, err := c.call(context.Background(), o, "POST", base+"/api/workflows/"+run.workflow+"/runs/"+run.id+"/cancel", map[string]string{}, nil)
	if err != nil {
		c.r.h.done(o, info, "%v", err)
		return false
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	c.r.h.done(o, classify(res.StatusCode), "%d %s", res.StatusCode, trim(body))
	if res.StatusCode == 200 {
		run.status = "canceled?"
	}
	return res.StatusCode == 200
}

// probe asks for one of the other tenant's threads or runs by id (the
// answer must be 404), or sends a turn to one of its threads (409: the id
// is taken). A 200 puts the
// other tenant's id among what the operation saw, which the isolation
// check catches (and a turn stored in the other's thread, the check of
// stored messages).
func (c *client) probe() bool {
	switch c.rng.IntN(3) {
	case 0:
		t := c.other.threads[c.rng.IntN(len(c.other.threads))]
		return c.ask(op{kind: "probe", thread: t}, "/threads/"+t, nil, nil)
	case 1:
		// Only a thread that exists: a turn naming a new id would create
		// it, for the sender, and it would be the sender's thread.
		ts := c.shared.existing(c.other.threads)
		if len(ts) == 0 {
			return true
		}
		t := ts[c.rng.IntN(len(ts))]
		m := c.marker()
		return c.ask(op{kind: "probe", thread: t, marker: m}, "/agent/generate", map[string]string{"message": m, "threadId": t}, nil)
	}
	wf, run := c.shared.someRun(c.other.name, c.rng)
	if run == "" {
		return true
	}
	return c.ask(op{kind: "probe", run: run}, "/api/workflows/"+wf+"/runs/"+run, nil, nil)
}

func (c *client) read(kind, path, thread, run string) bool {
	return c.ask(op{kind: kind, thread: thread, run: run}, path, nil, nil)
}

func (c *client) readInto(kind, path, thread, run string, into any) bool {
	return c.ask(op{kind: kind, thread: thread, run: run}, path, nil, into)
}

// ask GETs path (POSTs body, when not nil) as operation o: a 200 or a 404
// (or a POST's 409) is ok (the ids the body holds are what the operation saw), anything else
// fails or is unknown. into, when not nil, gets the body too.
func (c *client) ask(want op, path string, body, into any) bool {
	o := c.begin(want)
	base := c.base()
	if base == "" {
		c.r.h.done(o, fail, "no instance up")
		return false
	}
	o.on = append(o.on, c.fleet.nameOf(base))
	method := "GET"
	if body != nil {
		method = "POST"
	}
	res, err := c.call(context.Background(), o, method, base+path, body, nil)
	if err != nil {
		c.r.h.done(o, info, "%v", err)
		return false
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	switch res.StatusCode {
	case 200:
		var v any
		if json.Unmarshal(b, &v) != nil {
			c.r.h.done(o, fail, "200 with a body that is not JSON")
			return false
		}
		o.seen = idsIn(v, "", nil)
		if into != nil {
			_ = json.Unmarshal(b, into)
		}
		c.r.h.done(o, ok, "200, %d ids", len(o.seen))
		return true
	case 404:
		c.r.h.done(o, ok, "404")
		return true
	case 409:
		if body != nil {
			// A turn naming a thread id already taken, by anyone
			// (README, Input rules).
			c.r.h.done(o, ok, "409 %s", trim(b))
			return true
		}
	}
	c.r.h.done(o, classify(res.StatusCode), "%d %s", res.StatusCode, trim(b))
	return false
}

var (
	threadName = regexp.MustCompile(`tenant-[a-z]+-thread-[0-9]+`)
	markerName = regexp.MustCompile(`soak-[0-9]+-[0-9]+`)
)

// idsIn collects what a read returned that names an owner: each
// resourceId ("resource:"), runId ("run:"), thread id ("thread:") and turn
// marker ("marker:") anywhere in the JSON value.
func idsIn(v any, key string, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out = idsIn(x, k, out)
		}
	case []any:
		for _, x := range v {
			out = idsIn(x, key, out)
		}
	case string:
		switch key {
		case "resourceId":
			out = append(out, "resource:"+v)
		case "runId":
			out = append(out, "run:"+v)
		}
		for _, t := range threadName.FindAllString(v, -1) {
			out = append(out, "thread:"+t)
		}
		for _, m := range markerName.FindAllString(v, -1) {
			out = append(out, "marker:"+m)
		}
	}
	return out
}

func (c *client) tool() bool {
	a, b := c.rng.IntN(1000), c.rng.IntN(1000)
	o := c.begin(op{kind: "tool"})
	base := c.base()
	if base == "" {
		c.r.h.done(o, fail, "no instance up")
		return false
	}
	res, err := c.call(context.Background(), o, "POST", base+"/api/tools/calc/execute",
		map[string]any{"data": map[string]any{"a": a, "b": b, "op": "add"}}, nil)
	if err != nil {
		c.r.h.done(o, info, "%v", err)
		return false
	}
	defer res.Body.Close()
	var out struct {
		Result *float64 `json:"result"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil || out.Result == nil {
		c.r.h.done(o, classify(res.StatusCode), "%d", res.StatusCode)
		return false
	}
	c.r.h.done(o, ok, "%d+%d = %v", a, b, *out.Result)
	if *out.Result != float64(a+b) {
		c.r.wrongTool(fmt.Sprintf("%d+%d answered %v", a, b, *out.Result))
	}
	return true
}
