package main

import "testing"

func TestBearerToken(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer   abc  ", "abc", true},
		{"BEARER\tabc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearerabc", "", false},
		{"Basic abc", "", false},
		{"", "", false},
	} {
		got, ok := bearerToken(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("bearerToken(%q) = %q, %v", c.in, got, ok)
		}
	}
}
