// Package jwtauth verifies the JSON Web Tokens of [server.auth.jwt]: tokens
// an identity provider (Clerk, Supabase, Auth0, any OIDC issuer) signed with
// a key it publishes as a JWKS document.
//
// A [Verifier] checks the signature with the lestrrat-go/jwx library (no
// crypto here), only for the algorithms configured (RS256, ES256, EdDSA;
// never "none", never an HMAC), with a key of the type the algorithm needs;
// then the issuer, the audience, the expiry (required) and the not-before
// time, with a leeway for clock skew. The claim named by ResourceClaim
// becomes the request's resource: a token without it is refused.
//
// # Keys
//
// The JWKS is fetched on first use and kept. A token whose kid is not in
// the kept set refetches it (a rotated key), at most once per MinRefresh
// however many such tokens arrive; a set older than MaxAge is refetched on
// next use. While the provider cannot be reached, tokens whose key is kept
// still verify; without any set, [ErrKeysUnavailable] says so.
//
// jwtauth knows nothing of HTTP requests: host/server turns its errors
// into 401 and 503 answers.
package jwtauth
