package prompttemplate

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"plain", []string{"plain"}},
		{"Write about ${input.topic}.", []string{"Write about ", "input.topic", "."}},
		{"${a}${b}", []string{"", "a", "", "b", ""}},
		{"cost $${price}", []string{"cost ${price}"}},
		{`${ {"k": "}"}.k }!`, []string{"", ` {"k": "}"}.k `, "!"}},
		{`${"a\"}" + x}`, []string{"", `"a\"}" + x`, ""}},
	} {
		got, err := Split(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := Split("open ${input.x"); err == nil {
		t.Error(`Split("open ${input.x") = nil error; want unclosed`)
	}
}
