package observe

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

// Log lines of runs: a line the server logs with the context of a stored
// span (a turn, a model or tool call, a workflow step) is also stored,
// with that span's trace, span and resource, for Mastra's logs route.
// Lines go through their own bounded queue: dropped and counted when it
// is full, never waited for.

// LogHandler wraps next so that lines logged inside a stored span are
// stored too. Whether a line is logged at all is next's decision.
func (r *Recorder) LogHandler(next slog.Handler) slog.Handler { return logHandler{r: r, next: next} }

type logHandler struct {
	r     *Recorder
	next  slog.Handler
	attrs []slog.Attr
}

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{r: h.r, next: h.next.WithAttrs(as), attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

// WithGroup is passed on; a group's attributes are then stored flat.
func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{r: h.r, next: h.next.WithGroup(name), attrs: h.attrs}
}

func (h logHandler) Handle(ctx context.Context, rec slog.Record) error {
	if s := scopeFrom(ctx); s != nil {
		h.r.enqueueLog(s, rec, h.attrs)
	}
	return h.next.Handle(ctx, rec)
}

// maxLogData bounds a stored line's attributes.
const maxLogData = 8 << 10

func (r *Recorder) enqueueLog(s *scope, rec slog.Record, with []slog.Attr) {
	data := make(map[string]any, rec.NumAttrs()+len(with))
	add := func(a slog.Attr) bool {
		v := a.Value.Resolve()
		switch v.Kind() {
		case slog.KindString:
			data[a.Key] = clip(v.String(), 2000)
		case slog.KindGroup:
			for _, g := range v.Group() {
				data[a.Key+"."+g.Key] = clip(g.Value.String(), 2000)
			}
		default:
			data[a.Key] = clip(v.String(), 2000)
		}
		return true
	}
	for _, a := range with {
		add(a)
	}
	rec.Attrs(add)
	b, _ := json.Marshal(data)
	if len(b) > maxLogData {
		b, _ = json.Marshal(map[string]string{"truncated": clip(string(b), maxLogData)})
	}
	ev := memory.LogEvent{LogID: hex64(rand.Uint64()) + hex64(rand.Uint64()), Timestamp: memory.SpanTime{Time: rec.Time},
		Level: strings.ToLower(rec.Level.String()), Message: clip(rec.Message, 2000), Data: b,
		EventContext: memory.EventContext{TraceID: &s.traceID, SpanID: &s.spanID, ResourceID: strp(s.resourceID),
			ThreadID: strp(s.threadID), RunID: strp(s.runID), ServiceName: strp(r.o.ServiceName)}}
	if ev.Timestamp.IsZero() {
		ev.Timestamp.Time = time.Now()
	}
	select {
	case r.logs <- ev:
	default:
		r.logsDropped.Add(1)
	}
}

// LogsDropped counts the log lines not stored because their queue was
// full.
func (r *Recorder) LogsDropped() uint64 { return r.logsDropped.Load() }

// logLoop writes queued log lines in batches.
func (r *Recorder) logLoop(ctx context.Context) {
	batch := make([]memory.LogEvent, 0, r.o.BatchSize)
	t := time.NewTicker(r.o.FlushInterval)
	defer t.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := r.o.Store.SaveLogs(wctx, batch); err != nil {
			r.o.Logger.Warn("observability: log lines not stored", "lines", len(batch), "err", err)
		}
		cancel()
		batch = make([]memory.LogEvent, 0, r.o.BatchSize)
	}
	for {
		select {
		case ev := <-r.logs:
			batch = append(batch, ev)
			if len(batch) >= r.o.BatchSize {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case ev := <-r.logs:
					batch = append(batch, ev)
				default:
					flush()
					return
				}
			}
		}
	}
}
