package server

import (
	"net/http"
	"slices"

	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Middleware is one link of the plugin middleware chain: Wrap is applied to
// requests whose path matches Path (a glob where a trailing "*" matches any
// rest, see [transport.PathMatch]) and whose method is in Methods (empty = all).
type Middleware struct {
	Name    string
	Path    string
	Methods []string
	Wrap    func(http.Handler) http.Handler
}

// chain builds the middleware chain once; each link tests its match per request.
func chain(mws []Middleware, final http.Handler) http.Handler {
	h := final
	for i := len(mws) - 1; i >= 0; i-- {
		mw := mws[i]
		wrapped := mw.Wrap(h)
		skip := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if transport.PathMatch(mw.Path, r.URL.Path) && (len(mw.Methods) == 0 || slices.Contains(mw.Methods, "*") || slices.Contains(mw.Methods, r.Method)) {
				wrapped.ServeHTTP(w, r)
				return
			}
			skip.ServeHTTP(w, r)
		})
	}
	return h
}
