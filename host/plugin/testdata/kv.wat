;; Route over mastra.kv_* with key "k": POST/PUT stores the body (no TTL),
;; DELETE removes it, GET answers the value, or 404 "errno <n>".
;; Writes answer "errno <n>".
(module
  (import "http_handler" "get_method" (func $get_method (param i32 i32) (result i32)))
  (import "http_handler" "read_body" (func $read_body (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (import "http_handler" "set_status_code" (func $set_status (param i32)))
  (import "mastra" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i64)))
  (import "mastra" "kv_set" (func $kv_set (param i32 i32 i32 i32 i64) (result i32)))
  (import "mastra" "kv_delete" (func $kv_delete (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "k")
  (data (i32.const 8) "errno ")
  (func $itoa (param $v i32) (param $end i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $end))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (local.get $p))
  (func $errno (param $e i32) (result i64)
    (local $p i32)
    (call $write_body (i32.const 1) (i32.const 8) (i32.const 6))
    (local.set $p (call $itoa (local.get $e) (i32.const 600)))
    (call $write_body (i32.const 1) (local.get $p) (i32.sub (i32.const 600) (local.get $p)))
    (i64.const 0))
  (func (export "handle_request") (result i64)
    (local $m i32) (local $n i32) (local $r i64)
    (drop (call $get_method (i32.const 1024) (i32.const 16)))
    (local.set $m (i32.load8_u (i32.const 1024)))
    (if (i32.eq (local.get $m) (i32.const 80)) ;; P
      (then
        (local.set $n (i32.wrap_i64 (call $read_body (i32.const 0) (i32.const 4096) (i32.const 4096))))
        (return (call $errno (call $kv_set (i32.const 0) (i32.const 1) (i32.const 4096) (local.get $n) (i64.const 0))))))
    (if (i32.eq (local.get $m) (i32.const 68)) ;; D
      (then (return (call $errno (call $kv_delete (i32.const 0) (i32.const 1))))))
    (local.set $r (call $kv_get (i32.const 0) (i32.const 1) (i32.const 4096) (i32.const 4096)))
    (if (i64.ne (i64.shr_u (local.get $r) (i64.const 32)) (i64.const 0))
      (then
        (call $set_status (i32.const 404))
        (return (call $errno (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32)))))))
    (call $write_body (i32.const 1) (i32.const 4096) (i32.wrap_i64 (local.get $r)))
    (i64.const 0)))
