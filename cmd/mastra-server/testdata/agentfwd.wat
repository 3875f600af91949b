;; Route that passes its POST body on as the options of agent_generate
;; ("assistant", a fixed message) and answers the result or the error text:
;; a chat-style plugin forwarding a client's threadId (finding F4).
(module
  (import "http_handler" "read_body" (func $rb (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $wb (param i32 i32 i32)))
  (import "mastra" "agent_generate" (func $ag (param i32 i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 2 2)
  (data (i32.const 1024) "assistant")
  (data (i32.const 1040) "plugin asks: what do you remember?")
  (func (export "handle_request") (result i64) (local $n i32) (local $r i64)
    (local.set $n (i32.wrap_i64 (call $rb (i32.const 0) (i32.const 8192) (i32.const 4096))))
    (local.set $r (call $ag (i32.const 1024) (i32.const 9) (i32.const 1040) (i32.const 34)
      (i32.const 8192) (local.get $n) (i32.const 16384) (i32.const 32768)))
    (call $wb (i32.const 1) (i32.const 16384) (i32.wrap_i64 (local.get $r)))
    (i64.const 0)))
