package config

import (
	"bufio"
	"bytes"
	"encoding"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// A configuration key is one leaf of Config's koanf tags: its path as
// written in mastra.toml ("<id>" for a map key, "[]" for a list entry) and
// the struct field that holds it.
type configKey struct {
	path  string
	owner string // the Go type declaring the field, "Route" or "PluginLimits"
	field string
}

// configKeys walks t's koanf tags, recursively: nested tables, maps and
// lists of tables, pointers, and squashed (inlined) structs. A field whose
// type reads itself from text (a duration, a size, a mount) or holds free
// data (a map of any) is a leaf.
func configKeys(t reflect.Type, prefix string, seen map[reflect.Type]bool) []configKey {
	if seen[t] {
		return nil // Step holds steps: each type once
	}
	seen[t] = true
	defer delete(seen, t)
	var keys []configKey
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if opts == "squash" {
			keys = append(keys, configKeys(f.Type, prefix, seen)...)
			continue
		}
		path := prefix + name
		ft, suffix := f.Type, ""
		for {
			switch ft.Kind() {
			case reflect.Pointer:
				ft = ft.Elem()
				continue
			case reflect.Slice:
				if table(ft.Elem()) {
					ft, suffix = ft.Elem(), suffix+"[]"
					continue
				}
			case reflect.Map:
				if table(ft.Elem()) {
					ft, suffix = ft.Elem(), suffix+".<id>"
					continue
				}
			}
			break
		}
		keys = append(keys, configKey{path: path + suffix, owner: t.Name(), field: f.Name})
		if table(ft) {
			keys = append(keys, configKeys(ft, path+suffix+".", seen)...)
		}
	}
	return keys
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// table reports whether t is a table of keys rather than one value.
func table(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t != reflect.TypeOf(time.Time{}) && !reflect.PointerTo(t).Implements(textUnmarshaler)
}

const module = "github.com/mastra-server/mastra-server"

// fieldsRead type-checks every non-test package under config/, host/ and
// cmd/ and returns the fields of this package's types that their code
// reads ("Route.Module"). Validation is not a use: a key only validated has
// no effect, so selectors inside config's validate* functions do not count.
func fieldsRead(t *testing.T) map[string]bool {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// The packages and the export data of everything they import, as
	// golang.org/x/tools/go/packages gets them, from the build cache.
	cmd := exec.Command("go", "list", "-export", "-deps", "-f",
		"{{.ImportPath}}\t{{.Export}}\t{{.Dir}}\t{{join .GoFiles \" \"}}", "./config/...", "./host/...", "./cmd/...")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	type pkg struct{ path, dir, files string }
	var targets []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 4 {
			continue
		}
		exports[parts[0]] = parts[1]
		rel := strings.TrimPrefix(parts[0], module+"/")
		if strings.HasPrefix(rel, "config") || strings.HasPrefix(rel, "host/") || strings.HasPrefix(rel, "cmd/") {
			targets = append(targets, pkg{parts[0], parts[2], parts[3]})
		}
	}
	if len(targets) < 5 {
		t.Fatalf("go list found %d packages under config/, host/, cmd/; want them all", len(targets))
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	read := map[string]bool{}
	for _, p := range targets {
		var files []*ast.File
		for _, name := range strings.Fields(p.files) {
			f, err := parser.ParseFile(fset, filepath.Join(p.dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp, Error: func(err error) {}} // partial information is enough
		if _, err := conf.Check(p.path, fset, files, info); err != nil && len(info.Selections) == 0 {
			t.Fatalf("type-check %s: %v", p.path, err)
		}
		skip := map[*ast.SelectorExpr]bool{}
		if p.path == module+"/config" {
			for _, f := range files {
				for _, d := range f.Decls {
					if fd, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(strings.ToLower(fd.Name.Name), "validate") {
						ast.Inspect(fd, func(n ast.Node) bool {
							if se, ok := n.(*ast.SelectorExpr); ok {
								skip[se] = true
							}
							return true
						})
					}
				}
			}
		}
		for se, sel := range info.Selections {
			if sel.Kind() != types.FieldVal || skip[se] {
				continue
			}
			if owner := declaringType(sel); owner != nil && owner.Obj().Pkg() != nil && owner.Obj().Pkg().Path() == module+"/config" {
				read[owner.Obj().Name()+"."+sel.Obj().Name()] = true
			}
		}
	}
	return read
}

// declaringType follows a field selection through its embedded fields to
// the named struct type that declares the field.
func declaringType(sel *types.Selection) *types.Named {
	t := sel.Recv()
	idx := sel.Index()
	for i, n := range idx {
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		named, _ := t.(*types.Named)
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			return nil
		}
		if i == len(idx)-1 {
			return named
		}
		t = st.Field(n).Type()
	}
	return nil
}

// Every key mastra.toml accepts takes effect: some code under config/,
// host/ or cmd/, tests and validation aside, reads its field. A key added
// to Config and never wired fails here, by name.
func TestEveryKeyIsRead(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the server's packages")
	}
	keys := configKeys(reflect.TypeOf(Config{}), "", map[reflect.Type]bool{})
	if len(keys) < 100 {
		t.Fatalf("found %d keys; the walk misses tables", len(keys))
	}
	read := fieldsRead(t)
	var unread []string
	for _, k := range keys {
		if !read[k.owner+"."+k.field] {
			unread = append(unread, k.path+" ("+k.owner+"."+k.field+")")
		}
	}
	sort.Strings(unread)
	for _, k := range unread {
		t.Errorf("key %s is accepted but no code under config/, host/ or cmd/ reads it: make it take effect, or refuse it at start", k)
	}
}
