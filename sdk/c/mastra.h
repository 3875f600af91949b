/*
 * mastra.h: C guest SDK for mastra-server Wasm plugins (single header).
 *
 * Declares the host imports of the http-wasm "http_handler" module (ABI v0.1.1) and of the
 * "mastra" module (v1), plus small inline helpers. A function is imported only if the plugin
 * calls it, so a plugin that never calls mastra_agent_generate does not import it (the host
 * refuses modules that import agent_* or kv_* functions their mastra.toml entry does not grant).
 *
 * Build (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32):
 *   clang --target=wasm32-wasi -O2 -s -mexec-model=reactor -I sdk/c -o plugin.wasm plugin.c
 *
 * A plugin exports handle_request (and optionally handle_response):
 *
 *   #include "mastra.h"
 *   MASTRA_EXPORT("handle_request") int64_t handle_request(void) {
 *     mastra_resp_set_header("Content-Type", "text/plain");
 *     mastra_write_str("hello\n");
 *     return MASTRA_DONE;          // we wrote the response; MASTRA_NEXT continues
 *   }
 *
 * Conventions (http-wasm): strings are (pointer, length), not NUL-terminated. Reads take
 * (buf, buf_limit) and return the value's full length; if it does not fit, nothing is written, so
 * retry with a bigger buffer. Lists are NUL-separated and returned as count<<32 | len. mastra
 * calls return a status (WASI errno, MASTRA_OK = 0), as status<<32 | len where a length comes back.
 */
#ifndef MASTRA_H
#define MASTRA_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MASTRA_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define MASTRA_EXPORT(name) __attribute__((export_name(name), used))

/* handle_request results: req_ctx<<32 | next. */
#define MASTRA_NEXT ((int64_t)1) /* continue with the next handler */
#define MASTRA_DONE ((int64_t)0) /* the guest wrote the response (or accepts an empty 200) */
static inline int64_t mastra_ctx_next(uint32_t req_ctx, int next) {
  return (int64_t)(((uint64_t)req_ctx << 32) | (next ? 1u : 0u));
}

/* Declares the optional marker export mastra_abi_v1 (never called by the host). */
#define MASTRA_DECLARE_ABI_V1() \
  MASTRA_EXPORT("mastra_abi_v1") void mastra_abi_v1(void) {}

/* http-wasm enums */
enum { MASTRA_KIND_REQUEST = 0, MASTRA_KIND_RESPONSE = 1 };
enum { MASTRA_FEATURE_BUFFER_REQUEST = 1, MASTRA_FEATURE_BUFFER_RESPONSE = 2, MASTRA_FEATURE_TRAILERS = 4 };
enum { MASTRA_LOG_DEBUG = -1, MASTRA_LOG_INFO = 0, MASTRA_LOG_WARN = 1, MASTRA_LOG_ERROR = 2, MASTRA_LOG_NONE = 3 };

/* mastra status codes (WASI preview1 errno numbers) */
enum {
  MASTRA_OK = 0,
  MASTRA_E2BIG = 1,
  MASTRA_EBUSY = 10,
  MASTRA_ECANCELED = 11,
  MASTRA_EINVAL = 28,
  MASTRA_EIO = 29,
  MASTRA_ENOENT = 44,
  MASTRA_ENOSYS = 52,
  MASTRA_EPERM = 63,
  MASTRA_ETIMEDOUT = 73,
};

static inline uint32_t mastra_hi(uint64_t v) { return (uint32_t)(v >> 32); }
static inline uint32_t mastra_lo(uint64_t v) { return (uint32_t)v; }

/* ---- module http_handler (http-wasm ABI v0.1.1) ---- */

