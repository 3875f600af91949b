package memory

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// ErrInvalidFilter is a vector query filter this server cannot read; it is
// wrapped with the reason. Callers answer 400.
var ErrInvalidFilter = errors.New("memory: invalid vector filter")

// vectorFilter is a query filter split in two: the tenant equalities
// (metadata.resource_id, metadata.thread_id), which are indexed columns
// and go into the SQL, and the rest, matched in Go.
type vectorFilter struct {
	resourceID, threadID *string
	rest                 matcher // nil: none
}

// matcher reports whether a row's metadata passes a filter.
type matcher func(md map[string]any) bool

// parseVectorFilter reads a Mastra (MongoDB-style) vector filter:
// {"key": value} (equality), {"key": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|
// "$lte"|"$in"|"$nin"|"$exists": …}}, {"$and"|"$or": [filter, …]} and
// {"$not": filter}; "a.b" reaches into nested objects. Every key of an
// object must hold (AND). Other operators are refused, never ignored.
func parseVectorFilter(f map[string]any) (vectorFilter, error) {
	var vf vectorFilter
	rest := map[string]any{}
	for k, v := range f {
		if s, ok := v.(string); ok && (k == "resource_id" || k == "thread_id") {
			if k == "resource_id" {
				vf.resourceID = &s
			} else {
				vf.threadID = &s
			}
			continue
		}
		rest[k] = v
	}
	if len(rest) > 0 {
		m, err := compileFilter(rest)
		if err != nil {
			return vectorFilter{}, err
		}
		vf.rest = m
	}
	return vf, nil
}

// CheckVectorFilter checks a filter as QueryVectors reads it, for callers
// that refuse a bad one before any work (a start error, a 400).
func CheckVectorFilter(f map[string]any) error {
	_, err := parseVectorFilter(f)
	return err
}

func compileFilter(f map[string]any) (matcher, error) {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var all []matcher
	for _, k := range keys {
		m, err := compileEntry(k, f[k])
		if err != nil {
			return nil, err
		}
		all = append(all, m)
	}
	return func(md map[string]any) bool {
		for _, m := range all {
			if !m(md) {
				return false
			}
		}
		return true
	}, nil
}

func compileList(op string, v any) ([]matcher, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%w: %s wants a non-empty list of filters", ErrInvalidFilter, op)
	}
	var out []matcher
	for _, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s wants a list of filter objects", ErrInvalidFilter, op)
		}
		m, err := compileFilter(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func compileEntry(k string, v any) (matcher, error) {
	switch k {
	case "$and", "$or":
		ms, err := compileList(k, v)
		if err != nil {
			return nil, err
		}
		and := k == "$and"
		return func(md map[string]any) bool {
			for _, m := range ms {
				if m(md) != and {
					return !and
				}
			}
			return and
		}, nil
	case "$not":
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: $not wants a filter object", ErrInvalidFilter)
		}
		m, err := compileFilter(obj)
		if err != nil {
			return nil, err
		}
		return func(md map[string]any) bool { return !m(md) }, nil
	}
	if strings.HasPrefix(k, "$") {
		return nil, fmt.Errorf("%w: operator %s is not supported", ErrInvalidFilter, k)
	}
	path := strings.Split(k, ".")
	ops, isOps := v.(map[string]any)
	if isOps {
		for op := range ops {
			if !strings.HasPrefix(op, "$") {
				isOps = false // an object value: equality with it
				break
			}
		}
	}
	if !isOps || len(ops) == 0 {
		return func(md map[string]any) bool { got, ok := lookup(md, path); return ok && equalJSON(got, v) }, nil
	}
	var all []func(got any, ok bool) bool
	for op, arg := range ops {
		var m func(got any, ok bool) bool
		switch op {
		case "$eq":
			m = func(got any, ok bool) bool { return ok && equalJSON(got, arg) }
		case "$ne":
			m = func(got any, ok bool) bool { return !ok || !equalJSON(got, arg) }
		case "$in", "$nin":
			list, isList := arg.([]any)
			if !isList {
				return nil, fmt.Errorf("%w: %s of %s wants a list", ErrInvalidFilter, op, k)
			}
			in := op == "$in"
			m = func(got any, ok bool) bool {
				for _, x := range list {
					if ok && (equalJSON(got, x) || containsJSON(got, x)) {
						return in
					}
				}
				return !in
			}
		case "$gt", "$gte", "$lt", "$lte":
			want := op
			m = func(got any, ok bool) bool {
				c, comparable := compareJSON(got, arg)
				if !ok || !comparable {
					return false
				}
				switch want {
				case "$gt":
					return c > 0
				case "$gte":
					return c >= 0
				case "$lt":
					return c < 0
				}
				return c <= 0
			}
		case "$exists":
			b, isBool := arg.(bool)
			if !isBool {
				return nil, fmt.Errorf("%w: $exists of %s wants true or false", ErrInvalidFilter, k)
			}
			m = func(_ any, ok bool) bool { return ok == b }
		default:
			return nil, fmt.Errorf("%w: operator %s (on %s) is not supported", ErrInvalidFilter, op, k)
		}
		all = append(all, m)
	}
	return func(md map[string]any) bool {
		got, ok := lookup(md, path)
		for _, m := range all {
			if !m(got, ok) {
				return false
			}
		}
		return true
	}, nil
}

func lookup(md map[string]any, path []string) (any, bool) {
	var cur any = md
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// equalJSON compares decoded JSON values (numbers are float64).
func equalJSON(a, b any) bool { return reflect.DeepEqual(a, b) }

// containsJSON reports whether a is a list holding b (Mongo's $in on an
// array field).
func containsJSON(a, b any) bool {
	list, ok := a.([]any)
	if !ok {
		return false
	}
	for _, x := range list {
		if equalJSON(x, b) {
			return true
		}
	}
	return false
}

// compareJSON orders two numbers or two strings.
func compareJSON(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}
