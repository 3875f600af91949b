package plugin

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero/api"
)

// This file declares module http_handler: the http-wasm handler ABI v0.1.1
// (https://http-wasm.io/http-handler-abi/), with the functions that
// configure a guest and log; the request, header, body and status functions
// are in http_request.go, http_header.go, http_body.go and http_status.go.
// Misuse by the guest (a bad pointer, an unknown kind, a change after next
// without the feature it needs) panics, which wazero turns into a trap of
// the guest call.

// httpHandlerModule is module http_handler, exactly as in http-wasm v0.1.1.
var httpHandlerModule = newHostModule(moduleHTTPHandler,
	enableFeatures, getConfig, logEnabled, logMessage,
	getMethod, setMethod, getURI, setURI, getProtocolVersion, getSourceAddr,
	getHeaderNames, getHeaderValues, setHeaderValue, addHeaderValue, removeHeader,
	readBody, writeBody,
	getStatusCode, setStatusCode,
)

// requestState returns the call's state and traps outside a request.
func requestState(ctx context.Context, fn string) *reqState {
	st := stateFrom(ctx)
	if st.init {
		panic(fmt.Errorf("http_handler.%s called outside a request (during start)", fn))
	}
	return st
}

func mustBeforeNext(st *reqState, what string) {
	if st.afterNext {
		panic(fmt.Errorf("can't %s after the next handler ran", what))
	}
}

// enable_features(features i32) -> i32: enables what the host supports and
// returns the features now enabled. During start it sets the instance's
// defaults; during a request it applies to that request.
var enableFeatures = newHostFunc("enable_features", enableFeaturesFn,
	types(i32), types(i32), "features")

func enableFeaturesFn(ctx context.Context, _ api.Module, stack []uint64) {
	st := stateFrom(ctx)
	f := uint32(stack[0]) & featuresSupported
	if !st.init && f&featureBufferResponse != 0 {
		st.startBuffering()
		if st.buf == nil { // too late: the response is already going out
			f &^= featureBufferResponse
		}
	}
	st.features |= f
	stack[0] = uint64(st.features)
}

// get_config(buf, buf_limit i32) -> len i32
var getConfig = newHostFunc("get_config", getConfigFn,
	types(i32, i32), types(i32), "buf", "buf_limit")

func getConfigFn(ctx context.Context, mod api.Module, stack []uint64) {
	p := stateFrom(ctx).p
	stack[0] = uint64(writeIfFits(mod, uint32(stack[0]), uint32(stack[1]), p.spec.Config, "get_config buffer"))
}

func slogLevel(level int32) (slog.Level, bool) {
	switch {
	case level <= logLevelDebug:
		return slog.LevelDebug, true
	case level == logLevelInfo:
		return slog.LevelInfo, true
	case level == logLevelWarn:
		return slog.LevelWarn, true
	case level == logLevelError:
		return slog.LevelError, true
	}
	return 0, false // logLevelNone and above
}

// log_enabled(level i32) -> i32
var logEnabled = newHostFunc("log_enabled", logEnabledFn,
	types(i32), types(i32), "level")

func logEnabledFn(ctx context.Context, _ api.Module, stack []uint64) {
	p := stateFrom(ctx).p
	lvl, ok := slogLevel(int32(uint32(stack[0])))
	if ok && p.log.Enabled(ctx, lvl) {
		stack[0] = 1
	} else {
		stack[0] = 0
	}
}

const maxLogMessage = 4096

// log(level, buf, buf_len i32)
var logMessage = newHostFunc("log", logMessageFn,
	types(i32, i32, i32), types(), "level", "buf", "buf_len")

func logMessageFn(ctx context.Context, mod api.Module, stack []uint64) {
	p := stateFrom(ctx).p
	lvl, ok := slogLevel(int32(uint32(stack[0])))
	if !ok || !p.log.Enabled(ctx, lvl) {
		return
	}
	msg := mustRead(mod, uint32(stack[1]), uint32(stack[2]), "log message")
	if len(msg) > maxLogMessage {
		msg = msg[:maxLogMessage]
	}
	ok, dropped := p.lim.allow()
	switch {
	case !ok:
	case dropped > 0:
		p.log.Log(ctx, lvl, string(msg), "source", "guest", "dropped_before", dropped)
	default:
		p.log.Log(ctx, lvl, string(msg), "source", "guest")
	}
}
