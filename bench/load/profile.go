package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// cpuProfile asks the server's pprof listener (base) for a CPU profile of
// most of a phase that lasts d: it starts at once and samples d less a
// second (at least one), so it ends inside the phase rather than on idle
// time after it. The returned func waits for it, writes it to path and
// returns path.
func cpuProfile(ctx context.Context, base string, d time.Duration, path string) func() (string, error) {
	secs := max(1, int((d - time.Second).Seconds()))
	done := make(chan error, 1)
	go func() { done <- fetchProfile(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), path) }()
	return func() (string, error) {
		if err := <-done; err != nil {
			return "", err
		}
		return path, nil
	}
}

func fetchProfile(ctx context.Context, url, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute) // bounded, whatever the phase
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 300))
		return fmt.Errorf("GET %s: %d %s", url, res.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return fmt.Errorf("read the profile from %s: %w", url, err)
	}
	return f.Close()
}
