// Package abi holds the raw host imports of a mastra-server Wasm guest: the http-wasm
// "http_handler" module (ABI v0.1.1) and the "mastra" module (v1).
//
// Every import is its own //go:wasmimport declaration, so the Go linker keeps only the ones a
// plugin actually calls. That matters: the host refuses to load a module that imports a mastra
// agent_* or kv_* function its configuration does not grant.
//
// Pointers are passed as unsafe.Pointer (an i32 offset into linear memory) and lengths as uint32.
// On GOOS other than wasip1 the functions are stubs (see abi_other.go) so that plugin code can be
// vetted and unit-tested on the host.
package abi

// Header and body kinds (http-wasm header_kind / body_kind).
const (
	KindRequest  uint32 = 0
	KindResponse uint32 = 1
)

// SplitU64 splits an http-wasm i64 result into its upper and lower 32 bits
// (count<<32|len, eof<<32|len, status<<32|len, req_ctx<<32|next).
func SplitU64(v uint64) (hi, lo uint32) { return uint32(v >> 32), uint32(v) }
