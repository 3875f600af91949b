package server

import (
	"fmt"
	"net"
	"net/http"

	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// limitRequests counts each request against its subject (after auth, so
// the subject is known) and answers 429 over the requests per minute. It
// also puts the subject in the request's context, where the agents' turns
// and model calls find it for the token budget. With no limiter, or no
// limit configured anywhere, it adds nothing.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	if s.limiter == nil || !s.anyLimit() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The subject goes in the context even when none of its limits is
		// on: its turns then count against its lifted limits, not the
		// global ones of its resource.
		sub := s.subject(r)
		r = r.WithContext(limits.WithSubject(r.Context(), sub))
		if !sub.Limits.On() {
			next.ServeHTTP(w, r)
			return
		}
		if err := s.limiter.Request(r.Context(), sub); err != nil {
			if _, over := err.(*limits.ExceededError); !over {
				// The shared counters are unreachable (the database is
				// down): the request goes on, and meets the database's
				// own 503 if it needs it.
				s.log.WarnContext(r.Context(), "limits: counting a request failed; not limited", "request_id", transport.RequestID(r.Context()), "err", transport.ClipErr(err))
				next.ServeHTTP(w, r)
				return
			}
			s.errs.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) anyLimit() bool { return s.cfg.Budgets.On() }

// subject is what request r is counted against: the resource it is bound
// to (a static token's resource_id, a JWT's claim), an admin token's user,
// or else the client's address; with the limits of its static token, if
// it presented one that has its own, else the global ones.
func (s *Server) subject(r *http.Request) limits.Subject {
	user, static := transport.TokenUser(r.Context())
	token := ""
	if static {
		token = user
	}
	var key string
	switch {
	case transport.IsAdmin(r.Context()):
		key = "user:" + user
	case boundResource(r) != "":
		key = limits.ResourceSubject(boundResource(r), limits.Limits{}).Key
	default:
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		key = "ip:" + host
	}
	return s.cfg.Budgets.For(key, token)
}

// holdStream takes one of the request's stream slots until release.
func (s *Server) holdStream(r *http.Request) (release func(), err error) {
	sub, ok := limits.SubjectFrom(r.Context())
	if s.limiter == nil || !ok {
		return func() {}, nil
	}
	release, err = s.limiter.AcquireStream(r.Context(), sub)
	if err != nil {
		if _, over := err.(*limits.ExceededError); !over {
			s.log.WarnContext(r.Context(), "limits: taking a stream slot failed; not limited", "request_id", transport.RequestID(r.Context()), "err", transport.ClipErr(err))
			return func() {}, nil
		}
	}
	return release, err
}

// limitError is the 429 of a limit.
func limitError(e *limits.ExceededError) *transport.Error {
	msg := fmt.Sprintf("Rate limit exceeded: more than %d %s per minute", e.Limit, e.What)
	if e.What == "streams" {
		msg = fmt.Sprintf("Too many streams: %d already open for this resource", e.Limit)
	}
	return &transport.Error{Status: http.StatusTooManyRequests, Message: msg, Code: "rate_limited", Err: e, RetryAfter: e.RetryAfter}
}
