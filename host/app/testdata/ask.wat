;; Tool: asks agent "assistant" one fixed question through
;; mastra.agent_generate and answers the reply, or the error text when the
;; call is refused (a spent budget, say).
(module
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (import "mastra" "agent_generate" (func $agent_generate (param i32 i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "assistant")
  (data (i32.const 16) "plugin asks")
  (func (export "handle_request") (result i64)
    (call $write_body (i32.const 1) (i32.const 1024)
      (i32.wrap_i64 (call $agent_generate (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 11)
                                          (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 4096))))
    (i64.const 0)))
