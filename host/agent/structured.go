package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/toolschema"
)

// Structured output (Mastra's structuredOutput option): the turn's answer
// is also a JSON value that matches a schema. In direct mode the agent's
// own model is asked for the JSON (the provider's response format, or the
// schema in the prompt); with a Model, the agent's model answers in prose
// and a second call on that model turns the answer into the JSON. Either
// way the value is checked against the schema and handled by the error
// strategy.

// Error strategies of StructuredOutput.
const (
	StrategyStrict   = "strict"
	StrategyWarn     = "warn"
	StrategyFallback = "fallback"
)

// Metadata keys of a saved reply that hold its structured output.
const (
	objectKey   = "structuredOutput"
	fallbackKey = "usedFallbackValue"
)

// Chunk types of structured output.
const (
	ChunkObject       = "object"
	ChunkObjectResult = "object-result"
)

// StructuredOutput asks a turn for a JSON value matching Schema.
type StructuredOutput struct {
	// Schema is the JSON Schema of the value, as the client sent it.
	Schema json.RawMessage
	// Model, when set, runs the second structuring pass (Mastra's
	// processor mode); nil asks the agent's model directly.
	Model *Choice
	// ErrorStrategy is StrategyStrict (the default, ""), StrategyWarn or
	// StrategyFallback.
	ErrorStrategy string
	// FallbackValue is the value of a failed turn under StrategyFallback.
	FallbackValue json.RawMessage
	// Instructions replace the generated schema text of an injected
	// prompt, and the structuring model's instructions.
	Instructions string
	// JSONPromptInjection puts the schema in the system prompt instead of
	// asking the provider for its response format.
	JSONPromptInjection bool
}

// Check reports what is wrong with o, naming the field.
func (o *StructuredOutput) Check() error {
	if _, err := prepare(o.Schema); err != nil {
		return err
	}
	switch o.ErrorStrategy {
	case "", StrategyStrict, StrategyWarn:
	case StrategyFallback:
		if len(o.FallbackValue) == 0 {
			return &OptionError{Field: "structuredOutput.fallbackValue", Message: "required with errorStrategy \"fallback\""}
		}
	default:
		return &OptionError{Field: "structuredOutput.errorStrategy", Message: `expected "strict", "warn" or "fallback"`}
	}
	return nil
}

// OptionError is a turn option the agent cannot honour, named as the
// request body names it; callers answer 400.
type OptionError struct {
	Field, Message string
}

func (e *OptionError) Error() string { return "agent: " + e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalidInput) hold.
func (e *OptionError) Is(target error) bool { return target == ErrInvalidInput }

// StructuredOutputError is a structured answer that does not match its
// schema (ID "STRUCTURED_OUTPUT_SCHEMA_VALIDATION_FAILED") or that the
// model cut short (ID "STRUCTURED_OUTPUT_TRUNCATED"), under the strict
// strategy. Message is Mastra's text.
type StructuredOutputError struct {
	ID, Message string
}

func (e *StructuredOutputError) Error() string { return "agent: " + e.Message }

// shape is how a schema is sent to a model: Mastra wraps an array schema
// as {elements: [...]} and an enum as {result: …}, since providers want an
// object at the top.
type shape int

const (
	shapeObject shape = iota
	shapeArray
	shapeEnum
)

// wireSchema returns the schema sent to the model and how its value is
// wrapped.
func wireSchema(schema json.RawMessage) (json.RawMessage, shape) {
	var s map[string]json.RawMessage
	if json.Unmarshal(schema, &s) != nil {
		return schema, shapeObject
	}
	var typ string
	_ = json.Unmarshal(s["type"], &typ) // absent or not a string: not an array
	wrap := func(key string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"type": "object", "properties": map[string]json.RawMessage{key: schema},
			"required": []string{key}, "additionalProperties": false}) // raw JSON that parsed: marshals
		return b
	}
	switch {
	case typ == "array":
		return wrap("elements"), shapeArray
	case len(s["enum"]) > 0 && typ != "object":
		return wrap("result"), shapeEnum
	}
	return schema, shapeObject
}

// unwrap returns the value inside a wrapped one; ok is false when it is
// not wrapped as expected.
func (sh shape) unwrap(v json.RawMessage) (json.RawMessage, bool) {
	key := map[shape]string{shapeArray: "elements", shapeEnum: "result"}[sh]
	if key == "" {
		return v, true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return nil, false
	}
	inner, ok := m[key]
	return inner, ok
}

// strictProviders get the schema rewritten for OpenAI's strict mode, as
// Mastra does for OpenAI: every object closed, every property required
// (an optional one may be null instead).
func strictProvider(provider string) bool { return provider == "openai" || provider == "azure" }

