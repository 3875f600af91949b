package plugin

// The constants of the two ABIs a guest speaks: names, flags, kinds and
// errno values. Each host function is declared next to its code.

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
	errnoBusy      uint32 = 10
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
