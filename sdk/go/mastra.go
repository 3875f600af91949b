package mastra

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/mastra-server/mastra-server/sdk/go/internal/abi"
)

// ---- config ----

var (
	config       []byte
	configLoaded bool
)

// Config returns the plugin's config table from mastra.toml, as JSON (e.g. {"token_env":"X"}).
// It is empty when the entry has no config. The result is cached; do not modify it.
func Config() []byte {
	if !configLoaded {
		config = append([]byte(nil), read32(abi.GetConfig)...)
		configLoaded = true
	}
	return config
}

// DecodeConfig unmarshals Config into v. An empty config leaves v unchanged.
func DecodeConfig(v any) error {
	c := Config()
	if len(c) == 0 {
		return nil
	}
	if err := json.Unmarshal(c, v); err != nil {
		return fmt.Errorf("mastra: decode plugin config: %w", err)
	}
	return nil
}

// ---- features ----

// Feature is an http-wasm feature flag.
type Feature uint32

const (
	// FeatureBufferRequest lets a middleware read the request body and still pass it on.
	FeatureBufferRequest Feature = 1
	// FeatureBufferResponse lets a response hook read and rewrite the downstream response.
	FeatureBufferResponse Feature = 2
	// FeatureTrailers enables access to trailers (not used by mastra-server).
	FeatureTrailers Feature = 4
)

// EnableFeatures asks the host for features and returns the features now enabled.
// Call it from init or at the start of the handler.
func EnableFeatures(f Feature) Feature { return Feature(abi.EnableFeatures(uint32(f))) }

// ---- logging ----

// LogLevel is an http-wasm log level.
type LogLevel int32

const (
	LevelDebug LogLevel = -1
	LevelInfo  LogLevel = 0
	LevelWarn  LogLevel = 1
	LevelError LogLevel = 2
	LevelNone  LogLevel = 3
)

// LogEnabled reports whether the host logs messages at level. Use it to skip building expensive
// messages.
func LogEnabled(level LogLevel) bool { return abi.LogEnabled(int32(level)) != 0 }

// Log writes msg to the host log; the host tags it with the plugin's name.
func Log(level LogLevel, msg string) {
	p, n := strPtr(msg)
	abi.Log(int32(level), p, n)
}

// Logf formats and logs a message if level is enabled.
func Logf(level LogLevel, format string, args ...any) {
	if LogEnabled(level) {
		Log(level, fmt.Sprintf(format, args...))
	}
}

// ---- request context (Mastra RequestContext: string keys, JSON values) ----

// ContextGet returns the JSON value stored under key in the request context. It fails with ENOENT
// if the key is absent.
func ContextGet(key string) ([]byte, error) {
	kp, kl := strPtr(key)
	status, data := read64(true, func(buf unsafe.Pointer, limit uint32) uint64 {
		return abi.CtxGet(kp, kl, buf, limit)
	})
	if status != 0 {
		return nil, Errno(status)
	}
	return append([]byte(nil), data...), nil
}

// ContextGetString returns the request-context value under key, which must be a JSON string.
func ContextGetString(key string) (string, error) {
	raw, err := ContextGet(key)
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("mastra: context key %q is not a JSON string: %w", key, err)
	}
	return s, nil
}

// ContextSet stores a JSON value (e.g. []byte(`{"plan":"pro"}`)) under key. The host rejects
// invalid JSON with EINVAL and, without the context:write grant, answers EPERM.
func ContextSet(key string, jsonValue []byte) error {
	kp, kl := strPtr(key)
	return errnoOf(abi.CtxSet(kp, kl, ptr(jsonValue), uint32(len(jsonValue))))
}

// ContextSetString stores value as a JSON string under key.
func ContextSetString(key, value string) error {
	return ContextSet(key, AppendJSONString(nil, value))
}

// ContextSetValue stores v, encoded with encoding/json, under key.
func ContextSetValue(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return ContextSet(key, b)
}

