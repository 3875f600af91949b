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
	writePage(w, docsPage)
	return nil
}

// writePage writes one of the server's own embedded pages. Each loads
// nothing but its inline code and calls nothing but this origin; no
// referrer goes out, since the playground may be opened with ?apiKey=.
func writePage(w http.ResponseWriter, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(page)
}
