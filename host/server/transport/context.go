package transport

import (
	"net/http"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// RequestContext gives each request its RequestContext map (reqctx), which
// [Authenticate], the Wasm middleware and the handlers share.
func RequestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(reqctx.With(r.Context(), reqctx.New())))
	})
}
