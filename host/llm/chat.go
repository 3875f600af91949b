package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The retry policy: the first wait between retries, doubling on each, and
// the cap on any one wait, including one asked for by Retry-After. How many
// retries there are is configured (MaxRetries).
const (
	retryBackoff = 200 * time.Millisecond
	maxRetryWait = 10 * time.Second
)

const (
	maxErrorBody    = 64 << 10 // bytes of an error response that are read
	maxResponseBody = 32 << 20 // bytes of a whole response that are read
	maxMessageLen   = 200      // runes of a provider's error message kept
	userAgent       = "mastra-server"
)

// errTimedOut is the cancel cause set by the watchdog timer.
var errTimedOut = errors.New("llm: timed out")

// errAborted is the cancel cause when onDelta returns an error.
var errAborted = errors.New("llm: stream aborted by caller")

// chatClient speaks OpenAI chat completions. OpenAI and Azure differ only in
// the URL, the auth header and whether the body names the model.
type chatClient struct {
	provider            string
	url                 func(model string) string
	header              http.Header // fixed headers, auth included
	secret              string      // the API key, scrubbed from error messages
	sendModel           bool
	maxCompletionTokens bool
	client              *http.Client
	timeout             time.Duration // <= 0: none
	maxRetries          int
	backoff             time.Duration
	maxRetryWait        time.Duration
	// sleep waits between retries; tests replace it to record the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// retryConfig holds the settings shared by the provider configs.
type retryConfig struct {
	client     *http.Client
	timeout    time.Duration
	maxRetries int
}

// check reports the settings a provider config lacks: the package has no
// defaults, the configuration's are the only ones.
func (rc retryConfig) check(name string) error {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("Name is required"))
	}
	if rc.timeout == 0 {
		errs = append(errs, errors.New("Timeout is required (negative for none)"))
	}
	if rc.maxRetries < 0 {
		errs = append(errs, fmt.Errorf("MaxRetries = %d: expected 0 (no retries) or more", rc.maxRetries))
	}
	return errors.Join(errs...)
}

func (c *chatClient) apply(rc retryConfig) {
	c.client = rc.client
	if c.client == nil {
		// No Client.Timeout: it would cut streams.
		c.client = &http.Client{Transport: DefaultTransport()}
	}
	c.timeout = rc.timeout // negative: none
	c.maxRetries = rc.maxRetries
	c.backoff = retryBackoff
	c.maxRetryWait = maxRetryWait
	c.sleep = sleepCtx
}

// DefaultTransport returns a new transport as a client without an
// HTTPClient uses: many turns run at once against one provider host, so it
// keeps more idle connections than net/http's default of 2 per host (each
// new one is a TLS handshake). A caller that wraps the transport (to trace
// requests, say) starts from this one.
func DefaultTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	tr.MaxIdleConns = 512
	return tr
}

// call is an accepted (2xx) response whose body is being read.
type call struct {
	resp   *http.Response
	body   io.Reader // resp.Body, resetting the watchdog on each read
	dog    *watchdog
	ctx    context.Context // the request's context
	cancel context.CancelCauseFunc
}

// close releases the response and cancels the request.
func (cl *call) close(cause error) {
	cl.dog.stop()
	cl.cancel(cause)
	cl.resp.Body.Close()
}

// generate runs a whole (non-streamed) request.
func (c *chatClient) generate(ctx context.Context, req Request) (*Response, error) {
	cl, err := c.open(ctx, req, false)
	if err != nil {
		return nil, err
	}
	defer cl.close(nil)
	return c.whole(ctx, cl)
}

// whole reads and decodes a whole response.
func (c *chatClient) whole(ctx context.Context, cl *call) (*Response, error) {
	raw, err := io.ReadAll(io.LimitReader(cl.body, maxResponseBody))
	if err != nil {
		return nil, c.readError(ctx, cl, err, "reading response")
	}
	var w wireResponse
	if err := decodeResponse(raw, &w); err != nil {
		return nil, fmt.Errorf("llm: %s: decoding response: %w", c.provider, err)
	}
	if w.Error != nil {
		return nil, c.bodyError(w.Error)
	}
	if len(w.Choices) == 0 {
		return nil, fmt.Errorf("llm: %s: response has no choices", c.provider)
	}
	return fromWire(&w), nil
}

