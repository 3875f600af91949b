;; Middleware: appends response header x-ran with its config (JSON) as the
;; value, then continues (next=1). Each run adds one value, so a test counts
;; how often, and in which order, middleware ran.
(module
  (import "http_handler" "get_config" (func $get_config (param i32 i32) (result i32)))
  (import "http_handler" "add_header_value" (func $add_header (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-ran")
  (func (export "handle_request") (result i64)
    (local $n i32)
    (local.set $n (call $get_config (i32.const 256) (i32.const 1024)))
    (call $add_header (i32.const 1) (i32.const 0) (i32.const 5) (i32.const 256) (local.get $n))
    (i64.const 1)))
