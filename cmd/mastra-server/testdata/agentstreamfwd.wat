;; Route that passes its POST body on as the options of
;; agent_stream_to_response ("assistant", a fixed message): the reply
;; streams to the client; a failure before it began answers 502 with the
;; error text.
(module
  (import "http_handler" "read_body" (func $rb (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $wb (param i32 i32 i32)))
  (import "http_handler" "set_status_code" (func $status (param i32)))
  (import "mastra" "agent_stream_to_response" (func $as (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mastra" "result_read" (func $rr (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 2)
  (data (i32.const 1024) "assistant")
  (data (i32.const 1040) "plugin asks: what do you remember?")
  (func (export "handle_request") (result i64) (local $n i32)
    (local.set $n (i32.wrap_i64 (call $rb (i32.const 0) (i32.const 8192) (i32.const 4096))))
    (if (call $as (i32.const 1024) (i32.const 9) (i32.const 1040) (i32.const 34) (i32.const 8192) (local.get $n))
      (then
        (call $status (i32.const 502))
        (call $wb (i32.const 1) (i32.const 16384) (call $rr (i32.const 0) (i32.const 16384) (i32.const 32768)))))
    (i64.const 0)))
