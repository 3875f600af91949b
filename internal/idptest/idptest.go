// Package idptest is test support: an in-process identity provider that
// publishes a JWKS over HTTP and signs real JWTs with the matching private
// keys (RSA, P-256 and Ed25519), so tests of [server.auth.jwt] check real
// signatures. It can rotate its keys and go down.
//
// Only tests import this package; production code never does.
package idptest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Provider is a running identity provider.
type Provider struct {
	// URL is the JWKS address; Issuer the iss its tokens carry.
	URL, Issuer string

	t       testing.TB
	mu      sync.Mutex         // guards keys, gen
	keys    map[string]jwk.Key // private keys by algorithm of the current generation
	gen     int
	down    atomic.Bool
	fetches atomic.Int64
}

// New starts a provider with one key per algorithm (RS256, ES256, EdDSA).
func New(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{t: t}
	p.Rotate()
	ts := httptest.NewServer(http.HandlerFunc(p.serveJWKS))
	t.Cleanup(ts.Close)
	p.URL = ts.URL + "/.well-known/jwks.json"
	p.Issuer = ts.URL + "/"
	return p
}

func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.fetches.Add(1)
	if p.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	p.mu.Lock()
	set := jwk.NewSet()
	for _, k := range p.keys {
		pub, err := k.PublicKey()
		if err != nil {
			p.mu.Unlock()
			http.Error(w, err.Error(), 500)
			return
		}
		_ = set.AddKey(pub)
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// Rotate replaces every key with a new one under a new kid; the JWKS then
// publishes only the new keys.
func (p *Provider) Rotate() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		p.t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	p.keys = map[string]jwk.Key{}
	for alg, raw := range map[string]any{"RS256": rsaKey, "ES256": ecKey, "EdDSA": edKey} {
		k, err := jwk.Import(raw)
		if err != nil {
			p.t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, fmt.Sprintf("%s-%d", alg, p.gen))
		p.keys[alg] = k
	}
}

// SetDown makes the JWKS answer 503 (true) or serve again (false).
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

// Fetches is how many times the JWKS was requested.
func (p *Provider) Fetches() int { return int(p.fetches.Load()) }

// Key is the private key of alg in the current generation.
func (p *Provider) Key(alg string) jwk.Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[alg]
}

// PublicKeyPEM is the public RSA key in PEM form, what an attacker trying
// HMAC confusion would use as the HMAC secret.
func (p *Provider) PublicKeyPEM() []byte {
	p.t.Helper()
	pub, err := p.Key("RS256").PublicKey()
	if err != nil {
		p.t.Fatal(err)
	}
	b, err := jwk.EncodePEM(pub)
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// Claims are a token's claims; Valid fills the usual ones.
type Claims map[string]any

// Valid is a token for sub valid from a minute ago for an hour, with iss
// and aud set; extra claims are added or override.
func (p *Provider) Valid(sub, aud string, extra Claims) Claims {
	now := time.Now()
	c := Claims{"iss": p.Issuer, "sub": sub, "aud": aud, "iat": now.Add(-time.Minute).Unix(),
		"nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// Sign signs claims with the current key of alg (RS256, ES256, EdDSA).
func (p *Provider) Sign(alg string, c Claims) string {
	p.t.Helper()
	tok := jwt.New()
	for k, v := range c {
		if err := tok.Set(k, v); err != nil {
			p.t.Fatalf("claim %s: %v", k, err)
		}
	}
	payload, err := json.Marshal(tok)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.signPayload(alg, payload)
}

// SignRaw signs the JSON of c as it is, with the current key of alg, for
// claims that Sign's typed token refuses (a number as sub): a token only a
// careless or hostile issuer would make, yet correctly signed.
func (p *Provider) SignRaw(alg string, c Claims) string {
	p.t.Helper()
	payload, err := json.Marshal(c)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.signPayload(alg, payload)
}

// signPayload signs payload with the current key of alg; the key's kid
// goes in the protected header.
func (p *Provider) signPayload(alg string, payload []byte) string {
	p.t.Helper()
	a, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		p.t.Fatalf("no algorithm %s", alg)
	}
	b, err := jws.Sign(payload, jws.WithKey(a, p.Key(alg)))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}
