;; Route or tool that turns on buffer_response, then answers 201 "buffered".
(module
  (import "http_handler" "enable_features" (func $ef (param i32) (result i32)))
  (import "http_handler" "set_status_code" (func $status (param i32)))
  (import "http_handler" "write_body" (func $wb (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "buffered")
  (func (export "handle_request") (result i64)
    (drop (call $ef (i32.const 2)))
    (call $status (i32.const 201))
    (call $wb (i32.const 1) (i32.const 0) (i32.const 8))
    (i64.const 0)))
