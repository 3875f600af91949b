package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/idptest"
)

// withJWT turns on auth with the static tokens of withAuth and the JWTs of
// idp, whose resource is the sub claim.
func withJWT(idp *idptest.Provider, claim string) func(*Config) {
	return func(c *Config) {
		withAuth(c)
		c.JWT = JWT{JWKSURL: idp.URL, Issuer: idp.Issuer, Audience: "mastra-api", ResourceClaim: claim,
			Algorithms: []string{"RS256", "ES256", "EdDSA"}, Leeway: 30 * time.Second, MinRefresh: time.Millisecond}
	}
}

func bearer(tok string) []string {
	return []string{"Authorization", "Bearer " + tok, "Content-Type", jsonCT}
}

// TestJWTAuth: JWTs of a real (local) identity provider, side by side with
// static tokens. The claim decides the resource whatever the client names,
// two users never see each other's threads, and every bad token is a 401
// JSON answer before anything runs.
func TestJWTAuth(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		idp := idptest.New(t)
		base := memoryServer(t, store, withJWT(idp, "sub"))
		carol := idp.Sign("RS256", idp.Valid("user_carol", "mastra-api", nil))
		dave := idp.Sign("EdDSA", idp.Valid("user_dave", "mastra-api", nil))

		r := do(t, "POST", base+"/agent/generate", `{"message":"carol-secret","threadId":"c-thread","resourceId":"user_dave"}`, bearer(carol)...)
		if r.status != 200 || r.body["resourceId"] != "user_carol" {
			t.Fatalf("carol generate = %d %s; want it saved under user_carol", r.status, r.raw)
		}
		r = do(t, "POST", base+"/api/agents/assistant/generate", `{"messages":"dave-secret","memory":{"thread":"d-thread","resource":"user_carol"}}`, bearer(dave)...)
		if r.status != 200 || r.body["resourceId"] != "user_dave" {
			t.Fatalf("dave generate = %d %s; want it saved under user_dave", r.status, r.raw)
		}
		// The static token works beside the JWTs.
		if r = do(t, "POST", base+"/agent/generate", `{"message":"alice","threadId":"a-thread"}`, bearer(aliceToken)...); r.status != 200 || r.body["resourceId"] != "res-alice" {
			t.Fatalf("static token generate = %d %s", r.status, r.raw)
		}
		for _, q := range []string{"", "?resourceId=user_dave"} {
			r = do(t, "GET", base+"/api/memory/threads"+q, "", bearer(carol)...)
			if ids := threadIDs(t, r); r.status != 200 || strings.Join(ids, ",") != "c-thread" {
				t.Errorf("carol lists %q = %d %v; want only c-thread", q, r.status, ids)
			}
		}
		if r = do(t, "GET", base+"/api/memory/threads/d-thread/messages", "", bearer(carol)...); r.status != 404 || strings.Contains(r.raw, "dave-secret") {
			t.Errorf("carol reads dave's thread = %d %s; want 404", r.status, r.raw)
		}
		if r = do(t, "POST", base+"/agent/generate", `{"message":"hijack","threadId":"d-thread"}`, bearer(carol)...); r.status != 409 {
			t.Errorf("carol writes to dave's thread = %d %s; want 409", r.status, r.raw)
		}
		if r = do(t, "GET", base+"/api/memory/threads/d-thread/messages", "", bearer(dave)...); r.status != 200 || !strings.Contains(r.raw, "dave-secret") || strings.Contains(r.raw, "hijack") {
			t.Errorf("dave reads his thread = %d %s; want his message only", r.status, r.raw)
		}

		now := time.Now()
		parts := strings.Split(carol, ".")
		b64 := base64.RawURLEncoding.EncodeToString
		hsHeader := b64([]byte(`{"alg":"HS256","typ":"JWT","kid":"RS256-1"}`))
		mac := hmac.New(sha256.New, idp.PublicKeyPEM())
		mac.Write([]byte(hsHeader + "." + parts[1]))
		for _, c := range []struct{ name, tok, msg string }{
			{"expired", idp.Sign("RS256", idp.Valid("user_carol", "mastra-api", idptest.Claims{"exp": now.Add(-time.Hour).Unix()})), "Invalid token: expired"},
			{"not yet valid", idp.Sign("RS256", idp.Valid("user_carol", "mastra-api", idptest.Claims{"nbf": now.Add(time.Hour).Unix()})), "Invalid token: not valid yet"},
			{"wrong issuer", idp.Sign("ES256", idp.Valid("user_carol", "mastra-api", idptest.Claims{"iss": "https://other.example/"})), "Invalid token: wrong issuer"},
			{"wrong audience", idp.Sign("ES256", idp.Valid("user_carol", "another-api", nil)), "Invalid token: wrong audience"},
			{"alg none", b64([]byte(`{"alg":"none","kid":"RS256-1"}`)) + "." + parts[1] + ".", `Invalid token: algorithm "none" not accepted`},
			{"HMAC with the public key", hsHeader + "." + parts[1] + "." + b64(mac.Sum(nil)), `Invalid token: algorithm "HS256" not accepted`},
			{"no resource claim", idp.Sign("RS256", idp.Valid("", "mastra-api", idptest.Claims{"sub": nil})), "Invalid token: no sub claim"},
			// N6, I5: the default resource is the server's (admin requests
			// without one), and a number is no resource.
			{"default resource", idp.Sign("RS256", idp.Valid("anon", "mastra-api", nil)), "Invalid token: the sub claim names a resource reserved for the server's own threads"},
			{"sub a number", idp.SignRaw("RS256", idp.Valid("", "mastra-api", idptest.Claims{"sub": 12345})), "Invalid token: no usable sub claim (not a string)"},
			{"not a token", "tok-nobody", "Invalid token: not a signed JWT"},
		} {
			r = do(t, "POST", base+"/agent/generate", `{"message":"x","threadId":"c-thread"}`, bearer(c.tok)...)
			if r.status != 401 || r.body["error"] != c.msg || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: = %d %s (WWW-Authenticate %q); want 401 %q", c.name, r.status, r.raw, r.header.Get("WWW-Authenticate"), c.msg)
			}
		}
		// Nothing of the refused requests was saved.
		if r = do(t, "GET", base+"/api/memory/threads/c-thread/messages", "", bearer(carol)...); r.status != 200 || strings.Count(r.raw, `"role":"user"`) != 1 {
			t.Errorf("carol's thread after refused tokens = %d %s; want her one turn", r.status, r.raw)
		}
	})
}

