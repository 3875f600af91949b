//go:build wasip1

package onresponse

//go:wasmexport handle_response
func handleResponseExport(reqCtx uint32, isError uint32) { handle(isError) }
