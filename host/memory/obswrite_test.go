package memory

import (
	"math"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// FuzzObservabilitySQL: the span, metric and log statements written by
// hand are byte for byte what Bun's formatting made of the same rows
// (as SaveSpans, SaveMetrics and SaveLogs called it before), whatever the
// strings hold and whichever pointers are nil.
func FuzzObservabilitySQL(f *testing.F) {
	db := bun.NewDB(nil, pgdialect.New())
	f.Add("trace", "it's \\ \xff", `{"a":"O'Brien"}`, uint32(0), 1.5, int64(1765119845123456789))
	f.Add("", "nul \x00", "", uint32(math.MaxUint32), -2.0, int64(0))
	f.Add("t", "é", `[1,2]`, uint32(0x5555), math.NaN(), int64(-1))
	f.Add("t", "x", `null`, uint32(0xaaaa), math.Inf(-1), int64(1e18))
	f.Add("t", "y", "{\"q\":\"it's '' \xff\x00\"}", uint32(0), 0.0, int64(1e9))
	f.Fuzz(func(t *testing.T, id, text, js string, nils uint32, value float64, nanos int64) {
		at := SpanTime{time.Unix(0, nanos)}
		later := SpanTime{at.Add(1500 * time.Millisecond)}
		bit := 0
		// ptr is &v, or nil when the next bit of nils is set.
		ptr := func(v string) *string {
			bit++
			if nils&(1<<(bit%32)) != 0 {
				return nil
			}
			return &v
		}
		tptr := func(v SpanTime) *SpanTime {
			bit++
			if nils&(1<<(bit%32)) != 0 {
				return nil
			}
			return &v
		}
		jsn := func() SpanJSON {
			bit++
			if nils&(1<<(bit%32)) != 0 {
				return nil
			}
			return SpanJSON(js)
		}
		ctx := func() EventContext {
			return EventContext{TraceID: ptr(id), SpanID: ptr(text), EntityType: ptr("agent"), EntityID: ptr(id), EntityName: ptr(text),
				UserID: ptr(text), OrganizationID: ptr(id), ResourceID: ptr(text), RunID: ptr(id), SessionID: ptr(text),
				ThreadID: ptr(id), RequestID: ptr(text), Environment: ptr(id), ExecutionSource: ptr(text), ServiceName: ptr(id),
				ExperimentID: ptr(text), Source: ptr(id)}
		}
		var spans []Span
		for i := range 2 {
			spans = append(spans, Span{TraceID: id, SpanID: text + string(rune('a'+i)), ParentSpanID: ptr(id), Name: text, SpanType: "agent_run",
				IsEvent: i == 1, StartedAt: at, EndedAt: tptr(later), EntityType: ptr(text), EntityID: ptr(id), EntityName: ptr(text),
				UserID: ptr(id), OrganizationID: ptr(text), ResourceID: ptr(id), RunID: ptr(text), SessionID: ptr(id), ThreadID: ptr(text),
				RequestID: ptr(id), Environment: ptr(text), ServiceName: ptr(id), Source: ptr(text),
				Attributes: jsn(), Metadata: jsn(), Tags: jsn(), Links: jsn(), Input: jsn(), Output: jsn(), Error: jsn(),
				CreatedAt: later, UpdatedAt: tptr(at)})
		}
		got := spansSQL(db.Dialect(), spans, spansConflictPostgres)
		for i := range spans { // as SaveSpans set them for Bun
			sp := &spans[i]
			sp.StartedAtZ, sp.CreatedAtZ = &sp.StartedAt, &sp.CreatedAt
			sp.EndedAtZ, sp.UpdatedAtZ = sp.EndedAt, sp.UpdatedAt
		}
		if want := db.NewInsert().Model(&spans).Returning("NULL").On(spansConflictPostgres).String(); got != want {
			t.Errorf("spansSQL =\n%s\nBun's formatting =\n%s", got, want)
		}

		var ms []MetricEvent
		for i := range 2 {
			ms = append(ms, MetricEvent{MetricID: id + string(rune('0'+i)), Timestamp: at, Name: text, Value: value * float64(i+1),
				EventContext: ctx(), Provider: ptr(text), Model: ptr(id), Labels: jsn()})
		}
		const mc = `CONFLICT ("metricId", "timestamp") DO NOTHING`
		got = metricsSQL(db.Dialect(), ms, mc)
		if want := db.NewInsert().Model(&ms).On(mc).Returning("NULL").String(); got != want {
			t.Errorf("metricsSQL =\n%s\nBun's formatting =\n%s", got, want)
		}

		var logs []LogEvent
		for i := range 2 {
			logs = append(logs, LogEvent{LogID: id + string(rune('0'+i)), Timestamp: later, Level: "info", Message: text,
				Data: jsn(), EventContext: ctx(), Tags: jsn(), Metadata: jsn()})
		}
		const lc = `CONFLICT ("logId", "timestamp") DO NOTHING`
		got = logsSQL(db.Dialect(), logs, lc)
		if want := db.NewInsert().Model(&logs).On(lc).Returning("NULL").String(); got != want {
			t.Errorf("logsSQL =\n%s\nBun's formatting =\n%s", got, want)
		}
	})
}
