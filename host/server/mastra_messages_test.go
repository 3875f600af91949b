package server

import (
	"encoding/json"
	"testing"
)

// A retried body is known by its last user message's id; bodies without
// one (a plain string, most of all) have no key.
func TestClientMessageKey(t *testing.T) {
	for _, tt := range []struct{ messages, key string }{
		{`"hello there"`, ""},
		{`null`, ""},
		{`{"role":"user","id":"m1"}`, ""},
		{`[]`, ""},
		{`["hello"]`, ""},
		{`[{"role":"user","id":"m1","parts":[]}]`, "message:m1"},
		{" \n\t[{\"role\":\"user\",\"id\":\"m1\"}]", "message:m1"},
		{`[{"role":"user","id":"m1"},{"role":"assistant","id":"a1"},"tail"]`, "message:m1"},
		{`[{"role":"user","id":"m1"},{"role":"user"}]`, ""},
		{`[{"role":"user","id":"m1"},{"role":"user","id":7}]`, "message:m1"},
		{`[{"role":"user","id":"m1"`, ""},
	} {
		if got := clientMessageKey(json.RawMessage(tt.messages)); got != tt.key {
			t.Errorf("clientMessageKey(%s) = %q; want %q", tt.messages, got, tt.key)
		}
	}
}
