package llm

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// This file decodes the provider messages that arrive once per token (an
// OpenAI chat-completions chunk, an Anthropic stream event) and the whole
// replies of both, by hand: encoding/json's reflection cost about 14
// allocations an event and a tenth of a turn's CPU (issue 26).
//
// Each decoder produces exactly what encoding/json.Unmarshal would into a
// zero value of the same struct, or gives up and lets encoding/json decode
// the message instead. It gives up on anything whose meaning under
// encoding/json is subtle: a known key repeated or spelt in another case
// (encoding/json matches keys case-insensitively), a key with an escape or
// a non-ASCII byte, a string with invalid UTF-8 (encoding/json replaces the
// bytes), a number that is not a plain integer where an int goes, a value
// of the wrong type, an error object, and any syntax error (so errors are
// always encoding/json's). Unknown keys are skipped, their values checked
// for syntax, as encoding/json does. FuzzWireDecode compares the two.

// jdec reads one JSON text. After a failure i is at the end, so every later
// read fails too and the loops end; bad tells the caller to fall back.
type jdec struct {
	b   []byte
	i   int
	bad bool
}

// maxSkipDepth bounds the nesting of an unknown value the decoder skips;
// deeper values go to encoding/json (whose own bound is 10000).
const maxSkipDepth = 256

func (d *jdec) fail() {
	d.bad = true
	d.i = len(d.b)
}

// peek skips white space and returns the next byte, 0 at the end.
func (d *jdec) peek() byte {
	for d.i < len(d.b) {
		switch c := d.b[d.i]; c {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return c
		}
	}
	return 0
}

// end reports whether the text was decoded whole: no failure and nothing
// but white space after the value.
func (d *jdec) end() bool {
	return d.peek() == 0 && d.i == len(d.b) && !d.bad
}

// lit consumes the literal s (true, false or null).
func (d *jdec) lit(s string) {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return
	}
	d.fail()
}

// null consumes a null if one is next. Null leaves a field of any type the
// decoders fill unchanged (or nil), as in encoding/json, except
// json.RawMessage (see raw).
func (d *jdec) null() bool {
	if d.peek() != 'n' {
		return false
	}
	d.lit("null")
	return true
}

// open consumes the opening delimiter c ('{' or '['); a value of another
// type fails.
func (d *jdec) open(c byte) bool {
	if d.peek() != c {
		d.fail()
		return false
	}
	d.i++
	return true
}

// key returns the next key of the object being read (its raw bytes), or
// false at the object's end; n counts the keys read so far. A key with an
// escape or a non-ASCII byte fails: encoding/json would unquote and
// case-fold it.
func (d *jdec) key(n *int) ([]byte, bool) {
	c := d.peek()
	switch {
	case c == '}':
		d.i++
		return nil, false
	case *n > 0 && c == ',':
		d.i++
		c = d.peek()
	case *n > 0:
		d.fail()
		return nil, false
	}
	*n++
	if c != '"' {
		d.fail()
		return nil, false
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' {
			d.i = j + 1
			if d.peek() != ':' {
				d.fail()
				return nil, false
			}
			d.i++
			return d.b[start:j], true
		}
		if c < 0x20 || c >= utf8.RuneSelf || c == '\\' {
			break
		}
	}
	d.fail()
	return nil, false
}

// elem reports whether another element of the array being read follows;
// n counts the elements read so far.
func (d *jdec) elem(n *int) bool {
	c := d.peek()
	switch {
	case c == ']':
		d.i++
		return false
	case *n > 0 && c == ',':
		d.i++
	case *n > 0:
		d.fail()
		return false
	}
	*n++
	return true
}

// once marks the field bit as read; a second occurrence of the key fails
// (encoding/json would merge the two values into one field).
func (d *jdec) once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		d.fail()
		return false
	}
	*seen |= bit
	return !d.bad
}

