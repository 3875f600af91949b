//go:build !wasip1

package abi

import "unsafe"

// Stubs used when the package is built for the host (go vet, go test, gopls). They behave like an
// empty request on a host without the mastra module: reads return nothing, writes are dropped, and
// every mastra call fails with ENOSYS.

const enosys = 52

func EnableFeatures(features uint32) uint32                         { return features }
func GetConfig(buf unsafe.Pointer, bufLimit uint32) uint32          { return 0 }
func LogEnabled(level int32) uint32                                 { return 0 }
func Log(level int32, msg unsafe.Pointer, msgLen uint32)            {}
func GetMethod(buf unsafe.Pointer, bufLimit uint32) uint32          { return 0 }
func SetMethod(ptr unsafe.Pointer, length uint32)                   {}
func GetURI(buf unsafe.Pointer, bufLimit uint32) uint32             { return 0 }
func SetURI(ptr unsafe.Pointer, length uint32)                      {}
func GetProtocolVersion(buf unsafe.Pointer, bufLimit uint32) uint32 { return 0 }
func GetSourceAddr(buf unsafe.Pointer, bufLimit uint32) uint32      { return 0 }
func GetHeaderNames(kind uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return 0
}
func GetHeaderValues(kind uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return 0
}
func SetHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) {
}
func AddHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) {
}
func RemoveHeader(kind uint32, name unsafe.Pointer, nameLen uint32)    {}
func ReadBody(kind uint32, buf unsafe.Pointer, bufLimit uint32) uint64 { return 1 << 32 }
func WriteBody(kind uint32, buf unsafe.Pointer, bufLen uint32)         {}
func GetStatusCode() uint32                                            { return 200 }
func SetStatusCode(code uint32)                                        {}
func CtxGet(key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func CtxSet(key unsafe.Pointer, keyLen uint32, json unsafe.Pointer, jsonLen uint32) uint32 {
	return enosys
}
func CtxDelete(key unsafe.Pointer, keyLen uint32) uint32 { return enosys }
func CtxKeys(buf unsafe.Pointer, bufLimit uint32) uint64 { return enosys << 32 }
func RouteParam(name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func AgentGenerate(agent unsafe.Pointer, agentLen uint32, input unsafe.Pointer, inputLen uint32, opts unsafe.Pointer, optsLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func ResultRead(offset uint32, buf unsafe.Pointer, bufLimit uint32) uint32 { return 0 }
func AgentStreamToResponse(agent unsafe.Pointer, agentLen uint32, input unsafe.Pointer, inputLen uint32, opts unsafe.Pointer, optsLen uint32) uint32 {
	return enosys
}
func KVGet(key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func KVSet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32, ttlMs int64) uint32 {
	return enosys
}
func KVDelete(key unsafe.Pointer, keyLen uint32) uint32 { return enosys }
func WorkflowStart(id unsafe.Pointer, idLen uint32, input unsafe.Pointer, inputLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func WorkflowResume(id unsafe.Pointer, idLen uint32, run unsafe.Pointer, runLen uint32, body unsafe.Pointer, bodyLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func WorkflowRun(id unsafe.Pointer, idLen uint32, run unsafe.Pointer, runLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func ThreadsList(query unsafe.Pointer, queryLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
func ThreadMessages(thread unsafe.Pointer, threadLen uint32, query unsafe.Pointer, queryLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64 {
	return enosys << 32
}