// ContextDelete removes key from the request context.
func ContextDelete(key string) error {
	kp, kl := strPtr(key)
	return errnoOf(abi.CtxDelete(kp, kl))
}

// ContextKeys lists the keys in the request context.
func ContextKeys() ([]string, error) {
	count, data := read64(false, abi.CtxKeys)
	if count == 0 || len(data) == 0 {
		return nil, nil
	}
	return splitNUL(data), nil
}

// ---- routing ----

// RouteParam returns the value of a route parameter, e.g. "name" for the route path
// "/hello/:name". ok is false if there is no such parameter (or in a middleware).
func RouteParam(name string) (value string, ok bool) {
	np, nl := strPtr(name)
	status, data := read64(true, func(buf unsafe.Pointer, limit uint32) uint64 {
		return abi.RouteParam(np, nl, buf, limit)
	})
	if status != 0 {
		return "", false
	}
	return string(data), true
}

// ---- agents ----

// AgentError is the error of a failed agent call: the host's status and its message.
// errors.Is(err, mastra.EPERM) etc. work through Unwrap.
type AgentError struct {
	Errno   Errno
	Message string
}

func (e *AgentError) Error() string {
	if e.Message == "" {
		return "mastra: agent call failed: " + e.Errno.Error()
	}
	return "mastra: agent call failed: " + e.Errno.Name() + ": " + e.Message
}

func (e *AgentError) Unwrap() error { return e.Errno }

// GenerateOption changes an AgentGenerate call.
type GenerateOption func(*generateOptions)

type generateOptions struct {
	threadID, resourceID string
	maxSteps             int
	output               string
}

// WithThreadID continues (or creates) the memory thread id.
func WithThreadID(id string) GenerateOption { return func(o *generateOptions) { o.threadID = id } }

// WithResourceID sets the resource (user) that owns the thread.
func WithResourceID(id string) GenerateOption {
	return func(o *generateOptions) { o.resourceID = id }
}

// WithMaxSteps bounds the agent's tool-call steps.
func WithMaxSteps(n int) GenerateOption { return func(o *generateOptions) { o.maxSteps = n } }

// WithJSONOutput asks for the result as JSON (the host's structured result) instead of plain text.
func WithJSONOutput() GenerateOption { return func(o *generateOptions) { o.output = "json" } }

func encodeOptions(opts []GenerateOption) []byte {
	if len(opts) == 0 {
		return nil
	}
	var o generateOptions
	for _, fn := range opts {
		fn(&o)
	}
	b := []byte{'{'}
	field := func(name string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, name)
		b = append(b, ':')
	}
	if o.threadID != "" {
		field("threadId")
		b = AppendJSONString(b, o.threadID)
	}
	if o.resourceID != "" {
		field("resourceId")
		b = AppendJSONString(b, o.resourceID)
	}
	if o.maxSteps > 0 {
		field("maxSteps")
		b = strconv.AppendInt(b, int64(o.maxSteps), 10)
	}
	if o.output != "" {
		field("output")
		b = AppendJSONString(b, o.output)
	}
	if len(b) == 1 {
		return nil
	}
	return append(b, '}')
}

// readResult copies total bytes out of the host's result slot (mastra.result_read).
func readResult(total uint32) []byte {
	if total == 0 {
		return nil
	}
	out := make([]byte, total)
	var off uint32
	for off < total {
		n := abi.ResultRead(off, ptr(out[off:]), total-off)
		if n == 0 || n > total-off {
			break
		}
		off += n
	}
	return out[:off]
}

