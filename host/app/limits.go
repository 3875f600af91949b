package app

import (
	"log/slog"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/memory"
)

// newLimiter returns the limiter of [server.limits] and the tokens' own
// limits, or nil when no limit is configured (the default). On Postgres the
// counts are shared by every instance on the database; on SQLite, one
// node, they stay in the process (RATIONALE.md, "Limits").
func newLimiter(c config.Server, store *memory.Store, log *slog.Logger) *limits.Limiter {
	on := globalLimits(c).On()
	for _, t := range c.Auth.Tokens {
		on = on || tokenLimits(c, t).On()
	}
	if !on {
		return nil
	}
	if store.Kind() == "postgres" {
		return limits.NewStore(store, log)
	}
	return limits.NewMemory(log)
}

// globalLimits is [server.limits].
func globalLimits(c config.Server) limits.Limits {
	return limits.Limits{RequestsPerMinute: c.Limits.RequestsPerMinute, TokensPerMinute: c.Limits.TokensPerMinute,
		MaxStreams: c.Limits.MaxStreams}
}

// tokenLimits is [server.limits] with what token t's own limits set.
func tokenLimits(c config.Server, t config.Token) limits.Limits {
	l := globalLimits(c)
	if o := t.Limits; o != nil {
		if o.RequestsPerMinute != nil {
			l.RequestsPerMinute = *o.RequestsPerMinute
		}
		if o.TokensPerMinute != nil {
			l.TokensPerMinute = *o.TokensPerMinute
		}
		if o.MaxStreams != nil {
			l.MaxStreams = *o.MaxStreams
		}
	}
	return l
}
