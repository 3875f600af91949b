// Package scripts_test runs the set-up scripts the README names on the paths
// this machine cannot take for real. macOS users install the plugin
// toolchains with Homebrew; there is no Mac here, so these tests give the
// scripts a PATH without apt-get and a `brew` that answers `--prefix` with a
// directory laid out as Homebrew lays out llvm, lld, wasi-libc,
// wasi-runtimes and wabt, and records what it was asked to install. The
// compiler under that prefix is a wrapper around Debian's clang, so the
// build is a real build with the flags the script chose.
package scripts_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// repoRoot is the repository's top directory (this file is in tests/scripts).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// fakeHomebrew makes a bin directory holding a fake `brew` and links to the
// given real commands (and nothing else: no apt-get), and an empty Homebrew
// prefix. brew's `install` arguments are appended to <dir>/brew-install.log.
func fakeHomebrew(t *testing.T, commands ...string) (bin, prefix, installLog string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "bin")
	prefix = filepath.Join(dir, "homebrew")
	installLog = filepath.Join(dir, "brew-install.log")
	for _, d := range []string{bin, prefix} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	brew := "#!/bin/sh\ncase \"$1\" in\n--prefix) echo '" + prefix + "' ;;\ninstall) shift; echo \"$@\" >> '" + installLog + "' ;;\n*) echo \"fake brew: $1 not supported\" >&2; exit 1 ;;\nesac\n"
	writeExec(t, filepath.Join(bin, "brew"), brew)
	for _, c := range commands {
		p, err := exec.LookPath(c)
		if err != nil {
			t.Fatalf("%s not found: scripts/test.sh installs the plugin toolchains and Node.js first (%v)", c, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, c)); err != nil {
			t.Fatal(err)
		}
	}
	return bin, prefix, installLog
}

