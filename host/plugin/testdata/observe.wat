;; Middleware that continues (next=1) and, in handle_response, logs at info
;; level "status=<get_status_code> x-route=<response header x-route>": what
;; it saw of the response the next handler wrote, without buffer_response.
(module
  (import "http_handler" "get_status_code" (func $status (result i32)))
  (import "http_handler" "get_header_values" (func $values (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-route")
  (data (i32.const 256) "status=")
  (data (i32.const 266) " x-route=")
  (func (export "handle_request") (result i64) (i64.const 1))
  (func (export "handle_response") (param $ctx i32) (param $err i32)
    (local $s i32) (local $n i32)
    (local.set $s (call $status))
    (i32.store8 (i32.const 263) (i32.add (i32.const 48) (i32.div_u (local.get $s) (i32.const 100))))
    (i32.store8 (i32.const 264) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $s) (i32.const 10)) (i32.const 10))))
    (i32.store8 (i32.const 265) (i32.add (i32.const 48) (i32.rem_u (local.get $s) (i32.const 10))))
    ;; one value, NUL-terminated, at 275; len 0 when absent
    (local.set $n (i32.wrap_i64 (call $values (i32.const 1) (i32.const 0) (i32.const 7) (i32.const 275) (i32.const 200))))
    (if (i32.gt_u (local.get $n) (i32.const 0))
      (then (local.set $n (i32.sub (local.get $n) (i32.const 1)))))
    (call $log (i32.const 0) (i32.const 256) (i32.add (i32.const 19) (local.get $n)))))
