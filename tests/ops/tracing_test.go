package ops_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// receiver is an in-process OTLP/HTTP collector: it decodes each exported
// protobuf batch and keeps the spans.
type receiver struct {
	url     string
	mu      sync.Mutex
	spans   []*tracepb.Span
	arrived chan struct{} // a batch came in
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{arrived: make(chan struct{}, 1)}
	_, discard := t.(*testing.B)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected "+r.URL.Path+" "+r.Header.Get("Content-Type"), 400)
			return
		}
		if discard {
			// A benchmark measures the server: decoding and keeping the
			// spans is a collector's work, in another process.
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-protobuf")
			return
		}
		b, err := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
		select {
		case rc.arrived <- struct{}{}:
		default:
		}
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

// waitFor waits until a span named name has arrived and returns every
// span so far.
func (rc *receiver) waitFor(t testing.TB, name string) []*tracepb.Span {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		rc.mu.Lock()
		spans := append([]*tracepb.Span(nil), rc.spans...)
		rc.mu.Unlock()
		for _, s := range spans {
			if s.Name == name {
				return spans
			}
		}
		select {
		case <-rc.arrived:
		case <-timeout:
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
			}
			t.Fatalf("no span %q arrived; got %q", name, names)
		}
	}
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func attrString(s *tracepb.Span, key string) string {
	if v := attr(s, key); v != nil {
		switch x := v.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			return x.StringValue
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(x.IntValue, 10)
		case *commonpb.AnyValue_ArrayValue:
			var parts []string
			for _, e := range x.ArrayValue.Values {
				parts = append(parts, e.GetStringValue())
			}
			return "[" + strings.Join(parts, ",") + "]"
		}
	}
	return ""
}

func tracingTOML(t testing.TB, fake *llmtest.Server, rc *receiver, capture bool) string {
	c := "false"
	if capture {
		c = "true"
	}
	return "[telemetry]\nendpoint = \"" + rc.url + "\"\ncapture_content = " + c + "\n" +
		"[providers.openai]\nbase_url = \"" + fake.URL + "\"\napi_key = \"sk-test\"\nmax_retries = 0\n" +
		"[agents.a]\nname = \"Helper\"\nmodel = \"openai/m1\"\ntools = [\"tp\"]\n" +
		"[[tools]]\nname = \"tp\"\ndescription = \"echoes traceparent\"\nmodule = " + wasm(t, "traceparent") + "\n"
}

