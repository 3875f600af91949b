package jsonenc_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

var strings = []string{"", "hi there", `quote " back \ slash`, "<a href=\"x\">&amp;</a>", "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é ü 日本 🎉", "bad \xff\xfe utf8 \xe2\x82", "line\u2028para\u2029", "\u2027\u202a"}

func FuzzString(f *testing.F) {
	for _, s := range strings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsonenc.String([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("String(%q) = %s, json.Marshal writes %s", s, got[1:], want)
		}
	})
}

func FuzzRaw(f *testing.F) {
	for _, s := range []string{"", "null", ` { "a" : [1, 2.5e3, true, null] ,"b":"x < y & z > \u2028 \" \\" } `, "\"\u2029\"",
		"[\n\t1\r\n]", `"a\"b\\"`, `{"a":[1,"b c"]}`, `{"a":"\u2028 \" \\"}`, "\"\xff\\\"\"", "{", "1 2", `"\u003c"`, `{"a":"<\\"> "}`, "  7  "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, werr := json.Marshal(json.RawMessage(raw))
		got, gerr := jsonenc.Raw(nil, raw)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("Raw(%q): error %v, json.Marshal's %v", raw, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("Raw(%q) = %s, json.Marshal writes %s", raw, got, want)
		}
		if werr == nil && raw != nil {
			if v := jsonenc.RawValid(nil, raw); !bytes.Equal(v, want) {
				t.Fatalf("RawValid(%q) = %s, json.Marshal writes %s", raw, v, want)
			}
			if c := jsonenc.IsCompact(raw); c != bytes.Equal(raw, want) {
				t.Fatalf("IsCompact(%q) = %v, json.Marshal writes %s", raw, c, want)
			}
		}
	})
}

func FuzzFloat(f *testing.F) {
	for _, v := range []float64{0, -0.0, 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e20, 1e21, 123456789e15, 5e-324, math.MaxFloat64, 0.7, 1.0 / 3} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, werr := json.Marshal(v)
		got, gerr := jsonenc.Float(nil, v)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("Float(%v) = %s (%v), json.Marshal writes %s (%v)", v, got, gerr, want, werr)
		}
	})
}

func TestFloatRejectsNaN(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := jsonenc.Float(nil, v); err == nil {
			t.Errorf("Float(%v): no error", v)
		}
	}
}

func TestStringAllocatesNothingWithRoom(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = jsonenc.String(buf[:0], "hello <world> \u2028 \xff") }); n != 0 {
		t.Errorf("String allocated %v times into a buffer with room", n)
	}
}

func TestRawNilIsNull(t *testing.T) {
	var s struct{ R json.RawMessage }
	want, _ := json.Marshal(s)
	got, err := jsonenc.Raw([]byte(`{"R":`), nil)
	if err != nil || string(append(got, '}')) != string(want) {
		t.Errorf("Raw(nil) = %s, %v; json.Marshal writes %s", got, err, want)
	}
}

// ISOTime writes what time.Format writes with JavaScript's toISOString
// layout, for any instant and zone: years 0 to 9999 by hand, the rest
// through Format.
func FuzzISOTime(f *testing.F) {
	for _, c := range []struct {
		sec, nsec int64
		offset    int
	}{
		{0, 0, 0}, {1765130000, 123456789, 3600}, {1765130000, 999999999, -5 * 3600}, {-62135596800, 0, 0},
		{253402300799, 999000000, 0}, {253402300800, 0, 0}, {-62135596801, 5e8, 0}, {951782400, 1e6, 14 * 3600},
	} {
		f.Add(c.sec, c.nsec, c.offset)
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		offset %= 18 * 3600
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", offset))
		want := tm.UTC().Format("2006-01-02T15:04:05.000Z")
		if got := jsonenc.ISOTime([]byte("x"), tm); string(got) != "x"+want {
			t.Fatalf("ISOTime(%v) = %s, Format writes %s", tm, got[1:], want)
		}
	})
}

func TestISOTimeAllocatesNothingWithRoom(t *testing.T) {
	buf := make([]byte, 0, 64)
	tm := time.Now()
	if n := testing.AllocsPerRun(100, func() { buf = jsonenc.ISOTime(buf[:0], tm) }); n != 0 {
		t.Errorf("ISOTime allocated %v times into a buffer with room", n)
	}
}

func BenchmarkISOTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	tm := time.Now()
	b.Run("ISOTime", func(b *testing.B) {
		for range b.N {
			buf = jsonenc.ISOTime(buf[:0], tm)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		for range b.N {
			buf = tm.UTC().AppendFormat(buf[:0], "2006-01-02T15:04:05.000Z")
		}
	})
}
