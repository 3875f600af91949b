// Package tracing exports OpenTelemetry traces over OTLP/HTTP: an HTTP
// server span per request, and the spans Mastra's own exporter emits, named
// and attributed alike so dashboards built for Mastra work:
// "invoke_agent <name>", "chat <model>", "execute_tool <toolId>", with the
// gen_ai.* attributes of the GenAI semantic conventions. A plugin call is a
// span of its own. W3C traceparent is taken from requests and passed on to
// model providers (a header of the outgoing request) and to plugins (a
// header of the request the guest reads).
//
// Like host/metrics, it implements the observer interfaces of the packages
// it watches (transport.Observer, agent.Observer, plugin.Observer); they do
// not import OpenTelemetry.
package tracing

import (
	"context"
	"encoding/hex"
	"fmt"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/extra/bunotel"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options configures New.
type Options struct {
	// Endpoint is the OTLP/HTTP endpoint ("http://collector:4318"); the
	// environment's OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT win over it.
	Endpoint string
	// ServiceName is service.name unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES set it.
	ServiceName string
	// ServiceVersion is service.version; "" takes the module version Go
	// recorded in the binary, if any.
	ServiceVersion string
	// CaptureContent puts message texts, tool arguments and results in
	// spans. Off by default.
	CaptureContent bool
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Enabled reports whether traces are configured: an endpoint in the
// options or in the standard variables, and OTEL_SDK_DISABLED not "true".
func Enabled(endpoint string, getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return endpoint != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Tracing is a tracer provider exporting over OTLP/HTTP, and the observers
// that make spans with it. Shut it down to flush the last spans.
type Tracing struct {
	tp      *sdktrace.TracerProvider
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	capture bool
	// Span names built once: by method then route, by agent, by model.
	routeNames             cache[*cache[string]]
	invokeNames, chatNames cache[string]
}

// New starts the exporter. The OTEL_* variables (headers, timeout,
// compression, sampler, batch sizes, resource attributes) apply as the
// OpenTelemetry SDK defines them.
func New(ctx context.Context, o Options) (*Tracing, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var opts []otlptracehttp.Option
	if o.Endpoint != "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("tracing: endpoint %q: %w", o.Endpoint, err)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces" // as the exporter does for OTEL_EXPORTER_OTLP_ENDPOINT
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	}
	var exp sdktrace.SpanExporter
	if protocol(getenv) == "http/json" {
		// The JSON encoding is the SDK's alone: its own exporter.
		e, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		exp = e
	} else {
		e, err := newExporter(ctx, otlptracehttp.NewClient(opts...))
		if err != nil {
			return nil, err
		}
		exp = e
	}
	name := o.ServiceName
	if name == "" {
		name = "mastra-server"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if o.ServiceVersion == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			o.ServiceVersion = bi.Main.Version
		}
	}
	if o.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", o.ServiceVersion))
	}
	// Later options win: the environment's service name and attributes
	// over ours.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{
		tp:      tp,
		tracer:  tp.Tracer("github.com/mastra-server/mastra-server"),
		prop:    propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		capture: o.CaptureContent,
	}, nil
}

// protocol is the OTLP encoding the environment asks for, as the SDK reads
// it: the traces' variable over the general one.
func protocol(getenv func(string) string) string {
	if v := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); v != "" {
		return v
	}
	return getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
}

// DBHook makes one client span per database statement of a store, named
// after its operation (SELECT, INSERT, …) and carrying db.system and the
// statement with placeholders, never its values: message contents must not
// reach spans unless content capture is on, and Bun inlines values.
//
// Only statements made inside a traced request or job get a span:
// migrations, health pings and other background statements would each be a
// trace of one span. Inside an agent turn, statements are counted and
// timed on the turn's span instead (dbTime).
func (t *Tracing) DBHook() bun.QueryHook {
	return parentedHook{bunotel.NewQueryHook(bunotel.WithTracerProvider(t.tp), bunotel.WithFormattedQueries(false))}
}

// parentedHook runs its hook only for statements whose context has a span.
type parentedHook struct{ h bun.QueryHook }

func (p parentedHook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if d := dbTimeOf(ctx); d != nil {
		d.start() // inside a turn: summed on its span
		return ctx
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return p.h.BeforeQuery(ctx, e)
}

// AfterQuery ends the statement's span; without one (BeforeQuery skipped)
// the hook finds no recording span and does nothing.
func (p parentedHook) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if d := dbTimeOf(ctx); d != nil {
		d.end()
		return
	}
	p.h.AfterQuery(ctx, e)
}

// Shutdown flushes the spans not yet exported and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.tp.Shutdown(ctx) }

// ForceFlush exports the spans ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error { return t.tp.ForceFlush(ctx) }

// Transport wraps base so that each outgoing request carries the trace
// context of its request's context (traceparent, tracestate, baggage): a
// model provider that traces sees its work as part of the turn. The
// headers are written directly, not by the propagators: one request per
// model call, and the propagators' generic path (canonicalising keys,
// cloning every header value) was most of what tracing cost a call.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return propagating{base: base}
}

type propagating struct {
	base http.RoundTripper
}

func (p propagating) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return p.base.RoundTrip(r)
	}
	// A RoundTripper must not change the caller's request: a copy with a
	// header map of its own. The values are shared, as nothing below
	// changes them.
	r2 := *r
	r2.Header = make(http.Header, len(r.Header)+3)
	for k, v := range r.Header {
		r2.Header[k] = v
	}
	r2.Header["Traceparent"] = []string{traceparent(sc)}
	if ts := sc.TraceState(); ts.Len() > 0 {
		r2.Header["Tracestate"] = []string{ts.String()}
	}
	if bg := baggage.FromContext(ctx); bg.Len() > 0 {
		r2.Header["Baggage"] = []string{bg.String()}
	}
	return p.base.RoundTrip(&r2)
}

// traceparent is the W3C header of sc: version 00, trace id, span id,
// flags.
func traceparent(sc trace.SpanContext) string {
	var b [55]byte
	tid, sid := sc.TraceID(), sc.SpanID()
	b[0], b[1], b[2] = '0', '0', '-'
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{byte(sc.TraceFlags() & trace.FlagsSampled)})
	return string(b[:])
}

// clip bounds text that may come from a client or a model before it goes
// into a span name or attribute.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// maxContent bounds a captured message or tool payload.
const maxContent = 16 << 10
