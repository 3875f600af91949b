package memory

import (
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

// A message a turn builds (its input, its reply) is encoded from Go values
// a moment before the store saves it and the memo keeps it for the next
// turn. Parsing that encoding back was a tenth of a turn's allocations;
// WithParsed lets the builder hand over the values instead, as long as
// they are exactly what ParseContent of the encoding returns, which
// parsedForm checks (cheaply: no decoding, and no allocation unless raw
// JSON in it needs compacting).

// WithParsed returns m with content raw, which must be json.Marshal(c)
// byte for byte (a hand-written encoder must prove it is). m then carries
// what ParseContent(raw) returns, without decoding raw: c, or a copy of c
// whose raw JSON values are compacted as json.Marshal wrote them.
// ParsedContent returns it, ContentValid is true, and the store's save
// keeps it without validating or parsing raw again. When c cannot stand
// for its parse (a string that is not valid UTF-8, a metadata value of a
// type that does not decode as itself, an empty value encoding leaves
// out) m carries raw alone, as any message does.
//
// Neither raw nor c may be modified afterwards: the store's memo shares
// them with later turns.
func (m Message) WithParsed(raw json.RawMessage, c Content) Message {
	m.Content, m.parsed = raw, nil
	if len(raw) == 0 {
		return m
	}
	if p, ok := parsedForm(c); ok {
		// json.Marshal's output is compact and escapes <, >, & and
		// U+2028/9 itself: a reply copies it as it is.
		pc := &parsedContent{raw: raw, c: p, built: true}
		pc.verbatim.Store(verbatimYes)
		m.parsed = pc
	}
	return m
}

// Parsed returns m's content parsed when m carries it (read through the
// store's memo, or built with WithParsed): then no decoding is needed.
func (m *Message) Parsed() (Content, bool) {
	if !m.ContentValid() || m.parsed.err != nil {
		return Content{}, false
	}
	return m.parsed.c, true
}

// builtContent reports whether m carries the parsed form its builder gave
// (WithParsed): its content is then valid JSON, valid UTF-8 and without
// a NUL byte, since every string and raw value in it is.
func (m *Message) builtContent() bool {
	return m.ContentValid() && m.parsed.built
}

// parsedForm returns what decoding c's json.Marshal encoding gives back,
// when c can stand for it: every string valid UTF-8 (json.Marshal
// replaces the rest), raw JSON valid UTF-8 (compacted where it is not
// compact, in a copy), and no empty-but-not-nil value that encoding
// leaves out (or writes as null) and decoding leaves nil.
func parsedForm(c Content) (Content, bool) {
	if !utf8.ValidString(c.Content) || (c.Metadata != nil && (len(c.Metadata) == 0 || !parsedValue(c.Metadata))) {
		return c, false
	}
	if c.ToolInvocations != nil && len(c.ToolInvocations) == 0 {
		return c, false
	}
	copied := false // c.ToolInvocations is a copy already
	for i, inv := range c.ToolInvocations {
		p, ok := parsedInvocation(inv)
		if !ok {
			return c, false
		}
		if p != inv {
			if !copied {
				c.ToolInvocations, copied = slices.Clone(c.ToolInvocations), true
			}
			c.ToolInvocations[i] = p
		}
	}
	copied = false // c.Parts is a copy already
	for i := range c.Parts {
		p := &c.Parts[i]
		if !utf8.ValidString(p.Type) || !utf8.ValidString(p.Text) || !utf8.ValidString(p.Model) ||
			(p.Reasoning != nil && !utf8.ValidString(*p.Reasoning)) || (p.Details != nil && len(p.Details) == 0) {
			return c, false
		}
		for _, d := range p.Details {
			if !utf8.ValidString(d.Type) || !utf8.ValidString(d.Text) || !utf8.ValidString(d.Signature) || !utf8.ValidString(d.Data) {
				return c, false
			}
		}
		inv, ok := parsedInvocation(p.ToolInvocation)
		if !ok {
			return c, false
		}
		meta, ok := parsedRaw(p.ProviderMetadata, true)
		if !ok {
			return c, false
		}
		if inv != p.ToolInvocation || !sameBytes(meta, p.ProviderMetadata) {
			if !copied {
				c.Parts, copied = slices.Clone(c.Parts), true
				p = &c.Parts[i]
			}
			p.ToolInvocation, p.ProviderMetadata = inv, meta
		}
	}
	return c, true
}

// parsedInvocation is parsedForm of one tool invocation: inv itself, or a
// copy with its raw values compacted.
func parsedInvocation(inv *ToolInvocation) (*ToolInvocation, bool) {
	if inv == nil {
		return nil, true
	}
	if !utf8.ValidString(inv.State) || !utf8.ValidString(inv.ToolCallID) || !utf8.ValidString(inv.ToolName) {
		return inv, false
	}
	args, ok1 := parsedRaw(inv.Args, false)
	result, ok2 := parsedRaw(inv.Result, true)
	if !ok1 || !ok2 {
		return inv, false
	}
	if sameBytes(args, inv.Args) && sameBytes(result, inv.Result) {
		return inv, true
	}
	cp := *inv
	cp.Args, cp.Result = args, result
	return &cp, true
}

// sameBytes reports whether a and b are the same bytes in memory (not a
// copy): whether parsedRaw returned raw itself.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// parsedRaw returns raw as it decodes from its json.Marshal encoding:
// compacted, with <, >, & and U+2028/9 escaped (raw itself when it is
// compact already). It must be valid UTF-8. A nil value of an omitempty
// field is left out and decodes as nil; of any other field it is written
// as null, which decodes as the four bytes null: not raw.
func parsedRaw(raw json.RawMessage, omitempty bool) (json.RawMessage, bool) {
	switch {
	case len(raw) == 0:
		return raw, raw == nil && omitempty
	case !utf8.Valid(raw):
		return raw, false
	case jsonenc.Verbatim(raw):
		return raw, true
	case !json.Valid(raw): // json.Marshal refuses it: the caller broke the contract
		return raw, false
	}
	return jsonenc.RawValid(nil, raw), true
}

// parsedValue reports whether v is a value as json.Unmarshal makes one
// into an any: nil, bool, float64, a valid UTF-8 string, or a non-nil
// []any or map[string]any of such values.
func parsedValue(v any) bool {
	switch v := v.(type) {
	case nil, bool, float64:
		return true
	case string:
		return utf8.ValidString(v)
	case []any:
		if v == nil {
			return false
		}
		for _, e := range v {
			if !parsedValue(e) {
				return false
			}
		}
		return true
	case map[string]any:
		if v == nil {
			return false
		}
		for k, e := range v {
			if !utf8.ValidString(k) || !parsedValue(e) {
				return false
			}
		}
		return true
	}
	return false
}
