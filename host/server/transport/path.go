package transport

import "strings"

// PathMatch reports whether path matches pattern: exact, or a prefix when
// the pattern ends in "*" ("/api/*" matches "/api" and everything below).
// An empty pattern or "*" matches every path.
func PathMatch(pattern, path string) bool {
	if pattern == "" || pattern == "*" || pattern == "/*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		if strings.HasPrefix(path, prefix) {
			return true
		}
		return strings.HasSuffix(prefix, "/") && path == strings.TrimSuffix(prefix, "/")
	}
	return path == pattern
}