// strictSchema rewrites schema for OpenAI's strict mode; it returns schema
// unchanged when it already qualifies or does not parse.
func strictSchema(schema json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(schema, &v) != nil {
		return schema
	}
	if !makeStrict(v) {
		return schema
	}
	b, err := json.Marshal(v)
	if err != nil {
		return schema
	}
	return b
}

// makeStrict rewrites a parsed schema in place and reports whether it
// changed anything.
func makeStrict(v any) bool {
	changed := false
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			changed = makeStrict(e) || changed
		}
	case map[string]any:
		if props, ok := x["properties"].(map[string]any); ok {
			if ap, ok := x["additionalProperties"].(bool); !ok || ap {
				x["additionalProperties"] = false
				changed = true
			}
			req := map[string]bool{}
			if list, ok := x["required"].([]any); ok {
				for _, r := range list {
					if s, ok := r.(string); ok {
						req[s] = true
					}
				}
			}
			names := make([]string, 0, len(props))
			for name := range props {
				names = append(names, name)
			}
			sort.Strings(names)
			all := make([]any, 0, len(names))
			for _, name := range names {
				all = append(all, name)
				if !req[name] {
					props[name] = nullable(props[name])
					changed = true
				}
			}
			if len(req) != len(names) {
				x["required"] = all
			}
		}
		for _, k := range []string{"properties", "$defs", "definitions"} {
			if m, ok := x[k].(map[string]any); ok {
				for _, e := range m {
					changed = makeStrict(e) || changed
				}
			}
		}
		for _, k := range []string{"items", "anyOf", "oneOf", "allOf"} {
			if e, ok := x[k]; ok {
				changed = makeStrict(e) || changed
			}
		}
	}
	return changed
}

// nullable lets a property schema accept null too.
func nullable(p any) any {
	m, ok := p.(map[string]any)
	if !ok {
		return p
	}
	switch t := m["type"].(type) {
	case string:
		if t != "null" {
			m["type"] = []any{t, "null"}
		}
		return m
	case []any:
		for _, e := range t {
			if e == "null" {
				return m
			}
		}
		m["type"] = append(t, "null")
		return m
	}
	return map[string]any{"anyOf": []any{m, map[string]any{"type": "null"}}}
}

// dropNulls removes the null values of properties that schema does not
// require, the ones strict mode made nullable, so the value is checked
// against the schema as the client wrote it.
func dropNulls(v any, schema any) {
	s, ok := schema.(map[string]any)
	if !ok {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		req := map[string]bool{}
		if list, ok := s["required"].([]any); ok {
			for _, r := range list {
				if name, ok := r.(string); ok {
					req[name] = true
				}
			}
		}
		for k, e := range x {
			if e == nil && !req[k] {
				delete(x, k)
				continue
			}
			dropNulls(e, props[k])
		}
	case []any:
		for _, e := range x {
			dropNulls(e, s["items"])
		}
	}
}

// prepared is what a schema comes to, worked out once per schema text:
// schemas are the client's, and most clients send the same few again and
// again.
type prepared struct {
	compiled *toolschema.Schema
	parsed   any // read only
	shape    shape
	wire     json.RawMessage // sent to the model
	strict   json.RawMessage // wire made strict (OpenAI, Azure)
}

// The cache of prepared schemas. Its size is capped: schemas come from
// clients, who could send a new one with every request; a full cache is
// emptied and fills again with the schemas in use.
var (
	preparedMu  sync.Mutex
	preparedMap = map[string]*prepared{}
)

const maxPrepared = 256

// prepare returns the prepared schema, or an *OptionError naming the
// schema when it is not a JSON Schema object that compiles.
func prepare(schema json.RawMessage) (*prepared, error) {
	key := string(schema)
	preparedMu.Lock()
	p, ok := preparedMap[key]
	preparedMu.Unlock()
	if ok {
		return p, nil
	}
	var parsed any
	if err := json.Unmarshal(schema, &parsed); err != nil {
		return nil, &OptionError{Field: "structuredOutput.schema", Message: "expected a JSON Schema object"}
	}
	if _, ok := parsed.(map[string]any); !ok {
		return nil, &OptionError{Field: "structuredOutput.schema", Message: "expected a JSON Schema object"}
	}
	c, err := toolschema.Compile(schema)
	if err != nil {
		return nil, &OptionError{Field: "structuredOutput.schema", Message: truncate(err.Error(), 300)}
	}
	w, sh := wireSchema(schema)
	p = &prepared{compiled: c, parsed: parsed, shape: sh, wire: w, strict: strictSchema(w)}
	preparedMu.Lock()
	if len(preparedMap) >= maxPrepared {
		clear(preparedMap)
	}
	preparedMap[key] = p
	preparedMu.Unlock()
	return p, nil
}

