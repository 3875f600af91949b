// Command hello-go is an example mastra-server route plugin in standard Go. It asks an agent to
// greet someone and answers {"greeting": "<agent reply>", "name": "<name>"}, or, with config
// {"stream": true}, streams the agent's reply as Server-Sent Events like /agent/stream.
//
// The name comes from the route parameter :name (path "/hello/:name"), else from a POST body
// {"name": "..."}, else "world". If the agent call fails it answers 502 with a JSON error.
package main

import (
	"encoding/json"
	"errors"
	"strings"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

type config struct {
	Agent  string `json:"agent"`  // agent id, default "assistant" (must be granted: agents = ["assistant"])
	Stream bool   `json:"stream"` // stream the reply (SSE) instead of answering JSON
}

var cfg = config{Agent: "assistant"}

func init() {
	if err := mastra.DecodeConfig(&cfg); err != nil {
		mastra.Log(mastra.LevelError, "hello-go: "+err.Error())
	}
	mastra.HandleRequest(hello)
}

func nameOf(req mastra.Request) string {
	if name, ok := mastra.RouteParam("name"); ok && name != "" {
		return name
	}
	if req.Method() == "POST" {
		var body struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(req.Body(), &body) == nil && strings.TrimSpace(body.Name) != "" {
			return strings.TrimSpace(body.Name)
		}
	}
	return "world"
}

func hello(req mastra.Request, resp mastra.Response) bool {
	name := nameOf(req)
	if cfg.Stream {
		// The host writes the whole response; an error means nothing was sent yet.
		if err := mastra.AgentStreamToResponse(cfg.Agent, "Say hello to "+name); err != nil {
			agentFailed(resp, err)
		}
		return false
	}
	text, err := mastra.AgentGenerate(cfg.Agent, "Say hello to "+name)
	if err != nil {
		agentFailed(resp, err)
		return false
	}
	resp.WriteJSON(200, map[string]string{"greeting": text, "name": name})
	return false
}

func agentFailed(resp mastra.Response, err error) {
	code := "EIO"
	var errno mastra.Errno
	if errors.As(err, &errno) {
		code = errno.Name()
	}
	mastra.Log(mastra.LevelWarn, "hello-go: "+err.Error())
	resp.WriteJSON(502, map[string]string{"error": "agent call failed", "code": code})
}

func main() {}
