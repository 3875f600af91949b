package transport

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// Auth configures the built-in token check.
type Auth struct {
	Enabled bool
	// Tokens are the accepted credentials; one with an empty Value never
	// matches.
	Tokens []Token
	// Protected and Public are path patterns ([PathMatch]). A path that
	// matches a protected pattern and no public one needs a valid token.
	Protected []string
	Public    []string
	// Verify, when set, checks a presented token that is none of Tokens
	// (a JWT of [server.auth.jwt]) and returns who it binds the request
	// to. Its error is the answer when the path needs a token: an *Error
	// gives the status and message (401, or 503 when the token cannot be
	// checked now); any other error is a 401.
	Verify func(ctx context.Context, token string) (Identity, error)
}

// Identity is the bearer of a token that Auth.Verify accepted. A verified
// token always binds its request to ResourceID.
type Identity struct {
	User       string
	ResourceID string
}

// Token is one accepted credential.
type Token struct {
	User string
	// ResourceID is the resource (tenant) the token's requests are confined
	// to. Unused for an admin token.
	ResourceID string
	// Admin makes the token unbound: it sets no resource, and [IsAdmin]
	// reports true for its requests.
	Admin bool
	// Value is the token itself; String and LogValue never show it.
	Value string
}

// String describes t without its value.
func (t Token) String() string {
	return fmt.Sprintf("{User:%s ResourceID:%s Admin:%t Value:<redacted>}", t.User, t.ResourceID, t.Admin)
}

// LogValue describes t without its value.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", t.User), slog.String("resource_id", t.ResourceID), slog.Bool("admin", t.Admin))
}

// Authenticate is the token check of [Auth]. It expects a RequestContext
// ([RequestContext]) outside it and belongs after CORS, so a preflight
// never needs a token, and before the Wasm middleware and routing, so it
// guards unknown paths too. When a is not enabled it adds nothing.
//
// A request with a valid token (Authorization: Bearer <t>, or ?apiKey=<t>,
// as Mastra reads it) gets the token's user and resource in its
// RequestContext (reqctx.UserKey, reqctx.ResourceIDKey); an admin token
// sets no resource and marks the request for [IsAdmin]. A path that needs a
// token and has no valid one is 401 with WWW-Authenticate. On a public path
// a valid token still counts, and a missing or wrong one is ignored.
//
// A request with more than one Authorization header is 400 whether auth is
// on or not: this check reads the first, a proxy or a plugin may read the
// last, and the two must never disagree about who is calling.
func Authenticate(a Auth) func(http.Handler) http.Handler {
	if !a.Enabled {
		return oneAuthorization
	}
	x := &auth{protected: a.Protected, public: a.Public, verify: a.Verify}
	for _, t := range a.Tokens {
		if t.Value == "" {
			continue // never let "" match a missing token
		}
		x.tokens = append(x.tokens, authToken{sum: sha256.Sum256([]byte(t.Value)), user: t.User, resource: t.ResourceID, admin: t.Admin})
	}
	return func(next http.Handler) http.Handler { return oneAuthorization(x.handler(next)) }
}

// oneAuthorization refuses a request with a repeated Authorization header.
func oneAuthorization(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) > 1 {
			WriteJSON(w, http.StatusBadRequest, errorBody{Error: "Only one Authorization header is allowed", RequestID: RequestID(r.Context())})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminKey marks a request authenticated with an admin token. It lives in
// the Go context, not in the RequestContext map, so no client or plugin can
// set it.
var adminKey = &ctxKey{"admin"}

// tokenUserKey holds the user of the static token a request presented.
var tokenUserKey = &ctxKey{"token-user"}

// TokenUser returns the user of the static token (one of Auth.Tokens) the
// request of ctx presented, if it presented one.
func TokenUser(ctx context.Context) (string, bool) {
	u, ok := ctx.Value(tokenUserKey).(string)
	return u, ok
}

// IsAdmin reports whether the request of ctx presented an admin token.
func IsAdmin(ctx context.Context) bool {
	ok, _ := ctx.Value(adminKey).(bool)
	return ok
}

type auth struct {
	tokens    []authToken
	protected []string
	public    []string
	verify    func(ctx context.Context, token string) (Identity, error)
}

type authToken struct {
	sum      [sha256.Size]byte // of the token: every comparison has one length
	user     string
	resource string
	admin    bool
}

func (a *auth) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPreflight(r) {
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
			ctx := context.WithValue(r.Context(), tokenUserKey, tok.user)
			if tok.admin {
				ctx = context.WithValue(ctx, adminKey, true)
			}
			r = r.WithContext(ctx)
			next.ServeHTTP(w, r)
			return
		}
		var failed error
		if presented != "" && a.verify != nil {
			id, err := a.verify(r.Context(), presented)
			if err == nil {
				if v := reqctx.From(r.Context()); v != nil {
					v.SetString(reqctx.UserKey, id.User)
					v.SetString(reqctx.ResourceIDKey, id.ResourceID)
				}
				next.ServeHTTP(w, r)
				return
			}
			failed = err
		}
		if !a.required(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		challenge := `Bearer realm="mastra-server"`
		if presented != "" {
			challenge += `, error="invalid_token"`
		}
		status, msg := http.StatusUnauthorized, "Invalid or expired token"
		var he *Error
		if errors.As(failed, &he) {
			status, msg = he.Status, he.Message
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", challenge)
		} else {
			w.Header().Set("Retry-After", "5")
		}
		WriteJSON(w, status, errorBody{Error: msg})
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
