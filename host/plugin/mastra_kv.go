package plugin

import (
	"context"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// The mastra functions on the key-value store.

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
var kvGet = newHostFunc("kv_get", kvGetFn,
	types(i32, i32, i32, i32), types(i64), "key", "key_len", "buf", "buf_limit").needs(grantKV)

func kvGetFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	p := st.p
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
var kvSet = newHostFunc("kv_set", kvSetFn,
	types(i32, i32, i32, i32, i64), types(i32), "key", "key_len", "val", "val_len", "ttl_ms").needs(grantKV)

func kvSetFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	p := st.p
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
var kvDelete = newHostFunc("kv_delete", kvDeleteFn,
	types(i32, i32), types(i32), "key", "key_len").needs(grantKV)

func kvDeleteFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	p := st.p
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
