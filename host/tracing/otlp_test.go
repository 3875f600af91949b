package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector keeps the bodies of the OTLP requests it receives.
type collector struct {
	mu     sync.Mutex
	bodies [][]byte
	url    string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/v1/traces"
	return c
}

func (c *collector) requests(t *testing.T) []*coltrace.ExportTraceServiceRequest {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*coltrace.ExportTraceServiceRequest
	for _, b := range c.bodies {
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Fatalf("a body the collector got does not decode: %v", err)
		}
		out = append(out, &req)
	}
	return out
}

// spanStubs are spans using every part of the format: each attribute
// type, events, links, a status, a remote parent and a trace state, two
// scopes interleaved and two resources.
func spanStubs(t *testing.T) []sdktrace.ReadOnlySpan {
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid := func(s string) trace.SpanID { id, _ := trace.SpanIDFromHex(s); return id }
	ts, err := trace.ParseTraceState("vendor=x,other=y")
	if err != nil {
		t.Fatal(err)
	}
	sc := func(span string, remote bool) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid(span), TraceFlags: trace.FlagsSampled,
			TraceState: ts, Remote: remote})
	}
	res1 := resource.NewSchemaless(attribute.String("service.name", "mastra-server"), attribute.String("service.version", "v1"))
	res2 := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "other"))
	scopeA := instrumentation.Scope{Name: "a", Version: "1.0", SchemaURL: "https://example.com/s",
		Attributes: attribute.NewSet(attribute.Bool("x", true))}
	scopeB := instrumentation.Scope{Name: "b"}
	t0 := time.Unix(1_700_000_000, 123)
	attrs := []attribute.KeyValue{
		attribute.String("s", "text é"), attribute.String("empty", ""), attribute.Int("i", -42), attribute.Int64("big", 1<<40),
		attribute.Float64("f", 0.25), attribute.Bool("b", true), attribute.Bool("no", false),
		attribute.StringSlice("ss", []string{"stop", ""}), attribute.IntSlice("is", []int{1, -1}),
		attribute.Float64Slice("fs", []float64{1.5}), attribute.BoolSlice("bs", []bool{true, false}),
		attribute.StringSlice("none", nil), attribute.String("long", strings.Repeat("x", 200)),
	}
	stubs := tracetest.SpanStubs{
		{Name: "server", SpanContext: sc("b7ad6b7169203331", false), Parent: sc("00f067aa0ba902b7", true), SpanKind: trace.SpanKindServer,
			StartTime: t0, EndTime: t0.Add(time.Millisecond), Attributes: attrs, Resource: res1, InstrumentationScope: scopeA,
			Status: sdktrace.Status{Code: codes.Error, Description: "boom"}, DroppedAttributes: 3, DroppedEvents: 1, DroppedLinks: 2,
			Events: []sdktrace.Event{{Name: "first", Time: t0.Add(10), Attributes: attrs[:2], DroppedAttributeCount: 1}, {Name: "bare", Time: t0}},
			// A link without a trace state: the SDK's exporter leaves a
			// link's out (ours sends it, as the format has room for it).
			Links: []sdktrace.Link{{SpanContext: sc("1111111111111111", true).WithTraceState(trace.TraceState{}),
				Attributes: attrs[2:4], DroppedAttributeCount: 5}}},
		{Name: "db", SpanContext: sc("2222222222222222", false), Parent: sc("b7ad6b7169203331", false), SpanKind: trace.SpanKindClient,
			StartTime: t0, EndTime: t0, Resource: res1, InstrumentationScope: scopeB, Status: sdktrace.Status{Code: codes.Ok}},
		{Name: "internal", SpanContext: sc("3333333333333333", false), SpanKind: trace.SpanKindInternal,
			StartTime: t0, EndTime: t0.Add(time.Second), Resource: res1, InstrumentationScope: scopeA},
		{Name: "elsewhere", SpanContext: sc("4444444444444444", false), SpanKind: trace.SpanKindProducer,
			StartTime: t0, EndTime: t0.Add(time.Second), Resource: res2, InstrumentationScope: scopeB},
		{Name: "unspecified", SpanContext: sc("5555555555555555", false), StartTime: t0, EndTime: t0, Resource: res1},
	}
	return stubs.Snapshots()
}