MASTRA_IMPORT("http_handler", "enable_features") uint32_t http_enable_features(uint32_t features);
MASTRA_IMPORT("http_handler", "get_config") uint32_t http_get_config(void *buf, uint32_t buf_limit);
MASTRA_IMPORT("http_handler", "log_enabled") uint32_t http_log_enabled(int32_t level);
MASTRA_IMPORT("http_handler", "log") void http_log(int32_t level, const void *msg, uint32_t msg_len);
MASTRA_IMPORT("http_handler", "get_method") uint32_t http_get_method(void *buf, uint32_t buf_limit);
MASTRA_IMPORT("http_handler", "set_method") void http_set_method(const void *method, uint32_t method_len);
MASTRA_IMPORT("http_handler", "get_uri") uint32_t http_get_uri(void *buf, uint32_t buf_limit);
MASTRA_IMPORT("http_handler", "set_uri") void http_set_uri(const void *uri, uint32_t uri_len);
MASTRA_IMPORT("http_handler", "get_protocol_version") uint32_t http_get_protocol_version(void *buf, uint32_t buf_limit);
MASTRA_IMPORT("http_handler", "get_source_addr") uint32_t http_get_source_addr(void *buf, uint32_t buf_limit);
/* -> count<<32 | len of the NUL-terminated names */
MASTRA_IMPORT("http_handler", "get_header_names") uint64_t http_get_header_names(uint32_t kind, void *buf, uint32_t buf_limit);
/* -> count<<32 | len of the NUL-terminated values; count 0 if the header is absent */
MASTRA_IMPORT("http_handler", "get_header_values")
uint64_t http_get_header_values(uint32_t kind, const void *name, uint32_t name_len, void *buf, uint32_t buf_limit);
MASTRA_IMPORT("http_handler", "set_header_value")
void http_set_header_value(uint32_t kind, const void *name, uint32_t name_len, const void *value, uint32_t value_len);
MASTRA_IMPORT("http_handler", "add_header_value")
void http_add_header_value(uint32_t kind, const void *name, uint32_t name_len, const void *value, uint32_t value_len);
MASTRA_IMPORT("http_handler", "remove_header") void http_remove_header(uint32_t kind, const void *name, uint32_t name_len);
/* -> eof<<32 | len read */
MASTRA_IMPORT("http_handler", "read_body") uint64_t http_read_body(uint32_t kind, void *buf, uint32_t buf_limit);
MASTRA_IMPORT("http_handler", "write_body") void http_write_body(uint32_t kind, const void *buf, uint32_t buf_len);
MASTRA_IMPORT("http_handler", "get_status_code") uint32_t http_get_status_code(void);
MASTRA_IMPORT("http_handler", "set_status_code") void http_set_status_code(uint32_t status_code);

/* ---- module mastra (v1) ---- */

/* Request context: string keys, JSON values. ctx_get -> status<<32 | len (ENOENT if absent). */
MASTRA_IMPORT("mastra", "ctx_get") uint64_t mastra_ctx_get(const void *key, uint32_t key_len, void *buf, uint32_t buf_limit);
MASTRA_IMPORT("mastra", "ctx_set") uint32_t mastra_ctx_set(const void *key, uint32_t key_len, const void *json, uint32_t json_len);
MASTRA_IMPORT("mastra", "ctx_delete") uint32_t mastra_ctx_delete(const void *key, uint32_t key_len);
/* -> count<<32 | len of the NUL-terminated keys */
MASTRA_IMPORT("mastra", "ctx_keys") uint64_t mastra_ctx_keys(void *buf, uint32_t buf_limit);
/* Route parameter by name -> status<<32 | len (ENOENT if absent). */
MASTRA_IMPORT("mastra", "route_param") uint64_t mastra_route_param(const void *name, uint32_t name_len, void *buf, uint32_t buf_limit);
/* Blocking agent call -> status<<32 | len. If len > buf_limit (or on error, for the message) read
 * the result with mastra_result_read. opts: JSON {"threadId","resourceId","maxSteps","output"} or (0,0). */
MASTRA_IMPORT("mastra", "agent_generate")
uint64_t mastra_agent_generate(const void *agent, uint32_t agent_len, const void *input, uint32_t input_len,
                               const void *opts, uint32_t opts_len, void *buf, uint32_t buf_limit);
