package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// result is what one closed-loop run measured.
type result struct {
	ok, failed int
	elapsed    time.Duration
	lat        []time.Duration // one per successful request
	firstErr   error
}

func (r *result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// pct is the p-th percentile of the latencies (nearest rank below).
func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[int(p/100*float64(len(s)-1))]
}

// turn is one request of a client: it returns the latency it measured.
type turn func(ctx context.Context, client, i int) (time.Duration, error)

// closedLoop runs clients goroutines, each sending its next request as
// soon as the last one is answered, until d has passed.
func closedLoop(ctx context.Context, clients int, d time.Duration, do turn) *result {
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
			for i := 0; ctx.Err() == nil; i++ {
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

// newHTTPClient keeps a connection per client alive, as a real client
// pool (or a frontend's server) would.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}}
}

func post(ctx context.Context, c *http.Client, url, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

// generateTurn is POST /agent/generate on the echo agent; the reply must
// echo the message's nonce.
func generateTurn(ctx context.Context, c *http.Client, base, threadID, nonce string) (time.Duration, error) {
	start := time.Now()
	res, err := post(ctx, c, base+"/agent/generate",
		fmt.Sprintf(`{"message":"hello %s","threadId":%q}`, nonce, threadID))
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("Echo: hello "+nonce)) {
		return 0, fmt.Errorf("generate: %d %.300s", res.StatusCode, b)
	}
	return time.Since(start), nil
}

// streamTurn is POST /agent/stream on the streaming agent, read to
// data: [DONE]; the model's last token must have arrived before it.
func streamTurn(ctx context.Context, c *http.Client, base, threadID, lastToken string) (time.Duration, error) {
	start := time.Now()
	res, err := post(ctx, c, base+"/agent/stream",
		fmt.Sprintf(`{"message":"hello","agentId":"streamer","threadId":%q}`, threadID))
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("stream: %d %.300s", res.StatusCode, b)
	}
	last := bytes.LastIndex(b, []byte(lastToken))
	done := bytes.LastIndex(b, []byte("data: [DONE]"))
	if last < 0 || done < last {
		return 0, fmt.Errorf("stream did not end with the last token, then [DONE]: …%.300s", b[max(0, len(b)-300):])
	}
	return time.Since(start), nil
}
