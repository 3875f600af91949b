package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// N4: a mount confines the guest to its directory. Symbolic links already in
// the directory are followed only while they stay inside it: one to "/", an
// absolute one and a relative "../…" one all fail, read or write, on
// read-only and read-write mounts alike; a file and a link inside still work.
func TestMountsStayInsideTheirDirectory(t *testing.T) {
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "secret.txt"), "SECRET-OUTSIDE")
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "ok.txt"), "inside")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "sub", "inner.txt"), "deep")
	up, err := filepath.Rel(dir, outside)
	if err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"inlink": "sub/inner.txt", // stays inside
		"escape": "/",
		"abs":    outside,
		"up":     up, // ../<outside>
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	// Each leads to outside/secret.txt; writes go to outside/planted.txt.
	escapes := []string{"escape" + outside + "/secret.txt", "abs/secret.txt", "up/secret.txt", "../" + filepath.Base(outside) + "/secret.txt"}

	for _, ro := range []bool{true, false} {
		name := map[bool]string{true: "ro", false: "rw"}[ro]
		t.Run(name, func(t *testing.T) {
			h, _ := newHost(t, Config{})
			p := load(t, h, Spec{Name: "mountfs-" + name, Kind: Route, Module: fixture(t, "mountfs"),
				Grants: Grants{Mounts: []Mount{{HostPath: dir, GuestPath: "/data", ReadOnly: ro}}}})
			guest := func(method, path string) string {
				t.Helper()
				w := do(p.Handler(), method, "/", strings.NewReader(path))
				if w.Code != 200 {
					t.Fatalf("%s %s = %d %q", method, path, w.Code, w.Body)
				}
				return w.Body.String()
			}
			for path, want := range map[string]string{"ok.txt": "ok:inside", "inlink": "ok:deep", "sub/../ok.txt": "ok:inside"} {
				if got := guest("GET", path); got != want {
					t.Errorf("read %s = %q; want %q", path, got, want)
				}
			}
			if got := guest("GET", "escape/etc/hostname"); !strings.HasPrefix(got, "errno ") {
				t.Errorf("read escape/etc/hostname = %q; want an errno (outside the mount)", got)
			}
			for _, path := range escapes {
				if got := guest("GET", path); !strings.HasPrefix(got, "errno ") {
					t.Errorf("read %s = %q; want an errno (outside the mount)", path, got)
				}
				if got := guest("PUT", strings.TrimSuffix(path, "secret.txt")+"planted.txt"); !strings.HasPrefix(got, "errno ") {
					t.Errorf("write beside %s = %q; want an errno (outside the mount)", path, got)
				}
			}
			if _, err := os.Stat(filepath.Join(outside, "planted.txt")); err == nil {
				t.Errorf("the guest created %s", filepath.Join(outside, "planted.txt"))
			}
			got := guest("PUT", "new-"+name+".txt")
			b, _ := os.ReadFile(filepath.Join(dir, "new-"+name+".txt"))
			switch {
			case ro && (!strings.HasPrefix(got, "errno ") || b != nil):
				t.Errorf("write on a read-only mount = %q, file %q; want an errno and no file", got, b)
			case !ro && (got != "ok:" || string(b) != "planted"):
				t.Errorf("write inside = %q, file %q; want ok: and \"planted\"", got, b)
			}
		})
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
