//go:build wasip1

package abi

import "unsafe"

// ---- module http_handler (http-wasm ABI v0.1.1) ----

//go:wasmimport http_handler enable_features
func EnableFeatures(features uint32) uint32

//go:wasmimport http_handler get_config
func GetConfig(buf unsafe.Pointer, bufLimit uint32) uint32

//go:wasmimport http_handler log_enabled
func LogEnabled(level int32) uint32

//go:wasmimport http_handler log
func Log(level int32, msg unsafe.Pointer, msgLen uint32)

//go:wasmimport http_handler get_method
func GetMethod(buf unsafe.Pointer, bufLimit uint32) uint32

//go:wasmimport http_handler set_method
func SetMethod(ptr unsafe.Pointer, length uint32)

//go:wasmimport http_handler get_uri
func GetURI(buf unsafe.Pointer, bufLimit uint32) uint32

//go:wasmimport http_handler set_uri
func SetURI(ptr unsafe.Pointer, length uint32)

//go:wasmimport http_handler get_protocol_version
func GetProtocolVersion(buf unsafe.Pointer, bufLimit uint32) uint32

//go:wasmimport http_handler get_source_addr
func GetSourceAddr(buf unsafe.Pointer, bufLimit uint32) uint32

//go:wasmimport http_handler get_header_names
func GetHeaderNames(kind uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport http_handler get_header_values
func GetHeaderValues(kind uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport http_handler set_header_value
func SetHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

//go:wasmimport http_handler add_header_value
func AddHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

//go:wasmimport http_handler remove_header
func RemoveHeader(kind uint32, name unsafe.Pointer, nameLen uint32)

//go:wasmimport http_handler read_body
func ReadBody(kind uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport http_handler write_body
func WriteBody(kind uint32, buf unsafe.Pointer, bufLen uint32)

//go:wasmimport http_handler get_status_code
func GetStatusCode() uint32

//go:wasmimport http_handler set_status_code
func SetStatusCode(code uint32)

// ---- module mastra (v1) ----

//go:wasmimport mastra ctx_get
func CtxGet(key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra ctx_set
func CtxSet(key unsafe.Pointer, keyLen uint32, json unsafe.Pointer, jsonLen uint32) uint32

//go:wasmimport mastra ctx_delete
func CtxDelete(key unsafe.Pointer, keyLen uint32) uint32

//go:wasmimport mastra ctx_keys
func CtxKeys(buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra route_param
func RouteParam(name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra agent_generate
func AgentGenerate(agent unsafe.Pointer, agentLen uint32, input unsafe.Pointer, inputLen uint32, opts unsafe.Pointer, optsLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra result_read
func ResultRead(offset uint32, buf unsafe.Pointer, bufLimit uint32) uint32

//go:wasmimport mastra agent_stream_to_response
func AgentStreamToResponse(agent unsafe.Pointer, agentLen uint32, input unsafe.Pointer, inputLen uint32, opts unsafe.Pointer, optsLen uint32) uint32

//go:wasmimport mastra kv_get
func KVGet(key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra kv_set
func KVSet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32, ttlMs int64) uint32

//go:wasmimport mastra kv_delete
func KVDelete(key unsafe.Pointer, keyLen uint32) uint32

//go:wasmimport mastra workflow_start
func WorkflowStart(id unsafe.Pointer, idLen uint32, input unsafe.Pointer, inputLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra workflow_resume
func WorkflowResume(id unsafe.Pointer, idLen uint32, run unsafe.Pointer, runLen uint32, body unsafe.Pointer, bodyLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra workflow_run
func WorkflowRun(id unsafe.Pointer, idLen uint32, run unsafe.Pointer, runLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra threads_list
func ThreadsList(query unsafe.Pointer, queryLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport mastra thread_messages
func ThreadMessages(thread unsafe.Pointer, threadLen uint32, query unsafe.Pointer, queryLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64
