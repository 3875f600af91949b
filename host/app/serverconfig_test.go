package app

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/limits"
	"github.com/mastra-server/mastra-server/host/server"
)

// serverConfig carries every key of [server] to the HTTP host: a field of
// server.Config left at its zero value would silently turn a limit off.
func TestServerConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mastra.toml")
	if err := os.WriteFile(path, []byte(`
[server]
timeout = "7s"
body_limit = "1MiB"
read_header_timeout = "3s"
body_timeout = "4s"
idle_timeout = "50s"
max_header_bytes = "16KiB"
drain_timeout = "6s"
keep_alive = "9s"
playground = true
[server.cors]
origins = ["https://app.example"]
credentials = true
max_age = "2h"
[server.auth]
enabled = true
public = ["/health", "/open"]
[[server.auth.tokens]]
env = "APP_TOKEN"
user = "app"
resource_id = "res-app"
[server.auth.tokens.limits]
requests_per_minute = 600
[server.limits]
requests_per_minute = 60
tokens_per_minute = 1000
max_streams = 3
[server.auth.jwt]
jwks_url = "https://idp.example/.well-known/jwks.json"
issuer = "https://idp.example/"
audience = "api"
resource_claim = "org_id"
algorithms = ["ES256"]
leeway = "5s"
jwks_max_age = "10m"
jwks_min_refresh = "20s"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, []string{"APP_TOKEN=tok-app", "MASTRA_PORT=4123", "MASTRA_HOST=127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	got := serverConfig(cfg.Server)
	want := server.Config{
		Host: "127.0.0.1", Port: 4123, Timeout: 7 * time.Second, BodyLimit: 1 << 20,
		ReadHeaderTimeout: 3 * time.Second, BodyTimeout: 4 * time.Second, IdleTimeout: 50 * time.Second,
		MaxHeaderBytes: 16 << 10, DrainTimeout: 6 * time.Second, KeepAlive: 9 * time.Second,
		CORS: server.CORS{
			Origins: []string{"https://app.example"}, AllowMethods: cfg.Server.CORS.AllowMethods,
			AllowHeaders: cfg.Server.CORS.AllowHeaders, ExposeHeaders: cfg.Server.CORS.ExposeHeaders,
			Credentials: true, MaxAge: 2 * time.Hour,
		},
		Auth: server.Auth{Enabled: true, Protected: []string{"/*"}, Public: []string{"/health", "/open"},
			Tokens: []server.Token{{User: "app", ResourceID: "res-app", Value: "tok-app"}}},
		JWT: server.JWT{JWKSURL: "https://idp.example/.well-known/jwks.json", Issuer: "https://idp.example/", Audience: "api",
			ResourceClaim: "org_id", Algorithms: []string{"ES256"}, Leeway: 5 * time.Second, MaxAge: 10 * time.Minute, MinRefresh: 20 * time.Second},
		Budgets: limits.Budgets{Global: limits.Limits{RequestsPerMinute: 60, TokensPerMinute: 1000, MaxStreams: 3},
			Tokens: map[string]limits.Limits{"app": {RequestsPerMinute: 600, TokensPerMinute: 1000, MaxStreams: 3}}},
		MetricsPath: "/metrics", OpenAPI: true, Playground: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("serverConfig =\n%+v\nwant\n%+v", got, want)
	}
	if len(want.CORS.AllowMethods) == 0 || len(want.CORS.AllowHeaders) == 0 {
		t.Errorf("default CORS methods %v, headers %v: want the config defaults", want.CORS.AllowMethods, want.CORS.AllowHeaders)
	}
}

// Limits are off unless configured: no limiter, so no counting at all.
func TestLimiterOffByDefault(t *testing.T) {
	a, _ := start(t, "")
	if l := newLimiter(a.cfg.Server, a.Store, nil); l != nil {
		t.Errorf("newLimiter with the defaults = %v; want nil", l)
	}
	c := config.Defaults().Server
	c.Limits.MaxStreams = 1
	if l := newLimiter(c, a.Store, nil); l == nil || l.Shared {
		t.Errorf("newLimiter with max_streams on SQLite = %+v; want an in-process limiter", l)
	}
}
