// Package mastra is the Go guest SDK for mastra-server Wasm plugins: custom routes and HTTP
// middleware compiled from standard Go (1.24 or later) to a WASI reactor.
//
// A plugin is a main package that registers a handler from init:
//
//	package main
//
//	import mastra "github.com/mastra-server/mastra-server/sdk/go"
//
//	func init() {
//		mastra.HandleRequest(func(req mastra.Request, resp mastra.Response) bool {
//			resp.SetHeader("Content-Type", "text/plain")
//			resp.WriteString("hello from " + req.URI())
//			return false // we wrote the response
//		})
//	}
//
//	func main() {} // required, never run
//
// built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o plugin.wasm .
//
// The module exports memory, handle_request and _initialize (plus handle_response if the plugin
// imports package onresponse). It imports the http-wasm "http_handler" functions it uses,
// wasi_snapshot_preview1 (the Go runtime), and only the "mastra" functions it calls: the host
// refuses a module that imports agent_* or kv_* functions its mastra.toml entry does not grant.
//
// The same module serves as a route ([[routes]] in mastra.toml: write the response, return false)
// or as a middleware ([[middleware]]: return true to continue, false to short-circuit).
//
// On other platforms (GOOS != wasip1) the host calls are stubs that return empty values and
// ENOSYS, so plugin code can be vetted and unit-tested natively.
package mastra