func writeExec(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// run runs a script with PATH set to bin only and returns its combined output.
func run(t *testing.T, bin string, script string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(script, args...)
	cmd.Env = []string{"PATH=" + bin, "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// installScriptCopy copies install-plugin-toolchains.sh into a scratch
// repository whose sdk/assemblyscript already has the pinned compiler, so
// the script's npm step finds it present and the test touches neither npm
// nor this checkout.
func installScriptCopy(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "install-plugin-toolchains.sh"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(repoRoot(t), "sdk", "assemblyscript", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", "-e", "console.log(require(process.argv[1]).devDependencies.assemblyscript)",
		filepath.Join(repoRoot(t), "sdk", "assemblyscript", "package.json")).Output()
	if err != nil {
		t.Fatalf("reading the pinned assemblyscript version: %v", err)
	}
	root := t.TempDir()
	as := filepath.Join(root, "sdk", "assemblyscript")
	writeExec(t, filepath.Join(root, "scripts", "install-plugin-toolchains.sh"), string(src))
	if err := os.MkdirAll(filepath.Join(as, "node_modules", "assemblyscript"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(as, "package.json"), pkg, 0o644); err != nil {
		t.Fatal(err)
	}
	installed := `{"name":"assemblyscript","version":"` + strings.TrimSpace(string(out)) + `"}`
	if err := os.WriteFile(filepath.Join(as, "node_modules", "assemblyscript", "package.json"), []byte(installed), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "scripts", "install-plugin-toolchains.sh")
}

// On a Mac with nothing installed, the script asks Homebrew for every
// package the C and WAT guests need, in one `brew install`.
func TestHomebrewInstallsWhatIsMissing(t *testing.T) {
	script := installScriptCopy(t)
	bin, _, installLog := fakeHomebrew(t, "bash", "dirname", "node", "npm")
	out, err := run(t, bin, script)
	if err != nil {
		t.Fatalf("install script failed on the Homebrew path: %v\n%s", err, out)
	}
	asked, err := os.ReadFile(installLog)
	if err != nil {
		t.Fatalf("brew install was not called: %v\n%s", err, out)
	}
	got := strings.Fields(string(asked))
	want := []string{"wabt", "llvm", "lld", "wasi-libc", "wasi-runtimes"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("brew install %v, want %v\n%s", got, want, out)
	}
	if !strings.Contains(out, "installing Homebrew packages") {
		t.Errorf("the script did not say what it installs:\n%s", out)
	}
}

// With everything present under the prefix, nothing is installed and the
// script says so.
func TestHomebrewPresentInstallsNothing(t *testing.T) {
	script := installScriptCopy(t)
	bin, prefix, installLog := fakeHomebrew(t, "bash", "dirname", "node", "npm", "wat2wasm")
	writeExec(t, filepath.Join(prefix, "opt", "llvm", "bin", "clang"), "#!/bin/sh\nexit 0\n")
	writeExec(t, filepath.Join(prefix, "opt", "lld", "bin", "wasm-ld"), "#!/bin/sh\nexit 0\n")
	for _, d := range []string{"opt/wasi-libc/share/wasi-sysroot", "opt/wasi-runtimes"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, bin, script)
	if err != nil {
		t.Fatalf("install script failed: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(installLog); err == nil {
		t.Errorf("brew install %s called with everything present\n%s", bytes.TrimSpace(b), out)
	}
	if !strings.Contains(out, "Homebrew packages: present") {
		t.Errorf("the script did not say the packages are present:\n%s", out)
	}
}

// Neither apt-get nor brew: the script fails and names what to install and
// the paths that need none of it.
func TestNoPackageManagerSaysWhatToInstall(t *testing.T) {
	script := installScriptCopy(t)
	bin, _, _ := fakeHomebrew(t, "bash", "dirname")
	if err := os.Remove(filepath.Join(bin, "brew")); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, bin, script)
	if err == nil {
		t.Fatalf("install script succeeded without a package manager:\n%s", out)
	}
	for _, want := range []string{"wasi-libc", "wabt", "scripts/run.sh --no-plugins", "Dockerfile"} {
		if !strings.Contains(out, want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
}

// build-plugins.sh on the Homebrew path compiles a C guest with Homebrew's
// clang and the wasi-libc sysroot under the prefix. Here the clang under the
// prefix runs Debian's clang and the sysroot is Debian's wasi-libc (laid out
// under /usr as clang's WASI driver expects of a sysroot); an empty sysroot
// must make the build fail, which shows the flag is what finds libc.
func TestHomebrewBuildsACGuest(t *testing.T) {
	if _, err := exec.LookPath("clang"); err != nil {
		t.Fatalf("clang not found: scripts/install-plugin-toolchains.sh installs it (%v)", err)
	}
	for _, sysroot := range []string{"/usr", ""} {
		name := "wasi-libc sysroot"
		if sysroot == "" {
			name = "empty sysroot"
		}
		t.Run(name, func(t *testing.T) {
			bin, prefix, _ := fakeHomebrew(t, "bash", "dirname", "find", "wc", "tr", "basename", "mv", "rm", "sed")
			clangLog := filepath.Join(t.TempDir(), "clang.log")
			real, _ := exec.LookPath("clang")
			writeExec(t, filepath.Join(prefix, "opt", "llvm", "bin", "clang"),
				"#!/bin/sh\necho \"$@\" >> '"+clangLog+"'\nexec '"+real+"' \"$@\"\n")
			share := filepath.Join(prefix, "opt", "wasi-libc", "share")
			if err := os.MkdirAll(share, 0o755); err != nil {
				t.Fatal(err)
			}
			if sysroot != "" {
				if err := os.Symlink(sysroot, filepath.Join(share, "wasi-sysroot")); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Mkdir(filepath.Join(share, "wasi-sysroot"), 0o755); err != nil {
				t.Fatal(err)
			}
			guest := filepath.Join(t.TempDir(), "c-middleware")
			if err := os.MkdirAll(guest, 0o755); err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "c-middleware", "c-middleware.c"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(guest, "c-middleware.c"), src, 0o644); err != nil {
				t.Fatal(err)
			}

			out, err := run(t, bin, filepath.Join(repoRoot(t), "scripts", "build-plugins.sh"), guest)
			args, _ := os.ReadFile(clangLog)
			if !strings.Contains(string(args), "--sysroot="+filepath.Join(share, "wasi-sysroot")) {
				t.Fatalf("Homebrew's clang was not run with the wasi-libc sysroot; clang got %q\n%s", args, out)
			}
			if sysroot == "" {
				if err == nil {
					t.Fatalf("build succeeded with an empty sysroot:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("build failed: %v\n%s", err, out)
			}
			wasm, err := os.ReadFile(filepath.Join(guest, "c-middleware.wasm"))
			if err != nil {
				t.Fatalf("no module built: %v\n%s", err, out)
			}
			rt := wazero.NewRuntime(context.Background())
			defer rt.Close(context.Background())
			mod, err := rt.CompileModule(context.Background(), wasm)
			if err != nil {
				t.Fatalf("built module does not compile: %v", err)
			}
			if _, ok := mod.ExportedFunctions()["_initialize"]; !ok {
				t.Errorf("built module is not a reactor (no _initialize export)")
			}
		})
	}
}
