package plugin

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/http-wasm/http-wasm-host-go/tck"
)

// TestTCK runs the http-wasm conformance kit (a TinyGo guest and its runner)
// against our Middleware wrapped around the kit's backend.
func TestTCK(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tck.wasm")
	if err := os.WriteFile(path, tck.GuestWASM, 0o644); err != nil {
		t.Fatal(err)
	}
	h, logs := newHost(t, Config{})
	p := load(t, h, Spec{Name: "tck", Module: path, MaxInstances: 4})
	srv := httptest.NewServer(p.Middleware(tck.BackendHandler()))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs)
		}
	})
	tck.Run(t, srv.Client(), srv.URL)
}