MASTRA_IMPORT("mastra", "result_read") uint32_t mastra_result_read(uint32_t offset, void *buf, uint32_t buf_limit);
/* Calls the agent as mastra_agent_generate does (same opts, grant and scoping) and streams its reply
 * as the whole response, like /agent/stream: SSE, one "data: <chunk JSON>" per chunk, then
 * "data: [DONE]". Call it before writing any body (else EPERM); return next = 0 afterwards.
 * -> 0: the response is done (even if the agent failed mid-stream: the stream carries its "error"
 * chunk), write nothing more. Other errno: nothing was sent, answer as you like; the error text is in
 * the result slot (mastra_result_read until it returns 0). */
MASTRA_IMPORT("mastra", "agent_stream_to_response")
uint32_t mastra_agent_stream_to_response(const void *agent, uint32_t agent_len, const void *input, uint32_t input_len,
                                         const void *opts, uint32_t opts_len);
/* Per-plugin key-value store. kv_get -> status<<32 | len (ENOENT if absent); ttl_ms 0 = no expiry.
 * kv_set: MASTRA_E2BIG past the plugin's quota for the caller's resource (kv_max_keys, kv_max_bytes;
 * nothing stored) or a value over 1 MiB; MASTRA_EINVAL for a key that is not UTF-8 text without NUL. */
MASTRA_IMPORT("mastra", "kv_get") uint64_t mastra_kv_get(const void *key, uint32_t key_len, void *buf, uint32_t buf_limit);
MASTRA_IMPORT("mastra", "kv_set")
uint32_t mastra_kv_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len, int64_t ttl_ms);
MASTRA_IMPORT("mastra", "kv_delete") uint32_t mastra_kv_delete(const void *key, uint32_t key_len);
/* Workflows (grant workflows = [...]) and threads (grant threads = true), bound to the request's
 * resource (else the entry's resource_id): another resource's run or thread is ENOENT, as a missing
 * one. Each -> status<<32 | len of the JSON answer (or error text); read a larger one with
 * mastra_result_read. workflow_start -> {"runId"}; resume body {"step","resumeData"}; EBUSY: the run
 * is not suspended or another resume won. Queries: JSON {"page","perPage","orderBy","direction"} or (0,0). */
MASTRA_IMPORT("mastra", "workflow_start")
uint64_t mastra_workflow_start(const void *id, uint32_t id_len, const void *input, uint32_t input_len, void *buf,
                               uint32_t buf_limit);
MASTRA_IMPORT("mastra", "workflow_resume")
uint64_t mastra_workflow_resume(const void *id, uint32_t id_len, const void *run, uint32_t run_len, const void *body,
                                uint32_t body_len, void *buf, uint32_t buf_limit);
MASTRA_IMPORT("mastra", "workflow_run")
uint64_t mastra_workflow_run(const void *id, uint32_t id_len, const void *run, uint32_t run_len, void *buf,
                             uint32_t buf_limit);
MASTRA_IMPORT("mastra", "threads_list")
uint64_t mastra_threads_list(const void *query, uint32_t query_len, void *buf, uint32_t buf_limit);
MASTRA_IMPORT("mastra", "thread_messages")
uint64_t mastra_thread_messages(const void *thread, uint32_t thread_len, const void *query, uint32_t query_len,
                                void *buf, uint32_t buf_limit);

/* ---- helpers (NUL-terminated C strings in, http-wasm calls out) ---- */

static inline void mastra_log_str(int32_t level, const char *msg) { http_log(level, msg, (uint32_t)strlen(msg)); }

static inline void mastra_write(const void *data, uint32_t len) { http_write_body(MASTRA_KIND_RESPONSE, data, len); }
static inline void mastra_write_str(const char *s) { mastra_write(s, (uint32_t)strlen(s)); }
static inline void mastra_set_status(uint32_t code) { http_set_status_code(code); }

