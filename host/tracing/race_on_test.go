//go:build race

package tracing

// raceEnabled: the race detector changes allocation counts (sync.Pool drops
// items at random), so the allocation tests skip under -race.
const raceEnabled = true