// other skips the value of a key the struct has no field for. A key that
// differs from a field's name only in case fails: encoding/json would fill
// the field.
func (d *jdec) other(k []byte, fields []string) {
	for _, f := range fields {
		if foldEqual(f, k) {
			d.fail()
			return
		}
	}
	d.skip(0)
}

// foldEqual reports whether the ASCII key k equals the name f but for case.
func foldEqual(f string, k []byte) bool {
	if len(f) != len(k) {
		return false
	}
	for i := range len(k) {
		a, b := f[i], k[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// str reads a string (null: ""). The common short values are returned
// without allocating.
func (d *jdec) str() string {
	if d.null() {
		return ""
	}
	if d.peek() != '"' {
		d.fail()
		return ""
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[start:j]
			if !ascii && !utf8.Valid(s) {
				d.fail()
				return ""
			}
			d.i = j + 1
			return intern(s)
		case c == '\\':
			return d.unescape(start, j)
		case c < 0x20:
			d.fail()
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	d.fail()
	return ""
}

// strp reads a string into a new pointer (null: nil).
func (d *jdec) strp() *string {
	if d.null() {
		return nil
	}
	s := d.str()
	return &s
}

// unescape reads the rest of a string whose body starts at start and has
// its first backslash at j, as encoding/json unquotes it: a \u escape of a
// lone surrogate becomes U+FFFD.
func (d *jdec) unescape(start, j int) string {
	b := d.b
	buf := make([]byte, 0, j-start+64)
	buf = append(buf, b[start:j]...)
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				d.fail()
				return ""
			}
			d.i = j + 1
			return string(buf)
		case c < 0x20:
			d.fail()
			return ""
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(b) {
			break
		}
		switch e := b[j+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := hex4(b[j:])
			if r < 0 {
				d.fail()
				return ""
			}
			j += 6
			if utf16.IsSurrogate(r) {
				if dec := utf16.DecodeRune(r, hex4(b[j:])); dec != utf8.RuneError {
					buf = utf8.AppendRune(buf, dec)
					j += 6
					continue
				}
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			d.fail()
			return ""
		}
		j += 2
	}
	d.fail()
	return ""
}

// hex4 reads the \uXXXX escape at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// intern returns s as a string, without allocating for the values that
// come in every event: types, roles, finish reasons and SSE event names.
func intern(s []byte) string {
	switch string(s) {
	case "":
		return ""
	case "assistant":
		return "assistant"
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "function":
		return "function"
	case "text":
		return "text"
	case "tool_use":
		return "tool_use"
	case "end_turn":
		return "end_turn"
	case "content_block_delta":
		return "content_block_delta"
	case "content_block_start":
		return "content_block_start"
	case "content_block_stop":
		return "content_block_stop"
	case "message_start":
		return "message_start"
	case "message_delta":
		return "message_delta"
	case "message_stop":
		return "message_stop"
	case "text_delta":
		return "text_delta"
	case "input_json_delta":
		return "input_json_delta"
	case "thinking_delta":
		return "thinking_delta"
	case "signature_delta":
		return "signature_delta"
	case "thinking":
		return "thinking"
	case "ping":
		return "ping"
	}
	return string(s)
}

// same reads a string and returns prev when the two are equal, so an id
// or model name repeated in every chunk is not allocated again. prev came
// from a decoder, so it is valid UTF-8; raw bytes equal to it that need no
// unquoting are the same string.
func (d *jdec) same(prev string) string {
	if prev != "" && d.peek() == '"' {
		rest := d.b[d.i+1:]
		if len(rest) > len(prev) && rest[len(prev)] == '"' && string(rest[:len(prev)]) == prev && plain(rest[:len(prev)]) {
			d.i += len(prev) + 2
			return prev
		}
	}
	return d.str()
}

// plain reports whether s stands for itself inside a JSON string: no
// control character, quote or backslash.
func plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// int reads an integer that fits an int (null: 0). A fraction or an
// exponent fails: encoding/json reports them as a type error.
func (d *jdec) int() int {
	if d.null() {
		return 0
	}
	b, j := d.b, d.i
	neg := j < len(b) && b[j] == '-'
	if neg {
		j++
	}
	start, n := j, 0
	for j < len(b) && '0' <= b[j] && b[j] <= '9' {
		n = n*10 + int(b[j]-'0')
		j++
	}
	if digits := j - start; digits == 0 || digits > 18 || (digits > 1 && b[start] == '0') {
		d.fail()
		return 0
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		d.fail()
		return 0
	}
	d.i = j
	if neg {
		return -n
	}
	return n
}

// intp reads an integer into a new pointer (null: nil).
func (d *jdec) intp() *int {
	if d.null() {
		return nil
	}
	n := d.int()
	return &n
}

// raw reads any value as json.RawMessage: its bytes as they are, null
// included (json.RawMessage's UnmarshalJSON receives "null").
func (d *jdec) raw() json.RawMessage {
	d.peek()
	start := d.i
	d.skip(0)
	if d.bad {
		return nil
	}
	return append(json.RawMessage(nil), d.b[start:d.i]...)
}

// skip checks and skips any value.
func (d *jdec) skip(depth int) {
	if depth > maxSkipDepth {
		d.fail()
		return
	}
	switch c := d.peek(); {
	case c == '{':
		d.i++
		for n := 0; ; n++ {
			c := d.peek()
			if c == '}' {
				d.i++
				return
			}
			if n > 0 {
				if c != ',' {
					d.fail()
					return
				}
				d.i++
				d.peek()
			}
			d.skipStr()
			if d.peek() != ':' {
				d.fail()
				return
			}
			d.i++
			d.skip(depth + 1)
			if d.bad {
				return
			}
		}
	case c == '[':
		d.i++
		for n := 0; d.elem(&n); {
			d.skip(depth + 1)
		}
	case c == '"':
		d.skipStr()
	case c == 't':
		d.lit("true")
	case c == 'f':
		d.lit("false")
	case c == 'n':
		d.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		d.skipNum()
	default:
		d.fail()
	}
}

// skipStr checks and skips a string. Its bytes need not be valid UTF-8:
// encoding/json only checks the syntax of a value it skips.
func (d *jdec) skipStr() {
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		d.fail()
		return
	}
	for j := d.i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			d.i = j + 1
			return
		case c < 0x20:
			d.fail()
			return
		case c == '\\':
			if j+1 >= len(b) {
				d.fail()
				return
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if hex4(b[j:]) < 0 {
					d.fail()
					return
				}
				j += 5
			default:
				d.fail()
				return
			}
		}
	}
	d.fail()
}

