package agent

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestRepairJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{`:                          `{}`,
		`{"ci`:                       `{}`,
		`{"city":"Os`:                `{"city":"Os"}`,
		`{"city":"Oslo",`:            `{"city":"Oslo"}`,
		`{"city":"Oslo","te`:         `{"city":"Oslo"}`,
		`{"city":"Oslo","tempC"`:     `{"city":"Oslo"}`,
		`{"city":"Oslo","tempC":`:    `{"city":"Oslo"}`,
		`{"city":"Oslo","tempC":2`:   `{"city":"Oslo","tempC":2}`,
		`{"a":[1,2`:                  `{"a":[1,2]}`,
		`{"a":[{"b":"x\`:             `{"a":[{"b":"x"}]}`,
		`{"a":tr`:                    `{}`,
		`[`:                          `[]`,
		`not json`:                   ``,
		`{"city":"Oslo","tempC":24}`: `{"city":"Oslo","tempC":24}`,
	} {
		if got := string(repairJSON(in)); got != want {
			t.Errorf("repairJSON(%q) = %q; want %q", in, got, want)
		}
	}
}

// An array schema is sent wrapped as {elements}, an enum as {result}, and
// the value unwrapped and checked against the schema as written.
func TestStructuredShapes(t *testing.T) {
	arr := newStructured(&StructuredOutput{Schema: json.RawMessage(`{"type":"array","items":{"type":"integer"}}`)})
	if arr.shape != shapeArray || string(arr.wire) != `{"additionalProperties":false,"properties":{"elements":{"type":"array","items":{"type":"integer"}}},"required":["elements"],"type":"object"}` {
		t.Errorf("array wire schema = %s", arr.wire)
	}
	if v, err := arr.value(`{"elements":[1,2]}`, "stop"); err != nil || string(v) != `[1,2]` {
		t.Errorf("array value = %s, %v", v, err)
	}
	if _, err := arr.value(`{"elements":[1,"x"]}`, "stop"); err == nil || err.Error() != "agent: Structured output validation failed:\n- 1: got string, want integer" {
		t.Errorf("bad element: %v", err)
	}
	if p := arr.partial(`{"elements":[1,2`); string(p) != `[1]` {
		t.Errorf("partial array = %s; want only the complete elements", p)
	}
	enum := newStructured(&StructuredOutput{Schema: json.RawMessage(`{"type":"string","enum":["red","blue"]}`)})
	if v, err := enum.value(`{"result":"red"}`, "stop"); enum.shape != shapeEnum || err != nil || string(v) != `"red"` {
		t.Errorf("enum value = %s, %v", v, err)
	}
	if _, err := enum.value(`{"result":"red"}`, "length"); err == nil || err.(*StructuredOutputError).ID != "STRUCTURED_OUTPUT_TRUNCATED" {
		t.Errorf("truncated: %v", err)
	}
}

// Schemas come from clients: the cache of prepared ones stays bounded
// however many different schemas arrive, and a bad schema is an
// *OptionError naming it.
func TestPreparedCacheBounded(t *testing.T) {
	for i := range maxPrepared + 50 {
		if _, err := prepare(json.RawMessage(`{"type":"object","title":"s` + string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260)) + `"}`)); err != nil {
			t.Fatal(err)
		}
	}
	preparedMu.Lock()
	n := len(preparedMap)
	preparedMu.Unlock()
	if n > maxPrepared || n == 0 {
		t.Errorf("%d prepared schemas cached; want at most %d", n, maxPrepared)
	}
	var oe *OptionError
	if _, err := prepare(json.RawMessage(`{"type":"nope"}`)); !errors.As(err, &oe) || oe.Field != "structuredOutput.schema" {
		t.Errorf("bad schema: %v", err)
	}
}