// stream runs a streamed request; see Model.Stream.
func (c *chatClient) stream(ctx context.Context, req Request, onDelta func(Delta) error) (*Response, error) {
	cl, err := c.open(ctx, req, true)
	if err != nil {
		return nil, err
	}
	if ct := cl.resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		// Some servers ignore stream:true and answer with the whole reply.
		return c.streamWhole(ctx, cl, onDelta)
	}
	var acc accumulator
	var prev wireChunk // the id and model of the last chunk, which the next reuses
	sse := newSSEReader(streamSource(ctx, cl.body))
	defer streamEnded(ctx)
	for {
		ev, err := sse.Next()
		if err == io.EOF {
			if acc.finish == "" {
				cl.close(nil)
				return nil, fmt.Errorf("llm: %s: stream ended before the reply was complete: %w", c.provider, io.ErrUnexpectedEOF)
			}
			break
		}
		if err != nil {
			defer cl.close(nil)
			return nil, c.readError(ctx, cl, err, "reading stream")
		}
		data := bytes.TrimSpace(ev.Data)
		if string(data) == "[DONE]" {
			break
		}
		if len(data) == 0 {
			continue
		}
		var chunk wireChunk
		if err := decodeChunk(data, &chunk, &prev); err != nil {
			cl.close(nil)
			return nil, fmt.Errorf("llm: %s: decoding stream chunk: %w", c.provider, err)
		}
		if chunk.Error != nil || ev.Name == "error" {
			cl.close(nil)
			if chunk.Error == nil {
				chunk.Error = &wireError{Message: string(data)}
			}
			return nil, c.bodyError(chunk.Error)
		}
		prev.ID, prev.Model = chunk.ID, chunk.Model
		for _, d := range acc.add(&chunk) {
			if err := onDelta(d); err != nil {
				cl.close(errAborted)
				return nil, err
			}
		}
	}
	cl.close(nil)
	return acc.response(), nil
}

// streamWhole hands a whole reply to onDelta as if it had been streamed.
func (c *chatClient) streamWhole(ctx context.Context, cl *call, onDelta func(Delta) error) (*Response, error) {
	r, err := c.whole(ctx, cl)
	if err != nil {
		cl.close(nil)
		return nil, err
	}
	for _, d := range deltas(r) {
		if err := onDelta(d); err != nil {
			cl.close(errAborted)
			return nil, err
		}
	}
	cl.close(nil)
	return r, nil
}

// readError classifies an error met while reading an accepted response.
func (c *chatClient) readError(ctx context.Context, cl *call, err error, doing string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("llm: %s: %s: %w", c.provider, doing, ctx.Err())
	}
	if context.Cause(cl.ctx) == errTimedOut {
		return fmt.Errorf("llm: %s: %s: no data for %s: %w", c.provider, doing, c.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("llm: %s: %s: %w: %w", c.provider, doing, ErrUnavailable, err)
}

// bodyError turns an error object sent with a 200 into a *StatusError.
func (c *chatClient) bodyError(we *wireError) error {
	return &StatusError{
		Provider: c.provider,
		Type:     c.safe(we.errorType(), 60),
		Message:  c.safe(we.Message, maxMessageLen),
	}
}

// open sends the request, retrying where safe, and returns the accepted
// response. Retries happen only here, before any of the reply has been read,
// so a caller never sees a token twice.
func (c *chatClient) open(ctx context.Context, req Request, stream bool) (*call, error) {
	if req.Model == "" {
		return nil, fmt.Errorf("llm: %s: request names no model", c.provider)
	}
	if req.TopK != nil {
		return nil, &UnsupportedSettingError{Provider: c.provider, Setting: "TopK"}
	}
	body, err := appendRequest(make([]byte, 0, requestSize(req)), req, c.sendModel, c.maxCompletionTokens, stream)
	if err != nil {
		return nil, fmt.Errorf("llm: %s: encoding request: %w", c.provider, err)
	}
	return c.send(ctx, c.url(req.Model), body, stream, c.retries(req))
}

// retries is how many times req may be retried: the configured number, or
// fewer when the request asks so.
func (c *chatClient) retries(req Request) int {
	if req.MaxRetries != nil && *req.MaxRetries >= 0 && *req.MaxRetries < c.maxRetries {
		return *req.MaxRetries
	}
	return c.maxRetries
}

// send posts body to url, retrying where safe, and returns the accepted
// response. The Anthropic client shares it.
func (c *chatClient) send(ctx context.Context, url string, body []byte, stream bool, maxRetries int) (*call, error) {
	for attempt := 0; ; attempt++ {
		cl, err := c.attempt(ctx, url, body, stream)
		if err == nil {
			return cl, nil
		}
		var retry *retryable
		if !errors.As(err, &retry) {
			return nil, err
		}
		if attempt >= maxRetries {
			return nil, retry.err
		}
		wait := c.backoff << attempt
		wait += rand.N(wait/4 + 1) // a little jitter so clients spread out
		if retry.after > 0 {
			wait = retry.after
		}
		wait = min(wait, c.maxRetryWait)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("llm: %s: waiting to retry: %w", c.provider, err)
		}
	}
}

