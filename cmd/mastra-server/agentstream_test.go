package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// sse sends one request and splits an SSE answer into its events' data.
func sse(t *testing.T, url, body string, headers ...string) (int, http.Header, []string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != 200 {
		return res.StatusCode, res.Header, []string{string(b)}
	}
	return res.StatusCode, res.Header, sseEvents(t, string(b))
}

// sseEvents splits an SSE body into its events' data.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var events []string
	for _, ev := range strings.SplitAfter(body, "\n\n") {
		if ev == "" {
			continue
		}
		if strings.HasPrefix(ev, "id: ") && strings.Count(ev, "\n") == 2 {
			continue // the next chunk's sequence number, in an event of its own
		}
		if !strings.HasPrefix(ev, "data: ") || !strings.HasSuffix(ev, "\n\n") {
			t.Fatalf("not an SSE event: %q in %q", ev, body)
		}
		events = append(events, strings.TrimSuffix(strings.TrimPrefix(ev, "data: "), "\n\n"))
	}
	return events
}

// chunkTypes checks each event is a Mastra chunk ({type, runId, from,
// payload}) and the stream ends with [DONE]; it returns the types and the
// text of the text-delta chunks.
func chunkTypes(t *testing.T, events []string) (types []string, text string) {
	t.Helper()
	if len(events) < 2 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events = %q; want chunks, then [DONE]", events)
	}
	for _, ev := range events[:len(events)-1] {
		var c struct {
			Type    string `json:"type"`
			RunID   string `json:"runId"`
			From    string `json:"from"`
			Payload *struct {
				Text string `json:"text"`
			} `json:"payload"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil || c.Type == "" || c.RunID == "" || c.From == "" || c.Payload == nil {
			t.Fatalf("chunk %s: %v; want {type, runId, from, payload}", ev, err)
		}
		types = append(types, c.Type)
		if c.Type == "text-delta" {
			text += c.Payload.Text
		}
	}
	return types, text
}

// Issue 10, defect 5: a route plugin streams an agent's reply through
// agent_stream_to_response in /agent/stream's format, and the call is
// scoped as agent_generate's (finding F4): the request's scoped resource
// wins over the resourceId the guest passes on.
func TestPluginAgentStream(t *testing.T) {
	fwd := strconv.Quote(wasmFrom(t, "testdata/agentstreamfwd.wat"))
	base, _ := startServer(t, `
[server.auth]
enabled = true
protected = ["/api/*", "/agent/*", "/plug/*"]
`+twoTenantTokens+`
[[routes]]
name = "streamfwd"
method = "POST"
path = "/plug/stream"
module = `+fwd+`
agents = ["assistant"]
`, tenantEnv...)
	A, B := asTenantA, asTenantB

	code, h, events := sse(t, base+"/plug/stream", `{"threadId":"s-a"}`, A...)
	if code != 200 {
		t.Fatalf("A's stream = %d %q", code, events)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	types, text := chunkTypes(t, events)
	if text != "Echo: plugin asks: what do you remember?" {
		t.Errorf("streamed text = %q", text)
	}
	// The same turn through the built-in route: the same chunks.
	code, _, events = sse(t, base+"/agent/stream", `{"message":"plugin asks: what do you remember?","threadId":"s-a2"}`, A...)
	if code != 200 {
		t.Fatalf("/agent/stream = %d %q", code, events)
	}
	if want, _ := chunkTypes(t, events); strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("plugin chunk types %q; /agent/stream sends %q", types, want)
	}
	if texts, ok := threadTexts(t, base+"/threads/s-a", A...); !ok || len(texts) != 2 {
		t.Errorf("A's streamed thread = %q (found %v); want 2 messages under tenant-a", texts, ok)
	}
	if _, ok := threadTexts(t, base+"/threads/s-a", B...); ok {
		t.Error("B reads A's streamed thread")
	}

	// A names B's thread and resource: not found, before anything streams.
	if code, body := call(t, "POST", base+"/agent/generate", `{"message":"bob private","threadId":"tb-s"}`, B...); code != 200 {
		t.Fatalf("B generate = %d %s", code, body)
	}
	code, _, events = sse(t, base+"/plug/stream", `{"threadId":"tb-s","resourceId":"tenant-b"}`, A...)
	if code != 502 || !strings.Contains(events[0], "not found") {
		t.Errorf("A streaming on B's thread = %d %q; want 502 with the agent's not-found error", code, events)
	}
	if texts, _ := threadTexts(t, base+"/threads/tb-s", B...); len(texts) != 2 {
		t.Errorf("B's thread after A's attempt = %q; want B's 2 messages only", texts)
	}
}
