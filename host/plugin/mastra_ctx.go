package plugin

import (
	"context"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// The mastra functions on the request context and route parameters.

// ctx_get(key, key_len, buf, buf_limit i32) -> status_len i64
var ctxGet = newHostFunc("ctx_get", ctxGetFn,
	types(i32, i32, i32, i32), types(i64), "key", "key_len", "buf", "buf_limit")

func ctxGetFn(ctx context.Context, mod api.Module, stack []uint64) {
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
var ctxSet = newHostFunc("ctx_set", ctxSetFn,
	types(i32, i32, i32, i32), types(i32), "key", "key_len", "json", "json_len")

func ctxSetFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	p := st.p
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
var ctxDelete = newHostFunc("ctx_delete", ctxDeleteFn,
	types(i32, i32), types(i32), "key", "key_len")

func ctxDeleteFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	p := st.p
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
var ctxKeys = newHostFunc("ctx_keys", ctxKeysFn,
	types(i32, i32), types(i64), "buf", "buf_limit")

func ctxKeysFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	if st.values == nil {
		stack[0] = 0
		return
	}
	stack[0] = writeList(mod, uint32(stack[0]), uint32(stack[1]), st.values.Keys(), false)
}

// route_param(name, name_len, buf, buf_limit i32) -> status_len i64 reads
// the parameter as net/http's Request.PathValue: the server's router puts
// them there (http.ServeMux does; an httprouter adapter copies its
// params), so this package needs no router. An empty value is absent.
var routeParam = newHostFunc("route_param", routeParamFn,
	types(i32, i32, i32, i32), types(i64), "name", "name_len", "buf", "buf_limit")

func routeParamFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	name := mustString(mod, uint32(stack[0]), uint32(stack[1]), "route_param name")
	if st.r == nil {
		stack[0] = packHiLo(errnoPerm, 0)
		return
	}
	v := st.r.PathValue(name)
	if v == "" {
		stack[0] = packHiLo(errnoNoEnt, 0)
		return
	}
	n := writeIfFits(mod, uint32(stack[2]), uint32(stack[3]), v, "route_param buffer")
	stack[0] = packHiLo(errnoSuccess, n)
}
