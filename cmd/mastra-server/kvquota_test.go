package main

import (
	"strconv"
	"strings"
	"testing"
)

// N8: a plugin's key-value store has a quota per resource: a guest writing
// in a loop gets E2BIG (1) once its resource's keys or bytes are used up,
// with a log line, and stores nothing more; another token's resource and
// another plugin still write. A key that is not text is EINVAL (28). On
// SQLite and Postgres.
func TestPluginKVQuota(t *testing.T) {
	onEachStore(t, func(t *testing.T, env []string) {
		flood := strconv.Quote(wasmFrom(t, "../../host/plugin/testdata/kvflood.wat"))
		base, logs := startServer(t, `
[server.auth]
enabled = true
`+twoTenantTokens+`
[[routes]]
name = "flood"
method = "ALL"
path = "/flood"
module = `+flood+`
kv = true
kv_max_bytes = "20KiB"         # 20 entries of 4 + 1000 bytes
[[routes]]
name = "flood-keys"
method = "ALL"
path = "/flood-keys"
module = `+flood+`
kv = true
kv_max_keys = 5
`, append(env, tenantEnv...)...)

		// The guest's keys are the body's letter and a number, so the
		// tenants' keys do not overlap.
		for _, tc := range []struct{ who, method, path, body, want string }{
			{"tenant A", "POST", "/flood", "a", "wrote 20 errno 1"},
			{"tenant A's store", "GET", "/flood", "a", "stored 20 keys 20080 bytes"}, // within 20 KiB
			{"tenant A, other keys", "POST", "/flood", "c", "wrote 0 errno 1"},
			{"tenant B", "POST", "/flood", "b", "wrote 20 errno 1"},
			{"tenant A, another plugin", "POST", "/flood-keys", "a", "wrote 5 errno 1"},
		} {
			as := asTenantA
			if strings.HasPrefix(tc.who, "tenant B") {
				as = asTenantB
			}
			if code, body := call(t, tc.method, base+tc.path, tc.body, as...); code != 200 || body != tc.want {
				t.Errorf("%s: %s %s = %d %q; want 200 %q", tc.who, tc.method, tc.path, code, body, tc.want)
			}
		}
		if l := logs.String(); !strings.Contains(l, "plugin kv quota reached") || !strings.Contains(l, "resource=tenant-a") {
			t.Errorf("no log line for the quota:\n%s", l)
		}
		for method, what := range map[string]string{"PUT": "a key with NUL bytes", "PATCH": "a key not UTF-8"} {
			if code, body := call(t, method, base+"/flood-keys", "", asTenantB...); code != 200 || body != "errno 28" {
				t.Errorf("%s: %s = %d %q; want EINVAL (errno 28)", what, method, code, body)
			}
		}
	})
}
