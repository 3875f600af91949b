package plugin

import (
	"context"
	"errors"

	"github.com/tetratelabs/wazero/api"
)

// This file declares module mastra v1 (documented in doc.go): the request
// context and route parameters are in mastra_ctx.go, agents in
// mastra_agent.go, the key-value store in mastra_kv.go, workflows and
// threads in mastra_data.go.

// mastraModule is module mastra, v1. Functions are only ever added.
var mastraModule = newHostModule(moduleMastra,
	ctxGet, ctxSet, ctxDelete, ctxKeys, routeParam,
	resultRead,
	agentGenerate, agentStreamToResponse,
	kvGet, kvSet, kvDelete,
	workflowStart, workflowResume, workflowRun,
	threadsList, threadMessages,
)

// Limits of the mastra module.
const (
	maxCtxValue = 64 << 10 // one RequestContext value
	maxKVKey    = 512
	maxKVValue  = 1 << 20
	// agent_generate options are a few ids and numbers.
	maxAgentOptions = 64 << 10
	// workflow_start input, workflow_resume bodies and thread queries.
	maxDataArg = 1 << 20
)

// reply writes v into (buf, limit) when status is 0 or v is error text, keeps
// it in the result slot, and returns status<<32|len.
func (st *reqState) reply(mod api.Module, buf, limit, status uint32, v []byte) uint64 {
	st.result = v
	writeIfFits(mod, buf, limit, v, "result buffer")
	return packHiLo(status, uint32(len(v)))
}

// errnoFor maps a host-side failure to an errno.
func errnoFor(ctx context.Context, err error) uint32 {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errnoTimedOut
	case errors.Is(err, context.Canceled):
		return errnoCanceled
	case ctx.Err() != nil:
		return errnoCanceled
	}
	return errnoIO
}

// result_read(offset, buf, buf_limit i32) -> n i32
var resultRead = newHostFunc("result_read", resultReadFn,
	types(i32, i32, i32), types(i32), "offset", "buf", "buf_limit")

func resultReadFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	off, buf, limit := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if uint64(off) >= uint64(len(st.result)) || limit == 0 {
		stack[0] = 0
		return
	}
	src := st.result[off:]
	n := min(uint32(len(src)), limit)
	copy(mustRead(mod, buf, n, "result_read buffer"), src[:n])
	stack[0] = uint64(n)
}
