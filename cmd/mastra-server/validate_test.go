package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A workflow that config's checks let through but the engine's compile
// refuses (a step named "input", the key of the run's input in a
// snapshot's context) stops serve, and validate says so too: validate runs
// the same compile, not a copy of it.
func TestValidateRefusesWhatServeRefuses(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	path := filepath.Join(dir, "wf.toml")
	toml := "[agents.assistant]\nmodel = \"echo\"\ninstructions = \"x\"\n" +
		"[workflows.clash]\n[[workflows.clash.steps]]\nid = \"input\"\nmap = \"prev\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"MASTRA_PORT=0", "MASTRA_HOST=127.0.0.1", "MASTRA_MEMORY__SQLITE_PATH=" + filepath.Join(dir, "m.db")}
	const want = `step id "input"`
	_, _, err := runCmd(t, env, "serve", "--config", path)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
		t.Fatalf("serve = %v (exit %d); want exit 2 naming %s", err, exitCode(err), want)
	}
	_, _, err = runCmd(t, env, "validate", "--config", path)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
		t.Fatalf("validate = %v (exit %d); want exit 2 naming %s, as serve", err, exitCode(err), want)
	}
	// A good workflow passes both ways: validate compiles, it does not
	// refuse every workflow.
	good := strings.Replace(toml, `id = "input"`, `id = "first"`, 1)
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, env, "validate", "--config", path)
	if err != nil || !strings.Contains(out, "1 workflows") {
		t.Fatalf("validate of a good workflow = %v, %q", err, out)
	}
}
