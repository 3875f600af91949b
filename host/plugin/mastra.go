package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/julienschmidt/httprouter"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// This file implements module mastra v1 (documented in doc.go) and env.abort.

// Limits of the mastra module.
const (
	maxCtxValue = 64 << 10 // one RequestContext value
	maxKVKey    = 512
	maxKVValue  = 1 << 20
	// agent_generate options are a few ids and numbers.
	maxAgentOptions = 64 << 10
)

func (p *Plugin) mastraModule(rt wazero.Runtime) wazero.HostModuleBuilder {
	fns := map[string]api.GoModuleFunc{
		"ctx_get":                  ctxGet,
		"ctx_set":                  p.ctxSet,
		"ctx_delete":               p.ctxDelete,
		"ctx_keys":                 ctxKeys,
		"route_param":              routeParam,
		"result_read":              resultRead,
		"agent_generate":           p.agentGenerate,
		"agent_stream_to_response": agentStreamToResponse,
		"kv_get":                   p.kvGet,
		"kv_set":                   p.kvSet,
		"kv_delete":                p.kvDelete,
	}
	return buildModule(rt, moduleMastra, mastraFuncs, fns)
}

// reply writes v into (buf, limit) when status is 0 or v is error text, keeps
// it in the result slot, and returns status<<32|len.
func (st *reqState) reply(mod api.Module, buf, limit, status uint32, v []byte) uint64 {
	st.result = v
	writeIfFits(mod, buf, limit, v, "result buffer")
	return packHiLo(status, uint32(len(v)))
}

// ctx_get(key, key_len, buf, buf_limit i32) -> status_len i64
func ctxGet(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	key := mustString(mod, uint32(stack[0]), uint32(stack[1]), "ctx_get key")
	if st.values == nil {
		stack[0] = packHiLo(errnoPerm, 0)
		return
	}
	v, ok := st.values.Get(key)
	if !ok {
		stack[0] = packHiLo(errnoNoEnt, 0)
		return
	}
	n := writeIfFits(mod, uint32(stack[2]), uint32(stack[3]), []byte(v), "ctx_get buffer")
	stack[0] = packHiLo(errnoSuccess, n)
}

// mayWriteKey: only middleware may set or delete reserved keys (mastra__*),
// e.g. an auth plugin setting the resource id.
func (p *Plugin) mayWriteKey(key string) bool {
	return p.spec.Kind == Middleware || !strings.HasPrefix(key, reqctx.ReservedPrefix)
}

// ctx_set(key, key_len, json, json_len i32) -> errno i32
func (p *Plugin) ctxSet(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	key := mustString(mod, uint32(stack[0]), uint32(stack[1]), "ctx_set key")
	n := uint32(stack[3])
	switch {
	case st.values == nil || !p.mayWriteKey(key):
		stack[0] = uint64(errnoPerm)
		return
	case key == "":
		stack[0] = uint64(errnoInval)
		return
	case n > maxCtxValue, !st.charge(len(key) + int(n)):
		stack[0] = uint64(errno2Big)
		return
	}
	val := mustRead(mod, uint32(stack[2]), n, "ctx_set value")
	if err := st.values.Set(key, val); err != nil { // Set copies val
		stack[0] = uint64(errnoInval)
		return
	}
	stack[0] = uint64(errnoSuccess)
}

// ctx_delete(key, key_len i32) -> errno i32
func (p *Plugin) ctxDelete(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	key := mustString(mod, uint32(stack[0]), uint32(stack[1]), "ctx_delete key")
	switch {
	case st.values == nil || !p.mayWriteKey(key):
		stack[0] = uint64(errnoPerm)
		return
	}
	if _, ok := st.values.Get(key); !ok {
		stack[0] = uint64(errnoNoEnt)
		return
	}
	st.values.Delete(key)
	stack[0] = uint64(errnoSuccess)
}

// ctx_keys(buf, buf_limit i32) -> count_len i64
func ctxKeys(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	if st.values == nil {
		stack[0] = 0
		return
	}
	stack[0] = writeList(mod, uint32(stack[0]), uint32(stack[1]), st.values.Keys(), false)
}

// route_param(name, name_len, buf, buf_limit i32) -> status_len i64
func routeParam(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	name := mustString(mod, uint32(stack[0]), uint32(stack[1]), "route_param name")
	if st.r == nil {
		stack[0] = packHiLo(errnoPerm, 0)
		return
	}
	for _, prm := range httprouter.ParamsFromContext(st.r.Context()) {
		if prm.Key == name {
			n := writeIfFits(mod, uint32(stack[2]), uint32(stack[3]), prm.Value, "route_param buffer")
			stack[0] = packHiLo(errnoSuccess, n)
			return
		}
	}
	stack[0] = packHiLo(errnoNoEnt, 0)
}

