// Package onresponse adds the optional http-wasm export handle_response to a plugin.
//
// Import it only if the plugin needs to act after the next handler has run: the host calls
// handle_response only when the module exports it, and a module without it saves a call per
// request. A response hook typically edits response headers, or, with
// mastra.EnableFeatures(mastra.FeatureBufferResponse), reads and rewrites the body.
package onresponse

import mastra "github.com/mastra-server/mastra-server/sdk/go"

var responseHandler func(req mastra.Request, resp mastra.Response, isError bool)

// Handle registers fn to run after the next handler, for requests where the request handler
// returned next=true. isError reports that the next handler failed. Call it from init.
func Handle(fn func(req mastra.Request, resp mastra.Response, isError bool)) {
	responseHandler = fn
}

func handle(isError uint32) {
	if responseHandler != nil {
		responseHandler(mastra.Request{}, mastra.Response{}, isError != 0)
	}
}