// structured is the state of a turn's structured output.
type structured struct {
	o         *StructuredOutput
	p         *prepared
	shape     shape
	wire      json.RawMessage // the schema as sent to the agent's model (direct mode)
	text      strings.Builder // the JSON text streamed so far (direct mode)
	lastShown []byte          // the last partial object emitted
}

// newStructured returns the state of o, which Check accepted.
func newStructured(o *StructuredOutput) *structured {
	p, err := prepare(o.Schema)
	if err != nil { // Check refused it already; this turn fails in validate
		w, sh := wireSchema(o.Schema)
		p = &prepared{shape: sh, wire: w, strict: w}
	}
	return &structured{o: o, p: p, shape: p.shape, wire: p.wire}
}

// direct reports whether the agent's own model is asked for the JSON.
func (st *structured) direct() bool { return st.o.Model == nil }

// schemaFor returns the schema sent to a model of provider.
func (st *structured) schemaFor(provider string) json.RawMessage {
	if strictProvider(provider) {
		return st.p.strict
	}
	return st.wire
}

// injection is the system prompt text that asks for the JSON instead of a
// response format.
func (st *structured) injection() string {
	if s := strings.TrimSpace(st.o.Instructions); s != "" {
		return s
	}
	return "JSON schema:\n" + string(st.wire) + "\nYou MUST answer with a JSON object that matches the JSON schema above. " +
		"Return only valid JSON. Do not include markdown or explanatory text."
}

// fieldsNote is the system prompt text of processor mode: the main model
// answers in prose but should cover the fields the structuring pass reads.
func (st *structured) fieldsNote() string {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(st.o.Schema, &s) // Check parsed it
	if len(s.Properties) == 0 {
		return ""
	}
	names := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	return "Your answer will be turned into structured data with these fields: " + strings.Join(names, ", ") +
		". Make sure your answer covers them."
}

// partial takes in a streamed piece of the JSON text and returns the
// partial value to show when it changed (nil otherwise): the text closed
// up where it was cut, unwrapped, with an array's last element left out
// until it is complete.
func (st *structured) partial(piece string) json.RawMessage {
	st.text.WriteString(piece)
	fixed := repairJSON(stripFence(st.text.String()))
	if fixed == nil || st.shape == shapeEnum {
		return nil
	}
	v, ok := st.shape.unwrap(fixed)
	if !ok {
		return nil
	}
	if st.shape == shapeArray {
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			return nil
		}
		if !bytes.HasSuffix(bytes.TrimRight([]byte(stripFence(st.text.String())), " \t\r\n}"), []byte("]")) && len(items) > 0 {
			items = items[:len(items)-1]
		}
		v, _ = json.Marshal(items) // raw JSON values that parsed: marshals
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil || bytes.Equal(buf.Bytes(), st.lastShown) {
		return nil
	}
	st.lastShown = buf.Bytes()
	return st.lastShown
}

// soOutcome is what a turn's structured output came to.
type soOutcome struct {
	object       json.RawMessage // nil: none (warn after a failure)
	usedFallback bool
	err          error // the strict strategy's failure
	warning      string
}

// settle checks the final text against the schema and applies the error
// strategy. finish is the last model call's finish reason.
func (st *structured) settle(text, finish string) soOutcome {
	v, err := st.value(text, finish)
	if err == nil {
		return soOutcome{object: v}
	}
	switch st.o.ErrorStrategy {
	case StrategyWarn:
		return soOutcome{warning: err.Error()}
	case StrategyFallback:
		return soOutcome{object: st.o.FallbackValue, usedFallback: true, warning: err.Error()}
	}
	return soOutcome{err: err}
}

