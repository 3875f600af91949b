package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --env-file and ./.env feed the configuration; the real environment wins;
// a missing --env-file is a usage error naming it.
func TestEnvFileFlag(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile(filepath.Join(dir, "prod.env"), []byte("MASTRA_PORT=4321\nMASTRA_LOG_LEVEL=debug\nENVFILE_TEST_PLUGIN_VAR=from-file\n"), 0o644)
	out, _, err := runCmd(t, []string{"MASTRA_LOG_LEVEL=warn"}, "config", "--env-file", filepath.Join(dir, "prod.env"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "port = 4321") || !strings.Contains(out, `level = "warn"`) {
		t.Errorf("config with --env-file:\n%s\nwant port 4321 from the file and level warn from the environment", out)
	}
	// Plugins' env grants read the process environment: the file's
	// variables reach it.
	if got := os.Getenv("ENVFILE_TEST_PLUGIN_VAR"); got != "from-file" {
		t.Errorf("process environment ENVFILE_TEST_PLUGIN_VAR = %q; want from-file", got)
	}
	os.Unsetenv("ENVFILE_TEST_PLUGIN_VAR")

	os.WriteFile(filepath.Join(dir, ".env"), []byte("MASTRA_PORT=4555\n"), 0o644)
	if out, _, err := runCmd(t, nil, "config"); err != nil || !strings.Contains(out, "port = 4555") {
		t.Errorf("config with ./.env = %v:\n%s\nwant port 4555", err, out)
	}

	_, _, err = runCmd(t, nil, "config", "--env-file", "nope.env")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "nope.env") {
		t.Errorf("missing --env-file = %v (exit %d); want exit 2 naming the file", err, exitCode(err))
	}
}
