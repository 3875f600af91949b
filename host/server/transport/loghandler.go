package transport

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// LogHandler is the handler every server line goes through. It
//   - adds the request id to each record logged with a request's context
//     (the *Context and LogAttrs methods of slog), unless the record names
//     one itself, so every line of a request can be found by its id;
//   - writes each key once per line: a logger's With attributes are kept
//     here, a later one replacing an earlier one of the same key (River's
//     "component" under the workflow engine's), and the record's own
//     attributes replace both, because a collector keeps only one value of
//     a repeated JSON key and which one is its choice;
//   - writes a time.Duration as a number of milliseconds under the key with
//     "_ms" added ("duration" becomes "duration_ms"), because slog's JSON
//     form of a Duration is an integer of nanoseconds that no reader takes
//     for one.
//
// Wrapping a LogHandler again returns it unchanged.
func LogHandler(h slog.Handler) slog.Handler {
	if lh, ok := h.(logHandler); ok {
		return lh
	}
	return logHandler{next: h}
}

type logHandler struct {
	next  slog.Handler
	attrs []slog.Attr // from With, not yet passed to next
}

func (h logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	own := make([]slog.Attr, 0, r.NumAttrs()+1)
	r.Attrs(func(a slog.Attr) bool {
		own = append(own, a)
		return true
	})
	if i := InfoFrom(ctx); i != nil && !hasKey(own, "request_id") && !hasKey(h.attrs, "request_id") {
		own = append(own, slog.String("request_id", i.ID))
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	for _, a := range h.attrs {
		if !hasKey(own, a.Key) {
			out.AddAttrs(a)
		}
	}
	for i, a := range own {
		if !hasKey(own[i+1:], a.Key) { // the last of a repeated key wins
			out.AddAttrs(inMillis(a))
		}
	}
	return h.next.Handle(ctx, out)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	merged := make([]slog.Attr, 0, len(h.attrs)+len(as))
	for _, a := range h.attrs {
		if !hasKey(as, a.Key) {
			merged = append(merged, a)
		}
	}
	for i, a := range as {
		if !hasKey(as[i+1:], a.Key) {
			merged = append(merged, inMillis(a))
		}
	}
	return logHandler{next: h.next, attrs: merged}
}

// WithGroup passes the attributes kept so far to next first: keys under
// the group are another object, where they repeat nothing.
func (h logHandler) WithGroup(name string) slog.Handler {
	next := h.next
	if len(h.attrs) > 0 {
		next = next.WithAttrs(h.attrs)
	}
	return logHandler{next: next.WithGroup(name)}
}

// hasKey reports whether as holds key. An empty key (a group whose
// attributes are written inline) is never one to replace.
func hasKey(as []slog.Attr, key string) bool {
	if key == "" {
		return false
	}
	for _, a := range as {
		if a.Key == key {
			return true
		}
	}
	return false
}

// inMillis rewrites a Duration attribute (in a group too) as milliseconds.
func inMillis(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindDuration:
		key := a.Key
		if !strings.HasSuffix(key, "_ms") {
			key += "_ms"
		}
		return slog.Float64(key, float64(v.Duration())/float64(time.Millisecond))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = inMillis(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	return a
}
