package server

import (
	_ "embed"
	"net/http"
)

// DocsPath is where the page that renders the OpenAPI document is served.
const DocsPath = "/docs"

// docsPage is a small hand-written page, embedded so the binary serves it
// with no CDN: it fetches the document next to it and lists every route.
//
//go:embed docs.html
var docsPage []byte

// serveDocs answers GET /docs.
func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	// The page loads nothing but its own inline code and the document.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(docsPage)
	return nil
}
