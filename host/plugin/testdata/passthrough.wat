;; Middleware: sets request header x-plugin: passthrough and RequestContext
;; user = "alice", then continues (next=1).
(module
  (import "http_handler" "set_header_value" (func $set_header (param i32 i32 i32 i32 i32)))
  (import "mastra" "ctx_set" (func $ctx_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-plugin")
  (data (i32.const 16) "passthrough")
  (data (i32.const 32) "user")
  (data (i32.const 48) "\"alice\"")
  (func (export "handle_request") (result i64)
    (call $set_header (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 11))
    (drop (call $ctx_set (i32.const 32) (i32.const 4) (i32.const 48) (i32.const 7)))
    (i64.const 1)))
