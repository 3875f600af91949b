package tracing

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// exporter is the OTLP exporter with its span conversion written out by
// hand. The SDK's exporter turns every span into protobuf structs (three
// allocations per attribute) and then marshals them by reflection: it was
// the largest part of what tracing cost a turn. This one appends each
// batch's wire form to one reused buffer and hands it to the SDK's own
// OTLP/HTTP client (so every OTEL_EXPORTER_OTLP_* setting, retry and gzip
// still applies) as the unknown fields of a single ResourceSpans message,
// which protobuf writes out verbatim: the bytes on the wire are an
// ordinary ExportTraceServiceRequest.
//
// One ResourceSpans message per batch holds the spans of one resource; a
// batch of several resources (none here: one provider, one resource) is
// sent as several messages of the same request.
type exporter struct {
	client otlptrace.Client

	mu   sync.Mutex // guards the buffers, reused batch to batch
	rs   []byte     // the ResourceSpans messages' contents, back to back
	ends []int      // where each message ends in rs
	msgs []tracepb.ResourceSpans
}

func newExporter(ctx context.Context, c otlptrace.Client) (*exporter, error) {
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("tracing: OTLP client: %w", err)
	}
	return &exporter{client: c}, nil
}

func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.encode(spans)
	if cap(e.msgs) < len(e.ends) {
		e.msgs = make([]tracepb.ResourceSpans, len(e.ends))
	}
	ptrs := make([]*tracepb.ResourceSpans, len(e.ends))
	start := 0
	for i, end := range e.ends {
		m := &e.msgs[i]
		m.Reset()
		m.ProtoReflect().SetUnknown(e.rs[start:end:end])
		ptrs[i] = m
		start = end
	}
	if err := e.client.UploadTraces(ctx, ptrs); err != nil {
		return fmt.Errorf("traces export: %w", err)
	}
	return nil
}

func (e *exporter) Shutdown(ctx context.Context) error { return e.client.Stop(ctx) }

// encode fills e.rs and e.ends with the batch: per resource, its
// attributes, then one ScopeSpans per instrumentation scope, its spans in
// the order they came.
func (e *exporter) encode(spans []sdktrace.ReadOnlySpan) {
	e.rs, e.ends = e.rs[:0], e.ends[:0]
	done := make([]bool, len(spans)) // one allocation a batch
	for i := range spans {
		if done[i] {
			continue
		}
		res := spans[i].Resource()
		b := appendResource(e.rs, res)
		for j := i; j < len(spans); j++ {
			if done[j] || spans[j].Resource() != res {
				continue
			}
			scope := spans[j].InstrumentationScope()
			b = protowire.AppendTag(b, 2, protowire.BytesType) // ResourceSpans.scope_spans
			ss := len(b)
			b = appendScope(b, scope)
			for k := j; k < len(spans); k++ {
				if done[k] || spans[k].Resource() != res || spans[k].InstrumentationScope() != scope {
					continue
				}
				done[k] = true
				b = protowire.AppendTag(b, 2, protowire.BytesType) // ScopeSpans.spans
				p := len(b)
				b = appendSpan(b, spans[k])
				b = prefixLength(b, p)
			}
			b = appendString(b, 3, scope.SchemaURL)
			b = prefixLength(b, ss)
		}
		if res != nil {
			b = appendString(b, 3, res.SchemaURL())
		}
		e.rs = b
		e.ends = append(e.ends, len(b))
	}
}

// prefixLength puts the length of b[p:], a message's fields just
// appended, before them as a varint: what a length-delimited field needs,
// without sizing the message beforehand. The move is short (a key-value
// pair, a span) but for a scope's spans, once a batch.
func prefixLength(b []byte, p int) []byte {
	n := len(b) - p
	k := protowire.SizeVarint(uint64(n))
	for range k {
		b = append(b, 0)
	}
	copy(b[p+k:], b[p:p+n])
	protowire.AppendVarint(b[p:p], uint64(n)) // within b's capacity: in place
	return b
}

// appendResource appends ResourceSpans.resource (field 1).
func appendResource(b []byte, r *resource.Resource) []byte {
	if r == nil {
		return b
	}
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	p := len(b)
	for it := r.Iter(); it.Next(); {
		b = appendKeyValue(b, 1, it.Attribute())
	}
	return prefixLength(b, p)
}

// appendScope appends ScopeSpans.scope (field 1).
func appendScope(b []byte, s instrumentation.Scope) []byte {
	if s == (instrumentation.Scope{}) {
		return b
	}
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	p := len(b)
	b = appendString(b, 1, s.Name)
	b = appendString(b, 2, s.Version)
	for it := s.Attributes.Iter(); it.Next(); {
		b = appendKeyValue(b, 3, it.Attribute())
	}
	return prefixLength(b, p)
}

