package plugin

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// The mastra functions on the key-value store.

// kvKey reads and checks a key; a non-zero errno means it is unusable. A
// key is text: the database stores it as such, and NUL or invalid UTF-8
// would fail there (as EIO), not as the guest's mistake.
func kvKey(mod api.Module, ptr, n uint32) (string, uint32) {
	switch {
	case n == 0:
		return "", errnoInval
	case n > maxKVKey:
		return "", errno2Big
	}
	key := mustString(mod, ptr, n, "kv key")
	if !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 {
		return "", errnoInval
	}
	return key, errnoSuccess
}

// kvQuota is the quota a write counts against: the plugin's, for the
// request's scoped resource (a token's, or a middleware's
// mastra__resourceId), else the plugin's own resource, so one tenant
// filling it leaves the others theirs.
func (st *reqState) kvQuota() KVQuota {
	q := KVQuota{ResourceID: st.p.spec.ResourceID, MaxKeys: st.p.spec.KVMaxKeys, MaxBytes: st.p.spec.KVMaxBytes}
	if st.values != nil {
		if id, ok := st.values.GetString(reqctx.ResourceIDKey); ok && id != "" {
			q.ResourceID = id
		}
	}
	return q
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
	q := st.kvQuota()
	if err := p.h.kv.Set(ctx, p.spec.Name, key, val, ttl, q); err != nil {
		st.result = []byte(err.Error())
		if errors.Is(err, ErrKVQuota) {
			if !st.kvQuotaLogged { // once per call: a guest may retry in a loop
				st.kvQuotaLogged = true
				p.log.Warn("plugin kv quota reached", "resource", q.ResourceID,
					"kv_max_keys", q.MaxKeys, "kv_max_bytes", q.MaxBytes, "err", err)
			}
			stack[0] = uint64(errno2Big)
			return
		}
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
