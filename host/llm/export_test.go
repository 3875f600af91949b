package llm

import (
	"context"
	"time"
)

// SetSleep replaces the wait between retries of a, for external tests that
// record the waits instead of sleeping.
func SetSleep(a *Anthropic, sleep func(ctx context.Context, d time.Duration) error) {
	a.c.sleep = sleep
}
