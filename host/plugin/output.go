package plugin

import (
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Guest stdout and stderr go to the plugin's logger, one record per write,
// cut to maxOutputLine bytes. Those records and http_handler.log share one
// rate limit per plugin.
const (
	maxOutputLine     = 1024
	logLinesPerSecond = 50
)

type guestOutput struct {
	log    *slog.Logger
	stream string
	lim    *rateLimiter
}

func (g *guestOutput) Write(b []byte) (int, error) {
	n := len(b)
	ok, dropped := g.lim.allow()
	if !ok {
		return n, nil
	}
	msg := b
	if len(msg) > maxOutputLine {
		msg = msg[:maxOutputLine]
	}
	s := strings.TrimRight(string(msg), "\r\n")
	if dropped > 0 {
		g.log.Info(s, "stream", g.stream, "dropped_before", dropped)
	} else {
		g.log.Info(s, "stream", g.stream)
	}
	return n, nil
}

// rateLimiter allows perSecond events in each one-second window and counts
// the ones it refuses.
type rateLimiter struct {
	perSecond int
	mu        sync.Mutex // guards the fields below
	window    time.Time
	used      int
	dropped   int
}

func newRateLimiter(perSecond int) *rateLimiter { return &rateLimiter{perSecond: perSecond} }

// allow reports whether one more event fits, and how many were dropped since
// the last allowed one.
func (l *rateLimiter) allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.window) >= time.Second {
		l.window, l.used = now, 0
	}
	if l.used >= l.perSecond {
		l.dropped++
		return false, 0
	}
	l.used++
	d := l.dropped
	l.dropped = 0
	return true, d
}
