// AssemblyScript guest SDK for mastra-server Wasm plugins.
//
// Host imports: the http-wasm "http_handler" module (ABI v0.1.1) and the "mastra" module (v1).
// Imports are declared with @external and tree-shaken: a plugin imports only what it calls (the
// host refuses modules that import agent_* or kv_* functions their mastra.toml entry does not
// grant).
//
// AssemblyScript only exports what the entry file exports, so a plugin re-exports the entry
// points it uses:
//
//   import { Request, Response, handleRequest } from "../../sdk/assemblyscript/assembly";
//   export { handle_request } from "../../sdk/assemblyscript/assembly";
//
//   function handler(req: Request, resp: Response): bool {
//     resp.setHeader("Content-Type", "text/plain");
//     resp.writeText("hello " + req.uri());
//     return false; // we wrote the response (true = continue with the next handler)
//   }
//   handleRequest(handler);
//
// Strings crossing the boundary are UTF-8; AssemblyScript strings are UTF-16 and are converted.

// ---------------------------------------------------------------------------------------------
// Raw imports: module http_handler

// @ts-ignore: decorator
@external("http_handler", "enable_features") declare function http_enable_features(features: u32): u32;
// @ts-ignore: decorator
@external("http_handler", "get_config") declare function http_get_config(buf: usize, buf_limit: u32): u32;
// @ts-ignore: decorator
@external("http_handler", "log_enabled") declare function http_log_enabled(level: i32): u32;
// @ts-ignore: decorator
@external("http_handler", "log") declare function http_log(level: i32, msg: usize, msg_len: u32): void;
// @ts-ignore: decorator
@external("http_handler", "get_method") declare function http_get_method(buf: usize, buf_limit: u32): u32;
// @ts-ignore: decorator
@external("http_handler", "set_method") declare function http_set_method(ptr: usize, len: u32): void;
// @ts-ignore: decorator
@external("http_handler", "get_uri") declare function http_get_uri(buf: usize, buf_limit: u32): u32;
// @ts-ignore: decorator
@external("http_handler", "set_uri") declare function http_set_uri(ptr: usize, len: u32): void;
// @ts-ignore: decorator
@external("http_handler", "get_protocol_version") declare function http_get_protocol_version(buf: usize, buf_limit: u32): u32;
// @ts-ignore: decorator
@external("http_handler", "get_source_addr") declare function http_get_source_addr(buf: usize, buf_limit: u32): u32;
// @ts-ignore: decorator
@external("http_handler", "get_header_names") declare function http_get_header_names(kind: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("http_handler", "get_header_values") declare function http_get_header_values(kind: u32, name: usize, name_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("http_handler", "set_header_value") declare function http_set_header_value(kind: u32, name: usize, name_len: u32, value: usize, value_len: u32): void;
// @ts-ignore: decorator
@external("http_handler", "add_header_value") declare function http_add_header_value(kind: u32, name: usize, name_len: u32, value: usize, value_len: u32): void;
// @ts-ignore: decorator
@external("http_handler", "remove_header") declare function http_remove_header(kind: u32, name: usize, name_len: u32): void;
// @ts-ignore: decorator
@external("http_handler", "read_body") declare function http_read_body(kind: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("http_handler", "write_body") declare function http_write_body(kind: u32, buf: usize, buf_len: u32): void;
// @ts-ignore: decorator
@external("http_handler", "get_status_code") declare function http_get_status_code(): u32;
// @ts-ignore: decorator
@external("http_handler", "set_status_code") declare function http_set_status_code(code: u32): void;

// Raw imports: module mastra

// @ts-ignore: decorator
@external("mastra", "ctx_get") declare function mastra_ctx_get(key: usize, key_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "ctx_set") declare function mastra_ctx_set(key: usize, key_len: u32, json: usize, json_len: u32): u32;
// @ts-ignore: decorator
@external("mastra", "ctx_delete") declare function mastra_ctx_delete(key: usize, key_len: u32): u32;
// @ts-ignore: decorator
@external("mastra", "ctx_keys") declare function mastra_ctx_keys(buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "route_param") declare function mastra_route_param(name: usize, name_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "agent_generate") declare function mastra_agent_generate(agent: usize, agent_len: u32, input: usize, input_len: u32, opts: usize, opts_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "result_read") declare function mastra_result_read(offset: u32, buf: usize, buf_limit: u32): u32;
// @ts-ignore: decorator
@external("mastra", "agent_stream_to_response") declare function mastra_agent_stream_to_response(agent: usize, agent_len: u32, input: usize, input_len: u32, opts: usize, opts_len: u32): u32;
// @ts-ignore: decorator
@external("mastra", "kv_get") declare function mastra_kv_get(key: usize, key_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "kv_set") declare function mastra_kv_set(key: usize, key_len: u32, val: usize, val_len: u32, ttl_ms: i64): u32;
// @ts-ignore: decorator
@external("mastra", "kv_delete") declare function mastra_kv_delete(key: usize, key_len: u32): u32;
// @ts-ignore: decorator
@external("mastra", "workflow_start") declare function mastra_workflow_start(id: usize, id_len: u32, input: usize, input_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "workflow_resume") declare function mastra_workflow_resume(id: usize, id_len: u32, run: usize, run_len: u32, body: usize, body_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "workflow_run") declare function mastra_workflow_run(id: usize, id_len: u32, run: usize, run_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "threads_list") declare function mastra_threads_list(query: usize, query_len: u32, buf: usize, buf_limit: u32): u64;
// @ts-ignore: decorator
@external("mastra", "thread_messages") declare function mastra_thread_messages(thread: usize, thread_len: u32, query: usize, query_len: u32, buf: usize, buf_limit: u32): u64;

// ---------------------------------------------------------------------------------------------
// Constants

/** http-wasm log levels. */
export namespace LogLevel {
  export const Debug: i32 = -1;
  export const Info: i32 = 0;
  export const Warn: i32 = 1;
  export const Error: i32 = 2;
  export const None: i32 = 3;
}

/** http-wasm feature flags for enableFeatures. */
export namespace Feature {
  export const BufferRequest: u32 = 1;
  export const BufferResponse: u32 = 2;
  export const Trailers: u32 = 4;
}

/** mastra status codes (WASI preview1 errno numbers). */
export namespace Errno {
  export const OK: u32 = 0;
  export const E2BIG: u32 = 1;
  export const EBUSY: u32 = 10;
  export const ECANCELED: u32 = 11;
  export const EINVAL: u32 = 28;
  export const EIO: u32 = 29;
  export const ENOENT: u32 = 44;
  export const ENOSYS: u32 = 52;
  export const EPERM: u32 = 63;
  export const ETIMEDOUT: u32 = 73;

  /** The symbolic name of a status, e.g. "EPERM". */
  export function name(status: u32): string {
    switch (status) {
      case 0: return "OK";
      case 1: return "E2BIG";
      case 10: return "EBUSY";
      case 11: return "ECANCELED";
      case 28: return "EINVAL";
      case 29: return "EIO";
      case 44: return "ENOENT";
      case 52: return "ENOSYS";
      case 63: return "EPERM";
      case 73: return "ETIMEDOUT";
    }
    return "E" + status.toString();
  }
}

const KIND_REQUEST: u32 = 0;
const KIND_RESPONSE: u32 = 1;

// ---------------------------------------------------------------------------------------------
// Buffers and strings

// One instance serves one call at a time and the host never calls back into the guest, so a
// single scratch buffer is enough; values are copied out of it.
let scratch = new ArrayBuffer(2048);
let lastStatus: u32 = 0;

function scratchPtr(): usize { return changetype<usize>(scratch); }
function scratchLen(): u32 { return <u32>scratch.byteLength; }
function ensure(n: u32): void {
  if (n > <u32>scratch.byteLength) scratch = new ArrayBuffer(<i32>n);
}

function utf8(s: string): ArrayBuffer { return String.UTF8.encode(s); }
function ptrOf(b: ArrayBuffer): usize { return changetype<usize>(b); }
function lenOf(b: ArrayBuffer): u32 { return <u32>b.byteLength; }

function decode(ptr: usize, len: u32): string { return String.UTF8.decodeUnsafe(ptr, len); }

function copyBytes(ptr: usize, len: u32): Uint8Array {
  const out = new Uint8Array(<i32>len);
  memory.copy(out.dataStart, ptr, len);
  return out;
}

/** Splits a NUL-terminated list ("a\0b\0") in memory into strings. */
function splitList(ptr: usize, len: u32): string[] {
  const out = new Array<string>();
  let start: u32 = 0;
  for (let i: u32 = 0; i < len; i++) {
    if (load<u8>(ptr + i) == 0) {
      out.push(decode(ptr + start, i - start));
      start = i + 1;
    }
  }
  if (start < len) out.push(decode(ptr + start, len - start));
  return out;
}

/** Quotes and escapes s as a JSON string literal. */
export function jsonString(s: string): string {
  let out = "\"";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = "\\\"";
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c < 0x20) esc = "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    if (esc !== null) {
      out += s.substring(from, i) + esc;
      from = i + 1;
    }
  }
  return out + s.substring(from) + "\"";
}

