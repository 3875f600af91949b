package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/mastra-server/mastra-server/host/server/transport"
)

// MaxOffset bounds page × perPage, the rows a listing skips: far beyond any
// real listing, and far from overflowing the arithmetic behind it (F13).
const MaxOffset = 10_000_000

// pageParams reads page and perPage query parameters.
func pageParams(r *http.Request, defPerPage, maxPerPage int) (page, perPage int, err error) {
	q := r.URL.Query()
	page, perPage = 0, defPerPage
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, transport.Invalid("Invalid query parameters", "page", "expected a non-negative integer")
		}
		page = n
	}
	if s := q.Get("perPage"); s != "" {
		if s == "false" {
			return page, -1, nil // Mastra's "all"
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPerPage {
			return 0, 0, transport.Invalid("Invalid query parameters", "perPage", fmt.Sprintf("expected an integer from 1 to %d", maxPerPage))
		}
		perPage = n
	}
	if page > MaxOffset/perPage {
		return 0, 0, transport.Invalid("Invalid query parameters", "page", fmt.Sprintf("page × perPage must not exceed %d", MaxOffset))
	}
	return page, perPage, nil
}
