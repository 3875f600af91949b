package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/mastra-server/mastra-server/host/server/transport"
)

// The listing parameters every observability route shares (traces,
// scores, feedback, logs, metrics, a span's scores, the /scores/* lists),
// read one way so that they answer alike.

// listPage reads a listing's page and perPage (default 10, at most 100;
// Mastra's observability listings have no "all"), after refusing the
// filters in unsupported this server does not filter by and Mastra's
// delta mode (501: no delta polling here), so none is silently ignored.
func listPage(r *http.Request, unsupported ...string) (page, perPage int, err error) {
	q := r.URL.Query()
	for _, k := range unsupported {
		if q.Has(k) {
			return 0, 0, transport.Invalid("Invalid query parameters", k, "filtering by "+k+" is not supported by this server")
		}
	}
	if q.Get("mode") == "delta" {
		return 0, 0, &transport.Error{Status: http.StatusNotImplemented,
			Message: "Delta polling is not supported by this server's observability store"}
	}
	page, perPage, err = pageParams(r, 10, 100)
	if err != nil {
		return 0, 0, err
	}
	if perPage < 0 {
		return 0, 0, transport.Invalid("Invalid query parameters", "perPage", "expected an integer from 1 to 100")
	}
	return page, perPage, nil
}

// listOrder reads an order direction, ASC or DESC in any case; "" is
// DESC (newest first), Mastra's default.
func listOrder(dir string) (desc bool, err error) {
	switch strings.ToUpper(dir) {
	case "", "DESC":
		return true, nil
	case "ASC":
		return false, nil
	}
	return false, transport.Invalid("Invalid query parameters", "direction", "expected ASC or DESC")
}

// checkEntityType refuses an entity type Mastra does not have; what is
// "Invalid query parameters" or "Invalid request body", field the
// filter's name as the caller spelt it.
func checkEntityType(what, field, t string) error {
	if t != "" && !slices.Contains(entityTypes, t) {
		return transport.Invalid(what, field, "expected one of "+strings.Join(entityTypes, ", "))
	}
	return nil
}

// pageJSON is Mastra's pagination answer for page of a listing of total.
func pageJSON(page, perPage, total int) paginationJSON {
	return paginationJSON{Total: total, Page: page, PerPage: perPage, HasMore: (page+1)*perPage < total}
}