// retryable marks an attempt's error as worth another try.
type retryable struct {
	err   error
	after time.Duration // the provider's Retry-After, if any
}

func (r *retryable) Error() string { return r.err.Error() }

// attempt makes one HTTP request.
func (c *chatClient) attempt(ctx context.Context, url string, body []byte, stream bool) (*call, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	dog := newWatchdog(c.timeout, cancel)
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		dog.stop()
		cancel(nil)
		return nil, fmt.Errorf("llm: %s: building request: %w", c.provider, err)
	}
	for k, v := range c.header {
		hreq.Header[k] = v
	}
	hreq.Header.Set("Content-Type", "application/json")
	if stream {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	resp, err := c.client.Do(hreq)
	if err != nil {
		dog.stop()
		cause := context.Cause(rctx)
		cancel(nil)
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("llm: %s: %w", c.provider, ctx.Err())
		case cause == errTimedOut:
			return nil, fmt.Errorf("llm: %s: no response within %s: %w", c.provider, c.timeout, context.DeadlineExceeded)
		}
		// The error names the URL, which holds no secret: keys travel in headers.
		return nil, &retryable{err: fmt.Errorf("llm: %s: %w: %w", c.provider, ErrUnavailable, err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &call{resp: resp, body: dogReader{resp.Body, dog}, dog: dog, ctx: rctx, cancel: cancel}, nil
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	dog.stop()
	cancel(nil)
	serr := c.statusError(resp, raw)
	switch code := resp.StatusCode; {
	case code == http.StatusRequestTimeout, code == http.StatusConflict,
		code == http.StatusTooManyRequests, code >= 500:
		return nil, &retryable{err: serr, after: serr.RetryAfter}
	}
	return nil, serr
}

// statusError builds the error for a non-2xx response.
func (c *chatClient) statusError(resp *http.Response, body []byte) *StatusError {
	e := &StatusError{
		Provider:   c.provider,
		StatusCode: resp.StatusCode,
		RetryAfter: retryAfter(resp.Header, time.Now()),
	}
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil && len(w.Error) > 0 {
		var we wireError
		if json.Unmarshal(w.Error, &we) == nil {
			e.Type = c.safe(we.errorType(), 60)
			e.Message = c.safe(we.Message, maxMessageLen)
		} else {
			var s string // some servers send "error": "text"
			if json.Unmarshal(w.Error, &s) == nil {
				e.Message = c.safe(s, maxMessageLen)
			}
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// safe makes provider text fit for logs and errors: the API key removed,
// control characters replaced, at most n runes.
func (c *chatClient) safe(s string, n int) string {
	if c.secret != "" {
		s = strings.ReplaceAll(s, c.secret, "[redacted]")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// retryAfter reads the wait a provider asked for: retry-after-ms (OpenAI),
// then Retry-After in seconds or as an HTTP date. It returns 0 when there is
// none or it cannot be read.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || s > 1e6 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// watchdog cancels a request, with cause errTimedOut, when no progress was
// made for its duration: first until the response headers, then between two
// reads of the body. A nil watchdog does nothing.
type watchdog struct {
	t *time.Timer
	d time.Duration
}

func newWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	if d <= 0 {
		return nil
	}
	return &watchdog{t: time.AfterFunc(d, func() { cancel(errTimedOut) }), d: d}
}

func (w *watchdog) reset() {
	if w != nil {
		w.t.Reset(w.d)
	}
}

func (w *watchdog) stop() {
	if w != nil {
		w.t.Stop()
	}
}

// dogReader resets a watchdog each time data arrives.
type dogReader struct {
	r   io.Reader
	dog *watchdog
}

func (d dogReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if n > 0 {
		d.dog.reset()
	}
	return n, err
}
