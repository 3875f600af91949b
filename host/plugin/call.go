package plugin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
)

// Call runs the plugin as an agent tool: a POST of body (JSON) to "/" with the
// context's reqctx.Values, and returns the status and body the guest wrote.
// Errors wrap ErrTimeout, ErrTrap, ErrBusy, ErrClosed or ErrResponseTooLarge;
// a body over MaxBody is an *http.MaxBytesError.
func (p *Plugin) Call(ctx context.Context, body []byte) (status int, respBody []byte, err error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	r.RequestURI = "/"
	r.Header.Set("Content-Type", "application/json")
	cw := &captureWriter{header: make(http.Header)}
	_, cerr := p.run(cw, r, nil)
	if cerr != nil {
		return 0, nil, p.callErr(ctx, cerr)
	}
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	return cw.status, cw.body.Bytes(), nil
}

func (p *Plugin) callErr(ctx context.Context, cerr *callError) error {
	name := p.spec.Name
	switch cerr.kind {
	case failTimeout:
		return fmt.Errorf("plugin %q: %w", name, ErrTimeout)
	case failBusy:
		return fmt.Errorf("plugin %q: %w", name, ErrBusy)
	case failClosed:
		return fmt.Errorf("plugin %q: %w", name, ErrClosed)
	case failCanceled:
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("plugin %q: %w", name, err)
		}
		return fmt.Errorf("plugin %q: %w", name, context.Canceled)
	case failTooLarge:
		return fmt.Errorf("plugin %q: %w", name, &http.MaxBytesError{Limit: p.spec.MaxBody})
	case failOverCap:
		p.log.Error("plugin call failed", "err", cerr.cause, "max_response", p.spec.MaxResponse)
		return fmt.Errorf("plugin %q: %w (max_response %d bytes)", name, ErrResponseTooLarge, p.spec.MaxResponse)
	}
	p.log.Error("plugin call failed", "err", cerr.cause)
	return fmt.Errorf("plugin %q: %w: %v", name, ErrTrap, cerr.cause)
}

// captureWriter collects a tool's response.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
