package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// `dev` serves the playground; `serve` does only when the configuration
// says so.
func TestPlaygroundInDevAndServe(t *testing.T) {
	for _, c := range []struct {
		cmd, toml string
		want      int
	}{
		{"dev", "", http.StatusOK},
		{"serve", "", http.StatusNotFound},
		{"serve", "[server]\nplayground = true\n", http.StatusOK},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "mastra.toml")
		if err := os.WriteFile(path, []byte(c.toml), 0o644); err != nil {
			t.Fatal(err)
		}
		env := []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db"),
			"MASTRA_PLUGINS__CACHE_DIR=" + filepath.Join(dir, "cache")}
		if got := playgroundStatus(t, c.cmd, path, env); got != c.want {
			t.Errorf("%s with %q: GET /playground = %d; want %d", c.cmd, c.toml, got, c.want)
		}
	}
}

// playgroundStatus runs the command as main would, reads its address from
// the start-up log line, and answers GET /playground's status.
func playgroundStatus(t *testing.T, cmd, path string, env []string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{cmd, "--config", path}, env, io.Discard, logW)
		logW.Close()
	}()
	defer func() { cancel(); <-done }()
	addr := regexp.MustCompile(`mastra-server listening.* addr=(\S+)`)
	lines := bufio.NewScanner(logR)
	for lines.Scan() {
		if m := addr.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, logR) }() // keep the log flowing
			res, err := http.Get("http://" + m[1] + "/playground")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
	}
	t.Fatalf("%s exited before listening: %v", cmd, <-done)
	return 0
}
