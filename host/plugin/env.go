package plugin

import (
	"context"
	"fmt"
	"unicode/utf16"

	"github.com/tetratelabs/wazero/api"
)

// envModule is what the host offers in module env: AssemblyScript's abort.
var envModule = newHostModule(moduleEnv, abort)

// abort(msg, file, line, col i32), which AssemblyScript imports unless
// built with --use abort=, traps with the message.
var abort = newHostFunc("abort", abortFn,
	types(i32, i32, i32, i32), types(), "msg", "file", "line", "col")

func abortFn(_ context.Context, mod api.Module, stack []uint64) {
	msg := asString(mod, uint32(stack[0]))
	file := asString(mod, uint32(stack[1]))
	panic(fmt.Errorf("abort: %s at %s:%d:%d", msg, file, uint32(stack[2]), uint32(stack[3])))
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
