package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Config is [server.auth.jwt] as plain values. JWKSURL, Issuer,
// ResourceClaim and Algorithms are required; [New] checks them.
type Config struct {
	// JWKSURL is where the provider publishes its signing keys.
	JWKSURL string
	// Issuer must equal the token's iss.
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// ResourceClaim names the claim whose (string) value is the request's
	// resource: "sub" for one resource per user, "org_id" per organization;
	// a dotted path ("o.id") reaches into a nested object.
	ResourceClaim string
	// Algorithms are the accepted signature algorithms, among
	// [SupportedAlgorithms].
	Algorithms []string
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
	// MaxAge is how long a fetched key set is used before it is fetched
	// again; 0 means 1 hour.
	MaxAge time.Duration
	// MinRefresh is the least time between two fetches caused by unknown
	// kids; 0 means 30 seconds.
	MinRefresh time.Duration
	// Client fetches the key set; nil is a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock; nil is time.Now. For tests.
	Now func() time.Time
}

// SupportedAlgorithms are the algorithms Config.Algorithms may name: the
// asymmetric ones identity providers sign with. HMAC algorithms are left
// out on purpose: with a public key set, an HMAC "signature" could be made
// by anyone holding the public key.
var SupportedAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// Identity is what a verified token says about its bearer.
type Identity struct {
	// Subject is the sub claim ("" when absent).
	Subject string
	// Resource is the value of the resource claim, never "".
	Resource string
}

// ErrKeysUnavailable means the key set could not be fetched and none is
// kept, so no token can be checked now: the provider is down or its URL
// wrong.
var ErrKeysUnavailable = errors.New("jwtauth: signing keys (JWKS) unavailable")

// InvalidError is a token that does not verify. Reason is short and safe to
// show to the token's bearer ("expired", "wrong issuer").
type InvalidError struct {
	Reason string
	Err    error // the library's detail, for logs
}

func (e *InvalidError) Error() string {
	if e.Err != nil {
		return "jwtauth: invalid token: " + e.Reason + ": " + e.Err.Error()
	}
	return "jwtauth: invalid token: " + e.Reason
}

func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(reason string, err error) error { return &InvalidError{Reason: reason, Err: err} }

// maxResourceBytes bounds the resource claim, as host/server bounds every
// id a client sends.
const maxResourceBytes = 255

// Verifier checks tokens against one provider's key set. It is safe for
// concurrent use.
type Verifier struct {
	cfg   Config
	algs  []jwa.SignatureAlgorithm
	now   func() time.Time
	clock jwt.Clock

	keys atomic.Pointer[keySet] // the set in use; nil before the first fetch

	fetchMu   sync.Mutex // one fetch at a time; guards lastFetch
	lastFetch time.Time  // the end of the last attempt, successful or not
}

// keySet is a fetched JWKS and when it was fetched.
type keySet struct {
	set jwk.Set
	at  time.Time
}