// result_read(offset, buf, buf_limit i32) -> n i32
func resultRead(ctx context.Context, mod api.Module, stack []uint64) {
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

func (p *Plugin) agentAllowed(id string) bool {
	return slices.Contains(p.spec.Grants.Agents, "*") || slices.Contains(p.spec.Grants.Agents, id)
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

// agent_generate(agent, agent_len, input, input_len, opts, opts_len, buf,
// buf_limit i32) -> status_len i64
func (p *Plugin) agentGenerate(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
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

// agent_stream_to_response(...) -> errno i32: not implemented yet (ENOSYS).
func agentStreamToResponse(_ context.Context, _ api.Module, stack []uint64) {
	stack[0] = uint64(errnoNoSys)
}

// kvKey reads and checks a key; a non-zero errno means it is unusable.
func kvKey(mod api.Module, ptr, n uint32) (string, uint32) {
	switch {
	case n == 0:
		return "", errnoInval
	case n > maxKVKey:
		return "", errno2Big
	}
	return mustString(mod, ptr, n, "kv key"), errnoSuccess
}

// kv_get(key, key_len, buf, buf_limit i32) -> status_len i64
func (p *Plugin) kvGet(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	key, errno := kvKey(mod, uint32(stack[0]), uint32(stack[1]))
	if errno != errnoSuccess {
		stack[0] = packHiLo(errno, 0)
		return
	}
	v, ok, err := p.h.kv.Get(ctx, p.spec.Name, key)
	switch {
	case err != nil:
		stack[0] = st.reply(mod, uint32(stack[2]), uint32(stack[3]), errnoFor(ctx, err), []byte(err.Error()))
	case !ok:
		stack[0] = packHiLo(errnoNoEnt, 0)
	default:
		n := writeIfFits(mod, uint32(stack[2]), uint32(stack[3]), v, "kv_get buffer")
		stack[0] = packHiLo(errnoSuccess, n)
	}
}

// kv_set(key, key_len, val, val_len i32, ttl_ms i64) -> errno i32
func (p *Plugin) kvSet(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	key, errno := kvKey(mod, uint32(stack[0]), uint32(stack[1]))
	if errno != errnoSuccess {
		stack[0] = uint64(errno)
		return
	}
	n := uint32(stack[3])
	if n > maxKVValue {
		stack[0] = uint64(errno2Big)
		return
	}
	val := append([]byte(nil), mustRead(mod, uint32(stack[2]), n, "kv value")...)
	var ttl time.Duration
	if ms := int64(stack[4]); ms > 0 {
		ttl = time.Duration(ms) * time.Millisecond
	}
	if err := p.h.kv.Set(ctx, p.spec.Name, key, val, ttl); err != nil {
		st.result = []byte(err.Error())
		stack[0] = uint64(errnoFor(ctx, err))
		return
	}
	stack[0] = uint64(errnoSuccess)
}

// kv_delete(key, key_len i32) -> errno i32
func (p *Plugin) kvDelete(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	key, errno := kvKey(mod, uint32(stack[0]), uint32(stack[1]))
	if errno != errnoSuccess {
		stack[0] = uint64(errno)
		return
	}
	if err := p.h.kv.Delete(ctx, p.spec.Name, key); err != nil {
		st.result = []byte(err.Error())
		stack[0] = uint64(errnoFor(ctx, err))
		return
	}
	stack[0] = uint64(errnoSuccess)
}

// envModule provides env.abort(msg, file, line, col i32), which
// AssemblyScript imports unless built with --use abort=. It traps with the
// message.
func envModule(rt wazero.Runtime) wazero.HostModuleBuilder {
	return buildModule(rt, moduleEnv, envFuncs, map[string]api.GoModuleFunc{
		"abort": func(_ context.Context, mod api.Module, stack []uint64) {
			msg := asString(mod, uint32(stack[0]))
			file := asString(mod, uint32(stack[1]))
			panic(fmt.Errorf("abort: %s at %s:%d:%d", msg, file, uint32(stack[2]), uint32(stack[3])))
		},
	})
}

// asString decodes an AssemblyScript string: UTF-16LE, its byte length in the
// u32 before ptr. Unreadable strings come back empty; long ones are cut.
func asString(mod api.Module, ptr uint32) string {
	if ptr < 4 {
		return ""
	}
	n, ok := mod.Memory().ReadUint32Le(ptr - 4)
	if !ok {
		return ""
	}
	n = min(n, 2048) &^ 1
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return ""
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}
