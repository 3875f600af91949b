package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// client is one worker: it sends a random mix of requests, each to the
// next instance in turn, and tells the report what was acknowledged.
type client struct {
	id          int
	n           int
	fleet       *fleet
	r           *report
	disconnects bool // go away in the middle of some streams
	http        *http.Client
}

func newClient(id int, f *fleet, r *report, disconnects bool) *client {
	return &client{id: id, fleet: f, r: r, disconnects: disconnects,
		http: &http.Client{Timeout: 30 * time.Second}}
}

func (c *client) loop(ctx context.Context) {
	for ctx.Err() == nil {
		c.n++
		all := c.fleet.all()
		in := all[(c.id+c.n)%len(all)]
		base := in.baseURL()
		if base == "" {
			c.r.record("refused", outcomeRefused, 0)
			time.Sleep(pause)
			continue
		}
		var ok bool
		switch p := rand.IntN(100); {
		case p < 35:
			ok = c.generate(base)
		case p < 70:
			ok = c.stream(base)
		case p < 85:
			ok = c.tool(base)
		default:
			ok = c.workflow(base)
		}
		if !ok {
			time.Sleep(pause)
		}
	}
}

func (c *client) marker() string { return fmt.Sprintf("soak-%d-%d", c.id, c.n) }

func (c *client) resource() string { return fmt.Sprintf("soak-user-%d", c.id) }

func (c *client) post(ctx context.Context, url string, body any) (*http.Response, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(string(b)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.http.Do(req)
}

func (c *client) generate(base string) bool {
	m := c.marker()
	start := time.Now()
	res, err := c.post(context.Background(), base+"/agent/generate", map[string]string{"message": m, "resourceId": c.resource()})
	if err != nil {
		c.r.record("generate", outcomeFailed, 0)
		return false
	}
	defer res.Body.Close()
	var out struct {
		Text     string `json:"text"`
		ThreadID string `json:"threadId"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil {
		c.r.record("generate", outcomeFailed, 0)
		return false
	}
	c.r.record("generate", outcomeOK, time.Since(start))
	c.r.ackTurn(m, out.ThreadID, out.Text)
	return true
}

// stream reads /agent/stream to its end, or goes away after the first text
// chunk in one of five streams when disconnects are on.
func (c *client) stream(base string) bool {
	m := c.marker()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leave := c.disconnects && rand.IntN(5) == 0
	start := time.Now()
	res, err := c.post(ctx, base+"/agent/stream", map[string]string{"message": m, "resourceId": c.resource()})
	if err != nil {
		c.r.record("stream", outcomeFailed, 0)
		return false
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		io.Copy(io.Discard, res.Body)
		c.r.record("stream", outcomeFailed, 0)
		return false
	}
	threadID := res.Header.Get("X-Thread-Id")
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var text strings.Builder
	var failed, done bool
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			break
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
			text.WriteString(ch.Payload.Text)
			if leave {
				cancel()
				c.r.record("stream", outcomeCancelled, 0)
				return false
			}
		case "error":
			failed = true
		case "finish":
			failed = failed || ch.Payload.StepResult.Reason == "error"
		}
	}
	if !done || failed {
		c.r.record("stream", outcomeFailed, 0)
		return false
	}
	c.r.record("stream", outcomeOK, time.Since(start))
	c.r.ackTurn(m, threadID, text.String())
	return true
}

func (c *client) tool(base string) bool {
	a, b := rand.IntN(1000), rand.IntN(1000)
	start := time.Now()
	res, err := c.post(context.Background(), base+"/api/tools/calc/execute",
		map[string]any{"data": map[string]any{"a": a, "b": b, "op": "add"}})
	if err != nil {
		c.r.record("tool", outcomeFailed, 0)
		return false
	}
	defer res.Body.Close()
	var out struct {
		Result *float64 `json:"result"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil || out.Result == nil {
		c.r.record("tool", outcomeFailed, 0)
		return false
	}
	c.r.record("tool", outcomeOK, time.Since(start))
	if *out.Result != float64(a+b) {
		c.r.wrongTool(fmt.Sprintf("%d+%d answered %v", a, b, *out.Result))
	}
	return true
}

// workflow creates a run and starts it without waiting: an acknowledged
// start is a run that must end (check).
func (c *client) workflow(base string) bool {
	start := time.Now()
	res, err := c.post(context.Background(), base+"/api/workflows/soak/create-run", map[string]string{"resourceId": c.resource()})
	if err != nil {
		c.r.record("workflow", outcomeFailed, 0)
		return false
	}
	var created struct {
		RunID string `json:"runId"`
	}
	ok := res.StatusCode == 200 && json.NewDecoder(res.Body).Decode(&created) == nil && created.RunID != ""
	res.Body.Close()
	if !ok {
		c.r.record("workflow", outcomeFailed, 0)
		return false
	}
	res, err = c.post(context.Background(), base+"/api/workflows/soak/start?runId="+created.RunID,
		map[string]any{"inputData": map[string]string{"topic": "wf-" + c.marker()}, "resourceId": c.resource()})
	if err != nil {
		c.r.record("workflow", outcomeFailed, 0)
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		c.r.record("workflow", outcomeFailed, 0)
		return false
	}
	c.r.record("workflow", outcomeOK, time.Since(start))
	c.r.ackRun(created.RunID)
	return true
}
