package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/config"
)

// startForProbe serves with the given environment on 127.0.0.1 and an
// ephemeral port, and returns the port.
func startForProbe(t *testing.T, environ ...string) string {
	t.Helper()
	cfg, err := config.Load("", append([]string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1",
		"MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(t.TempDir(), "m.db")}, environ...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false, ready) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() { cancel(); <-done })
		_, port, _ := net.SplitHostPort(addr)
		return port
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	return ""
}

// The container's HEALTHCHECK: exit 0 only when /health answers 200 on the
// configured port, reached on loopback when the server listens on all
// addresses; 1 (never Docker's reserved 2) otherwise.
func TestHealthcheckCommand(t *testing.T) {
	t.Chdir(t.TempDir()) // no mastra.toml: defaults and environment

	port := startForProbe(t)
	out, _, err := runCmd(t, []string{"MASTRA_PORT=" + port}, "healthcheck") // host 0.0.0.0 by default
	if err != nil || !strings.Contains(out, "http://127.0.0.1:"+port+"/health: 200 OK") {
		t.Errorf("healthcheck on a healthy server = %v, %q; want exit 0 naming the URL", err, out)
	}

	// Up but not healthy: its database cannot be reached, /health says 503.
	port = startForProbe(t, "MEMORY_DATABASE_URL=postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	_, _, err = runCmd(t, []string{"MASTRA_PORT=" + port}, "healthcheck")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "503") {
		t.Errorf("healthcheck with the database down = exit %d (%v); want 1 naming the 503", exitCode(err), err)
	}

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closed, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	_, _, err = runCmd(t, []string{"MASTRA_PORT=" + closed}, "healthcheck")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("healthcheck on a closed port = exit %d (%v); want 1", exitCode(err), err)
	}

	// A configuration the probe cannot read is unhealthy too, not exit 2.
	_, _, err = runCmd(t, []string{"MASTRA_PORT=x"}, "healthcheck")
	if exitCode(err) != 1 {
		t.Errorf("healthcheck with MASTRA_PORT=x = exit %d (%v); want 1", exitCode(err), err)
	}
}
