package mastra

import (
	"unsafe"

	"github.com/mastra-server/mastra-server/sdk/go/internal/abi"
)

// A guest instance serves one call at a time and host calls never re-enter the guest, so one
// scratch buffer is enough. Everything returned to callers is copied out of it.
var scratch = make([]byte, 2048)

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func strPtr(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func grow(n uint32) {
	if int(n) > len(scratch) {
		scratch = make([]byte, n)
	}
}

// read32 runs an http-wasm style read (returns the full length, writes nothing if it does not fit),
// growing the scratch buffer once if needed. The result aliases scratch.
func read32(fn func(buf unsafe.Pointer, limit uint32) uint32) []byte {
	n := fn(ptr(scratch), uint32(len(scratch)))
	if int(n) > len(scratch) {
		grow(n)
		n = fn(ptr(scratch), uint32(len(scratch)))
		if int(n) > len(scratch) { // value changed between calls; give up rather than loop
			return nil
		}
	}
	return scratch[:n]
}

// read64 is read32 for results shaped hi<<32|len (count for lists, status for mastra calls).
// If hi is a mastra error status, the length is not a buffer length and nothing is read.
func read64(isStatus bool, fn func(buf unsafe.Pointer, limit uint32) uint64) (hi uint32, data []byte) {
	hi, n := abi.SplitU64(fn(ptr(scratch), uint32(len(scratch))))
	if isStatus && hi != 0 {
		return hi, nil
	}
	if int(n) > len(scratch) {
		grow(n)
		hi, n = abi.SplitU64(fn(ptr(scratch), uint32(len(scratch))))
		if isStatus && hi != 0 {
			return hi, nil
		}
		if int(n) > len(scratch) {
			return hi, nil
		}
	}
	return hi, scratch[:n]
}

// splitNUL splits a NUL-terminated list ("a\x00b\x00") into strings.
func splitNUL(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	if start < len(b) { // tolerate a missing final NUL
		out = append(out, string(b[start:]))
	}
	return out
}

// firstNUL returns the first entry of a NUL-terminated list.
func firstNUL(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
