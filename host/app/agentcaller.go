package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/plugin"
	"github.com/mastra-server/mastra-server/host/reqctx"
)

// agentCaller lets plugins call agents. It exists before the agents do:
// plugins are loaded first (phase 1 of Build), agents are built from them
// (their tools are plugins), and bind hands the agents over (phase 2),
// before the server takes its first request.
type agentCaller struct{ svc *agent.Service }

// errAgentsNotReady answers a plugin that calls an agent while it is being
// loaded, before phase 2: no request has reached it yet.
var errAgentsNotReady = errors.New("app: agents are not ready (a plugin called an agent while loading)")

// bind ends phase 2: from now on plugins' agent calls reach svc. It is
// called once, before the server serves.
func (c *agentCaller) bind(svc *agent.Service) {
	if c.svc != nil {
		panic("app: agentCaller bound twice")
	}
	c.svc = svc
}

// Generate serves mastra.agent_generate.
func (c *agentCaller) Generate(ctx context.Context, call plugin.AgentCall) (string, error) {
	in, err := c.input(ctx, call)
	if err != nil {
		return "", err
	}
	res, err := c.svc.Generate(ctx, in)
	if err != nil {
		return "", err
	}
	return res.Text, nil
}

// Stream serves mastra.agent_stream_to_response: the turn is scoped as
// Generate's, and each chunk goes to the plugin host as the JSON that
// /agent/stream sends.
func (c *agentCaller) Stream(ctx context.Context, call plugin.AgentCall, emit func(json.RawMessage) error) error {
	in, err := c.input(ctx, call)
	if err != nil {
		return err
	}
	_, err = c.svc.Stream(ctx, in, func(ch agent.Chunk) error {
		b, err := json.Marshal(ch)
		if err != nil {
			return fmt.Errorf("chunk %s: %w", ch.Type, err)
		}
		return emit(b)
	})
	return err
}

// input turns a plugin's agent call into a turn. The resource is chosen as
// for HTTP routes: the request's scoped resource (token auth or a
// middleware) wins over the guest's resourceId, which wins over the
// plugin's own resource. So a guest passing a client's thread id on cannot
// reach another tenant's thread, and plugins never share one default
// resource.
func (c *agentCaller) input(ctx context.Context, call plugin.AgentCall) (agent.Input, error) {
	if c.svc == nil {
		return agent.Input{}, errAgentsNotReady
	}
	var o struct {
		ThreadID   string `json:"threadId"`
		ResourceID string `json:"resourceId"`
		MaxSteps   int    `json:"maxSteps"`
	}
	if len(call.Options) > 0 {
		if err := json.Unmarshal(call.Options, &o); err != nil {
			return agent.Input{}, fmt.Errorf("options: %w", err)
		}
	}
	in := agent.Input{AgentID: call.AgentID, ThreadID: o.ThreadID, ResourceID: call.ResourceID, MaxSteps: o.MaxSteps,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: call.Input}}}
	if o.ResourceID != "" {
		in.ResourceID = o.ResourceID
	}
	if v := reqctx.From(ctx); v != nil {
		if id, ok := v.GetString(reqctx.ResourceIDKey); ok && id != "" {
			in.ResourceID = id
		}
		in.RequestContext = v
	}
	in.Ephemeral = o.ThreadID == ""
	return in, nil
}
