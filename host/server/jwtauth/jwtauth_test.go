package jwtauth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/server/jwtauth"
	"github.com/mastra-server/mastra-server/internal/idptest"
)

// clock is a settable time for the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newVerifier(t *testing.T, idp *idptest.Provider, edit func(*jwtauth.Config)) (*jwtauth.Verifier, *clock) {
	t.Helper()
	clk := &clock{t: time.Now()}
	c := jwtauth.Config{JWKSURL: idp.URL, Issuer: idp.Issuer, Audience: "api", ResourceClaim: "sub",
		Algorithms: []string{"RS256", "ES256", "EdDSA"}, Leeway: 30 * time.Second, MinRefresh: 10 * time.Second, Now: clk.now}
	if edit != nil {
		edit(&c)
	}
	v, err := jwtauth.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return v, clk
}

func reasonOf(err error) string {
	var ie *jwtauth.InvalidError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return ""
}

func TestVerifyClaims(t *testing.T) {
	idp := idptest.New(t)
	v, _ := newVerifier(t, idp, func(c *jwtauth.Config) { c.ResourceClaim = "org_id" })
	now := time.Now()
	cases := []struct {
		name   string
		alg    string
		claims idptest.Claims
		reason string // "" = valid
	}{
		{"rs256", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1"}), ""},
		{"es256", "ES256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1"}), ""},
		{"eddsa", "EdDSA", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1"}), ""},
		{"aud list", "RS256", idp.Valid("u1", "", idptest.Claims{"org_id": "org-1", "aud": []string{"other", "api"}}), ""},
		{"expired", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1", "exp": now.Add(-time.Minute).Unix()}), "expired"},
		{"expired within leeway", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1", "exp": now.Add(-10 * time.Second).Unix()}), ""},
		{"not yet valid within leeway", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1", "nbf": now.Add(10 * time.Second).Unix()}), ""},
		{"not yet valid outside leeway", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1", "nbf": now.Add(5 * time.Minute).Unix()}), "not valid yet"},
		{"wrong issuer", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1", "iss": "https://evil.example/"}), "wrong issuer"},
		{"wrong audience", "RS256", idp.Valid("u1", "other", idptest.Claims{"org_id": "org-1"}), "wrong audience"},
		{"no exp", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "org-1", "exp": nil}), "no expiry (exp)"},
		{"no resource claim", "RS256", idp.Valid("u1", "api", nil), "no org_id claim"},
		{"resource claim not a string", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": 42}), "no usable org_id claim (not a string)"},
		{"resource claim with newline", "RS256", idp.Valid("u1", "api", idptest.Claims{"org_id": "a\nb"}), "the org_id claim is not a usable resource id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.reason == "" {
				// The same token read through a dotted path, as Clerk's
				// v2 tokens nest the organization: {"o": {"id": …}}.
				nested := idptest.Claims{}
				for k, val := range c.claims {
					nested[k] = val
				}
				nested["o"] = map[string]any{"id": "org-1", "rol": "admin"}
				vn, _ := newVerifier(t, idp, func(c *jwtauth.Config) { c.ResourceClaim = "o.id" })
				if id, err := vn.Verify(context.Background(), idp.Sign(c.alg, nested)); err != nil || id.Resource != "org-1" {
					t.Errorf("Verify with claim o.id = %+v, %v; want resource org-1", id, err)
				}
			}
			id, err := v.Verify(context.Background(), idp.Sign(c.alg, c.claims))
			if c.reason == "" {
				if err != nil || id.Resource != "org-1" || id.Subject != "u1" {
					t.Fatalf("Verify = %+v, %v; want resource org-1, subject u1", id, err)
				}
				return
			}
			if got := reasonOf(err); got != c.reason {
				t.Fatalf("Verify = %+v, %v (reason %q); want reason %q", id, err, got, c.reason)
			}
		})
	}
}

// I5: a correctly signed token whose sub is a number is refused for what
// it is, not as "bad signature"; a tampered one with the same claims still
// is a bad signature.
func TestClaimOfWrongType(t *testing.T) {
	idp := idptest.New(t)
	bySub, _ := newVerifier(t, idp, nil)
	byOrg, _ := newVerifier(t, idp, func(c *jwtauth.Config) { c.ResourceClaim = "org_id" })
	numeric := idp.SignRaw("RS256", idp.Valid("", "api", idptest.Claims{"sub": 12345, "org_id": "org-1"}))
	parts := strings.Split(numeric, ".")
	other := strings.Split(idp.SignRaw("RS256", idp.Valid("", "api", idptest.Claims{"sub": 54321})), ".")
	for _, c := range []struct {
		name   string
		v      *jwtauth.Verifier
		tok    string
		reason string
	}{
		{"sub a number, resource claim sub", bySub, numeric, "no usable sub claim (not a string)"},
		{"sub a number, resource claim org_id", byOrg, numeric, "claims not readable"},
		{"tampered", bySub, parts[0] + "." + other[1] + "." + parts[2], "bad signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := c.v.Verify(context.Background(), c.tok)
			if got := reasonOf(err); got != c.reason {
				t.Fatalf("Verify = %+v, %v (reason %q); want reason %q", id, err, got, c.reason)
			}
		})
	}
}

// TestForgedTokens: alg none, HMAC keyed with the public key, a signature
// from another key, a key of the wrong type, and an algorithm the config
// leaves out are all refused.
func TestForgedTokens(t *testing.T) {
	idp := idptest.New(t)
	v, _ := newVerifier(t, idp, func(c *jwtauth.Config) { c.Algorithms = []string{"RS256", "ES256"} })
	good := idp.Sign("RS256", idp.Valid("u1", "api", nil))
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	payload := parts[1]

	none := b64([]byte(`{"alg":"none","typ":"JWT","kid":"RS256-1"}`)) + "." + payload + "."
	hsHeader := b64([]byte(`{"alg":"HS256","typ":"JWT","kid":"RS256-1"}`))
	mac := hmac.New(sha256.New, idp.PublicKeyPEM())
	mac.Write([]byte(hsHeader + "." + payload))
	hs := hsHeader + "." + payload + "." + b64(mac.Sum(nil))
	// The RS256 header and payload with the ES256 key's kid: a key of the
	// wrong type for the algorithm.
	wrongType := b64([]byte(`{"alg":"RS256","typ":"JWT","kid":"ES256-1"}`)) + "." + payload + "." + parts[2]
	tampered := parts[0] + "." + b64([]byte(`{"iss":"`+idp.Issuer+`","sub":"admin","aud":"api","exp":9999999999}`)) + "." + parts[2]

	for _, c := range []struct{ name, tok, reason string }{
		{"alg none", none, `algorithm "none" not accepted`},
		{"HMAC with the public key", hs, `algorithm "HS256" not accepted`},
		{"EdDSA not configured", idp.Sign("EdDSA", idp.Valid("u1", "api", nil)), `algorithm "EdDSA" not accepted`},
		{"key of the wrong type", wrongType, "key is EC, algorithm RS256 needs RSA"},
		{"tampered payload", tampered, "bad signature"},
		{"garbage", "not.a.jwt", "not a signed JWT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), c.tok)
			if got := reasonOf(err); got != c.reason {
				t.Fatalf("Verify = %+v, %v (reason %q); want reason %q", id, err, got, c.reason)
			}
		})
	}
}