// value parses and checks text.
func (st *structured) value(text, finish string) (json.RawMessage, error) {
	if finish == llm.FinishLength || finish == llm.FinishContentFilter {
		return nil, &StructuredOutputError{ID: "STRUCTURED_OUTPUT_TRUNCATED",
			Message: fmt.Sprintf("Structured output was truncated because the model finished with reason %q", finish)}
	}
	invalid := func(lines ...string) error {
		return &StructuredOutputError{ID: "STRUCTURED_OUTPUT_SCHEMA_VALIDATION_FAILED",
			Message: "Structured output validation failed:\n" + strings.Join(lines, "\n")}
	}
	raw := json.RawMessage(strings.TrimSpace(stripFence(text)))
	if !json.Valid(raw) {
		return nil, invalid("- root: the answer is not valid JSON")
	}
	inner, ok := st.shape.unwrap(raw)
	if !ok {
		return nil, invalid("- root: the answer is not wrapped as its schema asks")
	}
	out := inner
	if st.p.compiled == nil {
		return nil, invalid("- root: the schema does not compile")
	}
	if bytes.Contains(inner, []byte("null")) {
		// Strict mode may have answered null for an optional property.
		var val any
		if json.Unmarshal(inner, &val) != nil {
			return nil, invalid("- root: the answer is not valid JSON")
		}
		dropNulls(val, st.p.parsed)
		var err error
		if out, err = json.Marshal(val); err != nil {
			return nil, invalid("- root: " + err.Error())
		}
	}
	if verr := st.p.compiled.Validate(out); verr != nil {
		var ae *toolschema.ArgsError
		if !errors.As(verr, &ae) {
			return nil, invalid("- root: " + verr.Error())
		}
		lines := make([]string, 0, len(ae.Issues))
		for _, is := range ae.Issues {
			path := strings.ReplaceAll(strings.TrimPrefix(is.Path, "/"), "/", ".")
			if path == "" {
				path = "root"
			}
			lines = append(lines, "- "+path+": "+is.Message)
		}
		return nil, invalid(lines...)
	}
	return out, nil
}

// stripFence removes a markdown code fence around the JSON, which models
// asked for JSON in the prompt sometimes add.
func stripFence(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "```") {
		return s
	}
	t = strings.TrimPrefix(t, "```")
	if i := strings.IndexByte(t, '\n'); i >= 0 && !strings.ContainsAny(t[:i], "{[") {
		t = t[i+1:]
	}
	return strings.TrimSuffix(strings.TrimSpace(t), "```")
}

// repairJSON closes up JSON text cut anywhere (an open string, array or
// object; a dangling key, comma or partial literal) and returns it, or nil
// when nothing parses yet. It tries the whole text first, then the text cut
// back at its last commas and opening brackets.
func repairJSON(s string) json.RawMessage {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for try := 0; try < 4 && s != ""; try++ {
		closed, cuts := closeJSON(s)
		if json.Valid(closed) {
			return closed
		}
		if len(cuts) == 0 {
			return nil
		}
		p := cuts[len(cuts)-1]
		if s[p] == ',' {
			s = strings.TrimSpace(s[:p])
		} else if p+1 < len(s) {
			s = s[:p+1]
		} else if len(cuts) > 1 {
			s = strings.TrimSpace(s[:cuts[len(cuts)-2]+1])
		} else {
			return nil
		}
	}
	return nil
}

// closeJSON appends what closes s's open string and brackets, and lists
// the positions of the commas and opening brackets outside strings.
func closeJSON(s string) ([]byte, []int) {
	var stack []byte
	var cuts []int
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case inStr && c == '"':
			inStr = false
		case inStr:
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			stack = append(stack, c)
			cuts = append(cuts, i)
		case (c == '}' || c == ']') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		case c == ',':
			cuts = append(cuts, i)
		}
	}
	out := make([]byte, 0, len(s)+len(stack)+2)
	out = append(out, s...)
	if inStr {
		if esc {
			out = out[:len(out)-1]
		}
		out = append(out, '"')
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i] == '{' {
			out = append(out, '}')
		} else {
			out = append(out, ']')
		}
	}
	return out, cuts
}

// structure runs the second structuring pass of processor mode: the
// structuring model turns the main answer's text into the JSON.
func (r *run) structure(ctx context.Context, text string) (string, string, error) {
	st, m := r.so, r.so.o.Model
	system := strings.TrimSpace(st.o.Instructions)
	if system == "" {
		system = "You are a data structuring specialist. Turn the text you are given into JSON that matches the schema exactly, " +
			"keeping its meaning and details. Do not add information that is not in the text."
	}
	req := llm.Request{Model: m.ModelID, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: system},
		{Role: llm.RoleUser, Content: "Extract and structure the key information from the following text according to the specified schema. " +
			"Keep the original meaning and details:\n\n" + text},
	}, ResponseFormat: &llm.ResponseFormat{Schema: st.schemaFor(m.Provider)}}
	var resp *llm.Response
	var err error
	if r.s.obs != nil {
		var mc ModelCallObserver
		ctx, mc = r.s.obs.StartModelCall(ctx, ModelCallInfo{Agent: r.a, Provider: m.Provider, Model: m.ModelID, Request: &req})
		resp, err = m.Model.Generate(ctx, req)
		mc.End(resp, err)
	} else {
		resp, err = m.Model.Generate(ctx, req)
	}
	if err != nil {
		return "", "", fmt.Errorf("agent %s: structuring model %s: %w", r.a.ID, m.Ref(), err)
	}
	r.res.Usage = r.res.Usage.Add(resp.Usage)
	return resp.Text, resp.FinishReason, nil
}
