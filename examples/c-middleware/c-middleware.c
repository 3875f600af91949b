/*
 * c-middleware: an example mastra-server middleware in C.
 *
 * - Adds the response header "X-Powered-By: mastra-wasm". It is set before the request goes on,
 *   so it is part of whatever response the next handler writes (no response buffering needed).
 * - Adds the request header "X-Wasm-Middleware: c" that later handlers and routes can see.
 * - Exports the optional handle_response hook: after the next handler it logs the status at
 *   debug level. (Drop handle_response if you don't need it: the host then skips that call.)
 */
#include "mastra.h"

MASTRA_DECLARE_ABI_V1()

MASTRA_EXPORT("handle_request") int64_t handle_request(void) {
  mastra_resp_set_header("X-Powered-By", "mastra-wasm");
  mastra_req_set_header("X-Wasm-Middleware", "c");
  return MASTRA_NEXT;
}

MASTRA_EXPORT("handle_response") void handle_response(uint32_t req_ctx, uint32_t is_error) {
  (void)req_ctx;
  if (!http_log_enabled(MASTRA_LOG_DEBUG)) return;
  char msg[64] = "c-middleware: downstream status ";
  size_t n = strlen(msg);
  uint32_t status = http_get_status_code();
  char digits[10];
  int d = 0;
  do {
    digits[d++] = (char)('0' + status % 10);
    status /= 10;
  } while (status && d < 10);
  while (d > 0) msg[n++] = digits[--d];
  if (is_error) {
    memcpy(msg + n, " (error)", 8);
    n += 8;
  }
  http_log(MASTRA_LOG_DEBUG, msg, (uint32_t)n);
}