func TestConfigRefusesHMACAndNone(t *testing.T) {
	for _, algs := range [][]string{{"HS256"}, {"none"}, {"RS256", "HS512"}, {}} {
		_, err := jwtauth.New(jwtauth.Config{JWKSURL: "https://idp.example/jwks", Issuer: "x", ResourceClaim: "sub", Algorithms: algs})
		if err == nil || !strings.Contains(err.Error(), "server.auth.jwt.algorithms") {
			t.Errorf("New(algorithms %v) = %v; want an error naming server.auth.jwt.algorithms", algs, err)
		}
	}
	_, err := jwtauth.New(jwtauth.Config{JWKSURL: "ftp://x", Algorithms: []string{"RS256"}})
	for _, key := range []string{"jwks_url", "issuer", "resource_claim"} {
		if err == nil || !strings.Contains(err.Error(), "server.auth.jwt."+key) {
			t.Errorf("New(empty) = %v; want it to name server.auth.jwt.%s", err, key)
		}
	}
}

// TestKeyRotation: the set is fetched once and kept; a token signed with a
// rotated key (unknown kid) refetches it, but unknown kids refetch at most
// once per MinRefresh.
func TestKeyRotation(t *testing.T) {
	idp := idptest.New(t)
	v, clk := newVerifier(t, idp, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := v.Verify(ctx, idp.Sign("ES256", idp.Valid("u1", "api", nil))); err != nil {
			t.Fatal(err)
		}
	}
	if n := idp.Fetches(); n != 1 {
		t.Fatalf("JWKS fetched %d times for 3 tokens; want 1", n)
	}
	clk.add(11 * time.Second)
	idp.Rotate()
	if _, err := v.Verify(ctx, idp.Sign("ES256", idp.Valid("u1", "api", nil))); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	if n := idp.Fetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times after the rotation; want 2", n)
	}
	// Tokens with kids the provider never published: one refetch per
	// MinRefresh at most, however many arrive.
	idp.Rotate()
	forged := idp.Sign("ES256", idp.Valid("u1", "api", nil))
	idp.Rotate() // forged's kid is now unknown to the provider too
	clk.add(11 * time.Second)
	for range 20 {
		if _, err := v.Verify(ctx, forged); !strings.HasPrefix(reasonOf(err), "unknown key id") {
			t.Fatalf("Verify(unknown kid) = %v; want unknown key id", err)
		}
	}
	if n := idp.Fetches(); n != 3 {
		t.Fatalf("JWKS fetched %d times for 20 unknown kids; want 3 (one more)", n)
	}
}

