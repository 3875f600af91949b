package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/mastra-server/mastra-server/config"
)

// printConfig prints the effective configuration as TOML-like text with
// secrets redacted.
func printConfig(cfg *config.Config, w io.Writer) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# effective configuration (%s), secrets redacted\n", describeFile(cfg))
	writeTable(&buf, "", reflect.ValueOf(*cfg))
	_, err := w.Write(buf.Bytes())
	return err
}

func writeTable(buf *bytes.Buffer, prefix string, v reflect.Value) {
	t := v.Type()
	var tables []func()
	if prefix != "" {
		fmt.Fprintf(buf, "\n[%s]\n", prefix)
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("koanf"), ",")
		name := tag[0]
		fv := v.Field(i)
		if name == "-" || name == "" { // squashed structs appear only in [[…]] entries: writeFields
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Time{}):
			tables = append(tables, func() { writeTable(buf, key, fv) })
		case fv.Kind() == reflect.Map && fv.Type().Elem().Kind() == reflect.Struct:
			keys := fv.MapKeys()
			sort.Slice(keys, func(a, b int) bool { return keys[a].String() < keys[b].String() })
			for _, k := range keys {
				tables = append(tables, func() { writeTable(buf, key+"."+k.String(), fv.MapIndex(k)) })
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := 0; j < fv.Len(); j++ {
				tables = append(tables, func() {
					fmt.Fprintf(buf, "\n[[%s]]\n", key)
					writeFields(buf, fv.Index(j))
				})
			}
		default:
			fmt.Fprintf(buf, "%s = %s\n", name, tomlValue(fv))
		}
	}
	for _, fn := range tables {
		fn()
	}
}

func writeFields(buf *bytes.Buffer, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("koanf"), ",")
		fv := v.Field(i)
		if len(tag) > 1 && tag[1] == "squash" {
			writeFields(buf, fv)
			continue
		}
		if tag[0] == "-" || tag[0] == "" {
			continue
		}
		fmt.Fprintf(buf, "%s = %s\n", tag[0], tomlValue(fv))
	}
}

func tomlValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case config.Secret:
		return quoteTOML(x.String())
	case time.Duration:
		return quoteTOML(x.String())
	case config.ByteSize:
		return quoteTOML(x.String())
	case string:
		return quoteTOML(x)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return `"" # unset`
		}
		return tomlValue(v.Elem())
	}
	if v.Kind() == reflect.Slice && v.Len() == 0 {
		return "[]"
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
	}
	return string(b)
}

func quoteTOML(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
