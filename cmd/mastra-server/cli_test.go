package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Every subcommand is listed, with its line, by --help and by help.
func TestHelpListsEverySubcommand(t *testing.T) {
	want := map[string]string{
		"serve": "run the server", "dev": "/playground", "migrate": "migrations", "config": "effective configuration",
		"validate": "check the configuration", "healthcheck": "/health", "version": "version", "help": "list the commands",
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, _, err := runCmd(t, nil, args...)
		if err != nil {
			t.Fatalf("%v: %v; want exit 0", args, err)
		}
		for name, line := range want {
			if !hasCommandLine(out, name, line) {
				t.Errorf("%v output lacks the line of %q (%q):\n%s", args, name, line, out)
			}
		}
	}
}

func hasCommandLine(out, name, text string) bool {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == name && strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// A subcommand's help shows its own flags and no other.
func TestSubcommandHelpShowsOnlyItsFlags(t *testing.T) {
	tests := []struct {
		args        []string
		want, avoid []string
	}{
		{[]string{"serve", "--help"}, []string{"-config", "-env-file", "-watch"}, nil},
		{[]string{"migrate", "--help"}, []string{"-config", "-env-file"}, []string{"-watch"}},
		{[]string{"dev", "-h"}, []string{"-config"}, []string{"-watch"}},
		{[]string{"version", "--help"}, nil, []string{"-config", "-env-file", "-watch"}},
		{[]string{"help", "validate"}, []string{"-config"}, []string{"-watch"}},
	}
	for _, tt := range tests {
		out, _, err := runCmd(t, nil, tt.args...)
		if err != nil {
			t.Errorf("%v: %v; want exit 0", tt.args, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, "  "+w+" ") && !strings.Contains(out, "  "+w+"\n") {
				t.Errorf("%v lacks flag %s:\n%s", tt.args, w, out)
			}
		}
		for _, a := range tt.avoid {
			if strings.Contains(out, "  "+a) {
				t.Errorf("%v shows flag %s, which it does not take:\n%s", tt.args, a, out)
			}
		}
	}
	// A flag the command does not take is refused, exit 2.
	if _, _, err := runCmd(t, nil, "migrate", "--watch"); exitCode(err) != 2 {
		t.Errorf("migrate --watch: exit %d (%v); want 2", exitCode(err), err)
	}
}

// examples/minimal.toml, which scripts/run.sh --no-plugins serves, needs
// no Wasm: it validates with no plugin at all.
func TestMinimalExampleNeedsNoPlugins(t *testing.T) {
	t.Chdir(t.TempDir())
	out, _, err := runCmd(t, nil, "validate", "--config", filepath.Join(repoRoot, "examples/minimal.toml"))
	if err != nil || !strings.Contains(out, "1 agents, 0 middleware, 0 routes, 0 tools") {
		t.Fatalf("validate examples/minimal.toml = %v, %q; want OK with one agent and no plugins", err, out)
	}
}
