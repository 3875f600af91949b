package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// pathValues hands a plugin route its httprouter params as net/http path
// values (r.PathValue), the router-neutral form host/plugin reads, so that
// package needs no router. httprouter gives a route with params its own
// shallow copy of the request, so setting them changes nobody else's.
func pathValues(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range httprouter.ParamsFromContext(r.Context()) {
			r.SetPathValue(p.Key, p.Value)
		}
		h.ServeHTTP(w, r)
	})
}