// TestProviderDown: without a kept set, a down provider is
// ErrKeysUnavailable; with one, its keys still verify.
func TestProviderDown(t *testing.T) {
	idp := idptest.New(t)
	v, clk := newVerifier(t, idp, nil)
	ctx := context.Background()
	tok := idp.Sign("RS256", idp.Valid("u1", "api", idptest.Claims{"exp": time.Now().Add(10 * time.Hour).Unix()}))
	idp.SetDown(true)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, jwtauth.ErrKeysUnavailable) {
		t.Fatalf("Verify with the provider down = %v; want ErrKeysUnavailable", err)
	}
	idp.SetDown(false)
	clk.add(2 * time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify once the provider is back: %v", err)
	}
	idp.SetDown(true)
	clk.add(2 * time.Hour) // the set is stale; the refetch fails; the old keys serve
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify with a stale set and the provider down = %v; want the kept keys used", err)
	}
}

// BenchmarkVerify is the cost of a JWT per request, keys kept.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			idp := idptest.New(b)
			v, err := jwtauth.New(jwtauth.Config{JWKSURL: idp.URL, Issuer: idp.Issuer, Audience: "api", ResourceClaim: "sub", Algorithms: []string{alg}})
			if err != nil {
				b.Fatal(err)
			}
			tok := idp.Sign(alg, idp.Valid("u1", "api", nil))
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStaleSetProviderDownRefetchBounded: once the kept set is stale and
// the provider fails, every request must not refetch it. A slow provider
// (up to the client's 10 s each) would otherwise queue every request behind
// one fetch after another on the fetch lock. The stale keys serve, and the
// set is tried again at most once per MinRefresh.
func TestStaleSetProviderDownRefetchBounded(t *testing.T) {
	idp := idptest.New(t)
	v, clk := newVerifier(t, idp, nil)
	ctx := context.Background()
	tok := idp.Sign("RS256", idp.Valid("u1", "api", idptest.Claims{"exp": time.Now().Add(10 * time.Hour).Unix()}))
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	idp.SetDown(true)
	clk.add(2 * time.Hour) // stale
	for range 20 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify with a stale set and the provider down = %v; want the kept keys used", err)
		}
	}
	if n := idp.Fetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times for 20 requests with a stale set and the provider down; want 2 (one retry)", n)
	}
	clk.add(11 * time.Second) // MinRefresh later: tried again, once
	idp.SetDown(false)
	for range 5 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := idp.Fetches(); n != 3 {
		t.Fatalf("JWKS fetched %d times once the provider is back; want 3", n)
	}
}

// TestSlowProviderAtStart: requests queued behind a first fetch that took
// long and failed get ErrKeysUnavailable at once, rather than each making
// its own slow fetch in turn. The JWKS here moves the verifier's clock on
// by 10 s per fetch, as a provider answering at the client's timeout would.
func TestSlowProviderAtStart(t *testing.T) {
	idp := idptest.New(t)
	clk := &clock{t: time.Now()}
	var fetches atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		clk.add(10 * time.Second)
		http.Error(w, "slow and down", http.StatusGatewayTimeout)
	}))
	t.Cleanup(slow.Close)
	v, err := jwtauth.New(jwtauth.Config{JWKSURL: slow.URL, Issuer: idp.Issuer, Audience: "api", ResourceClaim: "sub",
		Algorithms: []string{"RS256"}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	tok := idp.Sign("RS256", idp.Valid("u1", "api", nil))
	for i := range 5 {
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwtauth.ErrKeysUnavailable) {
			t.Fatalf("Verify %d = %v; want ErrKeysUnavailable", i, err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for 5 requests right after a slow failed fetch; want 1", n)
	}
}