// TestJWTKeyRotation: the provider rotates its keys; a token with the new
// kid makes the server refetch the JWKS and is accepted; a token of the
// old key is then refused.
func TestJWTKeyRotation(t *testing.T) {
	idp := idptest.New(t)
	base := memoryServer(t, openSQLite(t), withJWT(idp, "org_id"))
	old := idp.Sign("ES256", idp.Valid("u1", "mastra-api", idptest.Claims{"org_id": "org-1"}))
	if r := do(t, "POST", base+"/agent/generate", `{"message":"one"}`, bearer(old)...); r.status != 200 || r.body["resourceId"] != "org-1" {
		t.Fatalf("first token = %d %s; want 200 under org-1", r.status, r.raw)
	}
	idp.Rotate()
	time.Sleep(2 * time.Millisecond) // past MinRefresh
	rotated := idp.Sign("ES256", idp.Valid("u1", "mastra-api", idptest.Claims{"org_id": "org-1"}))
	if r := do(t, "POST", base+"/agent/generate", `{"message":"two"}`, bearer(rotated)...); r.status != 200 || r.body["resourceId"] != "org-1" {
		t.Fatalf("token of the rotated key = %d %s; want 200 under org-1", r.status, r.raw)
	}
	if n := idp.Fetches(); n != 2 {
		t.Errorf("JWKS fetched %d times; want 2 (first use, unknown kid)", n)
	}
	if r := do(t, "POST", base+"/agent/generate", `{"message":"three"}`, bearer(old)...); r.status != 401 {
		t.Errorf("token of the retired key = %d %s; want 401", r.status, r.raw)
	}
}

