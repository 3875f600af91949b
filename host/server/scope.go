package server

import (
	"net/http"
	"net/url"

	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Scoping (DESIGN.md §10): every built-in route decides the resource it acts
// for with resource, and with nothing else. The rules, in order:
//
//  1. A request bound to a resource (a token of [server.auth], or a trusted
//     middleware that set reqctx.ResourceIDKey) acts for that resource only.
//     Whatever resource the client names (query, body, memory.resource,
//     requestContext) is ignored.
//  2. An admin token (admin = true) is not bound: it may name any resource,
//     and where naming none is allowed it reaches every resource.
//  3. Any other request acts for the resource the client names. When it
//     names none, the route's rule decides: a turn uses
//     memory.default_resource_id; a listing and a creation are 400; a read
//     or change of one thread by id reaches any resource only while auth is
//     disabled (Mastra's client-js sends no resourceId there), else 400.
//
// A resource the client names is checked like every id (see validate.go).

// missingResource says what a route does when the client names no resource
// and the request is not bound to one.
type missingResource int

const (
	// useDefault: memory.default_resource_id (root agent turns).
	useDefault missingResource = iota
	// mustName: 400, except for an admin token, which then reaches every
	// resource (listings, the root thread routes).
	mustName
	// mustNameAlways: 400 even for an admin token (creating a thread needs
	// a concrete owner).
	mustNameAlways
	// anyWithoutAuth: every resource while auth is disabled or for an admin
	// token, else 400 (one thread by id, on Mastra's routes).
	anyWithoutAuth
)

// boundResource returns the resource a request is bound to by auth or a
// trusted middleware, if any.
func boundResource(r *http.Request) string {
	if v := reqctx.From(r.Context()); v != nil {
		if id, ok := v.GetString(reqctx.ResourceIDKey); ok {
			return id
		}
	}
	return ""
}

// claim is the resource a client names, and where.
type claim struct {
	id    string
	field string // as reported in a 400: "resourceId", "memory.resource"
	query bool   // named in the query string, not the body
}

// queryClaim is the resourceId of the query string.
func queryClaim(r *http.Request) claim {
	return claim{id: queryResource(r.URL.Query()), field: "resourceId", query: true}
}

// bodyClaim is a resource named in the body under field.
func bodyClaim(id, field string) claim { return claim{id: id, field: field} }

// resource is the one scoping function: the resource request r acts for,
// given the resource the client claims and the route's rule for a missing
// one. "" means every resource and is returned only where the rules allow it.
func (s *Server) resource(r *http.Request, c claim, missing missingResource) (string, error) {
	where := "Invalid request body"
	if c.query {
		where = "Invalid query parameters"
	}
	if id := boundResource(r); id != "" {
		return id, nil
	}
	if c.id != "" {
		if msg := badID(c.id); msg != "" {
			return "", transport.Invalid(where, c.field, msg)
		}
		return c.id, nil
	}
	admin := transport.IsAdmin(r.Context())
	switch missing {
	case useDefault:
		return s.defRes, nil
	case mustName:
		if admin {
			return "", nil
		}
	case anyWithoutAuth:
		if admin || !s.cfg.Auth.Enabled {
			return "", nil
		}
	}
	return "", transport.Invalid(where, c.field, c.field+" is required")
}

// queryResource reads resourceId from the query, or the lowercase
// resourceid that 0.x clients send.
func queryResource(q url.Values) string {
	if id := q.Get("resourceId"); id != "" {
		return id
	}
	return q.Get("resourceid")
}
