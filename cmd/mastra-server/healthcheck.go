package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/mastra-server/mastra-server/config"
)

// healthTimeout bounds one probe: a container runtime runs the probe on a
// schedule, and a server that cannot answer /health in this time is unwell.
const healthTimeout = 3 * time.Second

// healthcheck asks the server on this machine for GET /health and succeeds
// only on 200. It is the container's HEALTHCHECK: a distroless image has no
// shell or curl. Every failure is exit 1, never 2, since Docker reserves 2
// and reads anything but 0 as unhealthy.
func healthcheck(ctx context.Context, configPath string, environ []string, stdout, stderr io.Writer) error {
	fail := func(err error) error { return &exitError{code: 1, err: fmt.Errorf("healthcheck: %w", err)} }
	// The port is all it needs: the configuration is read, not validated,
	// so a probe never fails for a reason the running server did not.
	cfg, err := config.Load(configPath, environ)
	if err != nil {
		return fail(err)
	}
	url := "http://" + net.JoinHostPort(probeHost(cfg.Server.Host), strconv.Itoa(cfg.Server.Port)) + "/health"
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("GET %s: %s %s", url, res.Status, body))
	}
	fmt.Fprintf(stdout, "healthy: GET %s: %s\n", url, res.Status)
	return nil
}

// probeHost is the address to reach a server listening on host: a wildcard
// listen address is reached on loopback.
func probeHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::", "[::]":
		return "::1"
	}
	return host
}