// skipNum checks and skips a number.
func (d *jdec) skipNum() {
	b, j := d.b, d.i
	digits := func() bool {
		k := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case !digits():
		d.fail()
		return
	}
	if j < len(b) && b[j] == '.' {
		j++
		if !digits() {
			d.fail()
			return
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if !digits() {
			d.fail()
			return
		}
	}
	d.i = j
}

// noError handles an "error" key: null leaves the field nil; an error
// object goes to encoding/json (errors are rare and wireError.Code is a
// json.RawMessage with its own rules).
func (d *jdec) noError() {
	if !d.null() {
		d.fail()
	}
}

// fallback decodes data with encoding/json into a zero value and copies it
// to v, which so stays on its caller's stack when the hand-written path
// succeeds (json.Unmarshal would make it escape on every call).
func fallback[T any](data []byte, v *T) error {
	tmp := new(T)
	err := json.Unmarshal(data, tmp)
	*v = *tmp
	return err
}

// The OpenAI chat-completions shapes.

var (
	chunkFields     = []string{"id", "model", "choices", "usage", "error"}
	chunkChoiceFlds = []string{"index", "delta", "finish_reason"}
	deltaFields     = []string{"content", "refusal", "tool_calls"}
	toolCallFields  = []string{"index", "id", "type", "function"}
	functionFields  = []string{"name", "arguments"}
	usageFields     = []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}
	cachedFields    = []string{"cached_tokens"}
	reasoningFields = []string{"reasoning_tokens"}
	responseFields  = []string{"id", "model", "choices", "usage", "error"}
	choiceFields    = []string{"index", "message", "finish_reason"}
	messageFields   = []string{"content", "refusal", "tool_calls"}
)

