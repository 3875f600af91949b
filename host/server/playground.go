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
	writePage(w, playgroundPage)
	return nil
}
