;; Route: streams agent "assistant"'s reply to the request body
;; (mastra.agent_stream_to_response). When that fails before anything was
;; sent, answers 502 "<errno>:<error text>".
(module
  (import "http_handler" "read_body" (func $read_body (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (import "http_handler" "set_status_code" (func $set_status (param i32)))
  (import "mastra" "agent_stream_to_response" (func $stream (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mastra" "result_read" (func $result_read (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "assistant")
  (data (i32.const 16) ":")
  (func $itoa (param $v i32) (param $end i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $end))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (local.get $p))
  (func (export "handle_request") (result i64)
    (local $in i32) (local $errno i32) (local $p i32)
    (local.set $in (i32.wrap_i64 (call $read_body (i32.const 0) (i32.const 4096) (i32.const 4096))))
    (local.set $errno (call $stream (i32.const 0) (i32.const 9) (i32.const 4096) (local.get $in) (i32.const 0) (i32.const 0)))
    (if (local.get $errno)
      (then
        (call $set_status (i32.const 502))
        (local.set $p (call $itoa (local.get $errno) (i32.const 600)))
        (call $write_body (i32.const 1) (local.get $p) (i32.sub (i32.const 600) (local.get $p)))
        (call $write_body (i32.const 1) (i32.const 16) (i32.const 1))
        (call $write_body (i32.const 1) (i32.const 8192)
          (call $result_read (i32.const 0) (i32.const 8192) (i32.const 4096)))))
    (i64.const 0)))