// decodeChunk decodes a stream chunk into c, which must be zero. prev is
// the stream's previous chunk, whose id and model strings are reused.
func decodeChunk(data []byte, c *wireChunk, prev *wireChunk) error {
	d := jdec{b: data}
	d.chunk(c, prev)
	if d.end() {
		return nil
	}
	return fallback(data, c)
}

func (d *jdec) chunk(c *wireChunk, prev *wireChunk) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "id":
			if d.once(&seen, 1) {
				c.ID = d.same(prev.ID)
			}
		case "model":
			if d.once(&seen, 2) {
				c.Model = d.same(prev.Model)
			}
		case "choices":
			if d.once(&seen, 4) && !d.null() && d.open('[') {
				c.Choices = []wireChunkChoice{}
				for n := 0; d.elem(&n); {
					c.Choices = append(c.Choices, wireChunkChoice{})
					d.chunkChoice(&c.Choices[len(c.Choices)-1])
				}
			}
		case "usage":
			if d.once(&seen, 8) && !d.null() {
				c.Usage = new(wireUsage)
				d.usage(c.Usage)
			}
		case "error":
			d.noError()
		default:
			d.other(k, chunkFields)
		}
	}
}

func (d *jdec) chunkChoice(c *wireChunkChoice) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "index":
			if d.once(&seen, 1) {
				c.Index = d.int()
			}
		case "delta":
			if d.once(&seen, 2) && !d.null() {
				d.delta(&c.Delta)
			}
		case "finish_reason":
			if d.once(&seen, 4) {
				c.FinishReason = d.strp()
			}
		default:
			d.other(k, chunkChoiceFlds)
		}
	}
}

func (d *jdec) delta(w *wireDelta) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "content":
			if d.once(&seen, 1) {
				w.Content = d.strp()
			}
		case "refusal":
			if d.once(&seen, 2) {
				w.Refusal = d.strp()
			}
		case "tool_calls":
			if d.once(&seen, 4) {
				w.ToolCalls = d.toolCalls()
			}
		default:
			d.other(k, deltaFields)
		}
	}
}

func (d *jdec) toolCalls() []wireToolCall {
	if d.null() || !d.open('[') {
		return nil
	}
	out := []wireToolCall{}
	for n := 0; d.elem(&n); {
		out = append(out, wireToolCall{})
		d.toolCall(&out[len(out)-1])
	}
	return out
}

func (d *jdec) toolCall(tc *wireToolCall) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "index":
			if d.once(&seen, 1) {
				tc.Index = d.intp()
			}
		case "id":
			if d.once(&seen, 2) {
				tc.ID = d.str()
			}
		case "type":
			if d.once(&seen, 4) {
				tc.Type = d.str()
			}
		case "function":
			if d.once(&seen, 8) && !d.null() {
				d.function(&tc.Function)
			}
		default:
			d.other(k, toolCallFields)
		}
	}
}

func (d *jdec) function(f *wireFunction) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "name":
			if d.once(&seen, 1) {
				f.Name = d.str()
			}
		case "arguments":
			if d.once(&seen, 2) {
				f.Arguments = d.str()
			}
		default:
			d.other(k, functionFields)
		}
	}
}

