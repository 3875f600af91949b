package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/joho/godotenv"
)

// DefaultEnvFile is the environment file read, when present, if no path is
// given.
const DefaultEnvFile = ".env"

// WithEnvFile returns environ with the variables of the .env file at path
// that environ does not set, and those variables' names. The real
// environment always wins, even with an empty value, as with docker run
// --env-file. An empty path reads DefaultEnvFile if it exists; a path that
// was given must exist.
//
// The file is read with godotenv: KEY=value lines, # comments, an optional
// "export ", single quotes (literal), double quotes (\n escapes, several
// lines), the syntax Node's dotenv shares, so one .env serves both.
func WithEnvFile(path string, environ []string) ([]string, []string, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultEnvFile
	}
	vars, err := godotenv.Read(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return environ, nil, nil
		}
		return nil, nil, fmt.Errorf("env file %s: %w", path, err)
	}
	set := make(map[string]bool, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var added []string
	for k := range vars {
		if !set[k] {
			added = append(added, k)
		}
	}
	sort.Strings(added)
	out := make([]string, 0, len(environ)+len(added))
	for _, k := range added {
		out = append(out, k+"="+vars[k])
	}
	return append(out, environ...), added, nil
}
