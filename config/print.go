package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"
)

// WriteTOML writes the configuration as TOML with secrets redacted, as
// "mastra-server config" prints it. A key that is empty (an unset number,
// "", []) and empty by default too is left out: it is unset, and printing it
// as "" would be a value of the wrong type.
func (c *Config) WriteTOML(w io.Writer) error {
	var buf bytes.Buffer
	from := c.File
	if from == "" {
		from = "defaults and environment"
	}
	fmt.Fprintf(&buf, "# effective configuration (%s), secrets redacted, unset keys left out\n", from)
	writeTable(&buf, "", reflect.ValueOf(*c), reflect.ValueOf(*Defaults()))
	_, err := w.Write(buf.Bytes())
	return err
}

// writeTable writes the table v; def is its built-in default, or the zero
// Value when there is none (entries of [[…]] and agents not built in).
func writeTable(buf *bytes.Buffer, prefix string, v, def reflect.Value) {
	t := v.Type()
	var tables []func()
	var lines bytes.Buffer
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("koanf"), ",")
		name := tag[0]
		fv, dv := v.Field(i), field(def, i)
		if name == "-" || name == "" { // squashed structs appear only in [[…]] entries: writeFields
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Time{}):
			tables = append(tables, func() { writeTable(buf, key, fv, dv) })
		case fv.Kind() == reflect.Map && fv.Type().Elem().Kind() == reflect.Struct:
			keys := fv.MapKeys()
			sort.Slice(keys, func(a, b int) bool { return keys[a].String() < keys[b].String() })
			for _, k := range keys {
				var d reflect.Value
				if dv.IsValid() {
					d = dv.MapIndex(k)
				}
				tables = append(tables, func() { writeTable(buf, key+"."+k.String(), fv.MapIndex(k), d) })
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := 0; j < fv.Len(); j++ {
				tables = append(tables, func() {
					fmt.Fprintf(buf, "\n[[%s]]\n", key)
					writeFields(buf, fv.Index(j))
				})
			}
		case unset(fv) && (!dv.IsValid() || unset(dv)):
		default:
			fmt.Fprintf(&lines, "%s = %s\n", name, tomlValue(fv))
		}
	}
	if prefix != "" && lines.Len() > 0 { // [providers] holds only tables
		fmt.Fprintf(buf, "\n[%s]\n", prefix)
	}
	buf.Write(lines.Bytes())
	for _, fn := range tables {
		fn()
	}
}

// writeFields writes the keys of one [[…]] entry, which has no defaults.
func writeFields(buf *bytes.Buffer, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("koanf"), ",")
		fv := v.Field(i)
		if len(tag) > 1 && tag[1] == "squash" {
			writeFields(buf, fv)
			continue
		}
		if tag[0] == "-" || tag[0] == "" || unset(fv) || (fv.CanInt() && fv.IsZero()) {
			continue // a zero limit means the [plugins] default
		}
		fmt.Fprintf(buf, "%s = %s\n", tag[0], tomlValue(fv))
	}
}

func field(v reflect.Value, i int) reflect.Value {
	if !v.IsValid() {
		return v
	}
	return v.Field(i)
}

// unset reports an empty value: a nil pointer or interface, "", an empty
// list or table. Numbers and booleans are always values.
func unset(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return false
}

func tomlValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Secret:
		return quoteTOML(x.String())
	case time.Duration:
		return quoteTOML(x.String())
	case ByteSize:
		return quoteTOML(x.String())
	case string:
		return quoteTOML(x)
	}
	if v.Kind() == reflect.Pointer {
		return tomlValue(v.Elem()) // never nil: unset keys are not printed
	}
	if v.Kind() == reflect.Struct { // a table inside a [[…]] entry: its own keys
		var parts []string
		for i := 0; i < v.NumField(); i++ {
			name := strings.Split(v.Type().Field(i).Tag.Get("koanf"), ",")[0]
			if name == "" || name == "-" || unset(v.Field(i)) {
				continue
			}
			parts = append(parts, tomlKey(name)+" = "+tomlValue(v.Field(i)))
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	if v.Kind() == reflect.Slice && v.Len() == 0 {
		return "[]"
	}
	// Through JSON first, so that every value (a plugin's config, a schema)
	// is maps, lists and scalars; then as TOML, which the output must stay.
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
	}
	var plain any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&plain); err != nil {
		return string(b)
	}
	return tomlInline(plain)
}

// tomlInline writes a JSON-decoded value as a TOML value on one line:
// objects become inline tables (`{ key = value }`), which a JSON object is
// not. TOML has no null; a null is written as an empty string.
func tomlInline(x any) string {
	switch x := x.(type) {
	case map[string]any:
		if len(x) == 0 {
			return "{}"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = tomlKey(k) + " = " + tomlInline(x[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = tomlInline(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		return quoteTOML(x)
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	}
	return `""`
}

// tomlKey leaves a key bare when TOML allows it, else quotes it.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return quoteTOML(k)
		}
	}
	return k
}

func quoteTOML(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
