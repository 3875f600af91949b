package plugin

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/tetratelabs/wazero/api"
)

// The mastra functions that call agents.

func (p *Plugin) agentAllowed(id string) bool {
	return slices.Contains(p.spec.Grants.Agents, "*") || slices.Contains(p.spec.Grants.Agents, id)
}

// agent_generate(agent, agent_len, input, input_len, opts, opts_len, buf,
// buf_limit i32) -> status_len i64
var agentGenerate = newHostFunc("agent_generate", agentGenerateFn,
	types(i32, i32, i32, i32, i32, i32, i32, i32), types(i64),
	"agent", "agent_len", "input", "input_len", "opts", "opts_len", "buf", "buf_limit").needs(grantAgents)

func agentGenerateFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	p := st.p
	agent := mustString(mod, uint32(stack[0]), uint32(stack[1]), "agent id")
	input := mustString(mod, uint32(stack[2]), uint32(stack[3]), "agent input")
	if uint32(stack[5]) > maxAgentOptions {
		stack[0] = packHiLo(errno2Big, 0)
		return
	}
	opts := mustRead(mod, uint32(stack[4]), uint32(stack[5]), "agent options")
	buf, limit := uint32(stack[6]), uint32(stack[7])
	st.result = nil
	switch {
	case st.init:
		stack[0] = packHiLo(errnoPerm, 0)
		return
	case !p.agentAllowed(agent):
		stack[0] = packHiLo(errnoPerm, 0)
		return
	case p.h.agents == nil:
		stack[0] = packHiLo(errnoNoSys, 0)
		return
	case len(opts) > 0 && !json.Valid(opts):
		stack[0] = packHiLo(errnoInval, 0)
		return
	}
	var raw json.RawMessage
	if len(opts) > 0 {
		raw = append(json.RawMessage(nil), opts...) // guest memory may move while we wait
	}
	out, err := p.h.agents.Generate(ctx, AgentCall{Plugin: p.spec.Name, ResourceID: p.spec.ResourceID,
		AgentID: agent, Input: input, Options: raw})
	if err != nil {
		stack[0] = st.reply(mod, buf, limit, errnoFor(ctx, err), []byte(err.Error()))
		return
	}
	stack[0] = st.reply(mod, buf, limit, errnoSuccess, []byte(out))
}

// agent_stream_to_response(agent, agent_len, input, input_len, opts,
// opts_len i32) -> errno i32 runs the agent as agent_generate does (same
// grant, options and resource rule) and streams its reply as the whole
// response, in /agent/stream's format (see agentStream). 0: the response is
// done, including a stream the agent ended with an "error" chunk after it
// began. Anything else: nothing was sent (the error text is in the result
// slot), so the guest may still answer.
var agentStreamToResponse = newHostFunc("agent_stream_to_response", agentStreamToResponseFn,
	types(i32, i32, i32, i32, i32, i32), types(i32),
	"agent", "agent_len", "input", "input_len", "opts", "opts_len").needs(grantAgents)

func agentStreamToResponseFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	p := st.p
	agent := mustString(mod, uint32(stack[0]), uint32(stack[1]), "agent id")
	input := mustString(mod, uint32(stack[2]), uint32(stack[3]), "agent input")
	if uint32(stack[5]) > maxAgentOptions {
		stack[0] = uint64(errno2Big)
		return
	}
	opts := mustRead(mod, uint32(stack[4]), uint32(stack[5]), "agent options")
	st.result = nil
	switch {
	case st.init, p.spec.Kind == Tool, st.afterNext, st.responseStarted():
		// The stream must be the whole response, to a client.
		stack[0] = uint64(errnoPerm)
		return
	case !p.agentAllowed(agent):
		stack[0] = uint64(errnoPerm)
		return
	case p.h.agents == nil:
		stack[0] = uint64(errnoNoSys)
		return
	case len(opts) > 0 && !json.Valid(opts):
		stack[0] = uint64(errnoInval)
		return
	}
	var raw json.RawMessage
	if len(opts) > 0 {
		raw = append(json.RawMessage(nil), opts...) // guest memory may move while we wait
	}
	as := &agentStream{st: st, ctx: ctx}
	err := p.h.agents.Stream(ctx, AgentCall{Plugin: p.spec.Name, ResourceID: p.spec.ResourceID,
		AgentID: agent, Input: input, Options: raw}, as.emit)
	if st.overCap != "" {
		panic(errOverCap) // a buffered stream past MaxResponse: the call fails
	}
	if !as.started && err != nil {
		st.result = []byte(err.Error())
		stack[0] = uint64(errnoFor(ctx, err))
		return
	}
	as.done()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		p.log.Debug("agent stream ended early", "agent", agent, "err", err)
	default:
		p.log.Warn("agent stream ended with an error", "agent", agent, "err", err)
	}
	stack[0] = uint64(errnoSuccess)
}
