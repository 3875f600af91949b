// Package plugintest tells tests whether this repository's Wasm plugins
// (plugins/* and examples/*) are built and up to date.
//
// Tests never build them: scripts/test.sh runs scripts/build-plugins.sh once
// before go test, so that test packages running side by side do not start
// the same build at once. A test package that needs the modules calls Check
// from its TestMain and fails with the command to run.
package plugintest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Check returns an error naming every module under root's plugins/ and
// examples/ that is missing or older than its sources, and how to build
// them. The targets are found as scripts/build-plugins.sh finds them: a
// directory with go.mod, *.c or asconfig.json builds <dir>/<name>.wasm, and
// each *.wat file builds the .wasm beside it.
func Check(root string) error {
	dirs, err := filepath.Glob(filepath.Join(root, "plugins", "*"))
	if err != nil {
		return err
	}
	more, _ := filepath.Glob(filepath.Join(root, "examples", "*"))
	var problems []string
	for _, dir := range append(dirs, more...) {
		outs, newest, err := targets(dir)
		if err != nil {
			return err
		}
		for _, out := range outs {
			rel, _ := filepath.Rel(root, out)
			st, err := os.Stat(out)
			switch {
			case err != nil:
				problems = append(problems, rel+" (missing)")
			case newest.After(st.ModTime()):
				problems = append(problems, rel+" (older than its sources)")
			}
		}
	}
	if len(problems) > 0 {
		return errors.New("plugin modules not built: " + strings.Join(problems, ", ") +
			"; run scripts/build-plugins.sh (scripts/test.sh runs it before go test)")
	}
	return nil
}

// targets returns the .wasm files dir builds and the time of its newest
// source file.
func targets(dir string) (outs []string, newest time.Time, err error) {
	name := filepath.Base(dir)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		switch ext {
		case ".go", ".c", ".h", ".ts", ".wat":
		default:
			if d.Name() != "go.mod" && d.Name() != "go.sum" && d.Name() != "asconfig.json" {
				return nil
			}
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		if filepath.Dir(path) != dir {
			return nil
		}
		switch {
		case ext == ".wat":
			outs = append(outs, strings.TrimSuffix(path, ".wat")+".wasm")
		case d.Name() == "go.mod" || d.Name() == "asconfig.json" || ext == ".c":
			if out := filepath.Join(dir, name+".wasm"); len(outs) == 0 || outs[len(outs)-1] != out {
				outs = append(outs, out)
			}
		}
		return nil
	})
	if err != nil {
		return nil, newest, fmt.Errorf("plugintest: %s: %w", dir, err)
	}
	return outs, newest, nil
}