// New checks c and returns its verifier. It fetches nothing yet: an
// identity provider that is down at start does not stop the server.
func New(c Config) (*Verifier, error) {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, "server.auth.jwt."+key+": "+fmt.Sprintf(format, args...))
	}
	if u, err := url.Parse(c.JWKSURL); c.JWKSURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("jwks_url", "expected the http(s) URL of the provider's JWKS, got %q", c.JWKSURL)
	}
	if c.Issuer == "" {
		bad("issuer", "expected the issuer (iss) the tokens must carry")
	}
	if c.ResourceClaim == "" {
		bad("resource_claim", "expected the claim that names the resource, such as \"sub\" or \"org_id\"")
	}
	if len(c.Algorithms) == 0 {
		bad("algorithms", "expected at least one of %s", strings.Join(SupportedAlgorithms, ", "))
	}
	v := &Verifier{cfg: c, now: c.Now}
	for _, a := range c.Algorithms {
		alg, ok := jwa.LookupSignatureAlgorithm(a)
		if !ok || !slices.Contains(SupportedAlgorithms, a) {
			bad("algorithms", "%q is not accepted; expected one of %s (never none or HMAC)", a, strings.Join(SupportedAlgorithms, ", "))
			continue
		}
		v.algs = append(v.algs, alg)
	}
	if c.Leeway < 0 {
		bad("leeway", "expected zero or a positive duration, got %s", c.Leeway)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.cfg.MaxAge <= 0 {
		v.cfg.MaxAge = time.Hour
	}
	if v.cfg.MinRefresh <= 0 {
		v.cfg.MinRefresh = 30 * time.Second
	}
	if v.cfg.Client == nil {
		v.cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	v.clock = jwt.ClockFunc(v.now)
	return v, nil
}

// Verify checks token and returns its identity. The error is an
// *InvalidError for a token that does not verify, or wraps
// ErrKeysUnavailable when it cannot be checked now.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	msg, err := jws.ParseString(token)
	if err != nil {
		return Identity{}, invalid("not a signed JWT", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return Identity{}, invalid("expected exactly one signature", nil)
	}
	hdr := sigs[0].ProtectedHeaders()
	alg, ok := hdr.Algorithm()
	if !ok || !slices.Contains(v.algs, alg) {
		// "none", HS256 and every algorithm not configured end here,
		// before any key is looked at.
		return Identity{}, invalid(fmt.Sprintf("algorithm %q not accepted", alg.String()), nil)
	}
	kid, _ := hdr.KeyID()
	if kid == "" {
		return Identity{}, invalid("no key id (kid) in the header", nil)
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return Identity{}, err
	}
	if err := keyFits(key, alg); err != nil {
		return Identity{}, err
	}
	// The signature first, on its own, so that a token whose signature
	// holds but whose claims jwx cannot read (a number as sub) is not
	// refused as "bad signature".
	payload, err := jws.Verify([]byte(token), jws.WithKey(alg, key))
	if err != nil {
		return Identity{}, invalid("bad signature", err)
	}
	opts := []jwt.ParseOption{
		jwt.WithVerify(false), // verified above; payload is what was signed
		jwt.WithValidate(true),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAcceptableSkew(v.cfg.Leeway),
		jwt.WithClock(v.clock),
		jwt.WithRequiredClaim("exp"),
	}
	if v.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience))
	}
	tok, err := jwt.Parse(payload, opts...)
	if err != nil {
		return Identity{}, invalid(v.reason(payload, err), err)
	}
	var id Identity
	id.Subject, _ = tok.Subject()
	claim, ok := lookupClaim(tok, v.cfg.ResourceClaim)
	if !ok {
		return Identity{}, invalid("no "+v.cfg.ResourceClaim+" claim", nil)
	}
	res, ok := claim.(string)
	switch {
	case !ok:
		return Identity{}, invalid(v.unusableClaim(), nil)
	case res == "":
		return Identity{}, invalid("the "+v.cfg.ResourceClaim+" claim is empty", nil)
	case len(res) > maxResourceBytes || !utf8.ValidString(res) || strings.ContainsFunc(res, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return Identity{}, invalid("the "+v.cfg.ResourceClaim+" claim is not a usable resource id", nil)
	}
	id.Resource = res
	return id, nil
}

