package plugintest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, age time.Duration) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		os.Chtimes(p, when, when)
	}
	write("plugins/auth/auth.c", time.Hour)
	write("plugins/auth/auth.wasm", time.Minute)
	write("examples/go/go.mod", time.Hour)
	write("examples/go/main.go", time.Second) // edited after the build
	write("examples/go/go.wasm", time.Minute)
	write("examples/wat/a.wat", time.Hour)
	write("examples/nextjs/README.md", time.Hour) // no target
	err := Check(root)
	if err == nil {
		t.Fatal("Check passed with a stale and a missing module")
	}
	for _, want := range []string{"examples/go/go.wasm (older than its sources)", "examples/wat/a.wasm (missing)", "scripts/build-plugins.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %q; want it to name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "auth") || strings.Contains(err.Error(), "nextjs") {
		t.Errorf("Check = %q; names a module that is up to date or not a target", err)
	}
	write("examples/go/go.wasm", 0)
	write("examples/wat/a.wasm", 0)
	if err := Check(root); err != nil {
		t.Errorf("Check after the build = %v; want nil", err)
	}
}
