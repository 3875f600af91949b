package main

import (
	"testing"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// The two tenants of the two-token tests: token A is alice's, bound to
// tenant-a; token B is bob's, bound to tenant-b. twoTenantTokens goes
// under [server.auth] in startServer's TOML, tenantEnv into its
// environment, and asTenantA/asTenantB are call's headers.
const twoTenantTokens = `
[[server.auth.tokens]]
env = "TOK_A"
user = "alice"
resource_id = "tenant-a"
[[server.auth.tokens]]
env = "TOK_B"
user = "bob"
resource_id = "tenant-b"
`

var (
	tenantEnv = []string{"TOK_A=token-aaaa-1111", "TOK_B=token-bbbb-2222"}
	asTenantA = []string{"Authorization", "Bearer token-aaaa-1111", "Content-Type", "application/json"}
	asTenantB = []string{"Authorization", "Bearer token-bbbb-2222", "Content-Type", "application/json"}
)

// onEachStore runs test on the SQLite memory store and on a fresh
// Postgres one; env is the environment that selects it.
func onEachStore(t *testing.T, test func(t *testing.T, env []string)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var env []string
			if kind == "postgres" {
				env = append(env, "MEMORY_DATABASE_URL="+pgtest.NewDatabase(t))
			}
			test(t, env)
		})
	}
}
