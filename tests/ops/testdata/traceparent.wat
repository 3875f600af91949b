;; Tool that answers with the traceparent header of the request it got, so
;; a test sees the trace context a guest can read.
(module
  (import "http_handler" "get_header_values" (func $get (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "traceparent")
  (func (export "handle_request") (result i64)
    (local $len i32)
    ;; kind 0 = request headers; values land at 64, NUL-terminated.
    (local.set $len (i32.wrap_i64 (call $get (i32.const 0) (i32.const 0) (i32.const 11) (i32.const 64) (i32.const 512))))
    (if (i32.gt_u (local.get $len) (i32.const 0))
      (then (call $write_body (i32.const 1) (i32.const 64) (i32.sub (local.get $len) (i32.const 1)))))
    (i64.const 0)))