// After a tool-using turn that came with a traceparent, the exported spans
// form one trace with that trace id: the HTTP server span (a child of the
// caller's span), invoke_agent, two chat spans and execute_tool under it,
// and the plugin call under the tool; each carries its gen_ai.* attributes,
// the turn its database statements' number and time.
// The model provider got a traceparent naming its chat span, the guest one
// naming its plugin span. Message contents are not in spans by default.
func TestTracesOfAToolTurn(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20") // export within 20 ms rather than 5 s
	rc := newReceiver(t)
	fake := llmtest.NewServer(t, script)
	s := start(t, tracingTOML(t, fake, rc, false))

	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	r := do(t, "POST", s.url+"/api/agents/a/generate", `{"messages":"use tp","memory":{"thread":"th-1","resource":"res-1"}}`,
		"traceparent", "00-"+traceID+"-"+parentID+"-01")
	if r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.body)
	}
	spans := rc.waitFor(t, "POST /api/agents/:agentId/generate")
	byName := map[string][]*tracepb.Span{}
	for _, sp := range spans {
		if got := hex.EncodeToString(sp.TraceId); got != traceID {
			t.Errorf("span %q trace id = %s; want the incoming %s", sp.Name, got, traceID)
		}
		byName[sp.Name] = append(byName[sp.Name], sp)
	}
	one := func(name string) *tracepb.Span {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("spans named %q: %d; want 1 (all: %v)", name, len(byName[name]), keys(byName))
		}
		return byName[name][0]
	}
	id := func(sp *tracepb.Span) string { return hex.EncodeToString(sp.SpanId) }
	parent := func(sp *tracepb.Span) string { return hex.EncodeToString(sp.ParentSpanId) }

	server := one("POST /api/agents/:agentId/generate")
	turn := one("invoke_agent Helper")
	tool := one("execute_tool tp")
	plug := one("plugin tp")
	chats := byName["chat m1"]
	if len(chats) != 2 {
		t.Fatalf("chat m1 spans: %d; want 2", len(chats))
	}
	if parent(server) != parentID || server.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("server span parent %s kind %v; want the caller's %s, SERVER", parent(server), server.Kind, parentID)
	}
	if got := attrString(server, "http.route"); got != "/api/agents/:agentId/generate" {
		t.Errorf("server span http.route = %q", got)
	}
	if attrString(server, "http.response.status_code") != "200" {
		t.Errorf("server span status = %q; want 200", attrString(server, "http.response.status_code"))
	}
	if parent(turn) != id(server) || parent(tool) != id(turn) || parent(plug) != id(tool) ||
		parent(chats[0]) != id(turn) || parent(chats[1]) != id(turn) {
		t.Errorf("parents: turn→%s (server %s), tool→%s (turn %s), plugin→%s (tool %s), chats→%s,%s",
			parent(turn), id(server), parent(tool), id(turn), parent(plug), id(tool), parent(chats[0]), parent(chats[1]))
	}
	for key, want := range map[string]string{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": "a",
		"gen_ai.agent.name": "Helper", "gen_ai.conversation.id": "th-1", "gen_ai.usage.input_tokens": "20",
		"gen_ai.usage.output_tokens": "4", "gen_ai.provider.name": "openai", "gen_ai.request.model": "m1"} {
		if got := attrString(turn, key); got != want {
			t.Errorf("invoke_agent %s = %q; want %q", key, got, want)
		}
	}
	reasons := []string{"[tool-calls]", "[stop]"}
	for i, c := range chats {
		for key, want := range map[string]string{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
			"gen_ai.request.model": "m1", "gen_ai.response.model": "m1", "gen_ai.usage.input_tokens": "10",
			"gen_ai.usage.output_tokens": "2", "gen_ai.response.finish_reasons": reasons[i]} {
			if got := attrString(c, key); got != want {
				t.Errorf("chat span %d %s = %q; want %q", i, key, got, want)
			}
		}
		if c.Kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Errorf("chat span kind = %v; want CLIENT", c.Kind)
		}
	}
	if attrString(tool, "gen_ai.tool.name") != "tp" || attrString(tool, "gen_ai.operation.name") != "execute_tool" {
		t.Errorf("execute_tool attributes: %v", tool.Attributes)
	}
	for _, sp := range spans {
		for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"} {
			if attr(sp, k) != nil {
				t.Errorf("span %q has %s with content capture off", sp.Name, k)
			}
		}
	}

	// The turn's database statements are counted and timed on its span,
	// not spans of their own (two fifths of a turn's spans, and of what
	// tracing cost it, were statements).
	if n, _ := strconv.Atoi(attrString(turn, "mastra.db.statements")); n < 1 {
		t.Errorf("invoke_agent mastra.db.statements = %q; want the turn's save at least", attrString(turn, "mastra.db.statements"))
	}
	if ms := attr(turn, "mastra.db.duration_ms").GetDoubleValue(); ms <= 0 {
		t.Errorf("invoke_agent mastra.db.duration_ms = %v; want the statements' time", ms)
	}
	for _, sp := range spans {
		if attr(sp, "db.system") != nil {
			t.Errorf("database span %q in a turn's trace; want its statements summed on the turn", sp.Name)
		}
	}

	// The chat spans are in request order: the model's requests carried
	// their ids.
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("model requests: %d; want 2", len(reqs))
	}
	for i, rq := range reqs {
		want := "00-" + traceID + "-" + id(chats[i]) + "-01"
		if got := rq.Header.Get("Traceparent"); got != want {
			t.Errorf("model request %d traceparent = %q; want %q (its chat span)", i, got, want)
		}
	}
	// The guest's answer, the traceparent it read, went back to the model
	// as the tool's result.
	if got, want := reqs[1].Last().Text(), `"00-`+traceID+`-`+id(plug)+`-01"`; got != want {
		t.Errorf("traceparent the guest read = %s; want %s (its plugin span)", got, want)
	}
}

// capture_content = true puts the messages in the spans.
func TestTracesCaptureContent(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
	rc := newReceiver(t)
	fake := llmtest.NewServer(t, script)
	s := start(t, tracingTOML(t, fake, rc, true))
	if r := do(t, "POST", s.url+"/api/agents/a/generate", `{"messages":"use tp","memory":{"thread":"th-1","resource":"res-1"}}`); r.status != 200 {
		t.Fatalf("generate = %d %s", r.status, r.body)
	}
	spans := rc.waitFor(t, "POST /api/agents/:agentId/generate")
	var turn, tool *tracepb.Span
	for _, sp := range spans {
		switch sp.Name {
		case "invoke_agent Helper":
			turn = sp
		case "execute_tool tp":
			tool = sp
		}
	}
	if turn == nil || tool == nil {
		t.Fatalf("missing spans: %v", spans)
	}
	if got := attrString(turn, "gen_ai.input.messages"); !strings.Contains(got, `"content":"use tp"`) {
		t.Errorf("invoke_agent gen_ai.input.messages = %q; want the user's message", got)
	}
	if got := attrString(turn, "gen_ai.output.messages"); !strings.Contains(got, `"content":"done"`) {
		t.Errorf("invoke_agent gen_ai.output.messages = %q; want the reply", got)
	}
	if got := attrString(tool, "gen_ai.tool.call.arguments"); got != "{}" {
		t.Errorf("execute_tool arguments = %q; want {}", got)
	}
}

func keys(m map[string][]*tracepb.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
