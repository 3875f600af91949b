package server

import (
	_ "embed"
	"net/http"
)

// PlaygroundPath is where the playground page is served.
const PlaygroundPath = "/playground"

// playgroundPage is the playground: one hand-written file of HTML, CSS and
// script, embedded so the binary serves it with no CDN and no build step.
// It talks to this server's own API with the token typed into it.
//
//go:embed playground.html
var playgroundPage []byte

// servePlayground answers GET /playground.
func (s *Server) servePlayground(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	// The page loads nothing but its own inline code, and calls nothing
	// but this origin.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(playgroundPage)
	return nil
}