/** Decodes a JSON string literal (as stored in the request context). Returns null if json is not a string. */
export function parseJSONString(json: string): string | null {
  const t = json.trim();
  if (t.length < 2 || t.charCodeAt(0) != 0x22 || t.charCodeAt(t.length - 1) != 0x22) return null;
  let out = "";
  for (let i = 1; i < t.length - 1; i++) {
    const c = t.charCodeAt(i);
    if (c != 0x5c) {
      out += String.fromCharCode(c);
      continue;
    }
    i++;
    if (i >= t.length - 1) return null;
    const e = t.charCodeAt(i);
    if (e == 0x6e) out += "\n";
    else if (e == 0x72) out += "\r";
    else if (e == 0x74) out += "\t";
    else if (e == 0x62) out += "\b";
    else if (e == 0x66) out += "\f";
    else if (e == 0x75) {
      if (i + 4 >= t.length) return null;
      out += String.fromCharCode(<i32>parseInt(t.substr(i + 1, 4), 16));
      i += 4;
    } else out += String.fromCharCode(e);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Logging, config, features

/** Writes a message to the host log (tagged with the plugin's name by the host). */
export function log(level: i32, message: string): void {
  const b = utf8(message);
  http_log(level, ptrOf(b), lenOf(b));
}

/** Reports whether the host logs at level. */
export function logEnabled(level: i32): bool { return http_log_enabled(level) != 0; }

/** The plugin's config table from mastra.toml, as JSON bytes (empty if none). */
export function config(): Uint8Array {
  let n = http_get_config(scratchPtr(), scratchLen());
  if (n > scratchLen()) {
    ensure(n);
    n = http_get_config(scratchPtr(), scratchLen());
  }
  return copyBytes(scratchPtr(), n);
}

/** The plugin's config as JSON text. */
export function configText(): string {
  const c = config();
  return decode(c.dataStart, <u32>c.length);
}

/** Asks the host for http-wasm features (Feature.*); returns those now enabled. */
export function enableFeatures(features: u32): u32 { return http_enable_features(features); }

// Aborts (failed assert, out-of-bounds access, ...) log the message and trap. Point asc at it
// with --use abort=<path to this file>/abort (see README), so the module needs no env.abort.
export function abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let m = "abort";
  if (message !== null) m += ": " + message;
  if (fileName !== null) m += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(LogLevel.Error, m);
  unreachable();
}

// ---------------------------------------------------------------------------------------------
// Request and response

type Reader32 = (buf: usize, limit: u32) => u32;

function readString32(fn: Reader32): string {
  let n = fn(scratchPtr(), scratchLen());
  if (n > scratchLen()) {
    ensure(n);
    n = fn(scratchPtr(), scratchLen());
    if (n > scratchLen()) return "";
  }
  return decode(scratchPtr(), n);
}

function getHeaderValues(kind: u32, name: string): string[] {
  const nb = utf8(name);
  let r = http_get_header_values(kind, ptrOf(nb), lenOf(nb), scratchPtr(), scratchLen());
  if ((r >> 32) == 0) return new Array<string>();
  let n = <u32>r;
  if (n > scratchLen()) {
    ensure(n);
    r = http_get_header_values(kind, ptrOf(nb), lenOf(nb), scratchPtr(), scratchLen());
    n = <u32>r;
    if ((r >> 32) == 0 || n > scratchLen()) return new Array<string>();
  }
  return splitList(scratchPtr(), n);
}

function getHeaderNames(kind: u32): string[] {
  let r = http_get_header_names(kind, scratchPtr(), scratchLen());
  let n = <u32>r;
  if (n > scratchLen()) {
    ensure(n);
    r = http_get_header_names(kind, scratchPtr(), scratchLen());
    n = <u32>r;
    if (n > scratchLen()) return new Array<string>();
  }
  if ((r >> 32) == 0) return new Array<string>();
  return splitList(scratchPtr(), n);
}

function setHeaderValue(kind: u32, name: string, value: string, add: bool): void {
  const nb = utf8(name);
  const vb = utf8(value);
  if (add) http_add_header_value(kind, ptrOf(nb), lenOf(nb), ptrOf(vb), lenOf(vb));
  else http_set_header_value(kind, ptrOf(nb), lenOf(nb), ptrOf(vb), lenOf(vb));
}

function removeHeader(kind: u32, name: string): void {
  const nb = utf8(name);
  http_remove_header(kind, ptrOf(nb), lenOf(nb));
}

function readBody(kind: u32): Uint8Array {
  let total: i32 = 0;
  let chunks = new Array<Uint8Array>();
  let empty = 0;
  while (empty < 3) {
    const r = http_read_body(kind, scratchPtr(), scratchLen());
    const n = <u32>r;
    if (n > 0) {
      chunks.push(copyBytes(scratchPtr(), n));
      total += <i32>n;
    } else if ((r >> 32) == 0) {
      empty++; // a host that never reports EOF must not hang the guest
    }
    if ((r >> 32) != 0) break;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (let i = 0; i < chunks.length; i++) {
    out.set(chunks[i], off);
    off += chunks[i].length;
  }
  return out;
}

/** The incoming request of the current call. Changes made by a middleware before it continues are seen downstream. */
export class Request {
  /** e.g. "GET" */
  method(): string { return readString32(http_get_method); }
  setMethod(method: string): void { const b = utf8(method); http_set_method(ptrOf(b), lenOf(b)); }
  /** path and query, e.g. "/hello?x=1" */
  uri(): string { return readString32(http_get_uri); }
  setUri(uri: string): void { const b = utf8(uri); http_set_uri(ptrOf(b), lenOf(b)); }
  /** e.g. "HTTP/1.1" */
  protocolVersion(): string { return readString32(http_get_protocol_version); }
  /** client "ip:port" */
  sourceAddr(): string { return readString32(http_get_source_addr); }
  /** First value of a header (case-insensitive), or null if absent. */
  header(name: string): string | null {
    const v = getHeaderValues(KIND_REQUEST, name);
    return v.length > 0 ? v[0] : null;
  }
  headerValues(name: string): string[] { return getHeaderValues(KIND_REQUEST, name); }
  headerNames(): string[] { return getHeaderNames(KIND_REQUEST); }
  setHeader(name: string, value: string): void { setHeaderValue(KIND_REQUEST, name, value, false); }
  addHeader(name: string, value: string): void { setHeaderValue(KIND_REQUEST, name, value, true); }
  removeHeader(name: string): void { removeHeader(KIND_REQUEST, name); }
  /** The whole request body (read once; a middleware that continues needs Feature.BufferRequest). */
  body(): Uint8Array { return readBody(KIND_REQUEST); }
  bodyText(): string { const b = this.body(); return decode(b.dataStart, <u32>b.length); }
  /** A route parameter (":name" in the route path), or null. */
  param(name: string): string | null { return routeParam(name); }
}

/** The response of the current call. Set status and headers before the first write. */
export class Response {
  status(): u32 { return http_get_status_code(); }
  setStatus(code: u32): void { http_set_status_code(code); }
  header(name: string): string | null {
    const v = getHeaderValues(KIND_RESPONSE, name);
    return v.length > 0 ? v[0] : null;
  }
  headerValues(name: string): string[] { return getHeaderValues(KIND_RESPONSE, name); }
  headerNames(): string[] { return getHeaderNames(KIND_RESPONSE); }
  setHeader(name: string, value: string): void { setHeaderValue(KIND_RESPONSE, name, value, false); }
  addHeader(name: string, value: string): void { setHeaderValue(KIND_RESPONSE, name, value, true); }
  removeHeader(name: string): void { removeHeader(KIND_RESPONSE, name); }
  /** Appends bytes to the body. */
  write(data: Uint8Array): void { http_write_body(KIND_RESPONSE, data.dataStart, <u32>data.length); }
  /** Appends UTF-8 text to the body. */
  writeText(text: string): void { const b = utf8(text); http_write_body(KIND_RESPONSE, ptrOf(b), lenOf(b)); }
  /** Answers with status and a JSON text body (Content-Type: application/json). */
  writeJSON(status: u32, json: string): void {
    this.setHeader("Content-Type", "application/json");
    this.setStatus(status);
    this.writeText(json);
  }
  /** The downstream response body, in a response hook with Feature.BufferResponse. */
  body(): Uint8Array { return readBody(KIND_RESPONSE); }
}

// ---------------------------------------------------------------------------------------------
// Entry points

let requestHandler: ((req: Request, resp: Response) => bool) | null = null;
let responseHandler: ((req: Request, resp: Response, isError: bool) => void) | null = null;
const theRequest = new Request();
const theResponse = new Response();

/**
 * Registers the request handler (call it at the top level of the entry file). It returns true to
 * continue with the next handler (middleware) or false when it wrote the response.
 */
export function handleRequest(fn: (req: Request, resp: Response) => bool): void { requestHandler = fn; }

/** Registers a response hook; the entry file must also re-export handle_response. */
export function handleResponse(fn: (req: Request, resp: Response, isError: bool) => void): void { responseHandler = fn; }

/** The http-wasm export: re-export it from the entry file. Returns req_ctx<<32 | next. */
export function handle_request(): i64 {
  const h = requestHandler;
  if (h === null) return 1;
  return h(theRequest, theResponse) ? 1 : 0;
}

/** Optional http-wasm export, only if the plugin uses handleResponse. */
export function handle_response(reqCtx: i32, isError: i32): void {
  const h = responseHandler;
  if (h !== null) h(theRequest, theResponse, isError != 0);
}

/** Optional marker export declaring use of the mastra module v1 (never called). */
export function mastra_abi_v1(): void {}

// ---------------------------------------------------------------------------------------------
// mastra: request context, route params, agents, KV

/** The status (Errno.*) of the last mastra call made through this SDK. */
export function lastError(): u32 { return lastStatus; }

/** Reads a status<<32|len result; returns the length or -1 (lastStatus set). */
function statusRead(r: u64): i64 {
  lastStatus = <u32>(r >> 32);
  if (lastStatus != 0) return -1;
  return <i64>(<u32>r);
}

/** The JSON value stored under key in the request context, or null (lastError() tells why). */
export function contextGet(key: string): string | null {
  const kb = utf8(key);
  let n = statusRead(mastra_ctx_get(ptrOf(kb), lenOf(kb), scratchPtr(), scratchLen()));
  if (n < 0) return null;
  if (<u32>n > scratchLen()) {
    ensure(<u32>n);
    n = statusRead(mastra_ctx_get(ptrOf(kb), lenOf(kb), scratchPtr(), scratchLen()));
    if (n < 0 || <u32>n > scratchLen()) return null;
  }
  return decode(scratchPtr(), <u32>n);
}

/** The request-context value under key if it is a JSON string, else null. */
export function contextGetString(key: string): string | null {
  const j = contextGet(key);
  if (j === null) return null;
  return parseJSONString(j);
}

/** Stores JSON text under key. Returns a status (EINVAL for invalid JSON, EPERM without grant). */
export function contextSet(key: string, json: string): u32 {
  const kb = utf8(key);
  const jb = utf8(json);
  lastStatus = mastra_ctx_set(ptrOf(kb), lenOf(kb), ptrOf(jb), lenOf(jb));
  return lastStatus;
}

/** Stores value as a JSON string under key. */
export function contextSetString(key: string, value: string): u32 { return contextSet(key, jsonString(value)); }

export function contextDelete(key: string): u32 {
  const kb = utf8(key);
  lastStatus = mastra_ctx_delete(ptrOf(kb), lenOf(kb));
  return lastStatus;
}

/** The keys of the request context. */
export function contextKeys(): string[] {
  let r = mastra_ctx_keys(scratchPtr(), scratchLen());
  let n = <u32>r;
  if (n > scratchLen()) {
    ensure(n);
    r = mastra_ctx_keys(scratchPtr(), scratchLen());
    n = <u32>r;
    if (n > scratchLen()) return new Array<string>();
  }
  if ((r >> 32) == 0) return new Array<string>();
  return splitList(scratchPtr(), n);
}

/** A route parameter (e.g. "name" for the path "/hello/:name"), or null. */
export function routeParam(name: string): string | null {
  const nb = utf8(name);
  let n = statusRead(mastra_route_param(ptrOf(nb), lenOf(nb), scratchPtr(), scratchLen()));
  if (n < 0) return null;
  if (<u32>n > scratchLen()) {
    ensure(<u32>n);
    n = statusRead(mastra_route_param(ptrOf(nb), lenOf(nb), scratchPtr(), scratchLen()));
    if (n < 0 || <u32>n > scratchLen()) return null;
  }
  return decode(scratchPtr(), <u32>n);
}

/** The result of agentGenerate: status (Errno.*) and the reply text, or the error message. */
export class AgentResult {
  constructor(public status: u32, public text: string) {}
  get ok(): bool { return this.status == 0; }
}

function readResultSlot(total: u32): string {
  if (total == 0) return "";
  const buf = new ArrayBuffer(<i32>total);
  let off: u32 = 0;
  while (off < total) {
    const n = mastra_result_read(off, ptrOf(buf) + off, total - off);
    if (n == 0 || n > total - off) break;
    off += n;
  }
  return decode(ptrOf(buf), off);
}

/**
 * Calls agent `agent` with `input` (plain text, or a JSON array of messages) and waits for the
 * reply. optsJSON: "" or e.g. {"threadId":"t1","resourceId":"u1","maxSteps":3,"output":"text"}.
 * Needs the agent granted in mastra.toml (agents = ["assistant"]), else status EPERM.
 */
export function agentGenerate(agent: string, input: string, optsJSON: string = ""): AgentResult {
  const ab = utf8(agent);
  const ib = utf8(input);
  const ob = utf8(optsJSON);
  const r = mastra_agent_generate(ptrOf(ab), lenOf(ab), ptrOf(ib), lenOf(ib), ptrOf(ob), lenOf(ob), scratchPtr(), scratchLen());
  const status = <u32>(r >> 32);
  const n = <u32>r;
  lastStatus = status;
  if (status != 0) return new AgentResult(status, readResultSlot(n));
  if (n <= scratchLen()) return new AgentResult(0, decode(scratchPtr(), n));
  return new AgentResult(0, readResultSlot(n));
}

// ---- workflows and threads (grants: workflows = [...] or ["*"]; threads = true) ----
// Each call acts for the request's resource (token or middleware), else the entry's resource_id;
// another resource's run or thread is ENOENT (no text), as a missing one. text is the JSON answer,
// or the error text (EINVAL names the field; EBUSY: the run is not in a state for the call).

function dataAnswer(r: u64): AgentResult {
  const status = <u32>(r >> 32);
  const n = <u32>r;
  lastStatus = status;
  if (status != 0) return new AgentResult(status, readResultSlot(n));
  if (n <= scratchLen()) return new AgentResult(0, decode(scratchPtr(), n));
  return new AgentResult(0, readResultSlot(n));
}

/** Creates a run of workflowId, starts it with inputJSON as inputData; text is {"runId"}. */
export function workflowStart(workflowId: string, inputJSON: string = ""): AgentResult {
  const wb = utf8(workflowId);
  const ib = utf8(inputJSON);
  return dataAnswer(mastra_workflow_start(ptrOf(wb), lenOf(wb), ptrOf(ib), lenOf(ib), scratchPtr(), scratchLen()));
}

/** Resumes a suspended run; bodyJSON is {"step","resumeData"}. */
export function workflowResume(workflowId: string, runId: string, bodyJSON: string): AgentResult {
  const wb = utf8(workflowId);
  const rb = utf8(runId);
  const bb = utf8(bodyJSON);
  return dataAnswer(mastra_workflow_resume(ptrOf(wb), lenOf(wb), ptrOf(rb), lenOf(rb), ptrOf(bb), lenOf(bb), scratchPtr(), scratchLen()));
}

/** The run as GET /api/workflows/:workflowId/runs/:runId returns it. */
export function workflowRun(workflowId: string, runId: string): AgentResult {
  const wb = utf8(workflowId);
  const rb = utf8(runId);
  return dataAnswer(mastra_workflow_run(ptrOf(wb), lenOf(wb), ptrOf(rb), lenOf(rb), scratchPtr(), scratchLen()));
}

/** A page of the caller's threads; queryJSON is {"page","perPage","orderBy","direction"} or "". */
export function threadsList(queryJSON: string = ""): AgentResult {
  const qb = utf8(queryJSON);
  return dataAnswer(mastra_threads_list(ptrOf(qb), lenOf(qb), scratchPtr(), scratchLen()));
}

/** A page of one of the caller's threads' messages; queryJSON is {"page","perPage","direction"} or "". */
export function threadMessages(threadId: string, queryJSON: string = ""): AgentResult {
  const tb = utf8(threadId);
  const qb = utf8(queryJSON);
  return dataAnswer(mastra_thread_messages(ptrOf(tb), lenOf(tb), ptrOf(qb), lenOf(qb), scratchPtr(), scratchLen()));
}

/** The result slot when its length is not known: result_read until it returns 0. */
function readResultToEnd(): string {
  let buf = new ArrayBuffer(256);
  let off: u32 = 0;
  while (true) {
    if (off == <u32>buf.byteLength) {
      const bigger = new ArrayBuffer(buf.byteLength * 2);
      memory.copy(ptrOf(bigger), ptrOf(buf), off);
      buf = bigger;
    }
    const room = <u32>buf.byteLength - off;
    const n = mastra_result_read(off, ptrOf(buf) + off, room);
    if (n == 0 || n > room) break;
    off += n;
  }
  return decode(ptrOf(buf), off);
}

/**
 * Calls `agent` as agentGenerate does (same input, optsJSON, grant and scoping) and streams its reply
 * as the whole response, like the server's /agent/stream: Server-Sent Events, one
 * "data: <chunk JSON>" per chunk ({type, runId, from, payload}), then "data: [DONE]". Call it before
 * writing any body (else EPERM) and return false (no next) afterwards.
 * ok: the response is done (even if the agent failed mid-stream: the stream then carries an "error"
 * chunk), write nothing more. Not ok: nothing was sent; status and text (the host's message) say why,
 * and the handler answers as it likes.
 */
export function agentStreamToResponse(agent: string, input: string, optsJSON: string = ""): AgentResult {
  const ab = utf8(agent);
  const ib = utf8(input);
  const ob = utf8(optsJSON);
  lastStatus = mastra_agent_stream_to_response(ptrOf(ab), lenOf(ab), ptrOf(ib), lenOf(ib), ptrOf(ob), lenOf(ob));
  if (lastStatus != 0) return new AgentResult(lastStatus, readResultToEnd());
  return new AgentResult(0, "");
}

/** The value under key in the plugin's KV store, or null (lastError(): ENOENT, EPERM, ...). */
export function kvGet(key: string): Uint8Array | null {
  const kb = utf8(key);
  let n = statusRead(mastra_kv_get(ptrOf(kb), lenOf(kb), scratchPtr(), scratchLen()));
  if (n < 0) return null;
  if (<u32>n > scratchLen()) {
    ensure(<u32>n);
    n = statusRead(mastra_kv_get(ptrOf(kb), lenOf(kb), scratchPtr(), scratchLen()));
    if (n < 0 || <u32>n > scratchLen()) return null;
  }
  return copyBytes(scratchPtr(), <u32>n);
}

export function kvGetText(key: string): string | null {
  const v = kvGet(key);
  if (v === null) return null;
  return decode(v.dataStart, <u32>v.length);
}

/** Stores value under key; ttlMs 0 = no expiry. Returns a status: E2BIG once the caller's resource
 *  has used the plugin's quota (kv_max_keys, kv_max_bytes; nothing is stored) or for a value over
 *  1 MiB, EINVAL for a key with NUL characters. */
export function kvSet(key: string, value: Uint8Array, ttlMs: i64 = 0): u32 {
  const kb = utf8(key);
  lastStatus = mastra_kv_set(ptrOf(kb), lenOf(kb), value.dataStart, <u32>value.length, ttlMs);
  return lastStatus;
}

export function kvSetText(key: string, value: string, ttlMs: i64 = 0): u32 {
  const kb = utf8(key);
  const vb = utf8(value);
  lastStatus = mastra_kv_set(ptrOf(kb), lenOf(kb), ptrOf(vb), lenOf(vb), ttlMs);
  return lastStatus;
}

export function kvDelete(key: string): u32 {
  const kb = utf8(key);
  lastStatus = mastra_kv_delete(ptrOf(kb), lenOf(kb));
  return lastStatus;
}
