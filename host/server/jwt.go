package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/mastra-server/mastra-server/host/server/jwtauth"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// setupJWT builds the verifier of [server.auth.jwt], when configured, and
// hands it to the token check: a bearer that is no static token is then
// tried as a JWT, and a valid one binds its request to the resource its
// claim names, as a static token binds to its resource_id.
func (s *Server) setupJWT() error {
	if s.cfg.JWT.JWKSURL == "" || !s.cfg.Auth.Enabled {
		return nil
	}
	v, err := jwtauth.New(s.cfg.JWT)
	if err != nil {
		return err
	}
	// The static tokens' resources are theirs alone: a JWT whose claim
	// names one (a sub, an org id or any claim the provider lets its users
	// pick) would otherwise be that tenant, its threads and its limits.
	// The server's own resources are no one's: the default one holds what
	// admin requests store without a resource, and plugins' hold their
	// unscoped (e.g. anonymous) calls.
	staticRes := map[string]bool{}
	for _, t := range s.cfg.Auth.Tokens {
		if t.ResourceID != "" {
			staticRes[t.ResourceID] = true
		}
	}
	serverRes := func(r string) bool { return r == s.defRes || (s.reserved != nil && s.reserved(r)) }
	claim := s.cfg.JWT.ResourceClaim
	outage := &keysOutage{log: s.log, jwksURL: s.cfg.JWT.JWKSURL}
	s.cfg.Auth.Verify = func(ctx context.Context, token string) (transport.Identity, error) {
		id, err := v.Verify(ctx, token)
		if errors.Is(err, jwtauth.ErrKeysUnavailable) {
			outage.refused(ctx, err)
		} else if err == nil {
			outage.over(ctx) // a token verified: the keys are back
		}
		switch {
		case err != nil:
		case staticRes[id.Resource]:
			err = &jwtauth.InvalidError{Reason: "the " + claim + " claim names a resource reserved for a static token"}
		case serverRes(id.Resource):
			err = &jwtauth.InvalidError{Reason: "the " + claim + " claim names a resource reserved for the server's own threads"}
		}
		if err != nil {
			return transport.Identity{}, s.jwtError(ctx, err)
		}
		user := id.Subject
		if user == "" {
			user = id.Resource
		}
		return transport.Identity{User: user, ResourceID: id.Resource}, nil
	}
	return nil
}

// jwtError is the answer to a token that did not verify: 401 with the
// reason, or 503 while the provider's keys cannot be had.
func (s *Server) jwtError(ctx context.Context, err error) error {
	var ie *jwtauth.InvalidError
	switch {
	case errors.As(err, &ie):
		s.log.DebugContext(ctx, "jwt refused", "request_id", transport.RequestID(ctx), "err", transport.ClipErr(err))
		return &transport.Error{Status: http.StatusUnauthorized, Message: "Invalid token: " + ie.Reason, Err: err}
	case errors.Is(err, jwtauth.ErrKeysUnavailable):
		// Said once per outage by keysOutage; here only in detail.
		s.log.DebugContext(ctx, "jwt cannot be checked: identity provider keys unavailable", "request_id", transport.RequestID(ctx),
			"err", transport.ClipErr(err))
		return &transport.Error{Status: http.StatusServiceUnavailable, Message: "Cannot check the token now: the identity provider's signing keys (JWKS) are unavailable", Err: err}
	}
	return &transport.Error{Status: http.StatusUnauthorized, Message: "Invalid or expired token", Err: err}
}

// keysOutage logs an outage of the identity provider's keys once when it
// begins (with its cause) and once when it ends (with the requests it
// refused), instead of a warning per request while the provider is down.
type keysOutage struct {
	log     *slog.Logger
	jwksURL string

	down     atomic.Bool // read without the lock by every verified token
	mu       sync.Mutex  // guards refusedN and the transitions of down
	refusedN int
}

// refused counts a request refused for want of keys; the first of an
// outage logs the warning.
func (o *keysOutage) refused(ctx context.Context, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refusedN++
	if o.down.Load() {
		return
	}
	o.down.Store(true)
	o.log.WarnContext(ctx, "jwt cannot be checked: identity provider keys unavailable; JWT requests answer 503 until they are back",
		"jwks_url", o.jwksURL, "err", transport.ClipErr(err))
}

// over ends the outage, if there is one, and says how many requests it refused.
func (o *keysOutage) over(ctx context.Context) {
	if !o.down.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down.Load() {
		return // another request ended it
	}
	o.down.Store(false)
	o.log.InfoContext(ctx, fmt.Sprintf("identity provider keys available again after %d refused requests", o.refusedN),
		"jwks_url", o.jwksURL, "refused", o.refusedN)
	o.refusedN = 0
}
