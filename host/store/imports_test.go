package store

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// openers are the packages that open a database or run migrations: SQL
// drivers, Bun's dialects, pgx's pool and database/sql adapter, and the
// migrators. Only host/store may import them.
var openers = []string{
	"github.com/jackc/pgx/v5/pgxpool",
	"github.com/jackc/pgx/v5/stdlib",
	"github.com/uptrace/bun/dialect/pgdialect",
	"github.com/uptrace/bun/dialect/sqlitedialect",
	"github.com/uptrace/bun/driver/sqliteshim",
	"github.com/uptrace/bun/migrate",
	"github.com/riverqueue/river/rivermigrate",
	"modernc.org/sqlite",
	"github.com/mattn/go-sqlite3",
}

// TestOnlyStoreOpensTheDatabase reads the import graph of the module's
// packages (go list, test files excluded) and fails if a package other
// than host/store imports an opener. Test helpers that reach a scratch
// database on their own (internal/…) and the benchmark tools (bench/…)
// are not part of the server and are left out.
func TestOnlyStoreOpensTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Module,Standard", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
		Standard   bool
		Module     *struct {
			Path string
			Main bool
		}
	}
	const self = "github.com/mastra-server/mastra-server/host/store"
	var bad []string
	seen := 0
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Standard || p.Module == nil || !p.Module.Main {
			continue
		}
		seen++
		rel := strings.TrimPrefix(p.ImportPath, p.Module.Path+"/")
		if strings.HasPrefix(rel, "internal/") || strings.HasPrefix(rel, "bench/") {
			continue
		}
		for _, imp := range p.Imports {
			if !slices.Contains(openers, imp) {
				continue
			}
			if p.ImportPath != self {
				bad = append(bad, p.ImportPath+" imports "+imp)
			}
		}
		if p.ImportPath == self {
			// The list must name what host/store really uses, or the
			// check above would pass vacuously after a rename.
			for _, want := range openers[:7] {
				if !slices.Contains(p.Imports, want) {
					t.Errorf("host/store does not import %s: update openers", want)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list named %d packages of the module; want all of them", seen)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("%s: only host/store opens the database or runs migrations", b)
	}
}
