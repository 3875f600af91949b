package observe

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

// The hand-written attributes and metadata are jsonOf's bytes, for every
// field set or left empty: shapes is a bit per optional field.
func FuzzSpanAttrs(f *testing.F) {
	f.Add("t1", "be brief <b>", "gpt-4o", "openai", "stop", "chatcmpl-1\u2028", 3, 120, 7, 0.7, 0.9, int64(1765000000123456789), uint16(0xFFFF))
	f.Add("", "", "", "", "", "", 0, 0, 0, 0.0, 0.0, int64(0), uint16(0))
	f.Add("ü\xff", "\"q\"", "m", "p", "length", "id", -1, math.MaxInt32, 1, 1e-7, 1e21, int64(-62135596800000000), uint16(0x5555))
	f.Add("t", "", "m", "p", "", "", 1, 2, 3, math.NaN(), math.Inf(1), int64(1), uint16(0x0404))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4, s5, s6 string, n1, n2, n3 int, f1, f2 float64, at int64, shapes uint16) {
		on := func(bit uint) bool { return shapes&(1<<bit) != 0 }
		opt := func(bit uint, s string) string {
			if on(bit) {
				return s
			}
			return ""
		}
		aa := agentAttrs{ConversationID: s1, Instructions: opt(0, s2), MaxSteps: n1, Streaming: on(1),
			FinishReason: opt(2, s5), Steps: n3}
		if on(3) {
			aa.AvailableTools = []string{s3, s4}
		} else if on(4) {
			aa.AvailableTools = []string{}
		}
		if on(5) {
			aa.Usage = &usageJSON{InputTokens: n2, OutputTokens: n3}
		}
		ma := modelAttrs{Model: s3, Provider: s4, Streaming: on(1), FinishReason: opt(2, s5),
			ResponseModel: opt(6, s3), ResponseID: opt(7, s6)}
		if on(8) {
			ma.Parameters.Temperature = &f1
		}
		if on(9) {
			ma.Parameters.MaxOutputTokens = &n2
		}
		if on(10) {
			ma.Parameters.TopP = &f2
		}
		if on(5) {
			ma.Usage = &usageJSON{InputTokens: n1, OutputTokens: n2}
		}
		if on(11) {
			ma.CompletionStartTime = &memory.SpanTime{Time: time.Unix(0, at).In(time.FixedZone("x", 3600))}
		}
		md := metadataJSON{RunID: opt(12, s1), ResourceID: opt(13, s2), ThreadID: opt(14, s6), Outcome: opt(15, s5)}

		for _, c := range []struct {
			name  string
			attrs interface{ appendJSON([]byte) ([]byte, error) }
			v     any
		}{{"agentAttrs", &aa, aa}, {"modelAttrs", &ma, ma}} {
			gotA, gotM := attrsAndMetadata(c.attrs, &md)
			if wantA := jsonOf(c.v); !bytes.Equal(gotA, wantA) || (gotA == nil) != (wantA == nil) {
				t.Fatalf("%s: %s; json.Marshal writes %s", c.name, gotA, wantA)
			}
			if wantM := jsonOf(md); !bytes.Equal(gotM, wantM) {
				t.Fatalf("metadata: %s; json.Marshal writes %s", gotM, wantM)
			}
		}
	})
}
