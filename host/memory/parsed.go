package memory

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/mastra-server/mastra-server/host/jsonenc"
)

// A message a turn builds (its input, its reply) is encoded from Go values
// a moment before the store saves it and the memo keeps it for the next
// turn. Parsing that encoding back was a tenth of a turn's allocations;
// WithParsed lets the builder hand over the values instead, as long as
// they are exactly what ParseContent of the encoding returns, which
// parseForm checks (cheaply: no decoding, no allocation).

// NewMessage returns m with content c, encoded by json.Marshal, carrying
// c as its parsed form (see WithParsed).
func NewMessage(m Message, c Content) (Message, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return m, err
	}
	return m.WithParsed(b, c), nil
}

// WithParsed returns m with content raw, which must be json.Marshal(c)
// byte for byte (a hand-written encoder must prove it is). When c is what
// ParseContent(raw) returns, m carries it: ParsedContent returns it,
// ContentValid is true, and the store's save keeps it without validating
// or parsing raw again. Otherwise (a string that is not valid UTF-8, raw
// JSON json.Marshal would rewrite, a metadata value of a type that does
// not decode as itself) m carries raw alone, as any message does.
//
// Neither raw nor c may be modified afterwards: the store's memo shares
// them with later turns.
func (m Message) WithParsed(raw json.RawMessage, c Content) Message {
	m.Content, m.parsed = raw, nil
	if len(raw) > 0 && parseForm(&c) {
		m.parsed = &parsedContent{raw: raw, c: c, built: true}
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

// parseForm reports whether c is what decoding its json.Marshal encoding
// gives back: every string valid UTF-8 (json.Marshal replaces the rest),
// raw JSON compact and valid UTF-8, and no empty-but-not-nil value that
// encoding leaves out (or writes as null) and decoding leaves nil.
func parseForm(c *Content) bool {
	if !utf8.ValidString(c.Content) || (c.Metadata != nil && (len(c.Metadata) == 0 || !parsedValue(c.Metadata))) {
		return false
	}
	if c.ToolInvocations != nil && len(c.ToolInvocations) == 0 {
		return false
	}
	for _, inv := range c.ToolInvocations {
		if !parsedInvocation(inv) {
			return false
		}
	}
	for i := range c.Parts {
		p := &c.Parts[i]
		if !utf8.ValidString(p.Type) || !utf8.ValidString(p.Text) || !utf8.ValidString(p.Model) ||
			(p.Reasoning != nil && !utf8.ValidString(*p.Reasoning)) ||
			!parsedInvocation(p.ToolInvocation) || !parsedRaw(p.ProviderMetadata, true) {
			return false
		}
		if p.Details != nil && len(p.Details) == 0 {
			return false
		}
		for _, d := range p.Details {
			if !utf8.ValidString(d.Type) || !utf8.ValidString(d.Text) || !utf8.ValidString(d.Signature) || !utf8.ValidString(d.Data) {
				return false
			}
		}
	}
	return true
}

func parsedInvocation(inv *ToolInvocation) bool {
	return inv == nil || (utf8.ValidString(inv.State) && utf8.ValidString(inv.ToolCallID) && utf8.ValidString(inv.ToolName) &&
		parsedRaw(inv.Args, false) && parsedRaw(inv.Result, true))
}

// parsedRaw reports whether raw decodes back as itself: compact (as
// json.Marshal writes it) and valid UTF-8. A nil value of an omitempty
// field is left out and decodes as nil; of any other field it is written
// as null, which decodes as the four bytes null.
func parsedRaw(raw json.RawMessage, omitempty bool) bool {
	if len(raw) == 0 {
		return raw == nil && omitempty
	}
	return utf8.Valid(raw) && jsonenc.IsCompact(raw)
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