func (d *jdec) usage(u *wireUsage) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "prompt_tokens":
			if d.once(&seen, 1) {
				u.PromptTokens = d.int()
			}
		case "completion_tokens":
			if d.once(&seen, 2) {
				u.CompletionTokens = d.int()
			}
		case "total_tokens":
			if d.once(&seen, 4) {
				u.TotalTokens = d.int()
			}
		case "prompt_tokens_details":
			if d.once(&seen, 8) && !d.null() {
				u.PromptTokensDetails = new(wireCachedTokens)
				d.oneInt("cached_tokens", cachedFields, &u.PromptTokensDetails.CachedTokens)
			}
		case "completion_tokens_details":
			if d.once(&seen, 16) && !d.null() {
				u.CompletionTokensDetails = new(wireReasoningTokens)
				d.oneInt("reasoning_tokens", reasoningFields, &u.CompletionTokensDetails.ReasoningTokens)
			}
		default:
			d.other(k, usageFields)
		}
	}
}

// oneInt reads an object of which only the integer name matters.
func (d *jdec) oneInt(name string, fields []string, v *int) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		if string(k) == name {
			if d.once(&seen, 1) {
				*v = d.int()
			}
			continue
		}
		d.other(k, fields)
	}
}

// decodeResponse decodes a whole (non-streamed) reply into w, which must
// be zero.
func decodeResponse(data []byte, w *wireResponse) error {
	d := jdec{b: data}
	d.response(w)
	if d.end() {
		return nil
	}
	return fallback(data, w)
}

func (d *jdec) response(w *wireResponse) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "id":
			if d.once(&seen, 1) {
				w.ID = d.str()
			}
		case "model":
			if d.once(&seen, 2) {
				w.Model = d.str()
			}
		case "choices":
			if d.once(&seen, 4) && !d.null() && d.open('[') {
				w.Choices = []wireChoice{}
				for n := 0; d.elem(&n); {
					w.Choices = append(w.Choices, wireChoice{})
					d.choice(&w.Choices[len(w.Choices)-1])
				}
			}
		case "usage":
			if d.once(&seen, 8) && !d.null() {
				w.Usage = new(wireUsage)
				d.usage(w.Usage)
			}
		case "error":
			d.noError()
		default:
			d.other(k, responseFields)
		}
	}
}

func (d *jdec) choice(c *wireChoice) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "index":
			if d.once(&seen, 1) {
				c.Index = d.int()
			}
		case "message":
			if d.once(&seen, 2) && !d.null() {
				d.message(&c.Message)
			}
		case "finish_reason":
			if d.once(&seen, 4) {
				c.FinishReason = d.str()
			}
		default:
			d.other(k, choiceFields)
		}
	}
}

func (d *jdec) message(m *wireChoiceMessage) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "content":
			if d.once(&seen, 1) {
				m.Content = d.strp()
			}
		case "refusal":
			if d.once(&seen, 2) {
				m.Refusal = d.strp()
			}
		case "tool_calls":
			if d.once(&seen, 4) {
				m.ToolCalls = d.toolCalls()
			}
		default:
			d.other(k, messageFields)
		}
	}
}

// The Anthropic Messages shapes.

var (
	antEventFields    = []string{"type", "message", "index", "content_block", "delta", "usage", "error"}
	antResponseFields = []string{"id", "model", "content", "stop_reason", "usage", "error"}
	antContentFields  = []string{"type", "text", "id", "name", "input", "thinking", "signature", "data"}
	antDeltaFields    = []string{"type", "text", "partial_json", "thinking", "signature", "stop_reason"}
	antUsageFields    = []string{"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}
)

// decodeAntEvent decodes a stream event into e, which must be zero.
func decodeAntEvent(data []byte, e *antEvent) error {
	d := jdec{b: data}
	d.antEvent(e)
	if d.end() {
		return nil
	}
	return fallback(data, e)
}

// decodeAntResponse decodes a whole reply into w, which must be zero.
func decodeAntResponse(data []byte, w *antResponse) error {
	d := jdec{b: data}
	d.antResponse(w)
	if d.end() {
		return nil
	}
	return fallback(data, w)
}

func (d *jdec) antEvent(e *antEvent) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "type":
			if d.once(&seen, 1) {
				e.Type = d.str()
			}
		case "message":
			if d.once(&seen, 2) && !d.null() {
				e.Message = new(antResponse)
				d.antResponse(e.Message)
			}
		case "index":
			if d.once(&seen, 4) {
				e.Index = d.int()
			}
		case "content_block":
			if d.once(&seen, 8) && !d.null() {
				e.ContentBlock = new(antContent)
				d.antContent(e.ContentBlock)
			}
		case "delta":
			if d.once(&seen, 16) && !d.null() {
				e.Delta = new(antDelta)
				d.antDelta(e.Delta)
			}
		case "usage":
			if d.once(&seen, 32) && !d.null() {
				e.Usage = new(antUsage)
				d.antUsage(e.Usage)
			}
		case "error":
			d.noError()
		default:
			d.other(k, antEventFields)
		}
	}
}