// The hand-written exporter sends what the SDK's own sends, message for
// message, for spans that use every field and attribute type.
func TestExporterMatchesSDK(t *testing.T) {
	ctx := context.Background()
	spans := spanStubs(t)

	want := newCollector(t)
	sdk, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(want.url))
	if err != nil {
		t.Fatal(err)
	}
	got := newCollector(t)
	ours, err := newExporter(ctx, otlptracehttp.NewClient(otlptracehttp.WithEndpointURL(got.url)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second batch reuses the first's buffers
		if err := sdk.ExportSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
		if err := ours.ExportSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
	}
	_ = sdk.Shutdown(ctx)
	_ = ours.Shutdown(ctx)

	w, g := want.requests(t), got.requests(t)
	if len(w) != 2 || len(g) != 2 {
		t.Fatalf("requests: SDK %d, ours %d; want 2 each", len(w), len(g))
	}
	for i := range w {
		// The SDK orders resources by map iteration: compare them sorted.
		for _, r := range []*coltrace.ExportTraceServiceRequest{w[i], g[i]} {
			sort.Slice(r.ResourceSpans, func(a, b int) bool {
				return r.ResourceSpans[a].Resource.String() < r.ResourceSpans[b].Resource.String()
			})
		}
		if len(g[i].ResourceSpans) != 2 {
			t.Errorf("batch %d: %d resource spans; want 2", i, len(g[i].ResourceSpans))
		}
		if !proto.Equal(w[i], g[i]) {
			t.Errorf("batch %d differs from the SDK's:\nSDK:  %v\nours: %v", i, w[i], g[i])
		}
	}
}

// Encoding a batch allocates once (which spans are written), not per
// span or attribute: the buffers are reused batch to batch.
func TestExporterEncodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	res := resource.NewSchemaless(attribute.String("service.name", "mastra-server"))
	var stubs tracetest.SpanStubs
	for i := range 100 {
		stubs = append(stubs, tracetest.SpanStub{Name: "chat m1", SpanKind: trace.SpanKindClient, Resource: res,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1, byte(i)}}),
			StartTime:   time.Now(), EndTime: time.Now(), InstrumentationScope: instrumentation.Scope{Name: "s"},
			Attributes: []attribute.KeyValue{attribute.String("gen_ai.operation.name", "chat"), attribute.Int("gen_ai.usage.input_tokens", 10),
				attribute.Bool("mastra.stream", false), attribute.Float64("gen_ai.request.temperature", 0.5)}})
	}
	spans := stubs.Snapshots()
	e := &exporter{}
	e.encode(spans)
	if n := testing.AllocsPerRun(20, func() { e.encode(spans) }); n > 1 {
		t.Errorf("encoding a batch of %d spans allocates %.0f times; want 1", len(spans), n)
	}
}

// headerTransport keeps the headers of the request it was given.
type headerTransport struct{ got http.Header }

func (h *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.got = r.Header
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// Transport sets the headers the W3C propagators would (traceparent,
// tracestate, baggage), on a copy: the caller's request is unchanged.
func TestTransportHeaders(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	ts, _ := trace.ParseTraceState("vendor=x")
	bg, err := baggage.Parse("user=u1") // one member: their order is a map's
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{
		{"sampled", trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}, TraceFlags: trace.FlagsSampled}))},
		{"state and baggage", baggage.ContextWithBaggage(trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(
			trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceState: ts})), bg)},
		{"no span", context.Background()},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := http.Header{"Authorization": {"Bearer k"}}
			propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}).
				Inject(c.ctx, propagation.HeaderCarrier(want))
			base := &headerTransport{}
			req, _ := http.NewRequestWithContext(c.ctx, "POST", "http://model/v1/chat/completions", nil)
			req.Header.Set("Authorization", "Bearer k")
			if _, err := (&Tracing{}).Transport(base).RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(base.got, want) {
				t.Errorf("headers sent = %v; want %v", base.got, want)
			}
			if len(req.Header) != 1 {
				t.Errorf("the caller's request was changed: %v", req.Header)
			}
		})
	}
}
