//go:build wasip1

package mastra

// handle_request is the http-wasm entry point: req_ctx<<32 | next. The SDK keeps no per-request
// guest context, so req_ctx is always 0.
//
//go:wasmexport handle_request
func handleRequestExport() uint64 { return handle() }

// mastra_abi_v1 marks the module as written against the mastra host module v1. It is never called.
//
//go:wasmexport mastra_abi_v1
func mastraABIv1() {}
