;; hello.wat: the smallest mastra-server route plugin, hand-written against the http-wasm
;; http_handler ABI v0.1.1. It answers every request with
;;   200 {"hello":"wasm","method":"<METHOD>"}   Content-Type: application/json, X-Plugin: wat
;; and returns next=0 (the guest wrote the response). It imports nothing from the mastra module
;; and needs no WASI, so it is also a handy host test fixture.
(module $hello
  (import "http_handler" "get_method"
    (func $get_method (param $buf i32) (param $buf_limit i32) (result (; len ;) i32)))
  (import "http_handler" "set_header_value"
    (func $set_header_value (param $kind i32)
      (param $name i32) (param $name_len i32)
      (param $value i32) (param $value_len i32)))
  (import "http_handler" "set_status_code"
    (func $set_status_code (param $status_code i32)))
  (import "http_handler" "write_body"
    (func $write_body (param $kind i32) (param $buf i32) (param $buf_len i32)))

  (memory (export "memory") 1 1)

  (data (i32.const 0)  "Content-Type")        ;; 12 bytes
  (data (i32.const 16) "application/json")    ;; 16 bytes
  (data (i32.const 32) "X-Plugin")            ;; 8 bytes
  (data (i32.const 40) "wat")                 ;; 3 bytes
  (data (i32.const 64) "{\"hello\":\"wasm\",\"method\":\"")  ;; 26 bytes
  (data (i32.const 96) "\"}")                 ;; 2 bytes

  ;; the method is read into [128, 192)
  (global $method_buf i32 (i32.const 128))
  (global $method_limit i32 (i32.const 64))

  (func (export "handle_request") (result (; req_ctx<<32|next ;) i64)
    (local $len i32)
    (call $set_header_value (i32.const 1) (i32.const 0) (i32.const 12) (i32.const 16) (i32.const 16))
    (call $set_header_value (i32.const 1) (i32.const 32) (i32.const 8) (i32.const 40) (i32.const 3))
    (call $set_status_code (i32.const 200))
    (call $write_body (i32.const 1) (i32.const 64) (i32.const 26))
    ;; a method longer than the buffer is not written by the host: print nothing for it
    (local.set $len (call $get_method (global.get $method_buf) (global.get $method_limit)))
    (if (i32.le_u (local.get $len) (global.get $method_limit))
      (then (call $write_body (i32.const 1) (global.get $method_buf) (local.get $len))))
    (call $write_body (i32.const 1) (i32.const 96) (i32.const 2))
    (i64.const 0))
)