// TestJWTProviderDown: with the JWKS unreachable, a JWT gets a clear 503
// JSON answer (no panic, no 500), static tokens keep working, and once the
// provider is back the same JWT is accepted.
func TestJWTProviderDown(t *testing.T) {
	idp := idptest.New(t)
	base := memoryServer(t, openSQLite(t), withJWT(idp, "sub"))
	tok := idp.Sign("RS256", idp.Valid("user_carol", "mastra-api", nil))
	idp.SetDown(true)
	r := do(t, "POST", base+"/agent/generate", `{"message":"x"}`, bearer(tok)...)
	if r.status != 503 || !strings.Contains(r.body["error"].(string), "JWKS") || r.header.Get("Retry-After") == "" {
		t.Fatalf("JWT with the provider down = %d %s; want 503 naming the JWKS, with Retry-After", r.status, r.raw)
	}
	if r = do(t, "POST", base+"/agent/generate", `{"message":"x"}`, bearer(aliceToken)...); r.status != 200 {
		t.Errorf("static token with the provider down = %d %s; want 200", r.status, r.raw)
	}
	idp.SetDown(false)
	deadline := time.Now().Add(5 * time.Second) // the verifier waits a second between failed fetches
	for {
		r = do(t, "POST", base+"/agent/generate", `{"message":"x"}`, bearer(tok)...)
		if r.status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.status != 200 || r.body["resourceId"] != "user_carol" {
		t.Errorf("JWT once the provider is back = %d %s; want 200", r.status, r.raw)
	}
}

// TestJWTProviderDownWarnsOnce: while the JWKS answers errors, the log
// says so once (with the cause), not once per refused request, and once
// more when the keys are back, counting the requests refused meanwhile.
func TestJWTProviderDownWarnsOnce(t *testing.T) {
	idp := idptest.New(t)
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := loggedMemoryServer(t, openSQLite(t), log, withJWT(idp, "sub"))
	tok := idp.Sign("RS256", idp.Valid("user_carol", "mastra-api", nil))
	idp.SetDown(true)
	const down = 5
	for range down {
		if r := do(t, "POST", base+"/agent/generate", `{"message":"x"}`, bearer(tok)...); r.status != 503 {
			t.Fatalf("JWT with the provider down = %d %s; want 503", r.status, r.raw)
		}
	}
	idp.SetDown(false)
	deadline := time.Now().Add(5 * time.Second) // the verifier waits a second between failed fetches
	refused := down
	for {
		r := do(t, "POST", base+"/agent/generate", `{"message":"x"}`, bearer(tok)...)
		if r.status == 200 || time.Now().After(deadline) {
			break
		}
		refused++
		time.Sleep(100 * time.Millisecond)
	}
	do(t, "POST", base+"/agent/generate", `{"message":"x"}`, bearer(tok)...)

	var warns, backs []string
	for _, l := range logs.lines() {
		switch {
		case strings.Contains(l, "level=WARN") && strings.Contains(l, "identity provider keys unavailable"):
			warns = append(warns, l)
		case strings.Contains(l, "level=INFO") && strings.Contains(l, "available again"):
			backs = append(backs, l)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "status 503") {
		t.Errorf("%d warnings of unavailable keys for %d refused requests; want 1 naming the cause (status 503):\n%s",
			len(warns), down, strings.Join(warns, "\n"))
	}
	want := fmt.Sprintf("after %d refused requests", refused)
	if len(backs) != 1 || !strings.Contains(backs[0], want) {
		t.Errorf("%d lines saying the keys are back; want 1 saying %q:\n%s", len(backs), want, strings.Join(backs, "\n"))
	}
}

// TestJWTCannotTakeStaticTokensResource: a JWT whose resource claim names
// the resource_id of a static token is refused (401), so a user of the
// identity provider with such a sub (or org id, or any claim the provider
// lets its users pick) never reads or writes that token's tenant, nor
// spends its limits.
func TestJWTCannotTakeStaticTokensResource(t *testing.T) {
	bothStores(t, func(t *testing.T, store *memory.Store) {
		idp := idptest.New(t)
		base := memoryServer(t, store, withJWT(idp, "sub"))
		if r := do(t, "POST", base+"/agent/generate", `{"message":"alice-secret","threadId":"a-thread"}`, bearer(aliceToken)...); r.status != 200 {
			t.Fatalf("alice generate = %d %s", r.status, r.raw)
		}
		mallory := idp.Sign("ES256", idp.Valid("res-alice", "mastra-api", nil))
		r := do(t, "GET", base+"/api/memory/threads/a-thread/messages", "", bearer(mallory)...)
		if r.status != 401 || strings.Contains(r.raw, "alice-secret") {
			t.Fatalf("JWT with sub=res-alice reads alice's thread = %d %s; want 401", r.status, r.raw)
		}
		if r.body["error"] != "Invalid token: the sub claim names a resource reserved for a static token" {
			t.Errorf("error = %q", r.body["error"])
		}
		if r := do(t, "POST", base+"/agent/generate", `{"message":"x","threadId":"a-thread"}`, bearer(mallory)...); r.status != 401 {
			t.Errorf("JWT with sub=res-alice writes to alice's thread = %d %s; want 401", r.status, r.raw)
		}
	})
}
