package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/idptest"
)

// N6, I5: the server writes under resources of its own: the default one
// (an admin request that names no resource) and each plugin route's
// ("plugin:<name>", for its unscoped, here anonymous, calls). A JWT whose
// resource claim names one is refused with 401 and the reason, and reads
// nothing; so is one whose claim is a number, for what it is. A JWT of an
// ordinary user and the tenants' tokens still work and do not see those
// threads either.
func TestJWTCannotClaimServerResources(t *testing.T) {
	idp := idptest.New(t)
	fwd := strconv.Quote(wasmFrom(t, "testdata/agentfwd.wat"))
	base, _ := startServer(t, `
[server.auth]
enabled = true
protected = ["/api/*", "/agent/*", "/threads/*", "/threads"]
`+twoTenantTokens+`
[[server.auth.tokens]]
env = "TOK_OPS"
user = "ops"
admin = true
[server.auth.jwt]
jwks_url = "`+idp.URL+`"
issuer = "`+idp.Issuer+`"
audience = "api"
[[routes]]
name = "open2"
method = "POST"
path = "/open/agent2"
module = `+fwd+`
agents = ["assistant"]
`, append(tenantEnv, "TOK_OPS=token-ops-9999-0000-1111")...)
	ops := []string{"Authorization", "Bearer token-ops-9999-0000-1111", "Content-Type", "application/json"}
	jwt := func(claims idptest.Claims) []string {
		return []string{"Authorization", "Bearer " + idp.SignRaw("ES256", idp.Valid("", "api", claims)), "Content-Type", "application/json"}
	}

	if code, body := call(t, "POST", base+"/agent/generate", `{"message":"ops note: rotate the db password","threadId":"ops-note"}`, ops...); code != 200 || !strings.Contains(body, `"resourceId":"default"`) {
		t.Fatalf("admin generate without a resource = %d %s; want it stored under default", code, body)
	}
	if code, body := call(t, "POST", base+"/open/agent2", `{"threadId":"open-t"}`); code != 200 {
		t.Fatalf("anonymous plugin call = %d %s", code, body)
	}
	for _, c := range []struct {
		name, thread string
		claims       idptest.Claims
		reason       string
	}{
		{"sub default", "ops-note", idptest.Claims{"sub": "default"}, "Invalid token: the sub claim names a resource reserved for the server's own threads"},
		{"sub plugin:open2", "open-t", idptest.Claims{"sub": "plugin:open2"}, "Invalid token: the sub claim names a resource reserved for the server's own threads"},
		{"sub a number", "ops-note", idptest.Claims{"sub": 12345}, "Invalid token: no usable sub claim (not a string)"},
	} {
		code, body := call(t, "GET", base+"/threads/"+c.thread, "", jwt(c.claims)...)
		if code != 401 || !strings.Contains(body, `"error":"`+c.reason+`"`) {
			t.Errorf("%s reads %s = %d %s; want 401 %q", c.name, c.thread, code, body, c.reason)
		}
	}
	for who, h := range map[string][]string{"a user's JWT": jwt(idptest.Claims{"sub": "user_carol"}), "tenant A": asTenantA, "tenant B": asTenantB} {
		for _, th := range []string{"ops-note", "open-t"} {
			if code, body := call(t, "GET", base+"/threads/"+th, "", h...); code != 404 {
				t.Errorf("%s reads %s = %d %s; want 404", who, th, code, body)
			}
		}
	}
	if code, body := call(t, "GET", base+"/threads/ops-note", "", ops...); code != 200 || !strings.Contains(body, "rotate the db password") {
		t.Errorf("admin reads its note = %d %s; want it", code, body)
	}
}

// N5: validate (as serve) exits 2 when two token entries hold one value,
// naming both entries and never the token; a short token is a warning on
// the log, and the start goes on.
func TestDuplicateTokensStopTheStart(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	path := filepath.Join(dir, "e.toml")
	os.WriteFile(path, []byte("[server.auth]\nenabled = true\n"+twoTenantTokens), 0o644)
	_, _, err := runCmd(t, []string{"TOK_A=same-secret-value-01", "TOK_B=same-secret-value-01"}, "validate", "--config", path)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `server.auth.tokens[1].env = "TOK_B"`) || !strings.Contains(err.Error(), "server.auth.tokens[0] (env TOK_A, user alice)") ||
		strings.Contains(err.Error(), "same-secret-value-01") {
		t.Fatalf("two equal tokens: validate = %v (exit %d); want exit 2 naming both entries, not the token", err, exitCode(err))
	}
	_, logs, err := runCmd(t, []string{"TOK_A=short", "TOK_B=a-long-enough-token-02"}, "validate", "--config", path)
	if err != nil || !strings.Contains(logs, "server.auth.tokens[0] (env TOK_A, user alice)") || !strings.Contains(logs, "shorter than 16") ||
		strings.Contains(logs, "TOK_B") {
		t.Errorf("a short token: validate = %v, log %q; want success and a warning naming tokens[0] only", err, logs)
	}
}
