package plugin

import (
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// Module names a guest may import from.
const (
	moduleHTTPHandler = "http_handler"           // http-wasm ABI v0.1.1
	moduleMastra      = "mastra"                 // our extension, v1 (see doc.go)
	moduleWASI        = "wasi_snapshot_preview1" // instantiated only when imported
	moduleEnv         = "env"                    // AssemblyScript's abort only
)

// Guest exports.
const (
	exportMemory         = "memory"
	exportHandleRequest  = "handle_request"
	exportHandleResponse = "handle_response"
	exportInitialize     = "_initialize"
	exportStart          = "_start"
	exportABIMarker      = "mastra_abi_v" // + version: optional marker, never called
)

// http-wasm feature flags (enable_features).
const (
	featureBufferRequest  uint32 = 1 << 0
	featureBufferResponse uint32 = 1 << 1
	featureTrailers       uint32 = 1 << 2

	// featuresSupported is what this host can enable. Trailers are not
	// supported: the host reports the bit as off, returns no trailer names or
	// values, and traps on any attempt to set one (as the ABI asks).
	featuresSupported = featureBufferRequest | featureBufferResponse
)

// http-wasm header kinds.
const (
	headerKindRequest          uint32 = 0
	headerKindResponse         uint32 = 1
	headerKindRequestTrailers  uint32 = 2
	headerKindResponseTrailers uint32 = 3
)

// http-wasm body kinds.
const (
	bodyKindRequest  uint32 = 0
	bodyKindResponse uint32 = 1
)

// http-wasm log levels (signed i32).
const (
	logLevelDebug int32 = -1
	logLevelInfo  int32 = 0
	logLevelWarn  int32 = 1
	logLevelError int32 = 2
	logLevelNone  int32 = 3
)

// Errno values returned by the mastra module: WASI preview1 numbering.
const (
	errnoSuccess   uint32 = 0
	errno2Big      uint32 = 1
	errnoCanceled  uint32 = 11
	errnoInval     uint32 = 28
	errnoIO        uint32 = 29
	errnoNoEnt     uint32 = 44
	errnoNoSys     uint32 = 52
	errnoPerm      uint32 = 63
	errnoTimedOut  uint32 = 73
	pageSize              = 65536
	maxGuestString        = 1 << 20 // largest string a guest may pass for a name or key
)

// packHiLo packs two uint32s as hi<<32|lo: ctx_next, count_len, eof_len and
// the mastra status_len all use this layout.
func packHiLo(hi, lo uint32) uint64 { return uint64(hi)<<32 | uint64(lo) }

// grant says which capability an import needs.
type grant int

const (
	grantNone grant = iota
	grantAgents
	grantKV
)

// hostFunc describes one host function: its signature and the grant it needs.
type hostFunc struct {
	params, results []api.ValueType
	grant           grant
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func sig(params []api.ValueType, results ...api.ValueType) hostFunc {
	return hostFunc{params: params, results: results}
}

func types(t ...api.ValueType) []api.ValueType { return t }

// httpHandlerFuncs is the http_handler module, exactly as in http-wasm v0.1.1.
var httpHandlerFuncs = map[string]hostFunc{
	"enable_features":      sig(types(i32), i32),
	"get_config":           sig(types(i32, i32), i32),
	"log_enabled":          sig(types(i32), i32),
	"log":                  sig(types(i32, i32, i32)),
	"get_method":           sig(types(i32, i32), i32),
	"set_method":           sig(types(i32, i32)),
	"get_uri":              sig(types(i32, i32), i32),
	"set_uri":              sig(types(i32, i32)),
	"get_protocol_version": sig(types(i32, i32), i32),
	"get_source_addr":      sig(types(i32, i32), i32),
	"get_header_names":     sig(types(i32, i32, i32), i64),
	"get_header_values":    sig(types(i32, i32, i32, i32, i32), i64),
	"set_header_value":     sig(types(i32, i32, i32, i32, i32)),
	"add_header_value":     sig(types(i32, i32, i32, i32, i32)),
	"remove_header":        sig(types(i32, i32, i32)),
	"read_body":            sig(types(i32, i32, i32), i64),
	"write_body":           sig(types(i32, i32, i32)),
	"get_status_code":      sig(types(), i32),
	"set_status_code":      sig(types(i32)),
}

// mastraFuncs is the mastra module, v1. Functions are only ever added.
var mastraFuncs = map[string]hostFunc{
	"ctx_get":                  sig(types(i32, i32, i32, i32), i64),
	"ctx_set":                  sig(types(i32, i32, i32, i32), i32),
	"ctx_delete":               sig(types(i32, i32), i32),
	"ctx_keys":                 sig(types(i32, i32), i64),
	"route_param":              sig(types(i32, i32, i32, i32), i64),
	"result_read":              sig(types(i32, i32, i32), i32),
	"agent_generate":           withGrant(sig(types(i32, i32, i32, i32, i32, i32, i32, i32), i64), grantAgents),
	"agent_stream_to_response": withGrant(sig(types(i32, i32, i32, i32, i32, i32), i32), grantAgents),
	"kv_get":                   withGrant(sig(types(i32, i32, i32, i32), i64), grantKV),
	"kv_set":                   withGrant(sig(types(i32, i32, i32, i32, i64), i32), grantKV),
	"kv_delete":                withGrant(sig(types(i32, i32), i32), grantKV),
}

// envFuncs is what the host offers in module env: AssemblyScript's abort.
var envFuncs = map[string]hostFunc{
	"abort": sig(types(i32, i32, i32, i32)),
}

func withGrant(f hostFunc, g grant) hostFunc { f.grant = g; return f }

// matches reports whether a guest's import has the signature of f.
func (f hostFunc) matches(def api.FunctionDefinition) bool {
	return equalTypes(def.ParamTypes(), f.params) && equalTypes(def.ResultTypes(), f.results)
}

func equalTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sigString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("(%s)->(%s)", name(params), name(results))
}
