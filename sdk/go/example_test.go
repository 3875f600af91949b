package mastra_test

import (
	"errors"
	"time"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

// A route that greets the caller by route parameter.
func ExampleHandleRequest() {
	mastra.HandleRequest(func(req mastra.Request, resp mastra.Response) bool {
		name, ok := mastra.RouteParam("name")
		if !ok {
			name = "world"
		}
		resp.WriteJSON(200, map[string]string{"hello": name, "method": req.Method()})
		return false
	})
}

// A middleware that rejects requests without an API key and records the tenant.
func ExampleHandleRequest_middleware() {
	mastra.HandleRequest(func(req mastra.Request, resp mastra.Response) bool {
		if req.Header("X-Api-Key") == "" {
			resp.SetHeader("Content-Type", "application/json")
			resp.SetStatus(401)
			resp.WriteString(`{"error":"Unauthorized"}`)
			return false
		}
		if tenant := req.Header("X-Tenant-Id"); tenant != "" {
			mastra.ContextSetString("tenant", tenant)
		}
		return true
	})
}

func ExampleAgentGenerate() {
	text, err := mastra.AgentGenerate("assistant", "Summarize: ...",
		mastra.WithResourceID("user-42"), mastra.WithMaxSteps(3))
	var agentErr *mastra.AgentError
	switch {
	case errors.Is(err, mastra.EPERM):
		mastra.Log(mastra.LevelError, "agent not granted in mastra.toml")
	case errors.As(err, &agentErr):
		mastra.Logf(mastra.LevelWarn, "agent failed: %s", agentErr.Message)
	default:
		_ = text
	}
}

func ExampleAgentStreamToResponse() {
	mastra.HandleRequest(func(req mastra.Request, resp mastra.Response) bool {
		if err := mastra.AgentStreamToResponse("assistant", string(req.Body())); err != nil {
			// Nothing was sent: answer the error as JSON.
			resp.WriteJSON(502, map[string]string{"error": err.Error()})
		}
		return false
	})
}

func ExampleDecodeConfig() {
	var cfg struct {
		Greeting string `json:"greeting"`
	}
	if err := mastra.DecodeConfig(&cfg); err != nil {
		mastra.Log(mastra.LevelError, err.Error())
	}
}

func ExampleKVSet() {
	if err := mastra.KVSet("last-seen", []byte(time.Now().UTC().Format(time.RFC3339)), time.Hour); err != nil {
		mastra.Log(mastra.LevelWarn, "kv: "+err.Error())
	}
	if v, err := mastra.KVGet("last-seen"); errors.Is(err, mastra.ENOENT) {
		mastra.Log(mastra.LevelInfo, "never seen")
	} else if err == nil {
		mastra.Log(mastra.LevelInfo, "last seen "+string(v))
	}
}
