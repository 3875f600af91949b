package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Mastra's legacy agent network: POST /api/agents/:agentId/network and the
// routes that approve or decline a network's waiting primitive. The
// network is one turn of the agent whose chunks are network chunks
// (agent/network.go); the body is the stream route's, with maxSteps the
// number of routing iterations, plus routing.

// networkBody is the network route's body: Mastra's execution body, plus
// routing and completion.
type networkBody struct {
	mastraBody
	Routing *struct {
		AdditionalInstructions string `json:"additionalInstructions"`
		VerboseIntrospection   bool   `json:"verboseIntrospection"`
	} `json:"routing"`
	// Completion holds scorers, which are code in Mastra: refused when it
	// asks for anything.
	Completion json.RawMessage `json:"completion"`
}

// networkMemoryError is Mastra's answer to a network of an agent without
// memory (AGENT_NETWORK_MEMORY_REQUIRED, status 400).
func networkMemoryError(err error) error {
	return &transport.Error{Status: http.StatusBadRequest, Err: err,
		Message: "Memory is required for the agent network to function properly. Please configure memory for the agent."}
}

func (s *Server) network(w http.ResponseWriter, r *http.Request) error {
	var b networkBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if asks(b.Completion) {
		return transport.Invalid("Invalid request body", "completion",
			"not supported: completion scorers are code; the routing agent decides when the task is complete")
	}
	in, err := s.mastraInput(r, &b.mastraBody)
	if err != nil {
		return err
	}
	if len(in.ClientTools) > 0 {
		return transport.Invalid("Invalid request body", "clientTools", "not supported on a network: its primitives run on the server")
	}
	if !s.agents.HasMemory() {
		return networkMemoryError(agent.ErrNetworkMemory)
	}
	opts := agent.Network{MaxIterations: in.MaxSteps}
	if b.Routing != nil {
		if msg := badText(b.Routing.AdditionalInstructions); msg != "" {
			return transport.Invalid("Invalid request body", "routing.additionalInstructions", msg)
		}
		if in.Instructions != "" && b.Routing.AdditionalInstructions != "" {
			in.Instructions += "\n\n"
		}
		in.Instructions += b.Routing.AdditionalInstructions
		opts.Verbose = b.Routing.VerboseIntrospection
	}
	if in.RunID == "" {
		in.RunID = uuid.NewString()
	}
	if in.Ephemeral {
		// Without memory.thread Mastra's network keeps its run in a thread
		// named by the run id, of the caller's resource.
		in.Ephemeral, in.ThreadID, in.ThreadMade = false, in.RunID, true
	}
	return s.streamTurn(w, r, in, &mastraFace{}, s.cfg.Streams.Resumable, func(ctx context.Context, in agent.Input, emit func(agent.Chunk) error) error {
		_, err := s.agents.RunNetwork(ctx, in, opts, emit)
		return err
	}, func(err error) error {
		if errors.Is(err, agent.ErrNetworkMemory) {
			return networkMemoryError(err)
		}
		return threadTaken(err)
	})
}

func (s *Server) approveNetworkToolCall(w http.ResponseWriter, r *http.Request) error {
	return s.decideNetwork(w, r, true)
}

func (s *Server) declineNetworkToolCall(w http.ResponseWriter, r *http.Request) error {
	return s.decideNetwork(w, r, false)
}

// decideNetwork approves or declines what a network run waits for. Mastra's
// body names only the run ({runId, model?, requestContext?, format?,
// reason?}): a network run waits for one primitive at a time.
func (s *Server) decideNetwork(w http.ResponseWriter, r *http.Request, approved bool) error {
	var b decisionBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if err := checkResumeCommon(b.RunID, b.Model, b.Format); err != nil {
		return err
	}
	if err := checkIDs(invalidResumeBody, "toolCallId", b.ToolCallID); err != nil {
		return err
	}
	if msg := badText(b.Reason); msg != "" {
		return transport.Invalid(invalidResumeBody, "reason", msg)
	}
	rs, err := s.resumeOf(r, agent.Resume{RunID: b.RunID, ToolCallID: b.ToolCallID, Approved: &approved, Reason: b.Reason}, b.RequestContext)
	if err != nil {
		return err
	}
	in := agent.Input{AgentID: rs.AgentID, RunID: rs.RunID, ResourceID: rs.ResourceID}
	return s.streamTurn(w, r, in, &mastraFace{}, false, func(ctx context.Context, _ agent.Input, emit func(agent.Chunk) error) error {
		_, err := s.agents.ResumeNetwork(ctx, rs, emit)
		return err
	}, resumeError)
}
