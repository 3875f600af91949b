package app

import "testing"

// Only loopback listen addresses pass without the warning that the
// profiler answers anyone.
func TestPprofLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "localhost": true, "127.0.0.2": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.5": false, "example.com": false,
	} {
		if got := loopback(host); got != want {
			t.Errorf("loopback(%q) = %v; want %v", host, got, want)
		}
	}
}
