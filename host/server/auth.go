package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// auth is the built-in token check of [server.auth]. It runs after CORS and
// /health and before the Wasm middleware and routing, so it guards unknown
// paths too and a preflight never needs a token.
//
// A request with a valid token (Authorization: Bearer <t>, or ?apiKey=<t>)
// gets the token's user and resource in its RequestContext (reqctx.UserKey,
// reqctx.ResourceIDKey); every handler then confines the request to that
// resource (scope.go). An admin token sets no resource: it is unbound.
// Every path is protected by default (server.auth.protected = ["/*"]); a
// protected path that is not public needs a valid token, else 401. On a
// public path a valid token still scopes the request, and a missing or
// wrong one is ignored.
type auth struct {
	tokens    []authToken
	protected []string
	public    []string
}

type authToken struct {
	sum      [sha256.Size]byte // of the token: every comparison has one length
	user     string
	resource string
	admin    bool
}

// newAuth returns nil when auth is disabled.
func newAuth(c Auth) *auth {
	if !c.Enabled {
		return nil
	}
	a := &auth{protected: c.Protected, public: c.Public}
	for _, t := range c.Tokens {
		if t.Value == "" {
			continue // Validate refuses this; never let "" match a missing token
		}
		a.tokens = append(a.tokens, authToken{sum: sha256.Sum256([]byte(t.Value)), user: t.User, resource: t.ResourceID, admin: t.Admin})
	}
	return a
}

func (a *auth) handler(next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			next.ServeHTTP(w, r) // a preflight carries no token
			return
		}
		presented := requestToken(r)
		tok, ok := a.match(presented)
		if ok {
			if v := reqctx.From(r.Context()); v != nil {
				v.SetString(reqctx.UserKey, tok.user)
				if !tok.admin {
					v.SetString(reqctx.ResourceIDKey, tok.resource)
				}
			}
			if tok.admin {
				r = r.WithContext(withAdmin(r.Context()))
			}
			next.ServeHTTP(w, r)
			return
		}
		if !a.required(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		challenge := `Bearer realm="mastra-server"`
		if presented != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "Invalid or expired token"})
	})
}

// required reports whether path needs a token: it matches a protected
// pattern and no public one.
func (a *auth) required(path string) bool {
	for _, p := range a.public {
		if PathMatch(p, path) {
			return false
		}
	}
	for _, p := range a.protected {
		if PathMatch(p, path) {
			return true
		}
	}
	return false
}

// match compares the presented token with every configured one in
// constant time, without stopping at the first match.
func (a *auth) match(presented string) (authToken, bool) {
	if presented == "" {
		return authToken{}, false
	}
	sum := sha256.Sum256([]byte(presented))
	var found authToken
	ok := 0
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			found, ok = t, 1
		}
	}
	return found, ok == 1
}

// requestToken reads the token from the Authorization header (Bearer), then
// from the apiKey query parameter, as Mastra does.
func requestToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return r.URL.Query().Get("apiKey")
}
