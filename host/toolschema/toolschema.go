package toolschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ErrInvalidArgs is wrapped by the error of Validate for arguments that do
// not match the schema.
var ErrInvalidArgs = errors.New("toolschema: arguments do not match the input schema")

// Schema is a compiled input schema. It is safe for concurrent use.
type Schema struct {
	s *jsonschema.Schema
}

// ArgsError lists why arguments do not match a schema, one issue per
// offending location.
type ArgsError struct {
	Issues []Issue
}

// Issue is one problem: Path is a JSON pointer into the arguments ("" for
// the whole object), Message says what is wrong.
type Issue struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *ArgsError) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(is.String())
	}
	return b.String()
}

// String is "path: message", or the message alone for the whole object.
func (is Issue) String() string {
	if is.Path == "" {
		return is.Message
	}
	return is.Path + ": " + is.Message
}

// Is makes errors.Is(err, ErrInvalidArgs) hold.
func (e *ArgsError) Is(target error) bool { return target == ErrInvalidArgs }

const resourceURL = "mem:///input-schema.json"

var printer = message.NewPrinter(language.English)

// Compile compiles schema. An empty or null schema accepts any object.
func Compile(schema json.RawMessage) (*Schema, error) {
	schema = bytes.TrimSpace(schema)
	if len(schema) == 0 || string(schema) == "null" {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("input schema: not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{}) // no files, no network
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	s, err := c.Compile(resourceURL)
	if err != nil {
		return nil, fmt.Errorf("input schema: %s", strings.ReplaceAll(err.Error(), resourceURL, "schema"))
	}
	return &Schema{s: s}, nil
}

var (
	mu    sync.Mutex
	cache = map[string]*Schema{}
)

// For returns the compiled schema for this text, compiling it on first use.
// Failures are not cached.
func For(schema json.RawMessage) (*Schema, error) {
	key := string(bytes.TrimSpace(schema))
	mu.Lock()
	s, ok := cache[key]
	mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := Compile(schema)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	cache[key] = s
	mu.Unlock()
	return s, nil
}

// Validate checks args (JSON text) against the schema. It returns an
// *ArgsError (matching ErrInvalidArgs) when they do not match, naming each
// offending location.
func (s *Schema) Validate(args json.RawMessage) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return &ArgsError{Issues: []Issue{{Message: "not valid JSON"}}}
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &ArgsError{Issues: []Issue{{Message: err.Error()}}}
	}
	seen := map[Issue]bool{}
	var issues []Issue
	leaves(ve, func(e *jsonschema.ValidationError) {
		is := Issue{Path: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(printer)}
		if !seen[is] {
			seen[is] = true
			issues = append(issues, is)
		}
	})
	if len(issues) == 0 {
		issues = []Issue{{Message: "does not match the input schema"}}
	}
	sort.SliceStable(issues, func(i, j int) bool { return issues[i].Path < issues[j].Path })
	return &ArgsError{Issues: issues}
}

// leaves calls fn for each innermost error: the ones that say what is wrong.
func leaves(e *jsonschema.ValidationError, fn func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		fn(e)
		return
	}
	for _, c := range e.Causes {
		leaves(c, fn)
	}
}

func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return ""
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}
