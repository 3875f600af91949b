// Command bearer-auth is a mastra-server middleware plugin that requires
// "Authorization: Bearer <token>" and compares the token, in constant time, with the value of an
// environment variable granted to the plugin.
//
// It fails closed: if the variable is unset or empty every request gets 401, and the reason is
// logged once per instance.
package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"os"
	"strings"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

type config struct {
	// TokenEnv names the environment variable holding the expected token. The variable must be
	// granted to the plugin in mastra.toml (env = ["MASTRA_API_TOKEN"]).
	TokenEnv string `json:"token_env"`
	// UserKey, if set, is the request-context key that receives User on success.
	UserKey string `json:"user_key"`
	// User is the name stored under UserKey (default "api").
	User string `json:"user"`
}

var (
	cfg         = config{TokenEnv: "MASTRA_API_TOKEN", User: "api"}
	loaded      bool
	misconfig   string   // why every request is refused, if it is
	tokenDigest [32]byte // sha256 of the expected token
	loggedOnce  bool
)

const unauthorizedBody = `{"error":"Unauthorized"}`

func load() {
	loaded = true
	if err := mastra.DecodeConfig(&cfg); err != nil {
		misconfig = err.Error()
		return
	}
	if cfg.TokenEnv == "" {
		misconfig = `config "token_env" is empty`
		return
	}
	token := os.Getenv(cfg.TokenEnv)
	if token == "" {
		misconfig = "environment variable " + cfg.TokenEnv +
			" is unset or empty (grant it with env = [\"" + cfg.TokenEnv + "\"] and set it): rejecting every request"
		return
	}
	tokenDigest = sha256.Sum256([]byte(token))
}

// bearerToken extracts the token from an Authorization header value ("Bearer <token>", the
// scheme is case-insensitive).
func bearerToken(h string) (string, bool) {
	const scheme = "bearer"
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) || (h[len(scheme)] != ' ' && h[len(scheme)] != '\t') {
		return "", false
	}
	t := strings.TrimSpace(h[len(scheme):])
	return t, t != ""
}

func unauthorized(resp mastra.Response) bool {
	resp.SetHeader("Content-Type", "application/json")
	resp.SetHeader("WWW-Authenticate", "Bearer")
	resp.SetStatus(401)
	resp.WriteString(unauthorizedBody)
	return false
}

func handle(req mastra.Request, resp mastra.Response) bool {
	if !loaded {
		load()
	}
	if misconfig != "" {
		if !loggedOnce {
			loggedOnce = true
			mastra.Log(mastra.LevelError, "bearer-auth: "+misconfig)
		}
		return unauthorized(resp)
	}
	token, ok := bearerToken(req.Header("Authorization"))
	if !ok {
		return unauthorized(resp)
	}
	// Compare digests so that neither the content nor the length of the token leaks through timing.
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], tokenDigest[:]) != 1 {
		return unauthorized(resp)
	}
	if cfg.UserKey != "" {
		if err := mastra.ContextSetString(cfg.UserKey, cfg.User); err != nil {
			mastra.Log(mastra.LevelWarn, "bearer-auth: cannot set request context "+cfg.UserKey+": "+err.Error())
		}
	}
	return true
}

func init() { mastra.HandleRequest(handle) }

func main() {}
