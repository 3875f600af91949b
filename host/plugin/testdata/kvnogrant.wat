;; Imports mastra.kv_get: loading it without the kv grant must fail.
(module
  (import "mastra" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "handle_request") (result i64) (i64.const 1)))