static inline void mastra_req_set_header(const char *name, const char *value) {
  http_set_header_value(MASTRA_KIND_REQUEST, name, (uint32_t)strlen(name), value, (uint32_t)strlen(value));
}
static inline void mastra_resp_set_header(const char *name, const char *value) {
  http_set_header_value(MASTRA_KIND_RESPONSE, name, (uint32_t)strlen(name), value, (uint32_t)strlen(value));
}
static inline void mastra_resp_add_header(const char *name, const char *value) {
  http_add_header_value(MASTRA_KIND_RESPONSE, name, (uint32_t)strlen(name), value, (uint32_t)strlen(value));
}

/*
 * Copies the first value of a header into buf as a NUL-terminated string. Returns its length,
 * -1 if the header is absent, or -(needed) - 1 if buf (cap bytes) is too small, e.g. -101 means
 * "retry with 100 bytes or more".
 */
static inline int32_t mastra_header(uint32_t kind, const char *name, char *buf, uint32_t cap) {
  uint64_t r = http_get_header_values(kind, name, (uint32_t)strlen(name), buf, cap);
  uint32_t count = mastra_hi(r), len = mastra_lo(r);
  if (count == 0) return -1;
  if (len > cap) return -(int32_t)len - 1;
  /* values are NUL-terminated: the first one ends at the first NUL */
  uint32_t i = 0;
  while (i < len && buf[i] != '\0') i++;
  if (i >= cap) return -(int32_t)len - 1;
  buf[i] = '\0';
  return (int32_t)i;
}

/*
 * Writes src as a JSON string literal (with quotes) into dst. Returns the length the literal
 * needs; it is written (NUL-terminated) only if that length is < cap.
 */
static inline size_t mastra_json_quote(char *dst, size_t cap, const char *src, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
#define MASTRA_PUT_(c)            \
  do {                            \
    if (n + 1 < cap) dst[n] = (c); \
    n++;                          \
  } while (0)
  MASTRA_PUT_('"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c == '"' || c == '\\') {
      MASTRA_PUT_('\\');
      MASTRA_PUT_((char)c);
    } else if (c == '\n') {
      MASTRA_PUT_('\\');
      MASTRA_PUT_('n');
    } else if (c == '\r') {
      MASTRA_PUT_('\\');
      MASTRA_PUT_('r');
    } else if (c == '\t') {
      MASTRA_PUT_('\\');
      MASTRA_PUT_('t');
    } else if (c < 0x20 || c == 0x7f) {
      MASTRA_PUT_('\\');
      MASTRA_PUT_('u');
      MASTRA_PUT_('0');
      MASTRA_PUT_('0');
      MASTRA_PUT_(hex[c >> 4]);
      MASTRA_PUT_(hex[c & 15]);
    } else {
      MASTRA_PUT_((char)c);
    }
  }
  MASTRA_PUT_('"');
#undef MASTRA_PUT_
  if (n < cap) dst[n] = '\0';
  return n;
}

/* Stores value (len bytes) as a JSON string under key in the request context. Returns a status. */
static inline uint32_t mastra_ctx_set_string(const char *key, const char *value, size_t len) {
  char small[512];
  size_t need = mastra_json_quote(small, sizeof small, value, len);
  if (need < sizeof small) return mastra_ctx_set(key, (uint32_t)strlen(key), small, (uint32_t)need);
  char *big = (char *)malloc(need + 1);
  if (!big) return MASTRA_E2BIG;
  mastra_json_quote(big, need + 1, value, len);
  uint32_t st = mastra_ctx_set(key, (uint32_t)strlen(key), big, (uint32_t)need);
  free(big);
  return st;
}

/* Returns the plugin config JSON as a malloc'ed NUL-terminated string (free it), *len = length. */
static inline char *mastra_config(uint32_t *len) {
  uint32_t n = http_get_config(NULL, 0);
  char *buf = (char *)malloc((size_t)n + 1);
  if (!buf) return NULL;
  if (n > 0 && http_get_config(buf, n) != n) { /* cannot change, but be safe */
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

#ifdef __cplusplus
}
#endif

#endif /* MASTRA_H */
