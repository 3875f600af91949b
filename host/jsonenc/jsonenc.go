// Package jsonenc appends JSON text exactly as encoding/json.Marshal
// writes it (HTML-safe escaping, invalid UTF-8 as U+FFFD, U+2028/2029
// escaped, raw JSON compacted, floats in its two formats), so the few shapes
// written on every turn (a model request, a stream chunk, a generate reply)
// can be written into one reused buffer without reflection, maps or
// interface boxing, and still be the same bytes as before: each caller's
// tests compare its appender's output with json.Marshal of the old value.
//
// It imports only the standard library.
package jsonenc

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// safe[b] is true for the ASCII bytes encoding/json writes as they are
// (with HTML escaping on): from space to DEL, but '"', '\\', '<', '>' and
// '&'.
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range []byte{'"', '\\', '<', '>', '&'} {
		t[b] = false
	}
	return t
}()

// String appends s as a JSON string.
func String(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other control bytes, and <, >, &
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ErrInvalid is returned by Raw for text that is not one JSON value, as
// json.Marshal fails on such a json.RawMessage.
var ErrInvalid = errors.New("jsonenc: invalid JSON in raw value")

// Raw appends raw JSON as json.Marshal writes a json.RawMessage: null when
// nil, else compacted, with <, >, &, U+2028 and U+2029 escaped (empty but
// not nil is invalid, as there).
func Raw(dst, raw []byte) ([]byte, error) {
	if raw == nil {
		return append(dst, "null"...), nil
	}
	if !json.Valid(raw) {
		return dst, ErrInvalid
	}
	return RawValid(dst, raw), nil
}

// RawValid is Raw of raw known to be one valid JSON value, without checking
// it again: for text checked where it entered the process (a message's
// content as the store read it, say), which would otherwise be checked on
// every reply that carries it. Raw text that is not valid JSON gives
// invalid output.
func RawValid(dst, raw []byte) []byte {
	start := 0
	inString, escaped := false, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, raw[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8:
			dst = append(dst, raw[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[raw[i+2]&0xF])
			i += 2
			start = i + 1
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}

// IsCompact reports whether RawValid writes raw as it is: no whitespace
// outside strings, and no <, >, &, U+2028 or U+2029 anywhere. Decoding
// such a value into a json.RawMessage gives back the bytes json.Marshal
// wrote for it, so a value built in the process can stand for its own
// parse (see memory.Message.WithParsed).
func IsCompact(raw []byte) bool {
	inString, escaped := false, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8:
			return false
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return true
}

// Int appends n.
func Int(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// Bool appends true or false.
func Bool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// ErrFloat is returned by Float for NaN and the infinities, which JSON
// cannot hold (json.Marshal fails on them too).
var ErrFloat = errors.New("jsonenc: unsupported float value")

// Float appends a float64 as json.Marshal does: the shortest decimal that
// reads back the same, in exponent form below 1e-6 and from 1e21.
func Float(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, ErrFloat
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// isoLayout is JavaScript's Date.prototype.toISOString, which Mastra's
// stored and wire timestamps use: UTC, milliseconds, "Z".
const isoLayout = "2006-01-02T15:04:05.000Z"

// ISOTime appends t in UTC as t.UTC().Format("2006-01-02T15:04:05.000Z")
// writes it (unquoted), without the layout interpreter: a turn writes
// some fifty such times (spans, messages), ~300 ns each through Format.
// Years outside 0–9999 go through Format, whose spelling of them JavaScript
// does not share anyway.
func ISOTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, isoLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}
