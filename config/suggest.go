package config

import (
	"reflect"
	"strings"
)

// unknownKeys words a list of unknown keys, each with the known key it
// was probably meant to be.
func unknownKeys(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k
		if s := suggestKey(k); s != "" {
			out[i] += " (did you mean " + s + "?)"
		}
	}
	return "unknown key(s) " + strings.Join(out, ", ")
}

// suggestKey returns the known key nearest to an unknown one ("server.prot"
// → "server.port"), or "" when none is close enough to be a typo.
func suggestKey(key string) string {
	parent, name := "", key
	if i := strings.LastIndex(key, "."); i >= 0 {
		parent, name = key[:i], key[i+1:]
	}
	// A typo changes a few letters, not the word.
	best, bestDist := "", max(2, len(name)/3)+1
	for _, k := range tableKeys(parent) {
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	if parent == "" {
		return best
	}
	return parent + "." + best
}

// tableKeys lists the keys the table at path accepts: path is spelled as
// in decoder errors, "server.cors", "agents.support", "routes[0]".
func tableKeys(path string) []string {
	t := reflect.TypeOf(Config{})
	if path != "" {
		for _, seg := range strings.Split(path, ".") {
			name, index, _ := strings.Cut(seg, "[")
			t = elemType(t)
			if t.Kind() == reflect.Map {
				t = t.Elem() // seg is an entry's id
			} else {
				f, ok := fieldByKey(t, name)
				if !ok {
					return nil
				}
				t = f.Type
			}
			if index != "" {
				t = elemType(t)
				if t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
					t = t.Elem()
				}
			}
		}
	}
	t = elemType(t)
	if t.Kind() == reflect.Map || t.Kind() == reflect.Slice {
		t = elemType(t.Elem())
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return structKeys(t)
}

func elemType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// structKeys lists t's koanf keys, squashed structs inlined.
func structKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case opts == "squash":
			keys = append(keys, structKeys(elemType(f.Type))...)
		case name != "":
			keys = append(keys, name)
		}
	}
	return keys
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		if opts == "squash" {
			if sf, ok := fieldByKey(elemType(f.Type), key); ok {
				return sf, true
			}
		} else if name == key && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