// lookupClaim finds a claim by name, or by a dotted path into nested
// objects ("o.id": Clerk's organization id in its v2 session tokens) when
// no top-level claim has the whole name.
func lookupClaim(tok jwt.Token, name string) (any, bool) {
	var v any
	if err := tok.Get(name, &v); err == nil {
		return v, true
	}
	first, rest, nested := strings.Cut(name, ".")
	if !nested || tok.Get(first, &v) != nil {
		return nil, false
	}
	for _, key := range strings.Split(rest, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// unusableClaim is the reason for a resource claim that is there but not a
// string.
func (v *Verifier) unusableClaim() string {
	return "no usable " + v.cfg.ResourceClaim + " claim (not a string)"
}

// reason names a failure of jwx to read or validate the signed claims
// (payload) for the bearer.
func (v *Verifier) reason(payload []byte, err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "expired"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "not valid yet"
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return "issued in the future"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "wrong issuer"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "wrong audience"
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return "no expiry (exp)"
	case errors.Is(err, jwt.ValidateError()):
		return "claims not valid"
	}
	// jwx reads the registered claims (sub, iss, exp…) typed: one of the
	// wrong type fails the parse. Name the resource claim when it is the
	// one, as a present but non-string claim is named below.
	var claims map[string]any
	if json.Unmarshal(payload, &claims) == nil {
		if c, ok := claims[v.cfg.ResourceClaim]; ok {
			if _, isString := c.(string); !isString {
				return v.unusableClaim()
			}
		}
	}
	return "claims not readable"
}

// keyFits checks that key is of the type alg needs, and that a key which
// names its algorithm names this one.
func keyFits(key jwk.Key, alg jwa.SignatureAlgorithm) error {
	want := map[string]jwa.KeyType{"RS256": jwa.RSA(), "ES256": jwa.EC(), "EdDSA": jwa.OKP()}[alg.String()]
	if key.KeyType() != want {
		return invalid(fmt.Sprintf("key is %s, algorithm %s needs %s", key.KeyType(), alg, want), nil)
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return invalid(fmt.Sprintf("key is for %s, not %s", ka, alg), nil)
	}
	return nil
}

// key returns the key with kid, fetching the set when none is kept, when
// the kept one is older than MaxAge, or when kid is unknown (at most once
// per MinRefresh).
func (v *Verifier) key(ctx context.Context, kid string) (jwk.Key, error) {
	ks := v.keys.Load()
	if ks != nil && v.now().Sub(ks.at) < v.cfg.MaxAge {
		if k, ok := ks.set.LookupKeyID(kid); ok {
			return k, nil
		}
	}
	ks, err := v.refresh(ctx, ks)
	if ks == nil {
		return nil, err
	}
	if k, ok := ks.set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, invalid("unknown key id (kid) "+clip(kid), nil)
}

// refresh fetches the set unless another caller did since seen was loaded,
// or the last attempt is more recent than MinRefresh. It returns the set to
// use (possibly the old one) and the fetch error, if any.
func (v *Verifier) refresh(ctx context.Context, seen *keySet) (*keySet, error) {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	cur := v.keys.Load()
	if cur != seen {
		return cur, nil // fetched by another request meanwhile
	}
	if cur != nil && v.now().Sub(v.lastFetch) < v.cfg.MinRefresh {
		// Bounded: an unknown kid may not refetch yet, and neither may a
		// stale set whose refetch just failed. Without this, a provider
		// that is slow or down past MaxAge made every request fetch in
		// turn under fetchMu, each waiting for the ones before it.
		return cur, nil
	}
	if cur == nil && !v.lastFetch.IsZero() && v.now().Sub(v.lastFetch) < time.Second {
		// The provider just failed: don't let every request wait on it.
		return nil, fmt.Errorf("%w: last fetch failed less than a second ago", ErrKeysUnavailable)
	}
	set, err := v.fetch(ctx)
	// When the attempt ended, not began: the requests queued on fetchMu
	// behind a slow fetch then see it as just made and do not repeat it.
	v.lastFetch = v.now()
	if err != nil {
		if cur != nil {
			return cur, err // keep using what we have
		}
		return nil, err
	}
	ks := &keySet{set: set, at: v.now()}
	v.keys.Store(ks)
	return ks, nil
}

// fetch downloads and parses the key set.
func (v *Verifier) fetch(ctx context.Context) (jwk.Set, error) {
	// The request's cancellation should not waste a fetch other requests
	// wait for; the client's timeout bounds it.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := v.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: status %d", ErrKeysUnavailable, v.cfg.JWKSURL, res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: read: %v", ErrKeysUnavailable, err)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %v", ErrKeysUnavailable, err)
	}
	return set, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
