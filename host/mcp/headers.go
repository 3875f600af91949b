package mcp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// Header templates: a header value may hold {{resourceId}} (the resource
// the request is bound to), {{user}} (the authenticated user) or
// {{context.<key>}} (a string of the request's context), filled per call
// from the caller's request, so that each user reaches a remote server with
// their own credentials (Mastra issue #6008). Values are never logged.
var templateRef = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

func templateKey(ref string) (string, error) {
	switch {
	case ref == "resourceId":
		return reqctx.ResourceIDKey, nil
	case ref == "user":
		return reqctx.UserKey, nil
	case strings.HasPrefix(ref, "context.") && len(ref) > len("context."):
		return strings.TrimPrefix(ref, "context."), nil
	}
	return "", fmt.Errorf("{{%s}}: expected {{resourceId}}, {{user}} or {{context.<key>}}", ref)
}

// renderHeaders fills the templates of headers from ctx's request context;
// key identifies the values filled in ("" when there is no template), so
// that callers with the same credentials share a session. A template whose
// value the caller does not have fails the call: a header sent half-filled
// could authenticate as someone else.
func renderHeaders(ctx context.Context, headers map[string]string) (map[string]string, string, error) {
	if !slices.ContainsFunc(slices.Collect(maps.Values(headers)), templateRef.MatchString) {
		return headers, "", nil
	}
	vals := reqctx.From(ctx)
	out := make(map[string]string, len(headers))
	var key strings.Builder
	var err error
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		v := templateRef.ReplaceAllStringFunc(headers[name], func(ref string) string {
			k, kerr := templateKey(templateRef.FindStringSubmatch(ref)[1])
			var s string
			ok := false
			if kerr == nil && vals != nil {
				s, ok = vals.GetString(k)
			}
			if kerr != nil || !ok || s == "" {
				err = errors.Join(err, fmt.Errorf("header %s: the caller has no value for %s", name, ref))
			}
			return s
		})
		out[name] = v
		key.WriteString(name + "\x00" + v + "\x00")
	}
	if err != nil {
		return nil, "", err
	}
	return out, key.String(), nil
}
