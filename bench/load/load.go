package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// result is what a closed-loop run of N clients measured.
type result struct {
	ok, failed int
	elapsed    time.Duration
	lat        []time.Duration // one per successful request
	firstErr   error
}

func (r *result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r *result) pct(p float64) time.Duration { return percentile(r.lat, p) }

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}

// closedLoop runs clients goroutines, each calling do back to back, until
// d has passed or maxPerClient calls were made. do returns the latency it
// measured (or an error).
func closedLoop(ctx context.Context, clients int, d time.Duration, maxPerClient int,
	do func(ctx context.Context, client, i int) (time.Duration, error)) *result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	res := &result{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			ok, failed := 0, 0
			var firstErr error
			for i := 0; i < maxPerClient && ctx.Err() == nil; i++ {
				l, err := do(ctx, c, i)
				if err != nil {
					if ctx.Err() != nil {
						break // cut by the end of the run: not a failure
					}
					failed++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				ok++
				lat = append(lat, l)
			}
			mu.Lock()
			res.ok += ok
			res.failed += failed
			res.lat = append(res.lat, lat...)
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}}
}

// get GETs url and checks the status and that the body contains want.
func get(ctx context.Context, c *http.Client, url, want string) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(want)) {
		return 0, fmt.Errorf("GET %s: %d %.200s", url, resp.StatusCode, b)
	}
	return time.Since(start), nil
}

// post POSTs a JSON body and returns the response; the caller reads it.
func post(ctx context.Context, c *http.Client, url, body string) (*http.Response, time.Time, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	return resp, start, err
}

// streamTurn reads a whole SSE reply. It returns the total latency, when
// the bytes holding the model's first token arrived (zero if never) and
// whether the last token arrived.
func streamTurn(ctx context.Context, c *http.Client, url, body, firstToken, lastToken string) (time.Duration, time.Time, error) {
	resp, start, err := post(ctx, c, url, body)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, time.Time{}, fmt.Errorf("POST %s: %d %.200s", url, resp.StatusCode, b)
	}
	var got []byte
	var firstAt time.Time
	buf := make([]byte, 8192)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			got = append(got, buf[:n]...)
			if firstAt.IsZero() && bytes.Contains(got, []byte(firstToken)) {
				firstAt = time.Now()
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, time.Time{}, err
		}
	}
	if !bytes.Contains(got, []byte(lastToken)) {
		return 0, time.Time{}, fmt.Errorf("stream ended without the last token: %.300s", got)
	}
	return time.Since(start), firstAt, nil
}

// readAll reads and closes a response body.
func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