func (d *jdec) antResponse(w *antResponse) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "id":
			if d.once(&seen, 1) {
				w.ID = d.str()
			}
		case "model":
			if d.once(&seen, 2) {
				w.Model = d.str()
			}
		case "content":
			if d.once(&seen, 4) && !d.null() && d.open('[') {
				w.Content = []antContent{}
				for n := 0; d.elem(&n); {
					w.Content = append(w.Content, antContent{})
					d.antContent(&w.Content[len(w.Content)-1])
				}
			}
		case "stop_reason":
			if d.once(&seen, 8) {
				w.StopReason = d.str()
			}
		case "usage":
			if d.once(&seen, 16) && !d.null() {
				w.Usage = new(antUsage)
				d.antUsage(w.Usage)
			}
		case "error":
			d.noError()
		default:
			d.other(k, antResponseFields)
		}
	}
}

func (d *jdec) antContent(c *antContent) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "type":
			if d.once(&seen, 1) {
				c.Type = d.str()
			}
		case "text":
			if d.once(&seen, 2) {
				c.Text = d.str()
			}
		case "id":
			if d.once(&seen, 4) {
				c.ID = d.str()
			}
		case "name":
			if d.once(&seen, 8) {
				c.Name = d.str()
			}
		case "input":
			if d.once(&seen, 16) {
				c.Input = d.raw()
			}
		case "thinking":
			if d.once(&seen, 32) {
				c.Thinking = d.str()
			}
		case "signature":
			if d.once(&seen, 64) {
				c.Signature = d.str()
			}
		case "data":
			if d.once(&seen, 128) {
				c.Data = d.str()
			}
		default:
			d.other(k, antContentFields)
		}
	}
}

func (d *jdec) antDelta(w *antDelta) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "type":
			if d.once(&seen, 1) {
				w.Type = d.str()
			}
		case "text":
			if d.once(&seen, 2) {
				w.Text = d.str()
			}
		case "partial_json":
			if d.once(&seen, 4) {
				w.PartialJSON = d.str()
			}
		case "thinking":
			if d.once(&seen, 8) {
				w.Thinking = d.str()
			}
		case "signature":
			if d.once(&seen, 16) {
				w.Signature = d.str()
			}
		case "stop_reason":
			if d.once(&seen, 32) {
				w.StopReason = d.str()
			}
		default:
			d.other(k, antDeltaFields)
		}
	}
}

func (d *jdec) antUsage(u *antUsage) {
	if !d.open('{') {
		return
	}
	var seen uint32
	for n := 0; ; {
		k, ok := d.key(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "input_tokens":
			if d.once(&seen, 1) {
				u.InputTokens = d.int()
			}
		case "output_tokens":
			if d.once(&seen, 2) {
				u.OutputTokens = d.int()
			}
		case "cache_creation_input_tokens":
			if d.once(&seen, 4) {
				u.CacheCreationInputTokens = d.int()
			}
		case "cache_read_input_tokens":
			if d.once(&seen, 8) {
				u.CacheReadInputTokens = d.int()
			}
		default:
			d.other(k, antUsageFields)
		}
	}
}