// appendSpan appends a Span message's fields as the SDK's exporter sets
// them (a status always; flags that say whether the parent is remote).
func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc, parent := s.SpanContext(), s.Parent()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, 1, tid[:])
	b = appendBytes(b, 2, sid[:])
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = appendString(b, 3, ts.String())
	}
	if psid := parent.SpanID(); psid.IsValid() {
		b = appendBytes(b, 4, psid[:])
	}
	b = appendString(b, 5, s.Name())
	if k := s.SpanKind(); k >= trace.SpanKindInternal && k <= trace.SpanKindConsumer { // OTLP numbers them alike
		b = protowire.AppendTag(b, 6, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(k))
	}
	b = appendTime(b, 7, s.StartTime())
	b = appendTime(b, 8, s.EndTime())
	for _, kv := range s.Attributes() {
		b = appendKeyValue(b, 9, kv)
	}
	b = appendCount(b, 10, s.DroppedAttributes())
	for _, ev := range s.Events() {
		b = protowire.AppendTag(b, 11, protowire.BytesType)
		p := len(b)
		b = appendTime(b, 1, ev.Time)
		b = appendString(b, 2, ev.Name)
		for _, kv := range ev.Attributes {
			b = appendKeyValue(b, 3, kv)
		}
		b = appendCount(b, 4, ev.DroppedAttributeCount)
		b = prefixLength(b, p)
	}
	b = appendCount(b, 12, s.DroppedEvents())
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		b = protowire.AppendTag(b, 13, protowire.BytesType)
		p := len(b)
		b = appendBytes(b, 1, ltid[:])
		b = appendBytes(b, 2, lsid[:])
		if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
			b = appendString(b, 3, ts.String())
		}
		for _, kv := range l.Attributes {
			b = appendKeyValue(b, 4, kv)
		}
		b = appendCount(b, 5, l.DroppedAttributeCount)
		b = protowire.AppendTag(b, 6, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()))
		b = prefixLength(b, p)
	}
	b = appendCount(b, 14, s.DroppedLinks())
	st := s.Status()
	b = protowire.AppendTag(b, 15, protowire.BytesType)
	p := len(b)
	b = appendString(b, 2, st.Description)
	var code tracepb.Status_StatusCode // OTLP numbers these unlike the API
	switch st.Code {
	case codes.Error:
		code = tracepb.Status_STATUS_CODE_ERROR
	case codes.Ok:
		code = tracepb.Status_STATUS_CODE_OK
	}
	if code != tracepb.Status_STATUS_CODE_UNSET {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(code))
	}
	b = prefixLength(b, p)
	b = protowire.AppendTag(b, 16, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, spanFlags(sc.TraceFlags(), parent.IsRemote()))
}

// spanFlags are the W3C trace flags and the bits "whether the parent is
// remote is known" and "it is".
func spanFlags(tf trace.TraceFlags, remote bool) uint32 {
	f := uint32(tf) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	if remote {
		f |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	return f
}

func appendTime(b []byte, num protowire.Number, t time.Time) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, uint64(max(0, t.UnixNano())))
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendString appends a string field; proto3 leaves out an empty one.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendCount(b []byte, num protowire.Number, n int) []byte {
	if n <= 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(min(n, math.MaxUint32)))
}

// appendKeyValue appends a KeyValue message as field num.
func appendKeyValue(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	p := len(b)
	b = appendString(b, 1, string(kv.Key))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	q := len(b)
	b = appendValue(b, kv.Value)
	return prefixLength(prefixLength(b, q), p)
}

// appendValue appends an AnyValue message's fields.
func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.EMPTY:
		return b
	case attribute.BOOL:
		return appendBool(b, v.AsBool())
	case attribute.INT64:
		return appendInt(b, v.AsInt64())
	case attribute.FLOAT64:
		return appendFloat(b, v.AsFloat64())
	case attribute.STRING:
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return protowire.AppendString(b, v.AsString())
	case attribute.BYTESLICE:
		return appendBytes(b, 7, v.AsByteSlice())
	case attribute.MAP:
		b = protowire.AppendTag(b, 6, protowire.BytesType) // a KeyValueList
		p := len(b)
		for _, kv := range v.AsMap() {
			b = appendKeyValue(b, 1, kv)
		}
		return prefixLength(b, p)
	}
	// The slices are an ArrayValue of AnyValues.
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	p := len(b)
	elem := func(b []byte) ([]byte, int) { // ArrayValue.values: an AnyValue
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return b, len(b)
	}
	var q int
	switch v.Type() {
	case attribute.BOOLSLICE:
		for _, x := range v.AsBoolSlice() {
			b, q = elem(b)
			b = prefixLength(appendBool(b, x), q)
		}
	case attribute.INT64SLICE:
		for _, x := range v.AsInt64Slice() {
			b, q = elem(b)
			b = prefixLength(appendInt(b, x), q)
		}
	case attribute.FLOAT64SLICE:
		for _, x := range v.AsFloat64Slice() {
			b, q = elem(b)
			b = prefixLength(appendFloat(b, x), q)
		}
	case attribute.STRINGSLICE:
		for _, x := range v.AsStringSlice() {
			b, q = elem(b)
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = prefixLength(protowire.AppendString(b, x), q)
		}
	case attribute.SLICE:
		for _, x := range v.AsSlice() {
			b, q = elem(b)
			b = prefixLength(appendValue(b, x), q)
		}
	default: // as the SDK's exporter spells a type it does not know
		b = b[:p-1]
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return protowire.AppendString(b, "INVALID")
	}
	return prefixLength(b, p)
}

func appendBool(b []byte, x bool) []byte {
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeBool(x))
}

func appendInt(b []byte, x int64) []byte {
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(x))
}

func appendFloat(b []byte, x float64) []byte {
	b = protowire.AppendTag(b, 4, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(x))
}
