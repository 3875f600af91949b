;; Route answering "v2" (the module Reload swaps in).
(module
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "v2")
  (func (export "handle_request") (result i64)
    (call $write_body (i32.const 1) (i32.const 0) (i32.const 2))
    (i64.const 0)))