// AgentGenerate calls the agent agentID (e.g. "assistant") with input, a plain-text user message
// or a JSON array of messages, and blocks until the reply is complete. It returns the reply text
// (or JSON with WithJSONOutput). The host passes on the request's deadline and RequestContext; the
// plugin needs the grant for that agent in mastra.toml (agents = ["assistant"]), else EPERM.
//
// On failure the error is an *AgentError carrying the status (EIO, ETIMEDOUT, EPERM, ...) and the
// host's message.
func AgentGenerate(agentID, input string, opts ...GenerateOption) (string, error) {
	ap, al := strPtr(agentID)
	ip, il := strPtr(input)
	o := encodeOptions(opts)
	status, n := abi.SplitU64(abi.AgentGenerate(ap, al, ip, il, ptr(o), uint32(len(o)),
		ptr(scratch), uint32(len(scratch))))
	if status != 0 {
		return "", &AgentError{Errno: Errno(status), Message: string(readResult(n))}
	}
	if int(n) <= len(scratch) {
		return string(scratch[:n]), nil
	}
	return string(readResult(n)), nil
}

// AgentStreamToResponse calls the agent agentID as AgentGenerate does (same input, options,
// grant and scoping) and streams its reply as the whole response, in the format of the server's
// /agent/stream: Server-Sent Events, one "data: <chunk>" per chunk in Mastra's {type, runId,
// from, payload} shape, then "data: [DONE]". The host writes the status, headers and body; headers
// set before the call go out too. Use it in a route handler that has not written a body yet
// (else EPERM), and return next=false afterwards.
//
// A nil error means the response is done, even when the agent failed after the stream began (the
// stream then carries an "error" chunk): write nothing more. An error means nothing was sent,
// so the handler answers as it likes; it is an *AgentError carrying the status (EIO, ETIMEDOUT,
// EPERM, ...) and the host's message. The route's timeout bounds the whole stream; a client that
// disconnects cancels the model call.
func AgentStreamToResponse(agentID, input string, opts ...GenerateOption) error {
	ap, al := strPtr(agentID)
	ip, il := strPtr(input)
	o := encodeOptions(opts)
	if status := abi.AgentStreamToResponse(ap, al, ip, il, ptr(o), uint32(len(o))); status != 0 {
		return &AgentError{Errno: Errno(status), Message: string(readResultToEnd())}
	}
	return nil
}

// readResultToEnd copies the host's result slot when its length is not known: result_read until
// it returns 0.
func readResultToEnd() []byte {
	var out []byte
	for {
		n := abi.ResultRead(uint32(len(out)), ptr(scratch), uint32(len(scratch)))
		if n == 0 || n > uint32(len(scratch)) {
			return out
		}
		out = append(out, scratch[:n]...)
	}
}

// ---- key-value store (namespaced per plugin by the host; needs kv = true) ----

// KVGet returns the value stored under key, or ENOENT.
func KVGet(key string) ([]byte, error) {
	kp, kl := strPtr(key)
	status, data := read64(true, func(buf unsafe.Pointer, limit uint32) uint64 {
		return abi.KVGet(kp, kl, buf, limit)
	})
	if status != 0 {
		return nil, Errno(status)
	}
	return append([]byte(nil), data...), nil
}

// KVSet stores value under key. A ttl of 0 keeps it until deleted; otherwise it expires after ttl
// (millisecond resolution). It returns E2BIG when value is over 1 MiB or when the write would pass the
// plugin's quota for the caller's resource (kv_max_keys live keys, kv_max_bytes of keys and values;
// nothing is stored: delete keys, or let them expire), and EINVAL when key is empty or not valid
// UTF-8 text without NUL bytes.
func KVSet(key string, value []byte, ttl time.Duration) error {
	kp, kl := strPtr(key)
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	return errnoOf(abi.KVSet(kp, kl, ptr(value), uint32(len(value)), ms))
}

// KVDelete removes key.
func KVDelete(key string) error {
	kp, kl := strPtr(key)
	return errnoOf(abi.KVDelete(kp, kl))
}

// ---- JSON helper ----

// AppendJSONString appends s to b as a JSON string literal (quoted and escaped), without
// reflection.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
