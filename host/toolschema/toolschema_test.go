package toolschema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const weather = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
 "properties":{"city":{"type":"string","minLength":1},"units":{"enum":["C","F"]},
   "days":{"type":"array","items":{"type":"integer"}}},
 "required":["city"],"additionalProperties":false}`

func TestValidate(t *testing.T) {
	s, err := Compile(json.RawMessage(weather))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args string
		want []string // substrings of the error; nil: valid
	}{
		{`{"city":"Oslo"}`, nil},
		{`{"city":"Oslo","units":"F","days":[1,2]}`, nil},
		{`{}`, []string{"missing property 'city'"}},
		{`{"city":3}`, []string{"/city: ", "want string"}},
		{`{"city":"Oslo","units":"K"}`, []string{"/units: "}},
		{`{"city":"Oslo","days":[1,"x"]}`, []string{"/days/1: "}},
		{`{"city":"Oslo","extra":1}`, []string{"additional properties 'extra'"}},
		{`[1]`, []string{"want object"}},
		{`{"city":`, []string{"not valid JSON"}},
	} {
		err := s.Validate(json.RawMessage(tc.args))
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.args, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidArgs) {
			t.Errorf("%s: err = %v, want ErrInvalidArgs", tc.args, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not contain %q", tc.args, err, w)
			}
		}
	}
}

func TestCompile(t *testing.T) {
	for _, bad := range []string{`{"type":"nope"}`, `{`, `{"$ref":"file:///etc/passwd"}`, `{"$ref":"https://example.com/s.json"}`} {
		if _, err := Compile(json.RawMessage(bad)); err == nil {
			t.Errorf("Compile(%s) succeeded", bad)
		}
	}
	// no schema: any object
	s, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(json.RawMessage(`{"a":1}`)); err != nil {
		t.Error(err)
	}
	if err := s.Validate(json.RawMessage(`"x"`)); err == nil {
		t.Error("a string passed an object schema")
	}
	// local refs work
	s, err = Compile(json.RawMessage(`{"$defs":{"n":{"type":"number"}},"type":"object","properties":{"a":{"$ref":"#/$defs/n"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(json.RawMessage(`{"a":"x"}`)); err == nil {
		t.Error("local $ref not applied")
	}
}

func TestForCaches(t *testing.T) {
	a, err := For(json.RawMessage(weather))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := For(json.RawMessage(" " + weather + "\n"))
	if a != b {
		t.Error("same schema compiled twice")
	}
	if _, err := For(json.RawMessage(`{"type":1}`)); err == nil {
		t.Error("bad schema accepted")
	}
}
